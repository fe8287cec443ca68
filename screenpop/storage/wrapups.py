"""Wrap-ups' writes: the webhook's insert (a re-delivery is a duplicate), the write-back's leased claim, its guarded
updates, lease renewal and release.

Every write of the write-back is guarded by the lease (`id`, `lease_owner`, state pending), as a pop's lookup is
(`storage.pops`), so a wrap-up whose lease passed to another process is left alone.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from screenpop.models import CallWrapUp
from screenpop.storage.columns import InsertShape, quoted_columns, quoted_table
from screenpop.storage.leases import leased_claim
from screenpop.storage.transactions import write_transaction
from screenpop.storage.webhook_reads import STATEMENTS

WrapUpKey = tuple[int, str, str]  # (tenant id, conversation id, user id)

_TABLE = quoted_table(CallWrapUp)
_SHAPE = InsertShape(CallWrapUp)
_KEY_COLUMNS = quoted_columns(CallWrapUp, "tenant", "conversation_id", "user_id")
_RETURNED = ", ".join(quoted_columns(CallWrapUp, "id", "tenant", "conversation_id", "user_id"))


def webhook_read(kind: str, keys: list[Any]) -> list[tuple]:
    """A webhook read (`storage.webhook_reads.STATEMENTS`: token owners, queue filters) through Django's connection
    of this thread."""
    sql, _ = STATEMENTS[kind]
    with connection.cursor() as cursor:
        cursor.execute(sql.format(values="(" + ", ".join(["%s"] * len(keys)) + ")"), list(keys))
        return cursor.fetchall()


def wrapups_insert(rows: list[dict[str, Any]]) -> dict[WrapUpKey, tuple[int, bool]]:
    """Insert the wrap-ups no one has yet, in the caller's transaction: (tenant, conversation, user) -> (id, whether
    this insert created it). One INSERT ... ON CONFLICT DO NOTHING RETURNING (both backends), then one read of the
    keys that were there already."""
    if not rows:
        return {}
    fields = _SHAPE.fields  # the columns a row leaves out take the field's default
    placeholders = ", ".join(["(" + ", ".join(["%s"] * len(fields)) + ")"] * len(rows))
    values = [
        field.get_db_prep_save(row[field.attname] if field.attname in row else field.get_default(), connection)
        for row in rows
        for field in fields
    ]
    columns = ", ".join(_SHAPE.columns)
    found: dict[WrapUpKey, tuple[int, bool]] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {_TABLE} ({columns}) VALUES {placeholders} "  # noqa: S608 (names are the model's)
            f"ON CONFLICT ({', '.join(_KEY_COLUMNS)}) DO NOTHING RETURNING {_RETURNED}",
            values,
        )
        for wrapup_id, tenant_id, conversation_id, user_id in cursor.fetchall():
            found[(tenant_id, conversation_id, user_id)] = (wrapup_id, True)
    missing = [(row["tenant_id"], row["conversation_id"], row["user_id"]) for row in rows]
    missing = [key for key in missing if key not in found]
    if missing:
        condition = Q()
        for tenant_id, conversation_id, user_id in missing:
            condition |= Q(tenant_id=tenant_id, conversation_id=conversation_id, user_id=user_id)
        for wrapup_id, tenant_id, conversation_id, user_id in CallWrapUp.objects.filter(condition).values_list(
            "pk", "tenant_id", "conversation_id", "user_id"
        ):
            found[(tenant_id, conversation_id, user_id)] = (wrapup_id, False)
    return found


def wrapups_claim_due(*, owner: str, limit: int) -> list[int]:
    """Lease pending wrap-ups nobody holds (or whose lease ran out) that are due; their ids, oldest first."""
    due = leased_claim(
        CallWrapUp.objects.filter(state=CallWrapUp.State.PENDING),
        owner=owner,
        limit=limit,
        lease_seconds=settings.SCREENPOP_WRITEBACK_LEASE_SECONDS,
        fields=(),
    )
    return [wrapup_id for (wrapup_id,) in due]


def wrapup_leased(wrapup_id: int, owner: str) -> CallWrapUp | None:
    """The wrap-up, if `owner` holds its lease and it is still pending."""
    return (
        CallWrapUp.objects.select_related("tenant", "tenant__freshdesk")
        .filter(pk=wrapup_id, lease_owner=owner, state=CallWrapUp.State.PENDING)
        .first()
    )


def wrapup_guarded_update(wrapup_id: int, owner: str, **fields: Any) -> bool:
    """Set `fields` if `owner` still holds the lease of the pending wrap-up (one UPDATE); False when it lost it."""
    with write_transaction():
        return (
            CallWrapUp.objects.filter(pk=wrapup_id, lease_owner=owner, state=CallWrapUp.State.PENDING).update(
                **fields, updated_at=timezone.now()
            )
            > 0
        )


def wrapups_lease_renew(*, owner: str, wrapup_ids: list[int]) -> int:
    """Extend `owner`'s lease on these pending wrap-ups; returns how many it still held."""
    if not wrapup_ids:
        return 0
    until = timezone.now() + timedelta(seconds=settings.SCREENPOP_WRITEBACK_LEASE_SECONDS)
    with write_transaction():
        return CallWrapUp.objects.filter(pk__in=wrapup_ids, lease_owner=owner, state=CallWrapUp.State.PENDING).update(
            lease_expires_at=until
        )


def wrapups_lease_release(*, owner: str) -> int:
    """Let go of every pending wrap-up `owner` holds (a server shutting down)."""
    with write_transaction():
        return CallWrapUp.objects.filter(lease_owner=owner, state=CallWrapUp.State.PENDING).update(
            lease_expires_at=None
        )


def wrapup_retry(wrapup_id: int, *, at: datetime | None = None) -> bool:
    """Put a failed wrap-up back to pending, due at once (the admin's retry); False if it was not failed."""
    with write_transaction():
        return (
            CallWrapUp.objects.filter(pk=wrapup_id, state=CallWrapUp.State.FAILED).update(
                state=CallWrapUp.State.PENDING,
                next_attempt_at=at,
                lease_owner="",
                lease_expires_at=None,
                attempts=0,
                updated_at=timezone.now(),
            )
            > 0
        )
