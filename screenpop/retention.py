"""How long screenpop keeps what it records: the event log, the pops (callers' numbers, contacts and tickets of many
companies' customers), finished wrap-ups and expired OAuth tokens.

Every webhook adds an event-log row and most add a pop, so without a limit both tables grow for ever and keep
customer data nobody needs once the call is over. Rows older than `SCREENPOP_RETENTION_DAYS` (30 by default; 0 keeps
everything) are deleted by `purge_old_records`: hourly inside the server by one process at a time (`purge_due`, run by
the scheduler), or by `manage.py purge_old_records` where the servers run without background work.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from screenpop.storage.retention import (
    events_delete_before,
    expired_tokens_delete,
    pops_delete_before,
    wrapups_delete_before,
)

logger = logging.getLogger("screenpop.retention")

PURGE_INTERVAL_SECONDS = 3600.0


@dataclass(frozen=True)
class PurgeReport:
    cutoff: datetime | None  # None: retention is off
    events: int = 0
    pops: int = 0
    wrapups: int = 0


def purge_old_records(*, now: datetime | None = None, days: int | None = None) -> PurgeReport:
    """Delete event-log rows and pops received more than `days` (default `SCREENPOP_RETENTION_DAYS`) ago, with the
    tickets and contacts each pop showed, and the OAuth tokens that expired."""
    days = settings.SCREENPOP_RETENTION_DAYS if days is None else days
    if days <= 0:
        return PurgeReport(cutoff=None)
    cutoff = (now or timezone.now()) - timedelta(days=days)
    events = events_delete_before(cutoff)
    pops = pops_delete_before(cutoff)
    wrapups = wrapups_delete_before(cutoff)
    expired_tokens_delete()
    report = PurgeReport(cutoff=cutoff, events=events, pops=pops, wrapups=wrapups)
    if events or pops:
        logger.info("Purged %d event-log rows and %d pops received before %s", events, pops, cutoff.isoformat())
    return report


def purge_due(*, owner: str) -> PurgeReport | None:
    """`purge_old_records`, by one process of the deployment per interval (a lock in the shared cache)."""
    if settings.SCREENPOP_RETENTION_DAYS <= 0:
        return None
    if not cache.add("retention-purge", owner, timeout=int(PURGE_INTERVAL_SECONDS)):
        return None  # another process purged within the interval
    return purge_old_records()
