"""The agent links the call: pick the ticket it is about (shown, searched or new), and type notes about it.

Every service takes the `PanelGrant` of the panel token, so an agent reaches only their own tenant's Freshdesk and
their own conversation (the token is bound to both), and only their own note. Freshdesk calls go through the
account's pooled, budgeted client (`freshdesk_client_for`): a spent budget refuses at once instead of earning a 429
for the whole account. Freshdesk's failures become `ScreenpopError`s whose `code` the panel turns into the agent's
words (`freshdesk_busy`, `freshdesk_unavailable`, `freshdesk_refused`, `ticket_not_found`), with 4xx statuses: the
panel API answers the agent, and a Freshdesk outage is no fault of this server (424 Failed Dependency).

The link is stored as the conversation's `CallLink` and pushed to every panel on the conversation (a transferred
call's next agent included) with the state (`link_publish_on_commit`); the write-back reads it at wrap-up.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.core.validators import validate_email

from screenpop.errors import ScreenpopError, ValidationFailed
from screenpop.freshdesk.accounts import freshdesk_client_for
from screenpop.freshdesk.client import FreshdeskClient, search_string
from screenpop.freshdesk.errors import (
    FreshdeskError,
    FreshdeskInvalidRequest,
    FreshdeskNotFound,
    FreshdeskRateLimited,
    FreshdeskTransientError,
)
from screenpop.freshdesk.labels import ticket_labels
from screenpop.models import FreshdeskConnection, Pop
from screenpop.panel.services import panel_pop, panel_ticket_create
from screenpop.panel_tokens import PanelGrant
from screenpop.pops.links import agent_note_of, agent_note_set, call_link_set, number_last_link
from screenpop.pops.result import PopResult, rank_tickets, ticket_view
from screenpop.publishing import link_publish_on_commit
from screenpop.storage.transactions import write_transaction
from screenpop.writeback.attributes import attributes_write_soon

logger = logging.getLogger("screenpop.panel.linking")

MAX_NOTE_CHARS = 5000
MAX_QUERY_CHARS = 200
MIN_NAME_CHARS = 2
MAX_RESULTS = 20
# A search for a name or company reads the tickets of this many contacts and companies: each costs a ticket-list
# call, which Growth plans allow 20 times a minute for the whole account.
MAX_SEARCH_OWNERS = 2
# Tickets of any age: Freshdesk's list shows only the last 30 days' tickets without a date (reference §5).
HISTORY_SINCE = "2000-01-01T00:00:00Z"
SEARCH_TICKETS_PER_OWNER = 10
# What a search found stays linkable without asking Freshdesk again for this long.
FOUND_SECONDS = 900
CREATE_LOCK_SECONDS = 30
TICKET_NUMBER = re.compile(r"^#?\s*(\d{1,15})$")
# What Freshdesk's query language can carry as an email (no quotes: see `search_string`); other valid addresses
# (an apostrophe, say) use the ticket list's `email` filter, which is URL-encoded and not a query.
SEARCHABLE_EMAIL = re.compile(r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}$")


@dataclass(frozen=True)
class SearchOutcome:
    kind: str  # "number", "email" or "name" (names of contacts and companies)
    tickets: list[dict[str, Any]]


# -- reads and Freshdesk ------------------------------------------------------------------------------------------


def _client_of(tenant_id: int) -> FreshdeskClient:
    connection = FreshdeskConnection.objects.filter(tenant_id=tenant_id).first()
    if connection is None:
        raise ScreenpopError(
            "Freshdesk is not connected for this organisation.", code="freshdesk_not_connected"
        ).with_status(409)
    return freshdesk_client_for(connection)


def freshdesk_failure(error: FreshdeskError, *, doing: str) -> ScreenpopError:
    """The panel's error for a Freshdesk failure while `doing` ("search", "link", "create"): a 4xx the panel
    words for the agent, with Freshdesk's own explanation in `detail` for the logs and the admin."""
    if isinstance(error, FreshdeskRateLimited):
        failure = ScreenpopError(
            f"Freshdesk's per-minute budget is spent; {doing} again in {round(error.retry_after) or 1} s.",
            code="freshdesk_busy",
            retry_after=max(1, round(error.retry_after)),
        ).with_status(429)
    elif isinstance(error, FreshdeskNotFound):
        failure = ScreenpopError("There is no such ticket in Freshdesk.", code="ticket_not_found").with_status(404)
    elif isinstance(error, FreshdeskInvalidRequest):
        field = next((item.get("field") for item in error.errors if item.get("field")), None)
        failure = ScreenpopError(
            f"Freshdesk refused the {doing}: {error.detail}", code="freshdesk_refused", field=field
        ).with_status(422)
    elif isinstance(error, FreshdeskTransientError):
        failure = ScreenpopError(
            f"Freshdesk did not answer the {doing}; try again.", code="freshdesk_unavailable"
        ).with_status(424)
    else:  # a wrong key, a missing permission: the admin's to fix
        failure = ScreenpopError(
            f"Freshdesk refused the {doing}: {error.detail}", code="freshdesk_refused"
        ).with_status(424)
    logger.info("panel %s failed: %s", doing, error.detail)
    return failure


def _found_key(grant: PanelGrant) -> str:
    digest = hashlib.sha256(grant.conversation_id.encode()).hexdigest()[:32]
    return f"screenpop:panel-found:{grant.tenant_id}:{digest}"


def _remember_found(grant: PanelGrant, tickets: list[dict[str, Any]]) -> None:
    found = cache.get(_found_key(grant)) or {}
    found.update({ticket["id"]: _known(ticket) for ticket in tickets})
    cache.set(_found_key(grant), found, timeout=FOUND_SECONDS)


def _known(ticket: dict[str, Any]) -> dict[str, Any]:
    return {"subject": ticket.get("subject") or "", "contact_id": ticket.get("requester_id")}


# -- search -------------------------------------------------------------------------------------------------------


def panel_ticket_search(*, grant: PanelGrant, query: str) -> SearchOutcome:
    """Tickets for what the agent typed: a ticket number (`1234` or `#1234`), a requester's email, or the start of
    a requester's or a company's name. At most `MAX_RESULTS`, unresolved first, newest first.

    The agent's text never becomes query syntax: an email reaches Freshdesk's search only as a single-quoted
    string of characters that cannot end it (`search_string`), names go to the autocomplete endpoints as URL
    parameters. Raises `ValidationFailed` (field `query`) and the errors of `freshdesk_failure`.
    """
    text = " ".join((query or "").split())
    if not text:
        raise ValidationFailed("query: type a ticket number, an email, or a name.", field="query")
    if len(text) > MAX_QUERY_CHARS:
        raise ValidationFailed(f"query: at most {MAX_QUERY_CHARS} characters.", field="query")
    client = _client_of(grant.tenant_id)
    number = TICKET_NUMBER.match(text)
    try:
        if number:
            kind, tickets = "number", _ticket_by_number(client, int(number.group(1)))
        elif "@" in text:
            kind, tickets = "email", _tickets_by_email(client, text)
        else:
            if len(text) < MIN_NAME_CHARS:
                raise ValidationFailed(f"query: type at least {MIN_NAME_CHARS} letters of a name.", field="query")
            kind, tickets = "name", _tickets_by_name(client, text)
        labels = ticket_labels(client)
    except FreshdeskError as error:
        raise freshdesk_failure(error, doing="search") from error
    ranked = rank_tickets(list({ticket["id"]: ticket for ticket in tickets}.values()))[:MAX_RESULTS]
    _remember_found(grant, ranked)
    shown = []
    for ticket in ranked:
        view = ticket_view(ticket, labels, client.base_url)
        view["requester_id"] = ticket.get("requester_id")
        view["found_by"] = ticket.get("_found_by") or ""
        shown.append(view)
    return SearchOutcome(kind=kind, tickets=shown)


def _ticket_by_number(client: FreshdeskClient, ticket_id: int) -> list[dict[str, Any]]:
    try:
        ticket = client.get_ticket(ticket_id)
    except FreshdeskNotFound:
        return []
    return [] if ticket.get("spam") or ticket.get("deleted") else [ticket]


def _owner_tickets(client: FreshdeskClient, found_by: str, **owner: Any) -> list[dict[str, Any]]:
    tickets = client.list_tickets(
        **owner,
        updated_since=HISTORY_SINCE,
        order_by="updated_at",
        per_page=SEARCH_TICKETS_PER_OWNER,
    )
    return [{**ticket, "_found_by": found_by} for ticket in tickets]


def _tickets_by_email(client: FreshdeskClient, email: str) -> list[dict[str, Any]]:
    try:
        validate_email(email)
    except Exception as error:
        raise ValidationFailed("query: this is not an email address.", field="query") from error
    if not SEARCHABLE_EMAIL.match(email):
        return _owner_tickets(client, email, email=email)
    found = client.search_contacts(f"email:{search_string(email.lower())}")
    contacts = [c for c in found.get("results") or [] if isinstance(c, dict) and c.get("id")][:MAX_SEARCH_OWNERS]
    return [
        ticket
        for contact in contacts
        for ticket in _owner_tickets(client, contact.get("name") or email, requester_id=contact["id"])
    ]


def _tickets_by_name(client: FreshdeskClient, text: str) -> list[dict[str, Any]]:
    contacts = client.autocomplete_contacts(text)[:MAX_SEARCH_OWNERS]
    companies = client.autocomplete_companies(text)[:MAX_SEARCH_OWNERS]
    tickets = [
        ticket
        for contact in contacts
        for ticket in _owner_tickets(client, str(contact.get("name") or ""), requester_id=int(contact["id"]))
    ]
    tickets += [
        ticket
        for company in companies
        for ticket in _owner_tickets(client, str(company.get("name") or ""), company_id=int(company["id"]))
    ]
    return tickets


# -- link ---------------------------------------------------------------------------------------------------------


def panel_link_set(*, grant: PanelGrant, ticket_id: int) -> None:
    """Link the call to `ticket_id`: a ticket the panel shows, the number's last choice, one a search of this
    conversation found, or (otherwise) one Freshdesk confirms exists. Pushes the new link to the conversation's
    panels after commit. Raises `NotFound` (no pop yet) and the errors of `freshdesk_failure`."""
    pop = panel_pop(grant)
    known = _known_ticket(grant, pop, ticket_id)
    if known is None:
        client = _client_of(grant.tenant_id)
        try:
            ticket = client.get_ticket(ticket_id)
        except FreshdeskError as error:
            raise freshdesk_failure(error, doing="link") from error
        if ticket.get("spam") or ticket.get("deleted"):
            raise ScreenpopError("There is no such ticket in Freshdesk.", code="ticket_not_found").with_status(404)
        known = _known(ticket)
    _link(grant, pop, ticket_id, known)


def _known_ticket(grant: PanelGrant, pop: Pop, ticket_id: int) -> dict[str, Any] | None:
    for contact in PopResult.from_json(pop.result).contacts:
        for ticket in contact.get("tickets") or []:
            if ticket.get("id") == ticket_id:
                return {"subject": ticket.get("subject") or "", "contact_id": contact.get("id")}
    last = number_last_link(tenant_id=grant.tenant_id, phone_e164=pop.phone_e164)
    if last is not None and last.ticket_id == ticket_id:
        return {"subject": last.subject, "contact_id": last.contact_id}
    return (cache.get(_found_key(grant)) or {}).get(ticket_id)


def _link(grant: PanelGrant, pop: Pop, ticket_id: int, known: dict[str, Any]) -> None:
    contact_id = known.get("contact_id")
    with write_transaction():
        call_link_set(
            tenant_id=grant.tenant_id,
            conversation_id=grant.conversation_id,
            ticket_id=ticket_id,
            chosen_by=grant.user_id,
            phone_e164=pop.phone_e164,
            contact_id=contact_id if isinstance(contact_id, int) else None,
            subject=str(known.get("subject") or ""),
        )
        link_publish_on_commit(tenant_id=grant.tenant_id, conversation_id=grant.conversation_id)
        attributes_write_soon(pop_id=pop.pk, tenant=pop.tenant)  # Genesys's participant data names the linked ticket
    logger.info("conversation %s linked to ticket %s", grant.conversation_id, ticket_id)


# -- a new ticket -------------------------------------------------------------------------------------------------


def panel_link_created(*, grant: PanelGrant, pop: Pop, ticket: dict[str, Any]) -> None:
    """Link the call to the ticket the agent just created for it (`panel_ticket_create` for an unknown caller)."""
    contact = PopResult.from_json(pop.result).contact or {}
    _link(grant, pop, ticket["id"], {"subject": ticket["subject"], "contact_id": contact.get("id")})


def panel_linked_ticket_create(*, grant: PanelGrant, subject: str, contact_id: int | None = None) -> dict[str, Any]:
    """Create a phone ticket about this call and link the call to it. The requester is `contact_id` when the pop
    shows that contact, else the pop's first contact; a caller with no contact gets one by number (as
    `panel_ticket_create`, whose matched pop then shows the ticket). Returns the ticket in the panel's shape.
    Raises `ValidationFailed` (field `subject` or `contact_id`), `ScreenpopError` 409 `not_creatable`, and the
    errors of `freshdesk_failure`."""
    subject = (subject or "").strip()
    if not subject:
        raise ValidationFailed("subject: enter a subject.", field="subject")
    pop = panel_pop(grant)
    if pop.state == Pop.State.NO_MATCH:
        try:
            pop, ticket = panel_ticket_create(grant=grant, subject=subject)
        except FreshdeskError as error:
            raise freshdesk_failure(error, doing="create") from error
        except ScreenpopError as error:
            if error.code == "freshdesk_unavailable":
                raise ScreenpopError(error.detail, code="freshdesk_unavailable").with_status(424) from error
            raise
        panel_link_created(grant=grant, pop=pop, ticket=ticket)
        return ticket
    contacts = PopResult.from_json(pop.result).contacts
    if pop.state != Pop.State.MATCHED or not contacts:
        raise ScreenpopError("A ticket is created once the caller is looked up.", code="not_creatable").with_status(409)
    contact = next((c for c in contacts if contact_id is not None and c.get("id") == contact_id), None)
    if contact_id is not None and contact is None:
        raise ValidationFailed("contact_id: this contact is not shown for this call.", field="contact_id")
    contact = contact or contacts[0]
    lock = f"screenpop:panel-create:{pop.pk}"
    if not cache.add(lock, grant.user_id, timeout=CREATE_LOCK_SECONDS):
        raise ScreenpopError("A ticket is already being created for this call.", code="not_creatable").with_status(409)
    client = _client_of(grant.tenant_id)
    display = pop.result.get("phone_display") or pop.phone_e164 or pop.phone_raw
    try:
        created = client.create_ticket(
            subject=subject[:255],
            description=(
                f"Call from {display} (Genesys Cloud conversation {pop.conversation_id}). "
                "Created from the screenpop agent panel."
            ),
            requester_id=int(contact["id"]),
            source=3,
        )
        labels = ticket_labels(client)
    except FreshdeskError as error:
        raise freshdesk_failure(error, doing="create") from error
    finally:
        cache.delete(lock)
    ticket = ticket_view(created, labels, client.base_url)
    _link(grant, pop, ticket["id"], {"subject": ticket["subject"], "contact_id": contact["id"]})
    return ticket


# -- notes --------------------------------------------------------------------------------------------------------


def panel_note_set(*, grant: PanelGrant, text: str) -> None:
    """Keep what the agent typed about this call (theirs only); wrap-up writes it into their note."""
    if len(text) > MAX_NOTE_CHARS:
        raise ValidationFailed(f"text: at most {MAX_NOTE_CHARS} characters.", field="text")
    with write_transaction():
        agent_note_set(
            tenant_id=grant.tenant_id, conversation_id=grant.conversation_id, user_id=grant.user_id, text=text
        )


def panel_note_of(*, grant: PanelGrant) -> str:
    return agent_note_of(tenant_id=grant.tenant_id, conversation_id=grant.conversation_id, user_id=grant.user_id)
