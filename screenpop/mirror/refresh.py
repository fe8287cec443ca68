"""What a pop asks of the mirror beyond reading it: a contacts catch-up for an unknown number, and one call to
refresh the tickets it showed when the mirror is older than `SCREENPOP_MIRROR_REFRESH_SECONDS`.

Both are shared: the lookups of a few seconds ride on one contacts sync (a lock in the shared cache), and the ticket
refresh is one page of the mirror's own ticket walk (under the tenant's sync lease), whose changes reach every panel
showing them, not only the pop that asked.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from screenpop.cpu import waiting
from screenpop.freshdesk.client import FreshdeskClient
from screenpop.freshdesk.errors import FreshdeskError
from screenpop.lookup.phone_index import phone_index_sync
from screenpop.mirror.sync import has_room, mirror_tickets_catch_up, mirror_tickets_push
from screenpop.models import FreshdeskConnection, MirrorSync, Tenant

__all__ = ["mirror_contacts_catch_up", "mirror_refresh_after_pop"]

logger = logging.getLogger("screenpop.mirror")

# Contacts pages one catch-up may read: a minute of new contacts fits in one; more waits for the periodic sync.
CATCH_UP_PAGES = 2
# How long a lookup waits for another lookup's catch-up of the same tenant before answering without it.
CATCH_UP_WAIT_SECONDS = 1.0


def mirror_contacts_catch_up(*, tenant: Tenant, client: FreshdeskClient) -> bool:
    """Bring the tenant's contacts up to date before a number is called unknown; True when the mirror then holds
    every contact Freshdesk lists (a sync reached the newest change no more than `SCREENPOP_MIRROR_MISS_SYNC_SECONDS`
    ago, this one or another lookup's), False when it could not say (the budget, Freshdesk, or a sync still running)."""
    started = timezone.now()
    window = timedelta(seconds=settings.SCREENPOP_MIRROR_MISS_SYNC_SECONDS)
    if _synced_since(tenant, started - window):
        return True
    key = f"screenpop:mirror-catch-up:{tenant.pk}"
    if not cache.add(key, True, timeout=max(1, round(window.total_seconds()))):
        deadline = time.monotonic() + CATCH_UP_WAIT_SECONDS
        while time.monotonic() < deadline:
            with waiting():  # another lookup's catch-up needs a CPU slot to finish
                time.sleep(0.05)
            if _synced_since(tenant, started):
                return True
        return False
    try:
        # A pop's own work: it may spend the pops' share of the budget, but never wait for it.
        if not has_room(client, "contacts_list", reserve=0):
            return False
        return phone_index_sync(tenant=tenant, client=client, max_pages=CATCH_UP_PAGES).complete
    except FreshdeskError as error:
        logger.info("Contacts catch-up of %s failed (%s); the lookup asks search", tenant, error.detail)
        return False
    finally:
        cache.delete(key)


def _synced_since(tenant: Tenant, moment: timezone.datetime) -> bool:
    return FreshdeskConnection.objects.filter(tenant=tenant, index_synced_at__gte=moment).exists()


def mirror_refresh_after_pop(*, tenant: Tenant, client: FreshdeskClient, owner: str) -> int:
    """After a pop shown from the mirror: when its tickets are older than `SCREENPOP_MIRROR_REFRESH_SECONDS` and the
    budget keeps its reserve, one ticket-list call brings the changes since, and the panels showing a changed ticket
    are updated. Returns the panels updated. Never raises `FreshdeskError` (the pop stands as shown)."""
    fresh_after = timezone.now() - timedelta(seconds=settings.SCREENPOP_MIRROR_REFRESH_SECONDS)
    if MirrorSync.objects.filter(tenant=tenant, tickets_current_at__gte=fresh_after).exists():
        return 0
    # A lease of its own: the process's periodic round (same owner) must not walk the same cursor at the same time.
    report = mirror_tickets_catch_up(tenant=tenant, client=client, owner=f"{owner}/refresh")
    if report is None or not report.changed_tickets:
        return 0
    return mirror_tickets_push(tenant=tenant, tickets=report.changed_tickets, base_url=client.base_url)
