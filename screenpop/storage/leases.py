"""Leasing due work rows (pops, wrap-ups) to one process: `SELECT ... FOR UPDATE SKIP LOCKED` on PostgreSQL lets
several processes claim at once without taking the same row; SQLite serialises writers anyway."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from screenpop.storage.transactions import write_transaction


def leased_claim(pending: QuerySet, *, owner: str, limit: int, lease_seconds: float, fields: tuple[str, ...]) -> list:
    """Lease up to `limit` rows of `pending` that nobody holds (or whose lease ran out) and that are due
    (`next_attempt_at`), oldest `received_at` first, to `owner` for `lease_seconds`. Returns their (pk, *fields)."""
    now = timezone.now()
    with write_transaction():
        due: list[Any] = list(
            pending.select_for_update(skip_locked=True)
            .filter(Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now))
            .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
            .order_by("received_at")
            .values_list("pk", *fields)[:limit]
        )
        if due:
            pending.model.objects.filter(pk__in=[row[0] for row in due]).update(
                lease_owner=owner, lease_expires_at=now + timedelta(seconds=lease_seconds)
            )
    return due
