"""The data of screenpop (DESIGN.md §4): tenants and their connections, pops, the event log, the phone index."""

from __future__ import annotations

import secrets

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from oauth2_provider.models import Application

from screenpop.crypto import EncryptedTextField
from screenpop.validation import (
    validate_freshdesk_domain,
    validate_genesys_region,
    validate_participant_attributes,
    validate_phone_region,
    validate_status_map,
)


def new_url_token() -> str:
    return secrets.token_urlsafe(24)


class Tenant(models.Model):
    """One Genesys Cloud organisation that installed the app."""

    class SyncState(models.TextChoices):
        OK = "ok", _("In sync")
        PENDING = "pending", _("Sync pending")
        FAILED = "failed", _("Sync failed")

    name = models.CharField(max_length=200)
    genesys_org_id = models.CharField("Genesys organisation id", max_length=64, unique=True)
    region = models.CharField(
        "Genesys environment",
        max_length=200,
        default="mypurecloud.com",
        validators=[validate_genesys_region],
        help_text=_("The environment host without 'api.', e.g. mypurecloud.com or mypurecloud.ie."),
    )
    active = models.BooleanField(default=True)
    phone_region = models.CharField(
        "default phone region",
        max_length=2,
        default="US",
        validators=[validate_phone_region],
        help_text=_("ISO country code used to read numbers written without a country code, e.g. US, GB, DE."),
    )
    ticket_limit = models.PositiveSmallIntegerField(
        default=5, validators=[MinValueValidator(1), MaxValueValidator(50)], help_text=_("Tickets shown per pop.")
    )
    freshdesk_webhook_token = models.CharField(max_length=64, unique=True, default=new_url_token, editable=False)
    panel_client_id = models.CharField(
        "Genesys OAuth client id for the panel",
        max_length=64,
        blank=True,
        help_text=_("Implicit/PKCE client in the customer's org that agents log in with (set by the install wizard)."),
    )
    genesys_sync_client_id = models.CharField(
        "Genesys sync OAuth client id",
        max_length=64,
        blank=True,
        help_text=_(
            "Client-credentials client in the customer's org that keeps queue filters in sync (set by the "
            "install wizard)."
        ),
    )
    genesys_sync_client_secret = EncryptedTextField(
        blank=True, help_text=_("Secret of the sync client, stored encrypted (set by the install wizard).")
    )
    ivr_attribute = models.CharField(
        "IVR participant attribute",
        max_length=64,
        blank=True,
        validators=[RegexValidator(r"^[A-Za-z0-9_.\-]+\Z", _("Letters, digits, '_', '.' and '-' only."))],
        help_text=_(
            "The customer participant's attribute where your IVR flow stores what the caller typed: a ticket number "
            "or an email (e.g. ticket_number). Its ticket or contact pops first, before the phone number is matched. "
            "Read with the sync client, which needs conversation:communication:view. Empty: phone number only."
        ),
    )
    webhook_signing_secret = EncryptedTextField(
        blank=True,
        help_text=_("Optional HMAC-SHA256 key for senders that sign their requests instead of using a bearer token."),
    )
    genesys_objects = models.JSONField(default=dict, blank=True, help_text=_("What the install wizard created."))
    wrapup_unlinked = models.CharField(
        "wrap-up of a call with no linked ticket",
        max_length=16,
        choices=[
            ("contact_ticket", _("Note on the caller's most recent open ticket")),
            ("new_ticket", _("New ticket with the note")),
            ("nothing", _("Write nothing")),
        ],
        default="contact_ticket",
        help_text=_(
            "Where the call's note goes when the agent linked no ticket and the caller is a known contact. With no "
            "open ticket, 'most recent open ticket' writes nothing."
        ),
    )
    wrapup_unknown_caller = models.CharField(
        "wrap-up of a call from an unknown number",
        max_length=16,
        choices=[("new_ticket", _("New ticket with the note")), ("nothing", _("Write nothing"))],
        default="new_ticket",
        help_text=_("What wrap-up writes when no Freshdesk contact has the caller's number and no ticket is linked."),
    )
    wrapup_status_map = models.JSONField(
        "ticket status by wrap-up code",
        default=dict,
        blank=True,
        validators=[validate_status_map],
        help_text=_(
            "Optional: the Freshdesk status a ticket takes when a call on it wraps up with a code, e.g. "
            '{"Resolved": 4, "Follow-up needed": 3} (codes by name, as in Genesys; statuses as Freshdesk numbers: '
            "2 Open, 3 Pending, 4 Resolved, 5 Closed, 6+ custom)."
        ),
    )
    participant_attributes = models.JSONField(
        "participant attribute names",
        default=dict,
        blank=True,
        validators=[validate_participant_attributes],
        help_text=_(
            "Names of the participant attributes the pop writes on the caller in Genesys, by what they hold: "
            "ticket_id, ticket_status, ticket_subject, ticket_url, contact_name, match_count. Missing keys take "
            'the defaults (screenpop_ticket_id, ...); a name set to "" is not written; {"enabled": false} writes none.'
        ),
    )
    sync_state = models.CharField(max_length=16, choices=SyncState.choices, default=SyncState.OK)
    sync_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.genesys_org_id})"


class FreshdeskConnection(models.Model):
    """A tenant's Freshdesk account: where it is, the key to it, and its plan's limits."""

    class Plan(models.TextChoices):
        TRIAL = "trial", "Trial (50/min)"
        GROWTH = "growth", "Growth (200/min)"
        PRO = "pro", "Pro (400/min)"
        ENTERPRISE = "enterprise", "Enterprise (700/min)"

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="freshdesk")
    domain = models.CharField(
        "Freshdesk domain",
        max_length=255,
        validators=[validate_freshdesk_domain],
        help_text=_("Your helpdesk's address, e.g. acme.freshdesk.com."),
    )
    api_key = EncryptedTextField("API key", help_text=_("Stored encrypted; never shown again after saving."))
    plan = models.CharField(max_length=16, choices=Plan.choices, default=Plan.GROWTH)
    rate_limit_per_minute = models.PositiveIntegerField(
        null=True, blank=True, help_text=_("Read from X-RateLimit-Total when the connection is verified.")
    )
    match_phone = models.BooleanField("match work phone", default=True)
    match_mobile = models.BooleanField("match mobile", default=True)
    custom_phone_field = models.CharField(
        max_length=100, blank=True, help_text=_("Name of a custom contact field holding another phone number.")
    )
    webhook_secret = EncryptedTextField(
        blank=True,
        help_text=_("Password of the Basic auth (or value of X-Screenpop-Secret) on Freshdesk's 'Trigger webhook'."),
    )
    verified_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    index_synced_until = models.DateTimeField(null=True, blank=True)
    index_synced_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.domain

    @property
    def match_fields(self) -> list[str]:
        fields = [name for name, on in (("phone", self.match_phone), ("mobile", self.match_mobile)) if on]
        if self.custom_phone_field:
            fields.append(self.custom_phone_field)
        return fields


class QueueFilter(models.Model):
    """A queue whose calls pop. A tenant with none pops for every queue."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="queue_filters")
    queue_id = models.CharField("Genesys queue id", max_length=64)
    name = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "queue_id"], name="unique_queue_filter")]
        ordering = ["name", "queue_id"]

    def __str__(self) -> str:
        return self.name or self.queue_id


class WebhookClient(models.Model):
    """The OAuth client (django-oauth-toolkit application) Genesys's data action authenticates with."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="webhook_clients")
    application = models.OneToOneField(Application, on_delete=models.CASCADE, related_name="webhook_client")
    active = models.BooleanField(default=True, help_text=_("A revoked client's tokens stop working at once."))
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    secret_rotated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.application.client_id} ({self.tenant.name})"


class Pop(models.Model):
    """One screen pop: the lookup for one (tenant, conversation), its state and result."""

    class State(models.TextChoices):
        PENDING = "pending", _("Looking up")
        MATCHED = "matched", _("Matched")
        NO_MATCH = "no_match", _("No match")
        UNAVAILABLE = "unavailable", _("Freshdesk unavailable")
        ERROR = "error", _("Error")

    # No index of its own: the unique (tenant, conversation) index serves lookups by tenant (one index fewer to write
    # per webhook). Nor one on (tenant, phone_e164): no query reads pops by phone, and while the table was young
    # PostgreSQL's planner took it for the webhook's (tenant, conversation) key lookup, reading every pop of the
    # tenant once per key.
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="pops", db_index=False)
    conversation_id = models.CharField(max_length=64)
    phone_raw = models.CharField(max_length=255)
    phone_e164 = models.CharField(max_length=32, blank=True)
    queue_id = models.CharField(max_length=64, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    detail = models.TextField(blank=True)
    # Why the pop is in its state, as a code the panel translates (`pops.reasons`); `detail` says it to the admin.
    reason = models.CharField(max_length=32, blank=True)
    result = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    freshdesk_calls = models.PositiveSmallIntegerField(default=0)
    received_at = models.DateTimeField()
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_owner = models.CharField(max_length=64, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "conversation_id"], name="unique_pop_per_conversation")
        ]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="pop_due_idx"),
        ]
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.conversation_id} ({self.get_state_display()})"


class PopTicket(models.Model):
    """Which ticket a pop shows, and the `updated_at` it shows, so a ticket update reaches exactly those panels."""

    pop = models.ForeignKey(Pop, on_delete=models.CASCADE, related_name="shown_tickets")
    ticket_id = models.BigIntegerField()
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["pop", "ticket_id"], name="unique_pop_ticket")]
        indexes = [models.Index(fields=["ticket_id"], name="pop_ticket_idx")]

    def __str__(self) -> str:
        return f"#{self.ticket_id} in {self.pop_id}"


class PopContact(models.Model):
    """Which Freshdesk contacts a pop shows, so a ticket created for one of them during the call reaches the panel."""

    pop = models.ForeignKey(Pop, on_delete=models.CASCADE, related_name="shown_contacts")
    contact_id = models.BigIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["pop", "contact_id"], name="unique_pop_contact")]
        indexes = [models.Index(fields=["contact_id"], name="pop_contact_idx")]

    def __str__(self) -> str:
        return f"contact {self.contact_id} in {self.pop_id}"


class EventLog(models.Model):
    """Every event received, from Genesys or Freshdesk, with what became of it and why."""

    class Source(models.TextChoices):
        GENESYS = "genesys", "Genesys"
        FRESHDESK = "freshdesk", "Freshdesk"

    class Outcome(models.TextChoices):
        ACCEPTED = "accepted", _("Accepted")
        DUPLICATE = "duplicate", _("Duplicate")
        IGNORED = "ignored", _("Ignored")
        REJECTED = "rejected", _("Rejected")
        UNAUTHORIZED = "unauthorized", _("Unauthorised")
        FORBIDDEN = "forbidden", _("Forbidden")
        FAILED = "failed", _("Failed")

    # One index, on received_at: the admin's newest-first listing (its filters by tenant and outcome read that index
    # backwards) and the retention purge. Every index here is written by every webhook, so there is no other: the
    # admin's search is `icontains`, which no b-tree index serves. No database constraint on the tenant either: a log
    # row needs no check that its tenant exists (Django still deletes a tenant's events with it), and on PostgreSQL the
    # check would lock the tenant's row once per webhook, from every batch in flight.
    tenant = models.ForeignKey(
        Tenant,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="events",
        db_index=False,
        db_constraint=False,
    )
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.GENESYS)
    received_at = models.DateTimeField(db_index=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    status_code = models.PositiveSmallIntegerField()
    reason = models.TextField(blank=True)
    field = models.CharField(max_length=100, blank=True)
    conversation_id = models.CharField(max_length=64, blank=True)
    phone = models.CharField(max_length=255, blank=True)
    event_type = models.CharField(max_length=64, blank=True)
    payload = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.received_at:%Y-%m-%d %H:%M:%S} {self.outcome} {self.conversation_id}"


class PhoneIndexEntry(models.Model):
    """E.164 number -> Freshdesk contact, per tenant: the phone table of the mirror, filled by its contacts sync."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="phone_index")
    e164 = models.CharField(max_length=32)
    contact_id = models.BigIntegerField()
    field = models.CharField(max_length=100)
    stored_value = models.CharField(max_length=255)
    contact_name = models.CharField(max_length=255, blank=True)
    contact_updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # A field may hold several numbers ("555-0100 / 555-0101"): each is an entry of its own. Number first:
            # this index is the match (tenant, e164) and holds the contact ids, so the match never reads the table.
            models.UniqueConstraint(fields=["tenant", "e164", "contact_id", "field"], name="unique_phone_index_number")
        ]
        # The sync's writes find a contact's entries by contact id.
        indexes = [models.Index(fields=["tenant", "contact_id"], name="phone_index_contact_idx")]

    def __str__(self) -> str:
        return f"{self.e164} -> {self.contact_id}"


class CallLink(models.Model):
    """The Freshdesk ticket an agent said a call is about.

    One per (tenant, conversation); the newest choice wins. Every panel on the conversation shows it (a transfer
    included), wrap-up writes the call's note on it, and the number's newest choice is offered first on its next call
    (a company switchboard shared by several contacts).
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="call_links", db_index=False)
    conversation_id = models.CharField(max_length=64)
    phone_e164 = models.CharField(max_length=32, blank=True)
    ticket_id = models.BigIntegerField()
    contact_id = models.BigIntegerField(null=True, blank=True)
    subject = models.CharField(max_length=255, blank=True)
    chosen_by = models.CharField("Genesys user id", max_length=64)
    chosen_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "conversation_id"], name="unique_call_link")]
        indexes = [models.Index(fields=["tenant", "phone_e164", "-chosen_at"], name="call_link_number_idx")]

    def __str__(self) -> str:
        return f"{self.conversation_id} -> #{self.ticket_id}"


class AgentNote(models.Model):
    """What an agent typed in the panel about a call; wrap-up writes it into that agent's note on the ticket."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="agent_notes", db_index=False)
    conversation_id = models.CharField(max_length=64)
    user_id = models.CharField("Genesys user id", max_length=64)
    text = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "conversation_id", "user_id"], name="unique_agent_note")
        ]

    def __str__(self) -> str:
        return f"{self.conversation_id} by {self.user_id}"


class CallWrapUp(models.Model):
    """An agent's wrap-up of a call (Genesys's `acw` event) and the note it writes on a Freshdesk ticket.

    One per (tenant, conversation, agent): a re-delivered wrap-up is a duplicate. The write-back leases it like a
    pop (`lease_owner`, `lease_expires_at`), retries Freshdesk's failures with backoff (`next_attempt_at`), and
    keeps what it did: the ticket (`ticket_id`, `ticket_created`), the note (`note_id`). `note_attempted_at` marks an
    attempt whose outcome is unknown (the process died, or Freshdesk did not answer): the next attempt first looks
    for the note's marker on the ticket instead of posting again.
    """

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        WRITTEN = "written", _("Note written")
        SKIPPED = "skipped", _("Nothing to write")
        FAILED = "failed", _("Failed")

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="wrapups", db_index=False)
    conversation_id = models.CharField(max_length=64)
    user_id = models.CharField("Genesys user id", max_length=64)
    participant_id = models.CharField(max_length=64, blank=True)
    queue_id = models.CharField(max_length=64, blank=True)
    wrapup_code = models.CharField(max_length=255, blank=True)
    wrapup_notes = models.TextField(blank=True)
    wrapup_duration_ms = models.BigIntegerField(null=True, blank=True)
    direction = models.CharField(max_length=16, blank=True)
    phone_raw = models.CharField(max_length=255, blank=True)
    event_time = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField()
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_owner = models.CharField(max_length=64, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    ticket_id = models.BigIntegerField(null=True, blank=True)
    ticket_created = models.BooleanField(default=False)
    ticket_attempted_at = models.DateTimeField(null=True, blank=True)
    note_id = models.BigIntegerField(null=True, blank=True)
    note_attempted_at = models.DateTimeField(null=True, blank=True)
    status_set = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "conversation_id", "user_id"], name="unique_wrapup_per_agent")
        ]
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="wrapup_due_idx")]
        ordering = ["-received_at"]
        verbose_name = "call wrap-up"

    def __str__(self) -> str:
        return f"{self.conversation_id} by {self.user_id} ({self.get_state_display()})"


class MirrorContact(models.Model):
    """A Freshdesk contact as the tenant's mirror holds it (its numbers are keyed in `PhoneIndexEntry`).

    A deleted contact stays as a tombstone (`deleted`), so an older copy arriving late cannot bring it back.
    `generation` is the reconciliation pass that last listed it: a pass that ends removes what it did not see
    (contacts merged away or deleted for good, which no list shows).
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="mirror_contacts", db_index=False)
    contact_id = models.BigIntegerField()
    name = models.CharField(max_length=255, blank=True)
    email = models.CharField(max_length=255, blank=True)
    other_emails = models.JSONField(default=list, blank=True)
    phone = models.CharField(max_length=255, blank=True)
    mobile = models.CharField(max_length=255, blank=True)
    other_phones = models.JSONField(default=dict, blank=True)
    company_id = models.BigIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField()
    deleted = models.BooleanField(default=False)
    blocked = models.BooleanField(default=False)
    # A database default: writers other than a reconciliation pass leave the column out of their upsert.
    generation = models.PositiveIntegerField(db_default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "contact_id"], name="unique_mirror_contact")]

    def __str__(self) -> str:
        return f"{self.name or self.contact_id}"


class MirrorCompany(models.Model):
    """A Freshdesk company as the mirror holds it: its name, and its phone-bearing custom fields if configured."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="mirror_companies", db_index=False)
    company_id = models.BigIntegerField()
    name = models.CharField(max_length=255, blank=True)
    phones = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "company_id"], name="unique_mirror_company")]

    def __str__(self) -> str:
        return self.name or str(self.company_id)


class MirrorTicket(models.Model):
    """A Freshdesk ticket that is not closed, as the mirror holds it. A ticket that closes stays a while as a
    tombstone (status 5, never shown), so an older copy arriving late cannot reopen it."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="mirror_tickets", db_index=False)
    ticket_id = models.BigIntegerField()
    subject = models.CharField(max_length=255, blank=True)
    status = models.PositiveSmallIntegerField()
    priority = models.PositiveSmallIntegerField(null=True, blank=True)
    requester_id = models.BigIntegerField(null=True, blank=True)
    company_id = models.BigIntegerField(null=True, blank=True)
    group_id = models.BigIntegerField(null=True, blank=True)
    agent_id = models.BigIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField()
    due_by = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "ticket_id"], name="unique_mirror_ticket")]
        indexes = [models.Index(fields=["tenant", "requester_id"], name="mirror_ticket_requester_idx")]

    def __str__(self) -> str:
        return f"#{self.ticket_id}"


class MirrorSync(models.Model):
    """Where a tenant's mirror stands: the full sync's cursor (so a crash resumes it), the incremental watermarks,
    the ticket labels, and which process holds the sync (a lease)."""

    class Phase(models.TextChoices):
        CONTACTS = "contacts", _("Copying contacts")
        TICKETS = "tickets", _("Copying tickets")
        LIVE = "live", _("Live")

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="mirror_sync")
    phase = models.CharField(max_length=16, choices=Phase.choices, default=Phase.CONTACTS)
    started_at = models.DateTimeField(null=True, blank=True)
    live_since = models.DateTimeField(null=True, blank=True)
    generation = models.PositiveIntegerField(default=0)
    contacts_page = models.PositiveIntegerField(default=1)
    contacts_seen = models.PositiveIntegerField(default=0)
    contacts_estimate = models.PositiveIntegerField(null=True, blank=True)
    contacts_pass_started_at = models.DateTimeField(null=True, blank=True)
    tickets_since = models.DateTimeField(null=True, blank=True)
    tickets_page = models.PositiveIntegerField(default=1)
    tickets_seen = models.PositiveIntegerField(default=0)
    tickets_estimate = models.PositiveIntegerField(null=True, blank=True)
    tickets_current_at = models.DateTimeField(null=True, blank=True)
    reconciled_since = models.DateTimeField(null=True, blank=True)
    reconciled_at = models.DateTimeField(null=True, blank=True)
    labels = models.JSONField(default=dict, blank=True)
    lease_owner = models.CharField(max_length=128, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "mirror sync"

    def __str__(self) -> str:
        return f"{self.tenant} ({self.get_phase_display()})"
