"""A pop's writes after the webhook: the lookup's leased read, its guarded updates and finish, what it shows, and the
sweep that leases pops whose process died.

Every write of a lookup is guarded by the lease (`id`, `lease_owner`, state pending), so a pop whose lease passed to
another process is left alone. The statements are written once, not built by the ORM on every lookup; values still
go through each field's own conversion.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from screenpop.models import Pop, PopContact, PopTicket
from screenpop.storage.columns import quoted_columns, quoted_table
from screenpop.storage.leases import leased_claim
from screenpop.storage.transactions import write_transaction

Shown = tuple[list[tuple[int, datetime]], list[int]]  # (ticket id, updated_at shown) pairs, contact ids

_POP_TABLE = quoted_table(Pop)
_LEASED = " AND ".join(f"{column} = %s" for column in quoted_columns(Pop, "id", "lease_owner", "state"))
_ALL_COLUMNS = ", ".join(connection.ops.quote_name(field.column) for field in Pop._meta.concrete_fields)
_LEASED_POP_SQL = f"SELECT {_ALL_COLUMNS} FROM {_POP_TABLE} WHERE {_LEASED}"  # noqa: S608 (names are the model's)


def pop_leased(pop_id: int, owner: str) -> Pop | None:
    """The pop, if `owner` holds its lease and it is still pending."""
    return next(iter(Pop.objects.raw(_LEASED_POP_SQL, [pop_id, owner, Pop.State.PENDING])), None)


def _assignments(fields: dict[str, Any]) -> tuple[str, list[Any]]:
    """`col = %s, ...` for the pop's `fields`, and their values as the database takes them."""
    model_fields = [Pop._meta.get_field(name) for name in fields]
    assignments = ", ".join(f"{connection.ops.quote_name(field.column)} = %s" for field in model_fields)
    values = [
        field.get_db_prep_save(value, connection) for field, value in zip(model_fields, fields.values(), strict=True)
    ]
    return assignments, values


def pop_guarded_update(pop: Pop, owner: str, fields: dict[str, Any]) -> bool:
    """Set `fields` of the pop if `owner` still holds its lease (one UPDATE); False when it lost it."""
    assignments, values = _assignments(fields)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {_POP_TABLE} SET {assignments} WHERE {_LEASED}",  # noqa: S608 (names are the model's)
            [*values, pop.pk, owner, Pop.State.PENDING],
        )
        return cursor.rowcount > 0


# PostgreSQL: the guarded UPDATE and the inserts of what the pop shows as ONE statement, committed on its own, instead
# of BEGIN, three statements and COMMIT.
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
    ticket=quoted_table(PopTicket),
    ticket_columns=", ".join(quoted_columns(PopTicket, "pop", "ticket_id", "updated_at")),
    contact=quoted_table(PopContact),
    contact_columns=", ".join(quoted_columns(PopContact, "pop", "contact_id")),
)


def _finished_in_one_statement(pop: Pop, owner: str, fields: dict[str, Any], shown: Shown) -> bool:
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


def pop_finish(pop: Pop, owner: str, fields: dict[str, Any], shown: Shown, *, then: Callable[[], None]) -> bool:
    """Set the finished pop's `fields` and record what it shows, if `owner` still holds its lease; False (nothing
    written) when it lost it. `then` runs once the write is done, inside its transaction when there is one, so what
    it schedules with `on_commit` runs after the commit."""
    if connection.vendor == "postgresql":
        if not _finished_in_one_statement(pop, owner, fields, shown):
            return False
        then()  # committed already (autocommit), unless a caller's transaction holds it
        return True
    with write_transaction():
        if not pop_guarded_update(pop, owner, fields):
            return False
        pop_shown_insert(pop.pk, shown)
        then()
    return True


def _insert_new(model: type, names: tuple[str, ...], rows: list[tuple]) -> None:
    """INSERT the rows that are not there yet (a unique constraint says which are)."""
    if not rows:
        return
    fields = [model._meta.get_field(name) for name in names]
    placeholders = ", ".join(["(" + ", ".join(["%s"] * len(fields)) + ")"] * len(rows))
    values = [
        field.get_db_prep_save(value, connection) for row in rows for field, value in zip(fields, row, strict=True)
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quoted_table(model)} ({', '.join(quoted_columns(model, *names))}) "  # noqa: S608
            f"VALUES {placeholders} ON CONFLICT DO NOTHING",
            values,
        )


def pop_shown_insert(pop_id: int, shown: Shown) -> None:
    """Record which tickets (with the `updated_at` shown) and contacts the pop shows, so ticket updates reach its
    panels. Rows already recorded are left as they are."""
    tickets, contacts = shown
    _insert_new(
        PopTicket, ("pop", "ticket_id", "updated_at"), [(pop_id, ticket, updated) for ticket, updated in tickets]
    )
    _insert_new(PopContact, ("pop", "contact_id"), [(pop_id, contact_id) for contact_id in contacts])


def pops_claim_due(*, owner: str, limit: int) -> list[tuple[int, int]]:
    """Lease pending pops nobody holds (their process died, or they were never leased) and that are due.

    `SELECT ... FOR UPDATE SKIP LOCKED` on PostgreSQL lets several processes claim at once without taking the same
    pop; SQLite serialises writers anyway. Returns (pop id, tenant id) pairs.
    """
    return [(pop_id, tenant_id) for pop_id, tenant_id, _ in pops_claim_due_from(owner=owner, limit=limit)]


def pops_claim_due_from(*, owner: str, limit: int) -> list[tuple[int, int, str]]:
    """`pops_claim_due`, with the process that held each pop's expired lease ("" for none): (pop id, tenant id,
    previous owner) triples."""
    return leased_claim(
        Pop.objects.filter(state=Pop.State.PENDING),
        owner=owner,
        limit=limit,
        lease_seconds=settings.SCREENPOP_LEASE_SECONDS,
        fields=("tenant_id", "lease_owner"),
    )


def pops_lease_renew(*, owner: str, pop_ids: list[int]) -> int:
    """Extend `owner`'s lease on the pending pops `pop_ids` by `SCREENPOP_LEASE_SECONDS` from now, in one UPDATE;
    returns how many it still held. Pops finished, or leased to another process meanwhile, are left alone."""
    if not pop_ids:
        return 0
    until = timezone.now() + timedelta(seconds=settings.SCREENPOP_LEASE_SECONDS)
    held = Pop.objects.filter(pk__in=pop_ids, lease_owner=owner, state=Pop.State.PENDING)
    with write_transaction():  # on SQLite: queued behind this process's other writers, not in the busy handler
        return held.update(lease_expires_at=until)


def pops_lease_release(*, owner: str) -> int:
    """Let go of every pending pop `owner` holds (a server shutting down): another process's sweep takes them at once
    instead of waiting for the lease to run out. Returns how many."""
    with write_transaction():
        return Pop.objects.filter(lease_owner=owner, state=Pop.State.PENDING).update(lease_expires_at=None)


def pops_unavailable_since(since: datetime, *, max_attempts: int) -> list[tuple[int, int, str]]:
    """(pop id, tenant id, Freshdesk domain) of the pops received at or after `since` that ended "unavailable" after
    fewer than `max_attempts` attempts, newest first."""
    return list(
        Pop.objects.filter(state=Pop.State.UNAVAILABLE, received_at__gte=since, attempts__lt=max_attempts)
        .order_by("-received_at")
        .values_list("pk", "tenant_id", "tenant__freshdesk__domain")
    )


def pops_requeue(*, owner: str, pop_ids: list[int]) -> list[tuple[int, int]]:
    """Put the "unavailable" pops `pop_ids` back to pending, leased to `owner`; returns the (pop id, tenant id) pairs
    that were still unavailable (another process may have taken some). Their `completed_at` stays: a pending pop with
    one is a pop looked up again after "unavailable" (`pops.services` publishes only its result)."""
    if not pop_ids:
        return []
    now = timezone.now()
    with write_transaction():
        taken = list(
            Pop.objects.select_for_update(skip_locked=True)
            .filter(pk__in=pop_ids, state=Pop.State.UNAVAILABLE)
            .values_list("pk", "tenant_id")
        )
        if taken:
            Pop.objects.filter(pk__in=[pop_id for pop_id, _ in taken]).update(
                state=Pop.State.PENDING,
                next_attempt_at=None,
                lease_owner=owner,
                lease_expires_at=now + timedelta(seconds=settings.SCREENPOP_LEASE_SECONDS),
                updated_at=now,
            )
    return taken
