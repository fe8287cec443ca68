"""How close an organisation runs to Genesys's process-automation delivery limits (reference §12 "Trigger quotas"):
at most 6,000 workflow invocations a minute and 36,000 an hour per organisation, and at most 80% of a minute's
quota to one workflow. Past them Genesys does not start the workflow, so the call never reaches the webhook.

What we can see is what reached us: every Genesys event in the event log comes from the app's two workflows (call
starts and wrap-ups, about one each per call), so their count in the last minute is measured against one workflow's
share (4,800: a cautious figure, as each workflow has its own) and the last hour against the organisation's
36,000. Other workflows of the organisation use the same quota and are invisible here: the organisation may be
closer to its limits than these figures say.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.core.cache import cache
from django.db.models import Count, Q
from django.utils import timezone

from screenpop.models import EventLog, Tenant

INVOCATIONS_PER_MINUTE = 6000
INVOCATIONS_PER_HOUR = 36000
ONE_WORKFLOW_SHARE = 0.8
WORKFLOW_INVOCATIONS_PER_MINUTE = int(INVOCATIONS_PER_MINUTE * ONE_WORKFLOW_SHARE)
# Above this share of a limit the admin shows a warning.
WARNING_SHARE = 0.5


@dataclass(frozen=True)
class TriggerUsage:
    last_minute: int
    last_hour: int

    @property
    def minute_share(self) -> float:
        return self.last_minute / WORKFLOW_INVOCATIONS_PER_MINUTE

    @property
    def hour_share(self) -> float:
        return self.last_hour / INVOCATIONS_PER_HOUR

    @property
    def warning(self) -> bool:
        return max(self.minute_share, self.hour_share) >= WARNING_SHARE


def trigger_usage_by_tenant(*, tenant_ids: list[int]) -> dict[int, TriggerUsage]:
    """`trigger_usage` for several tenants in one grouped query (the admin's tenant list)."""
    now = timezone.now()
    rows = (
        EventLog.objects.filter(
            tenant_id__in=tenant_ids, source=EventLog.Source.GENESYS, received_at__gt=now - timedelta(hours=1)
        )
        .values("tenant_id")
        .annotate(hour=Count("id"), minute=Count("id", filter=Q(received_at__gt=now - timedelta(minutes=1))))
    )
    usage = {tenant_id: TriggerUsage(last_minute=0, last_hour=0) for tenant_id in tenant_ids}
    for row in rows:
        usage[row["tenant_id"]] = TriggerUsage(last_minute=row["minute"], last_hour=row["hour"])
    return usage


def trigger_usage(*, tenant: Tenant) -> TriggerUsage:
    """Genesys events the tenant's workflow delivered in the last minute and hour (two counts on the event log,
    read through its `received_at` index)."""
    now = timezone.now()
    events = EventLog.objects.filter(
        tenant=tenant, source=EventLog.Source.GENESYS, received_at__gt=now - timedelta(hours=1)
    )
    return TriggerUsage(
        last_minute=events.filter(received_at__gt=now - timedelta(minutes=1)).count(),
        last_hour=events.count(),
    )


# Platform API calls of one OAuth client: 300 a minute by default (reference §5, `client.credentials.token.rate.per.
# minute`). The tenant's sync client makes the write-back's calls (participant attributes, the conversation and its
# wrap-up code read at wrap-up) and the queue sync's; the write-back takes at most this share of the minute, so a
# call storm's attribute writes never starve the sync (nor the other way round).
API_CALLS_PER_MINUTE = 300
WRITEBACK_API_SHARE = 0.5


def api_calls_take(*, client_id: str, calls: int = 1, share: float = WRITEBACK_API_SHARE) -> bool:
    """Count `calls` against the client's current minute in the shared cache (every process draws from the same
    minute); False, counting nothing, when that would take the client past `share` of its per-minute limit."""
    minute = int(timezone.now().timestamp() // 60)
    key = f"screenpop:genesys-api:{client_id}:{minute}"
    cache.add(key, 0, timeout=120)
    try:
        used = cache.incr(key, calls)
    except ValueError:  # the key expired between add and incr
        cache.add(key, calls, timeout=120)
        used = calls
    if used > int(API_CALLS_PER_MINUTE * share):
        cache.decr(key, calls)
        return False
    return True
