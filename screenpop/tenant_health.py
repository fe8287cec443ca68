"""A tenant's health for its admin page: the last pop, the Freshdesk budget used this minute, the breaker, and what
failed in the last hour (pops that ended unavailable or in error, events the webhook refused), plus the retry of a
failed pop. Reads only; the retry goes through `pops.services.pop_retry_request`, as the panel's does."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils import timezone

from screenpop.errors import ValidationFailed
from screenpop.freshdesk.budget import RateBudget
from screenpop.freshdesk.client import freshdesk_base_url
from screenpop.lookup.breaker import CircuitBreaker
from screenpop.lookup.runner import runner
from screenpop.models import EventLog, FreshdeskConnection, Pop, Tenant
from screenpop.pops.services import pop_retry_request
from screenpop.process import process_identity

FAILURE_WINDOW = timedelta(hours=1)
FAILURES_SHOWN = 50
RETRYABLE_STATES = (Pop.State.UNAVAILABLE, Pop.State.ERROR)
REFUSED_OUTCOMES = (
    EventLog.Outcome.REJECTED,
    EventLog.Outcome.UNAUTHORIZED,
    EventLog.Outcome.FORBIDDEN,
    EventLog.Outcome.FAILED,
)
BREAKER_WORDS = {
    "closed": "Closed: lookups reach Freshdesk.",
    "open": "Open: Freshdesk failed repeatedly; lookups answer \u201cunavailable\u201d at once until the next probe.",
    "half_open": "Half-open: the next lookup probes Freshdesk; a success closes the breaker.",
}


@dataclass
class FreshdeskHealth:
    domain: str
    budget_used: int | None = None
    budget_limit: int | None = None
    breaker: str = ""
    breaker_words: str = ""
    problem: str = ""


@dataclass
class TenantHealth:
    tenant: Tenant
    last_pop: Pop | None
    freshdesk: FreshdeskHealth | None
    failed_pops: list[Pop] = field(default_factory=list)
    refused_events: list[EventLog] = field(default_factory=list)
    since: datetime | None = None


def _freshdesk_health(tenant: Tenant) -> FreshdeskHealth | None:
    connection = FreshdeskConnection.objects.filter(tenant=tenant).first()
    if connection is None:
        return None
    try:
        account = freshdesk_base_url(connection.domain)
    except ValidationFailed as error:
        return FreshdeskHealth(domain=connection.domain, problem=error.detail)
    # The same account key as the lookups' client: the counters and the breaker are shared through the cache.
    budget = RateBudget(account, connection.plan)
    limit, remaining = budget.limit("total"), budget.remaining("total")
    state = CircuitBreaker(account).state()
    return FreshdeskHealth(
        domain=connection.domain,
        budget_used=None if limit is None or remaining is None else limit - remaining,
        budget_limit=limit,
        breaker=state,
        breaker_words=BREAKER_WORDS.get(state, state),
    )


def tenant_health(*, tenant: Tenant) -> TenantHealth:
    since = timezone.now() - FAILURE_WINDOW
    return TenantHealth(
        tenant=tenant,
        last_pop=Pop.objects.filter(tenant=tenant).order_by("-received_at").first(),
        freshdesk=_freshdesk_health(tenant),
        failed_pops=list(
            Pop.objects.filter(tenant=tenant, state__in=RETRYABLE_STATES, received_at__gte=since).order_by(
                "-received_at"
            )[:FAILURES_SHOWN]
        ),
        refused_events=list(
            EventLog.objects.filter(tenant=tenant, outcome__in=REFUSED_OUTCOMES, received_at__gte=since).order_by(
                "-received_at"
            )[:FAILURES_SHOWN]
        ),
        since=since,
    )


def tenant_pop_retry(*, tenant: Tenant, pop_id: int) -> bool:
    """Look a failed pop of `tenant` up again (back to pending, its panels told); False when it is not (or no
    longer) unavailable or in error. Scheduled on this process's runner when it has one, else the next sweep of
    any process takes it once its lease ends."""
    pop = Pop.objects.filter(tenant=tenant, pk=pop_id).only("conversation_id").first()
    if pop is None:
        return False
    claimed = pop_retry_request(tenant_id=tenant.pk, conversation_id=pop.conversation_id, owner=process_identity())
    if claimed is None:
        return False
    lookup_runner = runner()
    if lookup_runner is not None:
        lookup_runner.schedule_threadsafe([claimed])
    return True
