"""The deletes of the retention purge (`screenpop.retention`): old rows in chunks, each its own short write
transaction, so the webhook's batches are never kept waiting for long."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Model
from oauth2_provider.models import clear_expired

from screenpop.models import CallWrapUp, EventLog, Pop
from screenpop.storage.transactions import write_transaction

CHUNK = 500


def _delete_received_before(model: type[Model], cutoff: datetime, **where: Any) -> int:
    """Delete the rows of `model` (matching `where`) received before `cutoff`, oldest first, `CHUNK` rows per
    transaction (a pop's shown tickets and contacts go with it); returns how many rows."""
    selected = model.objects.filter(received_at__lt=cutoff, **where)
    deleted = 0
    while True:
        with write_transaction():
            ids = list(selected.order_by("pk").values_list("pk", flat=True)[:CHUNK])
            if ids:
                model.objects.filter(pk__in=ids).delete()
        deleted += len(ids)
        if len(ids) < CHUNK:
            return deleted


def events_delete_before(cutoff: datetime) -> int:
    return _delete_received_before(EventLog, cutoff)


def pops_delete_before(cutoff: datetime) -> int:
    return _delete_received_before(Pop, cutoff)


def wrapups_delete_before(cutoff: datetime) -> int:
    """Finished wrap-ups only (written or skipped): a pending or failed one still has a note to write."""
    return _delete_received_before(CallWrapUp, cutoff, state__in=[CallWrapUp.State.WRITTEN, CallWrapUp.State.SKIPPED])


def expired_tokens_delete() -> None:
    """django-oauth-toolkit's `clear_expired`: expired access and refresh tokens, and old grants."""
    with write_transaction():
        clear_expired()
