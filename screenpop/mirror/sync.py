"""Keeping a tenant's mirror in step with its Freshdesk account, within the plan's budget.

A tenant's mirror moves through three phases (`MirrorSync.phase`), one bounded round at a time, each round by one
process only (a lease on the tenant's `MirrorSync` row, taken with one conditional UPDATE):

1. **contacts**: every usable contact, page by page (100 a page, `GET /contacts?page=N`), into the phone index and
   the contact rows. The page reached is saved with each page's rows, so a process that dies resumes there.
2. **tickets**: every ticket updated since 2000, oldest change first (`updated_since` + `order_by=updated_at asc`),
   keeping those not closed. The cursor is (the newest `updated_at` read, page): each full page moves it to the
   newest change it held and back to page 1, so Freshdesk's 300-page cap on the ticket list is never reached; a page
   whose hundred tickets share one second moves on by page number instead.
3. **live**: the same ticket walk from where it stopped, the phone index's incremental contacts sync
   (`phone_index_sync`), both every `SCREENPOP_MIRROR_SYNC_SECONDS`; and every `SCREENPOP_MIRROR_RECONCILE_SECONDS`
   a reconciliation: deleted and spam tickets since the last one, then another pass over every contact (as in 1,
   slower), after which contacts the pass did not list are checked one by one (`GET /contacts/{id}`: a 404 is a
   contact merged away or deleted for good, which no list shows) and removed.

Pacing: a round reads a page only while the account's budget for that kind of call keeps more than
`SCREENPOP_MIRROR_BUDGET_RESERVE` of its per-minute limit unspent (kept for the pops), so a first sync runs at about
half the plan's list rate and never delays a pop; a 429 is never earned (the client's budget holds the line).
"""

from __future__ import annotations

import contextlib
import logging
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError
from django.db.models import Q
from django.utils import timezone

from screenpop.freshdesk.accounts import counting_freshdesk_calls, freshdesk_client_for
from screenpop.freshdesk.budget import EndpointKind
from screenpop.freshdesk.client import FreshdeskClient
from screenpop.freshdesk.errors import FreshdeskError, FreshdeskNotFound
from screenpop.freshdesk.labels import standard_labels, ticket_labels
from screenpop.freshdesk.times import freshdesk_time
from screenpop.lookup.phone_index import phone_index_apply, phone_index_sync
from screenpop.mirror.records import CLOSED, mirror_companies_write, mirror_tickets_write
from screenpop.models import (
    FreshdeskConnection,
    MirrorCompany,
    MirrorContact,
    MirrorSync,
    MirrorTicket,
    PhoneIndexEntry,
    Tenant,
)
from screenpop.storage.transactions import write_transaction
from screenpop.ticket_updates import tickets_push

__all__ = [
    "RoundReport",
    "mirror_purge",
    "mirror_sync_due",
    "mirror_sync_round",
    "mirror_tickets_catch_up",
    "mirror_tickets_push",
    "sync_progress",
]

logger = logging.getLogger("screenpop.mirror")

PER_PAGE = 100  # Freshdesk's largest page: the fewest list calls, the scarcest budget
HISTORY_START = datetime(2000, 1, 1, tzinfo=UTC)
# Contacts changed during a pass may be listed before their change: the incremental sync that follows the first
# pass starts this long before the pass did (a clock skew between Freshdesk and us is covered too).
PASS_OVERLAP = timedelta(minutes=5)
# Contacts a reconciliation pass did not list are checked with one call each, this many a round.
VERIFY_PER_ROUND = 20
# A closed ticket's tombstone is kept this long (a late webhook of its open version cannot reopen it), then dropped.
TOMBSTONE_DAYS = 2
# Companies read per pass, at most (10,000 companies); an account with more keeps the first ones by id.
COMPANY_PAGES = 100
_SWEEPING = 0  # `contacts_page` once the pass has listed every page and checks what it did not see


class _LeaseLost(Exception):
    """Another process took the tenant's sync over (this one stalled past its lease)."""


@dataclass
class RoundReport:
    tenant_id: int
    phase: str
    freshdesk_calls: int = 0
    contacts: int = 0
    tickets: int = 0
    error: str = ""
    changed_tickets: list[dict[str, Any]] = field(default_factory=list)


def mirror_sync_round(
    *, tenant: Tenant, owner: str, client: FreshdeskClient | None = None, max_pages: int = 10
) -> RoundReport | None:
    """One bounded round of `tenant`'s sync (at most `max_pages` list calls of each kind), by `owner`; None when
    another process holds the tenant's sync. Freshdesk's failures end the round and are kept in `last_error` (the
    admin shows it); what was read before stays, and the next round resumes from the saved cursor."""
    now = timezone.now()
    state = _lease(tenant, owner, now)
    if state is None:
        return None
    connection = FreshdeskConnection.objects.get(tenant=tenant)
    client = client or freshdesk_client_for(connection)
    report = RoundReport(tenant.pk, state.phase)
    round_ = _Round(tenant, connection, state, owner, client, report, max_pages)
    with counting_freshdesk_calls(client) as calls:
        try:
            round_.run()
            error = ""
        except FreshdeskError as failure:
            error = failure.detail
            logger.warning("Mirror sync of %s stopped: %s", tenant, error)
        except _LeaseLost:
            logger.warning("Mirror sync of %s was taken over by another process", tenant)
            report.freshdesk_calls = calls[0]
            return report
        finally:
            report.freshdesk_calls = calls[0]
    report.error = error
    MirrorSync.objects.filter(pk=state.pk, lease_owner=owner).update(
        lease_owner="", lease_expires_at=None, last_error=error
    )
    return report


def mirror_sync_due(*, owner: str) -> list[RoundReport]:
    """The scheduler's job: one round for every active tenant with Freshdesk (those another process holds are
    skipped), and the purge of uninstalled tenants' mirrors. A tenant's failure does not stop the others."""
    mirror_purge()
    reports = []
    for tenant in Tenant.objects.filter(active=True, freshdesk__isnull=False).select_related("freshdesk"):
        report = mirror_sync_round(tenant=tenant, owner=owner)
        if report is None:
            continue
        if report.changed_tickets and report.phase == MirrorSync.Phase.LIVE:
            base_url = freshdesk_client_for(tenant.freshdesk).base_url
            mirror_tickets_push(tenant=tenant, tickets=report.changed_tickets, base_url=base_url)
        reports.append(report)
    return reports


def mirror_purge() -> int:
    """Delete the mirror of every tenant that is no longer active (uninstalled); returns the tenants purged."""
    purged = 0
    for tenant_id in Tenant.objects.filter(active=False, mirror_sync__isnull=False).values_list("pk", flat=True):
        with write_transaction():
            for model in (PhoneIndexEntry, MirrorContact, MirrorTicket, MirrorCompany, MirrorSync):
                model.objects.filter(tenant_id=tenant_id).delete()
        FreshdeskConnection.objects.filter(tenant_id=tenant_id).update(index_synced_until=None, index_synced_at=None)
        logger.info("Purged the mirror of uninstalled tenant %s", tenant_id)
        purged += 1
    return purged


def mirror_tickets_catch_up(*, tenant: Tenant, client: FreshdeskClient, owner: str) -> RoundReport | None:
    """One page of the live ticket walk, now (the refresh after a pop): None when the mirror is not live, another
    process holds its sync, or the budget keeps its reserve for pops."""
    now = timezone.now()
    if not MirrorSync.objects.filter(tenant=tenant, phase=MirrorSync.Phase.LIVE).exists():
        return None
    if not has_room(client, "tickets_list"):
        return None
    state = _lease(tenant, owner, now)
    if state is None:
        return None
    connection = FreshdeskConnection.objects.get(tenant=tenant)
    report = RoundReport(tenant.pk, state.phase)
    round_ = _Round(tenant, connection, state, owner, client, report, max_pages=1)
    try:
        with counting_freshdesk_calls(client) as calls:
            try:
                round_.tickets_walk()
            finally:
                report.freshdesk_calls = calls[0]
    except FreshdeskError as failure:
        report.error = failure.detail
    except _LeaseLost:
        return report
    MirrorSync.objects.filter(pk=state.pk, lease_owner=owner).update(lease_owner="", lease_expires_at=None)
    return report


def mirror_tickets_push(*, tenant: Tenant, tickets: list[dict[str, Any]], base_url: str) -> int:
    """Show `tickets` (changes the mirror just took) on the recent panels they concern; returns the panels updated."""
    labels = (MirrorSync.objects.filter(tenant=tenant).values_list("labels", flat=True).first()) or {}
    readable = {kind: {int(code): label for code, label in labels.get(kind, {}).items()} for kind in labels}
    merged = {kind: {**codes, **readable.get(kind, {})} for kind, codes in standard_labels().items()}
    outcomes = tickets_push(tenant=tenant, tickets=tickets, labels=merged, base_url=base_url)
    return sum(outcome.panels_updated for outcome in outcomes)


def has_room(client: FreshdeskClient, kind: EndpointKind, *, reserve: float | None = None) -> bool:
    """Does the account's budget keep `reserve` (a share of each per-minute limit; by default the pops' share,
    `SCREENPOP_MIRROR_BUDGET_RESERVE`) after one more call of `kind`?"""
    budget = client.budget
    if budget is None:
        return True
    reserve = settings.SCREENPOP_MIRROR_BUDGET_RESERVE if reserve is None else reserve
    for name in ("total", kind):
        limit = budget.limit(name)
        remaining = budget.remaining(name)
        if limit is not None and remaining is not None and remaining - 1 < math.ceil(limit * reserve):
            return False
    return True


def sync_progress(state: MirrorSync, now: datetime | None = None) -> tuple[float | None, timedelta | None]:
    """(fraction done 0-1, estimated time left) of a first sync; (1, None) once live; (None, None) when unknown."""
    now = now or timezone.now()
    if state.phase == MirrorSync.Phase.LIVE:
        return 1.0, None
    contacts_total = state.contacts_estimate or 0
    tickets_total = state.tickets_estimate or 0
    # Contacts and tickets are weighed by the list calls they cost.
    total = contacts_total + tickets_total
    if not total or state.started_at is None:
        return None, None
    done = min(state.contacts_seen, contacts_total)
    if state.phase == MirrorSync.Phase.TICKETS:
        done = contacts_total + min(state.tickets_seen, tickets_total)
    fraction = min(done / total, 0.999)
    elapsed = (now - state.started_at).total_seconds()
    if fraction <= 0 or elapsed <= 0:
        return fraction, None
    return fraction, timedelta(seconds=elapsed * (1 - fraction) / fraction)


# -- the round ------------------------------------------------------------------------------------------------------


def _lease(tenant: Tenant, owner: str, now: datetime) -> MirrorSync | None:
    if not MirrorSync.objects.filter(tenant=tenant).exists():
        with contextlib.suppress(IntegrityError):  # another process made it first
            MirrorSync.objects.create(tenant=tenant)
    expires = now + timedelta(seconds=settings.SCREENPOP_MIRROR_LEASE_SECONDS)
    free = Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now) | Q(lease_owner=owner)
    if not MirrorSync.objects.filter(tenant=tenant).filter(free).update(lease_owner=owner, lease_expires_at=expires):
        return None
    return MirrorSync.objects.get(tenant=tenant)


class _Round:
    def __init__(
        self,
        tenant: Tenant,
        connection: FreshdeskConnection,
        state: MirrorSync,
        owner: str,
        client: FreshdeskClient,
        report: RoundReport,
        max_pages: int,
    ) -> None:
        self.tenant = tenant
        self.connection = connection
        self.state = state
        self.owner = owner
        self.client = client
        self.report = report
        self.max_pages = max_pages
        self.now = timezone.now()

    def run(self) -> None:
        state = self.state
        if state.phase == MirrorSync.Phase.CONTACTS:
            if state.started_at is None:
                self._save(started_at=self.now)
                self._estimate_tickets()  # with the contacts' estimate, the bar's whole from the start
            if self.contacts_pass():
                self._companies()
                self._first_pass_done()
                self._save(phase=MirrorSync.Phase.TICKETS, labels=_labels_json(ticket_labels(self.client)))
        if state.phase == MirrorSync.Phase.TICKETS:
            if self.tickets_walk():
                self._save(phase=MirrorSync.Phase.LIVE, live_since=self.now, reconciled_at=self.now)
            return
        if state.phase == MirrorSync.Phase.LIVE:
            self._live()

    # contacts

    def contacts_pass(self) -> bool:
        """Go on with the current pass over every contact; True when it is complete."""
        state = self.state
        if state.contacts_pass_started_at is None:
            self._save(
                generation=state.generation + 1,
                contacts_page=1,
                contacts_seen=0,
                contacts_pass_started_at=self.now,
            )
            self._estimate_contacts()
        for _ in range(self.max_pages):
            if state.contacts_page == _SWEEPING:
                return self._verify_unlisted()
            if not has_room(self.client, "contacts_list"):
                return False
            page = self.client.list_contacts(page=state.contacts_page, per_page=PER_PAGE)
            last = len(page) < PER_PAGE
            with write_transaction():
                phone_index_apply(
                    tenant=self.tenant, contacts=page, fields=self.connection.match_fields, generation=state.generation
                )
                self._save(
                    contacts_page=_SWEEPING if last else state.contacts_page + 1,
                    contacts_seen=state.contacts_seen + len(page),
                )
            self.report.contacts += len(page)
        return False

    def _verify_unlisted(self) -> bool:
        """Check the contacts this pass did not list and that did not change since it began; True when none is
        left. Each check is one call: a 404 (merged away, deleted for good) or a deleted contact is removed."""
        state = self.state
        unlisted = list(
            MirrorContact.objects.filter(
                tenant=self.tenant,
                deleted=False,
                generation__lt=state.generation,
                updated_at__lt=state.contacts_pass_started_at,
            ).order_by("contact_id")[:VERIFY_PER_ROUND]
        )
        for row in unlisted:
            if not has_room(self.client, "other"):
                return False
            try:
                contact = self.client.get_contact(row.contact_id)
            except FreshdeskNotFound:
                contact = {"id": row.contact_id, "deleted": True, "name": row.name}
                contact["updated_at"] = _iso(max(row.updated_at, self.now))
                self._reread_tickets_of(row.contact_id)
            phone_index_apply(
                tenant=self.tenant, contacts=[contact], fields=self.connection.match_fields, generation=state.generation
            )
        if len(unlisted) == VERIFY_PER_ROUND:
            return False
        self._save(contacts_pass_started_at=None, contacts_page=1)
        return True

    def _companies(self) -> None:
        """Every company (name, and the tenant's custom phone field if it has one): a few pages, after each pass
        over the contacts. Companies are few; their list has no `updated_since`, so each pass reads them all."""
        phone_fields = [self.connection.custom_phone_field] if self.connection.custom_phone_field else []
        for page in range(1, 1 + COMPANY_PAGES):
            if not has_room(self.client, "other"):
                return
            companies = self.client.list_companies(page=page, per_page=PER_PAGE)
            mirror_companies_write(tenant=self.tenant, companies=companies, phone_fields=phone_fields)
            if len(companies) < PER_PAGE:
                return

    def _reread_tickets_of(self, contact_id: int) -> None:
        """A contact merged away took its tickets to another contact, without (as far as anyone documents) changing
        their `updated_at`: each of its open tickets is read again (one call each) to learn its requester now."""
        for ticket_id in (
            MirrorTicket.objects.filter(tenant=self.tenant, requester_id=contact_id)
            .exclude(status=CLOSED)
            .values_list("ticket_id", flat=True)
        ):
            try:
                ticket = self.client.get_ticket(ticket_id)
            except FreshdeskNotFound:
                ticket = {"id": ticket_id, "deleted": True, "status": CLOSED, "updated_at": _iso(self.now)}
            mirror_tickets_write(tenant=self.tenant, tickets=[ticket], keep_new_closed=True)
            self.report.changed_tickets.append(ticket)

    def _first_pass_done(self) -> None:
        started = self.state.started_at or self.now
        watermark = started - PASS_OVERLAP
        held = self.connection.index_synced_until
        FreshdeskConnection.objects.filter(pk=self.connection.pk).update(
            index_synced_until=min(held, watermark) if held else watermark, index_synced_at=self.now
        )

    # tickets

    def tickets_walk(self) -> bool:
        """Go on with the ticket walk; True when it reached the newest change (a short page)."""
        state = self.state
        for _ in range(self.max_pages):
            if not has_room(self.client, "tickets_list"):
                return False
            since = state.tickets_since or HISTORY_START
            page = self.client.list_tickets(
                updated_since=since,
                order_by="updated_at",
                order_type="asc",
                per_page=PER_PAGE,
                page=state.tickets_page,
            )
            times = [moment for moment in (freshdesk_time(ticket.get("updated_at")) for ticket in page) if moment]
            newest = max(times, default=since)
            caught_up = len(page) < PER_PAGE
            cursor: dict[str, Any] = {"tickets_seen": state.tickets_seen + len(page)}
            if caught_up:
                cursor.update(tickets_since=newest, tickets_page=1, tickets_current_at=timezone.now())
            elif newest > since:
                cursor.update(tickets_since=newest, tickets_page=1)
            else:
                cursor.update(tickets_page=state.tickets_page + 1)
            with write_transaction():
                written = set(mirror_tickets_write(tenant=self.tenant, tickets=page))
                self._save(**cursor)
            self.report.tickets += len(page)
            self.report.changed_tickets += [ticket for ticket in page if ticket.get("id") in written]
            if caught_up:
                return True
        return False

    # live

    def _live(self) -> None:
        state = self.state
        every = timedelta(seconds=settings.SCREENPOP_MIRROR_SYNC_SECONDS)
        synced_at = FreshdeskConnection.objects.filter(pk=self.connection.pk).values_list("index_synced_at", flat=True)
        contacts_at = next(iter(synced_at), None)
        contacts_due = contacts_at is None or self.now - contacts_at >= every
        if contacts_due and has_room(self.client, "contacts_list"):
            result = phone_index_sync(tenant=self.tenant, client=self.client, max_pages=self.max_pages)
            self.report.contacts += result.contacts_seen
        if state.tickets_current_at is None or self.now - state.tickets_current_at >= every:
            self.tickets_walk()
        reconcile_every = timedelta(seconds=settings.SCREENPOP_MIRROR_RECONCILE_SECONDS)
        reconciling = state.contacts_pass_started_at is not None
        if reconciling or state.reconciled_at is None or self.now - state.reconciled_at >= reconcile_every:
            self._reconcile(start=not reconciling)

    def _reconcile(self, *, start: bool) -> None:
        state = self.state
        if start:
            since = state.reconciled_since or state.live_since or self.now
            for filter_name in ("deleted", "spam"):
                gone = self.client.list_tickets(filter_name=filter_name, updated_since=since, per_page=PER_PAGE)
                mirror_tickets_write(tenant=self.tenant, tickets=[{**ticket, "deleted": True} for ticket in gone])
            deleted = self.client.list_contacts(state="deleted", updated_since=since, per_page=PER_PAGE)
            phone_index_apply(tenant=self.tenant, contacts=deleted, fields=self.connection.match_fields)
            MirrorTicket.objects.filter(
                tenant=self.tenant, status=CLOSED, updated_at__lt=self.now - timedelta(days=TOMBSTONE_DAYS)
            ).delete()
            self._save(reconciled_since=self.now, labels=_labels_json(ticket_labels(self.client)))
        if self.contacts_pass():
            self._companies()
            self._save(reconciled_at=self.now)

    # estimates and cursor

    def _estimate_contacts(self) -> None:
        try:
            total = self.client.search_contacts("active:true OR active:false").get("total")
        except FreshdeskError:
            return  # decoration: the bar waits for the next pass
        if isinstance(total, int):
            self._save(contacts_estimate=total)

    def _estimate_tickets(self) -> None:
        try:
            total = self.client.search_tickets("created_at:>'2000-01-01'").get("total")
        except FreshdeskError:
            return
        if isinstance(total, int):
            self._save(tickets_estimate=total)

    def _save(self, **fields: Any) -> None:
        """Save the cursor (and extend the lease) if this process still holds the tenant's sync."""
        fields["lease_expires_at"] = timezone.now() + timedelta(seconds=settings.SCREENPOP_MIRROR_LEASE_SECONDS)
        if not MirrorSync.objects.filter(pk=self.state.pk, lease_owner=self.owner).update(**fields):
            raise _LeaseLost
        for name, value in fields.items():
            setattr(self.state, name, value)


def _labels_json(labels: dict[str, dict[int, str]]) -> dict[str, dict[str, str]]:
    return {kind: {str(code): label for code, label in codes.items()} for kind, codes in labels.items()}


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
