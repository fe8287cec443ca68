"""Services of a pop's life after the webhook accepted it: look the caller up, retry, finish, publish.

`pop_lookup_run` runs in a worker thread for one pop this process holds the lease of. It never holds a database
transaction across a Freshdesk call (SQLite's IMMEDIATE lock would stall every writer); instead every write is
guarded by the lease, so a pop whose lease passed to another process is left alone.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Model, Q
from django.utils import timezone

from screenpop import metrics
from screenpop.db import write_transaction
from screenpop.freshdesk.errors import (
    FreshdeskError,
    FreshdeskRateLimited,
    FreshdeskTransientError,
)
from screenpop.logging import log_context
from screenpop.lookup import flight
from screenpop.lookup.breaker import CircuitBreaker
from screenpop.models import FreshdeskConnection, Pop, PopContact, PopTicket, Tenant
from screenpop.phones import normalize_caller
from screenpop.publishing import pop_publish_on_commit
from screenpop.webhook import callers

logger = logging.getLogger("screenpop.pops")

CLAIM_BATCH = 50


@dataclass(frozen=True)
class RunOutcome:
    """What became of one attempt: the state reached, and when to try again (None = finished or not ours)."""

    state: str
    retry_in: float | None = None
    tenant_id: int | None = None


def _parse_time(value: str | None, default: datetime) -> datetime:
    if not value:
        return default
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


# A lookup's own statements, written once instead of built by the ORM on every lookup (values still go through each
# field's own conversion). The ORM spent 450-650 µs building and reading the pop (125 µs through `raw`) and ~600 µs on
# the three writes of `_finish`: a cached lookup run the way the runner does (from the event loop through a lookup
# thread, SQLite, in-memory channel layer, 300 in a row) took 3.1-3.5 ms of CPU with them, 1.8-2.3 ms without.
_POP_TABLE = connection.ops.quote_name(Pop._meta.db_table)
_LEASED = " AND ".join(
    f"{connection.ops.quote_name(Pop._meta.get_field(name).column)} = %s" for name in ("id", "lease_owner", "state")
)
_POP_COLUMNS = ", ".join(connection.ops.quote_name(field.column) for field in Pop._meta.concrete_fields)
_LEASED_POP_SQL = f"SELECT {_POP_COLUMNS} FROM {_POP_TABLE} WHERE {_LEASED}"  # noqa: S608 (names are the model's)


def _leased_pop(pop_id: int, owner: str) -> Pop | None:
    """The pop, if this process holds its lease and it is still pending."""
    return next(iter(Pop.objects.raw(_LEASED_POP_SQL, [pop_id, owner, Pop.State.PENDING])), None)


# What a pop's result shows: (ticket id, its updated_at) pairs and contact ids.
_Shown = tuple[list[tuple[Any, datetime]], list[int]]


def _shown(result: dict[str, Any] | None, now: datetime) -> _Shown:
    """The tickets (with the `updated_at` shown; `now` when Freshdesk gave none) and contacts `result` shows."""
    contacts = (result or {}).get("contacts", [])
    return (
        [
            (ticket["id"], _parse_time(ticket.get("updated_at"), now))
            for contact in contacts
            for ticket in contact.get("tickets", [])
        ],
        [contact["id"] for contact in contacts if isinstance(contact.get("id"), int)],
    )


def _assignments(fields: dict[str, Any]) -> tuple[str, list[Any]]:
    """`col = %s, ...` for the pop's `fields`, and their values as the database takes them."""
    model_fields = [Pop._meta.get_field(name) for name in fields]
    assignments = ", ".join(f"{connection.ops.quote_name(field.column)} = %s" for field in model_fields)
    values = [
        field.get_db_prep_save(value, connection) for field, value in zip(model_fields, fields.values(), strict=True)
    ]
    return assignments, values


def _guarded_update(pop: Pop, owner: str, fields: dict[str, Any]) -> bool:
    """Set `fields` of the pop if this process still holds its lease (one UPDATE); False when it lost it."""
    assignments, values = _assignments(fields)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {_POP_TABLE} SET {assignments} WHERE {_LEASED}",  # noqa: S608 (names are the model's)
            [*values, pop.pk, owner, Pop.State.PENDING],
        )
        return cursor.rowcount > 0


def _quoted(model: type[Model], *names: str) -> list[str]:
    return [connection.ops.quote_name(model._meta.get_field(name).column) for name in names]


# PostgreSQL: the guarded UPDATE and the inserts of what the pop shows as ONE statement, committed on its own, instead
# of BEGIN, three statements and COMMIT (five round trips to the server, each waking the lookup thread again).
_FINISH_SQL = (  # noqa: S608 (names are the models')
    "WITH finished AS (UPDATE {pop} SET {{assignments}} WHERE {leased} RETURNING {pop_id}), "
    "shown_tickets AS (INSERT INTO {ticket} ({ticket_columns}) SELECT finished.{pop_id}, t.ticket_id, t.updated_at "
    "FROM finished CROSS JOIN unnest(%s::bigint[], %s::timestamptz[]) AS t(ticket_id, updated_at) "
    "ON CONFLICT DO NOTHING), "
    "shown_contacts AS (INSERT INTO {contact} ({contact_columns}) SELECT finished.{pop_id}, c.contact_id "
    "FROM finished CROSS JOIN unnest(%s::bigint[]) AS c(contact_id) ON CONFLICT DO NOTHING) "
    "SELECT COUNT(*) FROM finished"
).format(
    pop=_POP_TABLE,
    leased=_LEASED,
    pop_id=connection.ops.quote_name(Pop._meta.pk.column),
    ticket=connection.ops.quote_name(PopTicket._meta.db_table),
    ticket_columns=", ".join(_quoted(PopTicket, "pop", "ticket_id", "updated_at")),
    contact=connection.ops.quote_name(PopContact._meta.db_table),
    contact_columns=", ".join(_quoted(PopContact, "pop", "contact_id")),
)


def _finished_in_one_statement(pop: Pop, owner: str, fields: dict[str, Any], shown: _Shown) -> bool:
    """PostgreSQL: `_guarded_update` and `pop_shown_save` in one statement; False when the lease was lost (nothing
    written then: the inserts read the UPDATE's rows)."""
    assignments, values = _assignments(fields)
    tickets, contacts = shown
    with connection.cursor() as cursor:
        cursor.execute(
            _FINISH_SQL.format(assignments=assignments),
            [
                *values,
                pop.pk,
                owner,
                Pop.State.PENDING,
                [ticket_id for ticket_id, _ in tickets],
                [updated_at for _, updated_at in tickets],
                contacts,
            ],
        )
        return cursor.fetchone()[0] > 0


def _insert_new(model: type[Model], columns: tuple[str, ...], rows: list[tuple]) -> None:
    """INSERT the rows that are not there yet (a unique constraint says which are)."""
    if not rows:
        return
    fields = [model._meta.get_field(name) for name in columns]
    quoted = ", ".join(_quoted(model, *columns))
    placeholders = ", ".join(["(" + ", ".join(["%s"] * len(fields)) + ")"] * len(rows))
    values = [
        field.get_db_prep_save(value, connection) for row in rows for field, value in zip(fields, row, strict=True)
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} ({quoted}) VALUES {placeholders} "  # noqa: S608
            "ON CONFLICT DO NOTHING",
            values,
        )


def pop_shown_save(pop_id: int, result: dict[str, Any], *, now: datetime) -> None:
    """Record which tickets (with the `updated_at` shown; `now` when Freshdesk gave none) and which contacts the
    pop's result shows, so ticket updates reach its panels. Rows already recorded are left as they are."""
    tickets, contacts = _shown(result, now)
    _insert_new(
        PopTicket, ("pop", "ticket_id", "updated_at"), [(pop_id, ticket_id, updated) for ticket_id, updated in tickets]
    )
    _insert_new(PopContact, ("pop", "contact_id"), [(pop_id, contact_id) for contact_id in contacts])


def _apply(pop: Pop, fields: dict[str, Any]) -> None:
    for name, value in fields.items():
        setattr(pop, name, value)


def _finish(
    pop: Pop, owner: str, *, state: str, detail: str = "", result: dict[str, Any] | None = None, calls: int = 0
) -> RunOutcome:
    now = timezone.now()
    fields: dict[str, Any] = {
        "state": state,
        "detail": detail,
        "completed_at": now,
        "updated_at": now,
        "next_attempt_at": None,
        "lease_expires_at": None,
        "freshdesk_calls": pop.freshdesk_calls + calls,
        "attempts": pop.attempts,
    }
    if result is not None:
        fields["result"] = result
        fields["phone_e164"] = pop.phone_e164
    if connection.vendor == "postgresql":
        if not _finished_in_one_statement(pop, owner, fields, _shown(result, now)):
            return RunOutcome(state="lost_lease")
        _apply(pop, fields)
        pop_publish_on_commit(pop)  # committed already (autocommit), unless a caller's transaction holds it
    else:
        with write_transaction():
            if not _guarded_update(pop, owner, fields):
                return RunOutcome(state="lost_lease")
            _apply(pop, fields)
            if result is not None:
                pop_shown_save(pop.pk, result, now=now)
            pop_publish_on_commit(pop)
    metrics.pops_completed.labels(state=state).inc()
    logger.info("pop finished: %s %s", state, detail)
    return RunOutcome(state=state)


def _retry_later(pop: Pop, owner: str, *, delay: float, detail: str, calls: int) -> RunOutcome:
    now = timezone.now()
    next_attempt = now + timedelta(seconds=delay)
    fields = {
        "attempts": pop.attempts,
        "detail": detail,
        "next_attempt_at": next_attempt,
        "lease_expires_at": next_attempt + timedelta(seconds=settings.SCREENPOP_LEASE_SECONDS),
        "freshdesk_calls": pop.freshdesk_calls + calls,
        "updated_at": now,
    }
    with write_transaction():
        if not _guarded_update(pop, owner, fields):
            return RunOutcome(state="lost_lease")
        _apply(pop, fields)
        pop_publish_on_commit(pop)
    logger.info("pop retry in %.1fs: %s", delay, detail)
    return RunOutcome(state=Pop.State.PENDING, retry_in=delay, tenant_id=pop.tenant_id)


def _failure_detail(error: FreshdeskError) -> str:
    if isinstance(error, FreshdeskRateLimited):
        return "Freshdesk's rate limit is reached for this account"
    return f"Freshdesk did not answer: {error.detail}"


def pop_lookup_run(*, pop_id: int, owner: str) -> RunOutcome:
    """One lookup attempt for a pop this process leases. Returns when to retry, if at all. Never raises for
    Freshdesk's failures: they become the pop's state (with retries 1 s / 5 s / 15 s, `Retry-After` first)."""
    pop = _leased_pop(pop_id, owner)
    if pop is None:
        return RunOutcome(state="not_ours")
    pop.tenant = callers.tenants.get_many([pop.tenant_id], _tenants_load)[pop.tenant_id]
    with log_context(tenant=pop.tenant.genesys_org_id, conversation=pop.conversation_id):
        return _run(pop, owner)


def _tenants_load(tenant_ids: list[int]) -> dict[int, Tenant]:
    return {tenant.pk: tenant for tenant in Tenant.objects.select_related("freshdesk").filter(pk__in=tenant_ids)}


def _run(pop: Pop, owner: str) -> RunOutcome:
    tenant = pop.tenant
    caller = normalize_caller(pop.phone_raw, default_region=tenant.phone_region)
    pop.phone_e164 = caller.e164 or ""
    phone_result = {"phone_display": caller.display or pop.phone_raw, "contacts": [], "contact": None, "tickets": []}
    if not caller.can_look_up:
        return _finish(pop, owner, state=Pop.State.NO_MATCH, detail=caller.reason, result=phone_result)
    try:
        freshdesk = tenant.freshdesk
    except FreshdeskConnection.DoesNotExist:
        freshdesk = None
    if freshdesk is None:
        return _finish(
            pop,
            owner,
            state=Pop.State.ERROR,
            detail="Freshdesk is not connected for this organisation: an admin adds the domain and API key.",
        )
    from screenpop.lookup.service import caller_lookup, freshdesk_client_for

    client = freshdesk_client_for(freshdesk)
    breaker = CircuitBreaker(client.base_url)
    pop.attempts += 1
    cached = flight.cached_result(tenant.pk, caller.e164)
    if cached is None and not breaker.allow():
        return _finish(
            pop,
            owner,
            state=Pop.State.UNAVAILABLE,
            detail="Freshdesk is unavailable (several failures in a row); lookups resume after a short pause.",
        )

    def compute() -> dict[str, Any]:
        started = time.perf_counter()
        try:
            found = caller_lookup(tenant=tenant, caller=caller, client=client, connection=freshdesk)
        finally:
            metrics.lookup_seconds.observe(time.perf_counter() - started)
        return asdict(found)

    try:
        # A result already cached (read above, for the breaker) is used as is: one cache read per lookup.
        result, computed_here = (
            (cached, False) if cached is not None else flight.shared_lookup(tenant.pk, caller.e164, compute)
        )
    except (FreshdeskTransientError, FreshdeskRateLimited) as error:
        if not isinstance(error, FreshdeskRateLimited):
            breaker.record_failure()
        delays = settings.SCREENPOP_RETRY_DELAYS
        if pop.attempts > len(delays):
            return _finish(
                pop,
                owner,
                state=Pop.State.UNAVAILABLE,
                detail=f"{_failure_detail(error)} after {pop.attempts} attempts.",
            )
        delay = delays[pop.attempts - 1]
        if isinstance(error, FreshdeskRateLimited) and error.retry_after is not None:
            delay = float(error.retry_after)
        calls = getattr(error, "freshdesk_calls", 0)
        return _retry_later(pop, owner, delay=delay, detail=f"{_failure_detail(error)}; retrying.", calls=calls)
    except FreshdeskError as error:
        _connection_error(freshdesk, error)
        return _finish(pop, owner, state=Pop.State.ERROR, detail=error.detail)
    if computed_here:
        breaker.record_success()
    calls = result.get("freshdesk_calls", 0) if computed_here else 0
    stored = {
        "phone_display": result.get("phone_display") or phone_result["phone_display"],
        "contact": result.get("contact"),
        "contacts": result.get("contacts", []),
        "tickets": result.get("tickets", []),
        "source": result.get("source", "") if computed_here else "cache",
    }
    state = Pop.State.MATCHED if result.get("state") == "matched" else Pop.State.NO_MATCH
    detail = "" if state == Pop.State.MATCHED else "No Freshdesk contact has this number."
    return _finish(pop, owner, state=state, detail=detail, result=stored, calls=calls)


def _connection_error(freshdesk: FreshdeskConnection, error: FreshdeskError) -> None:
    logger.error("Freshdesk refused a lookup: %s", error.detail)
    FreshdeskConnection.objects.filter(pk=freshdesk.pk).update(last_error=error.detail, last_error_at=timezone.now())


def pop_claim_due(*, owner: str, limit: int = CLAIM_BATCH) -> list[tuple[int, int]]:
    """Lease pending pops nobody holds (their process died, or they were never leased) and that are due.

    `SELECT ... FOR UPDATE SKIP LOCKED` on PostgreSQL lets several processes claim at once without taking the same
    pop; SQLite serialises writers anyway (IMMEDIATE transactions). Returns (pop id, tenant id) pairs.
    """
    now = timezone.now()
    with write_transaction():
        due = list(
            Pop.objects.select_for_update(skip_locked=True)
            .filter(state=Pop.State.PENDING)
            .filter(Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now))
            .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
            .order_by("received_at")
            .values_list("pk", "tenant_id")[:limit]
        )
        if due:
            Pop.objects.filter(pk__in=[pop_id for pop_id, _ in due]).update(
                lease_owner=owner, lease_expires_at=now + timedelta(seconds=settings.SCREENPOP_LEASE_SECONDS)
            )
    return due


def pop_retry_request(*, tenant_id: int, conversation_id: str, owner: str) -> tuple[int, int] | None:
    """The agent asked to try again after 'unavailable' or 'error': the pop goes back to pending, leased to us."""
    now = timezone.now()
    with write_transaction():
        pop = (
            Pop.objects.select_for_update()
            .filter(tenant_id=tenant_id, conversation_id=conversation_id)
            .filter(state__in=[Pop.State.UNAVAILABLE, Pop.State.ERROR])
            .first()
        )
        if pop is None:
            return None
        pop.state = Pop.State.PENDING
        pop.attempts = 0
        pop.detail = "Trying again."
        pop.completed_at = None
        pop.next_attempt_at = None
        pop.lease_owner = owner
        pop.lease_expires_at = now + timedelta(seconds=settings.SCREENPOP_LEASE_SECONDS)
        pop.save()
        pop_publish_on_commit(pop)
        return pop.pk, pop.tenant_id
