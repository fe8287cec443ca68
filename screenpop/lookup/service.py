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

import contextlib
import contextvars
import hashlib
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

import phonenumbers
from django.conf import settings
from django.core.cache import cache
from django.utils.dateparse import parse_datetime

from screenpop import phone_index
from screenpop.freshdesk import FreshdeskClient, FreshdeskError, FreshdeskNotFound, RateBudget, freshdesk_base_url
from screenpop.models import FreshdeskConnection, PhoneIndexEntry, Tenant
from screenpop.phones import CallerNumber, contact_search_query, normalize_stored, search_variants

__all__ = [
    "LOOKUP_BUDGET_WAIT_SECONDS",
    "LookupResult",
    "caller_lookup",
    "counting_freshdesk_calls",
    "freshdesk_client_for",
    "rank_tickets",
    "ticket_labels",
    "ticket_shape",
]

LookupState = Literal["matched", "no_match"]
# "index": found in the phone index; "search": asked Freshdesk search (matched or not); "cache-miss": answered by
# a recent miss of the same number; "none": the number cannot be looked up.
LookupSource = Literal["index", "search", "cache-miss", "none"]

# How long a lookup may wait for the account's rate budget before FreshdeskRateLimited: a pop is worth little
# after the call is answered, and a blocked worker would delay every other tenant's pops.
LOOKUP_BUDGET_WAIT_SECONDS = 1.5
# Tickets are fetched for at most this many contacts sharing a number: each one is a ticket-list call.
MAX_CONTACTS_WITH_TICKETS = 3
# One page of a requester's history, newest first; a page costs one credit whatever its size, and a large page
# keeps an old open ticket in view behind many recently resolved ones.
TICKETS_PER_PAGE = 100
# "Since the beginning": Freshdesk applies its 30-day default only when no updated_since is given.
HISTORY_START = datetime(2000, 1, 1, tzinfo=UTC)
LABELS_CACHE_SECONDS = 3600
# After ticket_fields fails, standard labels are used and the next try waits this long (cheap, but not free).
LABELS_RETRY_SECONDS = 60

STANDARD_STATUS_LABELS: dict[int, str] = {2: "Open", 3: "Pending", 4: "Resolved", 5: "Closed"}
STANDARD_PRIORITY_LABELS: dict[int, str] = {1: "Low", 2: "Medium", 3: "High", 4: "Urgent"}
RESOLVED_STATUSES = frozenset({4, 5})


@dataclass(frozen=True)
class LookupResult:
    """What a lookup found. Every field is JSON-serialisable (`as_dict()` is stored as the pop's result).

    `contacts`: `[{"id", "name", "email", "phone", "mobile", "url", "tickets": [ticket, ...]}, ...]`, most recently
    updated first; only the first `MAX_CONTACTS_WITH_TICKETS` have tickets fetched. `contact` is `contacts[0]` or
    None and `tickets` its tickets. A ticket is `{"id", "subject", "status", "status_label", "priority",
    "priority_label", "updated_at", "url"}`. On an index hit `email` is None (the index does not keep it).
    `freshdesk_calls` counts the HTTP requests this lookup sent.
    """

    state: LookupState
    phone_e164: str | None
    phone_display: str
    contacts: list[dict[str, Any]] = field(default_factory=list)
    contact: dict[str, Any] | None = None
    tickets: list[dict[str, Any]] = field(default_factory=list)
    freshdesk_calls: int = 0
    source: LookupSource = "none"
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- the pooled client per account ------------------------------------------------------------------------------

_clients: dict[tuple[str, str, str, float], FreshdeskClient] = {}
_clients_lock = threading.Lock()


def freshdesk_client_for(
    connection: FreshdeskConnection, *, budget_wait: float = LOOKUP_BUDGET_WAIT_SECONDS
) -> FreshdeskClient:
    """The process's pooled client of `connection`'s account, with the account's `RateBudget`.

    Cached per (base URL, API key fingerprint, plan, budget_wait): a changed key or plan gets a new client, and
    every tenant on the same account shares one connection pool. The budget's counters live in the Django cache,
    so clients in other processes draw from the same per-minute budget. A spent budget holds a call at most
    `budget_wait` seconds, then raises `FreshdeskRateLimited`. Raises `ValidationFailed` for a domain outside the
    allow-list.
    """
    base_url = freshdesk_base_url(connection.domain)
    fingerprint = hashlib.sha256(connection.api_key.encode()).hexdigest()[:16]
    key = (base_url, fingerprint, connection.plan, budget_wait)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            budget = RateBudget(base_url, connection.plan)
            client = FreshdeskClient(base_url, connection.api_key, budget=budget, budget_wait=budget_wait)
            _install_call_counter(client)
            _clients[key] = client
        return client


# -- counting the HTTP calls of one lookup ------------------------------------------------------------------------

# The counters of the lookups (or syncs) running in this thread/context. A pooled client is shared by threads, so
# the count cannot live on the client; a response hook adds to whatever counters the calling context holds.
_active_counters: contextvars.ContextVar[tuple[list[int], ...]] = contextvars.ContextVar(
    "freshdesk_call_counters", default=()
)


def _count_response(response: Any, *args: Any, **kwargs: Any) -> Any:
    for counter in _active_counters.get():
        counter[0] += 1
    return response


def _install_call_counter(client: FreshdeskClient) -> None:
    hooks = client.session.hooks.setdefault("response", [])
    if _count_response not in hooks:
        hooks.append(_count_response)


@contextlib.contextmanager
def counting_freshdesk_calls(client: FreshdeskClient) -> Iterator[list[int]]:
    """Count the responses `client` receives in this context: `with counting_freshdesk_calls(c) as calls:` then
    `calls[0]`. A request that got no response at all (connection refused, timeout) is not counted; one refused
    by our own rate budget was never sent."""
    _install_call_counter(client)
    counter = [0]
    token = _active_counters.set((*_active_counters.get(), counter))
    try:
        yield counter
    finally:
        _active_counters.reset(token)


# -- the lookup ---------------------------------------------------------------------------------------------------


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
        return LookupResult("no_match", None, caller.display, detail=caller.reason)
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
    e164 = caller.e164 or ""
    fields = connection.match_fields
    base_url = client.base_url
    contacts = _contacts_from_index(tenant, e164, fields, base_url)
    source: LookupSource = "index"
    if not contacts:
        if cache.get(_miss_key(tenant, e164)):
            return LookupResult(
                "no_match", e164, caller.display, source="cache-miss", detail=_no_contact_detail(caller)
            )
        contacts = _contacts_from_search(tenant, connection, e164, client)
        source = "search"
        if not contacts:
            cache.set(_miss_key(tenant, e164), True, timeout=settings.SCREENPOP_MISS_CACHE_SECONDS)
            return LookupResult("no_match", e164, caller.display, source="search", detail=_no_contact_detail(caller))

    with_tickets = contacts[:MAX_CONTACTS_WITH_TICKETS]
    raw_tickets = {contact["id"]: _tickets_of(client, contact["id"]) for contact in with_tickets}
    labels = ticket_labels(client) if any(raw_tickets.values()) else _standard_labels()
    for contact in contacts:
        ranked = rank_tickets(raw_tickets.get(contact["id"], []))[: tenant.ticket_limit]
        contact["tickets"] = [ticket_shape(ticket, labels, base_url) for ticket in ranked]
    count = len(contacts)
    detail = f"{count} Freshdesk contacts share this number." if count > 1 else ""
    return LookupResult(
        "matched",
        e164,
        caller.display,
        contacts=contacts,
        contact=contacts[0],
        tickets=contacts[0]["tickets"],
        source=source,
        detail=detail,
    )


def _contacts_from_index(tenant: Tenant, e164: str, fields: list[str], base_url: str) -> list[dict[str, Any]]:
    """Contacts the index holds for `e164` on a field the tenant still matches, most recently updated first."""
    hits = PhoneIndexEntry.objects.filter(tenant=tenant, e164=e164, field__in=fields).values("contact_id")
    # All entries of those contacts (one query), so the panel shows both numbers even when the caller matched only one.
    entries = PhoneIndexEntry.objects.filter(tenant=tenant, contact_id__in=hits)
    by_contact: dict[int, dict[str, Any]] = {}
    updated: dict[int, float] = {}
    for entry in entries:
        contact = by_contact.setdefault(entry.contact_id, _contact_dict(entry.contact_id, base_url))
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
    variants = search_variants(e164)
    query = contact_search_query(variants, fields=tuple(fields))
    # One page (30 contacts): more than 30 contacts sharing one number is an import gone wrong, not a caller.
    found = client.search_contacts(query).get("results") or []
    normalised = [
        contact
        for contact in found
        if any(
            normalize_stored(phone_index.stored_value(contact, name), default_region=tenant.phone_region) == e164
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
        contact for contact in normalised if watermark is None or _timestamp(contact.get("updated_at")) > watermark
    ]
    phone_index.phone_index_apply(tenant=tenant, contacts=unsynced, fields=fields)
    confirmed.sort(key=lambda contact: (-_timestamp(contact.get("updated_at")), contact["id"]))
    base_url = client.base_url
    return [
        {
            **_contact_dict(contact["id"], base_url),
            "name": contact.get("name") or "",
            "email": contact.get("email"),
            "phone": contact.get("phone"),
            "mobile": contact.get("mobile"),
        }
        for contact in confirmed
    ]


def _foreign_spelling(stored: str | None, variants: list[str], region: str) -> bool:
    if not stored or stored.strip() not in variants:
        return False
    regional = normalize_stored(stored, default_region=region)
    return regional is None or not phonenumbers.is_valid_number(phonenumbers.parse(regional))


def _tickets_of(client: FreshdeskClient, contact_id: int) -> list[dict[str, Any]]:
    """The requester's tickets, newest first; [] for a requester Freshdesk does not know (its 400)."""
    return client.list_tickets(
        requester_id=contact_id,
        updated_since=HISTORY_START,
        order_by="updated_at",
        order_type="desc",
        per_page=TICKETS_PER_PAGE,
    )


def rank_tickets(tickets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Unresolved tickets (open 2, pending 3, custom >= 6) first, then resolved 4 and closed 5; newest first in
    each group; ties by id, newest first. Takes Freshdesk ticket objects or `ticket_shape` dicts (both have `id`,
    `status`, `updated_at`). Spam and deleted tickets never reach here (Freshdesk leaves them out)."""
    return sorted(
        tickets,
        key=lambda ticket: (
            ticket.get("status") in RESOLVED_STATUSES,
            -_timestamp(ticket.get("updated_at")),
            -int(ticket.get("id") or 0),
        ),
    )


def ticket_shape(ticket: dict[str, Any], labels: dict[str, dict[int, str]], base_url: str) -> dict[str, Any]:
    """The panel's ticket dict of a Freshdesk ticket object; `labels` as `ticket_labels` returns them."""
    status = ticket.get("status")
    priority = ticket.get("priority")
    return {
        "id": ticket["id"],
        "subject": ticket.get("subject") or "",
        "status": status,
        "status_label": labels["status"].get(status, f"Status {status}") if status is not None else "",
        "priority": priority,
        "priority_label": labels["priority"].get(priority, f"Priority {priority}") if priority is not None else "",
        "updated_at": ticket.get("updated_at"),
        "url": f"{base_url}/a/tickets/{ticket['id']}",
    }


def _contact_dict(contact_id: int, base_url: str) -> dict[str, Any]:
    return {
        "id": contact_id,
        "name": "",
        "email": None,
        "phone": None,
        "mobile": None,
        "url": f"{base_url}/a/contacts/{contact_id}",
        "tickets": [],
    }


# -- labels ---------------------------------------------------------------------------------------------------------


def ticket_labels(client: FreshdeskClient) -> dict[str, dict[int, str]]:
    """`{"status": {code: agent label}, "priority": {code: label}}` of the client's account.

    Read from `ticket_fields` (status choices `{"2": ["Open", "Being Processed"]}`, priority choices
    `{"Low": 1}`) and cached for an hour per account; when the call fails, the standard labels are returned
    (custom statuses then read "Status 6") and the call is retried after a minute. Never raises `FreshdeskError`.
    """
    key = f"screenpop:ticket-labels:{hashlib.sha256(client.base_url.encode()).hexdigest()[:24]}"
    labels = cache.get(key)
    if labels is not None:
        return labels
    try:
        fields = client.ticket_fields()
    except FreshdeskError:
        # Labels are decoration: a pop with "Status 6" beats no pop.
        labels = _standard_labels()
        cache.set(key, labels, timeout=LABELS_RETRY_SECONDS)
        return labels
    labels = _labels_from_fields(fields)
    cache.set(key, labels, timeout=LABELS_CACHE_SECONDS)
    return labels


def _labels_from_fields(fields: Any) -> dict[str, dict[int, str]]:
    labels = _standard_labels()
    for definition in fields if isinstance(fields, list) else []:
        choices = definition.get("choices") if isinstance(definition, dict) else None
        if not isinstance(choices, dict):
            continue
        if definition.get("name") == "status":
            for code, names in choices.items():
                with contextlib.suppress(TypeError, ValueError, IndexError):
                    labels["status"][int(code)] = str(names[0] if isinstance(names, list) else names)
        elif definition.get("name") == "priority":
            for name, code in choices.items():
                with contextlib.suppress(TypeError, ValueError):
                    labels["priority"][int(code)] = str(name)
    return labels


def _standard_labels() -> dict[str, dict[int, str]]:
    return {"status": dict(STANDARD_STATUS_LABELS), "priority": dict(STANDARD_PRIORITY_LABELS)}


# -- small helpers --------------------------------------------------------------------------------------------------


def _miss_key(tenant: Tenant, e164: str) -> str:
    return f"screenpop:lookup-miss:{tenant.pk}:{e164}"


def _no_contact_detail(caller: CallerNumber) -> str:
    return f"No Freshdesk contact has the number {caller.display}."


def _timestamp(value: Any) -> float:
    """Epoch seconds of a Freshdesk timestamp; 0 for a missing or unreadable one (sorts last)."""
    parsed = parse_datetime(value) if isinstance(value, str) else None
    if parsed is None:
        return 0.0
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()
