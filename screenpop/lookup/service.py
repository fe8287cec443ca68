"""The caller lookup: E.164 number -> Freshdesk contact(s) -> their tickets, ranked (DESIGN.md §2).

API economy decides the shape (reference/freshdesk.md §6: on Growth the ticket list allows 20 calls a minute):

1. The tenant's phone index (`PhoneIndexEntry`, filled by `phone_index.phone_index_sync`) is asked first; a hit
   costs no contact call.
2. On a miss, one `/search/contacts` call ORs the spellings under which Freshdesk may store the number over the
   tenant's match fields (Freshdesk compares stored strings exactly, §9). Each candidate is confirmed by normalising
   its stored value and comparing full E.164 keys, never digit suffixes. Confirmed contacts go into the index; a
   miss is remembered for `SCREENPOP_MISS_CACHE_SECONDS`, so a repeat unknown caller costs nothing.
3. One ticket-list call per contact (at most three): `requester_id`, an old `updated_since` (without it Freshdesk
   may drop tickets created more than 30 days ago, §5), newest first, one page.
4. Labels come from `ticket_fields`, cached per account for an hour.

Freshdesk errors are raised unchanged (the runner classifies them); each carries `freshdesk_calls`, the calls this
lookup had made when it failed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Literal

import phonenumbers
from django.conf import settings
from django.core.cache import cache

from screenpop.freshdesk.accounts import counting_freshdesk_calls, freshdesk_client_for
from screenpop.freshdesk.client import FreshdeskClient
from screenpop.freshdesk.errors import FreshdeskError, FreshdeskNotFound
from screenpop.freshdesk.labels import standard_labels, ticket_labels
from screenpop.freshdesk.times import freshdesk_epoch
from screenpop.lookup import phone_index
from screenpop.mirror.reads import MirrorView, mirror_match, mirror_tickets_of, mirror_view
from screenpop.mirror.records import as_freshdesk_ticket
from screenpop.mirror.refresh import mirror_contacts_catch_up
from screenpop.models import FreshdeskConnection, PhoneIndexEntry, Tenant
from screenpop.phones import (
    CallerNumber,
    contact_search_queries,
    normalize_stored,
    search_variants,
    stored_numbers,
)
from screenpop.pops.result import PopResult, contact_view, contact_view_of, rank_tickets, ticket_view

LookupState = Literal["matched", "no_match"]
# "index": found in the phone index; "search": asked Freshdesk search (matched or not); "cache-miss": answered by
# a recent miss of the same number; "none": the number cannot be looked up.
# "mirror": the tenant's live mirror answered (a match, or a number its up-to-date contacts do not have).
LookupSource = Literal["index", "search", "cache-miss", "none", "mirror"]

# Tickets are fetched for at most this many contacts sharing a number: each one is a ticket-list call.
MAX_CONTACTS_WITH_TICKETS = 3
# One page of a requester's history, newest first; a page costs one credit whatever its size, and a large page
# keeps an old open ticket in view behind many recently resolved ones.
TICKETS_PER_PAGE = 100
# "Since the beginning": Freshdesk applies its 30-day default only when no updated_since is given.
HISTORY_START = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class LookupResult:
    """What a lookup found: `result` is what the pop shows (`PopResult`); `freshdesk_calls` counts the HTTP requests
    this lookup sent. On an index hit a contact's `email` is None (the index does not keep it)."""

    state: LookupState
    phone_e164: str | None
    result: PopResult
    freshdesk_calls: int = 0
    source: LookupSource = "none"
    detail: str = ""

    @property
    def contacts(self) -> list[dict[str, Any]]:
        return list(self.result.contacts)

    @property
    def contact(self) -> dict[str, Any] | None:
        return self.result.contact

    @property
    def tickets(self) -> list[dict[str, Any]]:
        return self.result.tickets

    @property
    def phone_display(self) -> str:
        return self.result.phone_display

    def as_dict(self) -> dict[str, Any]:
        """As the result cache keeps it (`flight`)."""
        return {
            "state": self.state,
            "phone_e164": self.phone_e164,
            "result": self.result.to_json(),
            "freshdesk_calls": self.freshdesk_calls,
            "source": self.source,
            "detail": self.detail,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LookupResult:
        return cls(
            state=data.get("state", "no_match"),
            phone_e164=data.get("phone_e164"),
            result=PopResult.from_json(data.get("result", data)),
            freshdesk_calls=data.get("freshdesk_calls", 0),
            source=data.get("source", "none"),
            detail=data.get("detail", ""),
        )


def _no_match(caller: CallerNumber, e164: str | None, *, source: LookupSource, detail: str) -> LookupResult:
    return LookupResult("no_match", e164, PopResult(caller.display, (), source), source=source, detail=detail)


def caller_lookup(
    *,
    tenant: Tenant,
    caller: CallerNumber,
    client: FreshdeskClient | None = None,
    connection: FreshdeskConnection | None = None,
) -> LookupResult:
    """Find `caller`'s Freshdesk contact(s) and their tickets for `tenant`.

    `connection`: the tenant's Freshdesk connection when the caller already holds it (else it is read).
    Returns `state="no_match"` with 0 calls when the number cannot be looked up or was recently not found.
    Raises the client's `FreshdeskError` subclasses unchanged, with a `freshdesk_calls` attribute added;
    `FreshdeskNotFound` (code `freshdesk_not_configured`) when the tenant has no Freshdesk connection.
    """
    if not caller.can_look_up or not caller.e164:
        return _no_match(caller, None, source="none", detail=caller.reason)
    if connection is None:
        connection = FreshdeskConnection.objects.filter(tenant=tenant).first()
    if connection is None:
        raise FreshdeskNotFound(
            f"{tenant.name} has no Freshdesk connection; an admin must add the domain and API key.",
            code="freshdesk_not_configured",
        )
    client = client or freshdesk_client_for(connection)
    with counting_freshdesk_calls(client) as calls:
        try:
            result = _lookup(tenant, connection, caller, client)
        except FreshdeskError as error:
            error.freshdesk_calls = calls[0]  # type: ignore[attr-defined]
            raise
    return replace(result, freshdesk_calls=calls[0])


def _lookup(
    tenant: Tenant, connection: FreshdeskConnection, caller: CallerNumber, client: FreshdeskClient
) -> LookupResult:
    mirror = mirror_view(tenant, connection)
    if mirror is not None:
        found = _from_mirror(tenant, connection, caller, client, mirror)
        if found is not None:
            return found
    e164 = caller.e164 or ""
    fields = connection.match_fields
    base_url = client.base_url
    contacts = _contacts_from_index(tenant, e164, fields, base_url)
    source: LookupSource = "index"
    if not contacts:
        if cache.get(_miss_key(tenant, e164)):
            return _no_match(caller, e164, source="cache-miss", detail=_no_contact_detail(caller))
        contacts = _contacts_from_search(tenant, connection, e164, client)
        source = "search"
        if not contacts:
            cache.set(_miss_key(tenant, e164), True, timeout=settings.SCREENPOP_MISS_CACHE_SECONDS)
            return _no_match(caller, e164, source="search", detail=_no_contact_detail(caller))

    with_tickets = contacts[:MAX_CONTACTS_WITH_TICKETS]
    raw_tickets = {contact["id"]: requester_tickets(client, contact["id"]) for contact in with_tickets}
    labels = ticket_labels(client) if any(raw_tickets.values()) else standard_labels()
    for contact in contacts:
        found = raw_tickets.get(contact["id"])
        ranked = rank_tickets(found or [])[: tenant.ticket_limit]
        contact["tickets"] = [ticket_view(ticket, labels, base_url) for ticket in ranked]
        # The whole story: how many the page held (None: not asked), and whether Freshdesk has more beyond it.
        contact["ticket_count"] = None if found is None else len(found)
        contact["tickets_beyond"] = found is not None and len(found) >= TICKETS_PER_PAGE
    count = len(contacts)
    detail = f"{count} Freshdesk contacts share this number." if count > 1 else ""
    return LookupResult(
        "matched", e164, PopResult(caller.display, tuple(contacts), source), source=source, detail=detail
    )


def _from_mirror(
    tenant: Tenant, connection: FreshdeskConnection, caller: CallerNumber, client: FreshdeskClient, mirror: MirrorView
) -> LookupResult | None:
    """The caller's contacts and open tickets from the tenant's live mirror, with no Freshdesk call for a known
    caller. An unknown number first brings the mirror's contacts up to date (`mirror_contacts_catch_up`: at most one
    bounded contacts-list call, shared by the lookups of a few seconds); when that sync reached the newest change the
    number is unknown to Freshdesk too (its list is fresher than its search, which lags by minutes). None when it
    could not: the lookup then asks Freshdesk search as it would without a mirror."""
    e164 = caller.e164 or ""
    fields = connection.match_fields
    rows = mirror_match(tenant=tenant, e164=e164, fields=fields)
    if not rows:
        if cache.get(_miss_key(tenant, e164)):
            return _no_match(caller, e164, source="cache-miss", detail=_no_contact_detail(caller))
        complete = mirror_contacts_catch_up(tenant=tenant, client=client)
        rows = mirror_match(tenant=tenant, e164=e164, fields=fields)
        if not rows:
            if not complete:
                return None
            cache.set(_miss_key(tenant, e164), True, timeout=settings.SCREENPOP_MISS_CACHE_SECONDS)
            return _no_match(caller, e164, source="mirror", detail=_no_contact_detail(caller))
    tickets = mirror_tickets_of(tenant=tenant, contact_ids=[row.contact_id for row in rows[:MAX_CONTACTS_WITH_TICKETS]])
    base_url = client.base_url
    labels = {kind: {**standard_labels()[kind], **codes} for kind, codes in mirror.labels.items()}
    contacts = []
    for row in rows:
        ranked = rank_tickets([as_freshdesk_ticket(ticket) for ticket in tickets.get(row.contact_id, [])])
        contacts.append(
            contact_view(
                row.contact_id,
                base_url,
                name=row.name,
                email=row.email or None,
                phone=row.phone or None,
                mobile=row.mobile or None,
                tickets=[ticket_view(ticket, labels, base_url) for ticket in ranked[: tenant.ticket_limit]],
            )
        )
    count = len(contacts)
    detail = f"{count} Freshdesk contacts share this number." if count > 1 else ""
    as_of = mirror.as_of.isoformat().replace("+00:00", "Z") if mirror.as_of else ""
    result = PopResult(caller.display, tuple(contacts), "mirror", as_of=as_of)
    return LookupResult("matched", e164, result, source="mirror", detail=detail)


def _contacts_from_index(tenant: Tenant, e164: str, fields: list[str], base_url: str) -> list[dict[str, Any]]:
    """Contacts the index holds for `e164` on a field the tenant still matches, most recently updated first."""
    hits = PhoneIndexEntry.objects.filter(tenant=tenant, e164=e164, field__in=fields).values("contact_id")
    # All entries of those contacts (one query), so the panel shows both numbers even when the caller matched only one.
    entries = PhoneIndexEntry.objects.filter(tenant=tenant, contact_id__in=hits)
    by_contact: dict[int, dict[str, Any]] = {}
    updated: dict[int, float] = {}
    for entry in entries:
        contact = by_contact.setdefault(entry.contact_id, contact_view(entry.contact_id, base_url))
        contact["name"] = contact["name"] or entry.contact_name
        if entry.field in ("phone", "mobile"):
            contact[entry.field] = entry.stored_value
        if entry.contact_updated_at is not None:
            updated[entry.contact_id] = max(entry.contact_updated_at.timestamp(), updated.get(entry.contact_id, 0.0))
    order = sorted(by_contact, key=lambda contact_id: (-updated.get(contact_id, 0.0), contact_id))
    return [by_contact[contact_id] for contact_id in order]


def _contacts_from_search(
    tenant: Tenant, connection: FreshdeskConnection, e164: str, client: FreshdeskClient
) -> list[dict[str, Any]]:
    """Contacts search finds under any spelling of `e164`, confirmed by E.164 equality; those changed since the
    last index sync are written to the index."""
    fields = connection.match_fields
    if not fields:
        return []
    variants = search_variants(e164, tenant_region=tenant.phone_region)
    # Spellings one query cannot hold go into a second rather than being dropped: two contacts sharing a number
    # may be stored under any two of them. One page each (30 contacts): more is an import gone wrong, not a caller.
    found: list[dict[str, Any]] = []
    for query in contact_search_queries(variants, fields=tuple(fields)):
        found += [
            contact
            for contact in client.search_contacts(query).get("results") or []
            if contact.get("id") not in {seen.get("id") for seen in found}
        ]
    normalised = [
        contact
        for contact in found
        if any(
            e164 in stored_numbers(phone_index.stored_value(contact, name), default_region=tenant.phone_region)
            for name in fields
        )
    ]
    # A stored string equal to a spelling made from the caller's own number is that number when the tenant's
    # default region cannot read it as a real number of its own (a US tenant's contact stored as Japan's
    # "03-1234-5678"). When the region reads it as another valid number (a UK tenant's "2079460958" is London, not
    # the US caller +1 207-946-0958), the region wins. Such contacts are shown but not indexed: their index key
    # would come from the wrong region.
    spelled = [
        contact
        for contact in found
        if contact not in normalised
        and any(
            _foreign_spelling(phone_index.stored_value(contact, name), variants, tenant.phone_region) for name in fields
        )
    ]
    confirmed = normalised + spelled
    if not confirmed:
        return []
    # A contact the sync has already read at this version or later is in the index exactly as the contacts list
    # has it; if it is missing there, this search result is a stale copy (search lags) and must not be indexed.
    watermark = connection.index_synced_until.timestamp() if connection.index_synced_until else None
    unsynced = [
        contact for contact in normalised if watermark is None or freshdesk_epoch(contact.get("updated_at")) > watermark
    ]
    phone_index.phone_index_apply(tenant=tenant, contacts=unsynced, fields=fields)
    confirmed.sort(key=lambda contact: (-freshdesk_epoch(contact.get("updated_at")), contact["id"]))
    return [contact_view_of(contact, client.base_url) for contact in confirmed]


def _foreign_spelling(stored: str | None, variants: list[str], region: str) -> bool:
    if not stored or stored.strip() not in variants:
        return False
    regional = normalize_stored(stored, default_region=region)
    return regional is None or not phonenumbers.is_valid_number(phonenumbers.parse(regional))


def requester_tickets(client: FreshdeskClient, contact_id: int) -> list[dict[str, Any]]:
    """The requester's tickets (one page, `TICKETS_PER_PAGE`), newest first; [] for a requester Freshdesk does not
    know (its 400)."""
    return client.list_tickets(
        requester_id=contact_id,
        updated_since=HISTORY_START,
        order_by="updated_at",
        order_type="desc",
        per_page=TICKETS_PER_PAGE,
    )


# -- small helpers --------------------------------------------------------------------------------------------------


def _miss_key(tenant: Tenant, e164: str) -> str:
    return f"screenpop:lookup-miss:{tenant.pk}:{e164}"


def _no_contact_detail(caller: CallerNumber) -> str:
    return f"No Freshdesk contact has the number {caller.display}."
