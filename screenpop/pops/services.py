"""Services of a pop's life after the webhook accepted it: look the caller up, retry, finish, publish.

`pop_lookup_run` runs in a lookup thread for one pop this process holds the lease of. It never holds a database
transaction across a Freshdesk call (SQLite's IMMEDIATE lock would stall every writer); instead every write is
guarded by the lease (`storage.pops`), so a pop whose lease passed to another process is left alone.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from screenpop import metrics
from screenpop.errors import ValidationFailed
from screenpop.freshdesk.accounts import counting_freshdesk_calls, freshdesk_client_for, lookup_timeouts
from screenpop.freshdesk.client import TIMEOUT_CODE, freshdesk_base_url
from screenpop.freshdesk.errors import FreshdeskError, FreshdeskRateLimited, FreshdeskTransientError
from screenpop.logging import log_context
from screenpop.lookup import flight
from screenpop.lookup.breaker import CircuitBreaker
from screenpop.lookup.ivr import ivr_lookup, ivr_value_read
from screenpop.lookup.service import LookupResult, caller_lookup
from screenpop.mirror.refresh import mirror_refresh_after_pop
from screenpop.models import FreshdeskConnection, Pop, Tenant
from screenpop.phones import normalize_caller
from screenpop.pops import reasons
from screenpop.pops.reasons import UNAVAILABLE_MAX_ATTEMPTS
from screenpop.pops.result import PopResult
from screenpop.publishing import pop_publish_on_commit
from screenpop.storage.pops import (
    pop_finish,
    pop_guarded_update,
    pop_leased,
    pop_shown_insert,
    pops_claim_due,
    pops_claim_due_from,
    pops_lease_release,
    pops_lease_renew,
    pops_requeue,
    pops_unavailable_since,
)
from screenpop.storage.transactions import write_transaction
from screenpop.webhook import callers
from screenpop.writeback.attributes import attributes_write_soon

logger = logging.getLogger("screenpop.pops")

CLAIM_BATCH = 50


@dataclass(frozen=True)
class RunOutcome:
    """What became of one attempt: the state reached, and when to try again (None = finished or not ours)."""

    state: str
    retry_in: float | None = None
    tenant_id: int | None = None


def _apply(pop: Pop, fields: dict[str, Any]) -> None:
    for name, value in fields.items():
        setattr(pop, name, value)


def _finish(
    pop: Pop,
    owner: str,
    *,
    state: str,
    detail: str = "",
    reason: str = "",
    result: PopResult | None = None,
    calls: int = 0,
) -> RunOutcome:
    now = timezone.now()
    fields: dict[str, Any] = {
        "state": state,
        "detail": detail,
        "reason": reason,
        "completed_at": now,
        "updated_at": now,
        "next_attempt_at": None,
        "lease_expires_at": None,
        "freshdesk_calls": pop.freshdesk_calls + calls,
        "attempts": pop.attempts,
    }
    shown: tuple[list, list[int]] = ([], [])
    if result is not None:
        fields["result"] = result.to_json()
        fields["phone_e164"] = pop.phone_e164
        shown = result.shown(now)

    # Its panels show "unavailable, retrying" already: no second alert, unless this was the last try.
    quiet = (
        state == Pop.State.UNAVAILABLE
        and _looked_up_again(pop)
        and reasons.unavailable_retry_until(pop.received_at, pop.attempts) is not None
    )

    def published() -> None:
        _apply(pop, fields)
        if not quiet:
            pop_publish_on_commit(pop)
        if result is not None:  # after the publish, in the background: Genesys sees what the agent sees
            attributes_write_soon(pop_id=pop.pk, tenant=pop.tenant)

    if not pop_finish(pop, owner, fields, shown, then=published):
        return _lost_lease(calls)
    metrics.pops_completed.labels(state=state).inc()
    logger.info("pop finished: %s %s", state, detail)
    return RunOutcome(state=state)


def _retry_later(pop: Pop, owner: str, *, delay: float, detail: str, reason: str, calls: int) -> RunOutcome:
    """Publish the failure at once (the agent reads "not answering, retrying" while the retries go on), and
    schedule the next attempt."""
    now = timezone.now()
    next_attempt = now + timedelta(seconds=delay)
    fields = {
        "attempts": pop.attempts,
        "detail": detail,
        "reason": reason,
        "next_attempt_at": next_attempt,
        "lease_expires_at": next_attempt + timedelta(seconds=settings.SCREENPOP_LEASE_SECONDS),
        "freshdesk_calls": pop.freshdesk_calls + calls,
        "updated_at": now,
    }
    with write_transaction():
        if not pop_guarded_update(pop, owner, fields):
            return _lost_lease(calls)
        _apply(pop, fields)
        if not _looked_up_again(pop):  # its panels keep "unavailable" until there is a result
            pop_publish_on_commit(pop)
    logger.info("pop retry in %.1fs: %s", delay, detail)
    return RunOutcome(state=Pop.State.PENDING, retry_in=delay, tenant_id=pop.tenant_id)


def _looked_up_again(pop: Pop) -> bool:
    """Is this a pop the sweep put back after "unavailable" (`pop_requeue_unavailable`)? Only those are pending with
    a `completed_at`: its panels show "unavailable" until this attempt has something new to say."""
    return pop.completed_at is not None


def _lost_lease(calls: int) -> RunOutcome:
    """Another process took the pop over while this lookup ran (this one stalled past its lease): its calls were
    made twice."""
    metrics.lookups_lost_lease.inc()
    metrics.freshdesk_calls_repeated.inc(calls)
    logger.warning("Lost the lease during the lookup; its %d Freshdesk call(s) are repeated by another process", calls)
    return RunOutcome(state="lost_lease")


def _failure_detail(error: FreshdeskError) -> str:
    """The admin's sentence for a failed attempt, without its final stop (the callers go on with the sentence)."""
    if isinstance(error, FreshdeskRateLimited):
        return "Freshdesk's rate limit is reached for this account"
    return f"Freshdesk did not answer ({error.detail.rstrip('.')})"


def pop_lookup_run(*, pop_id: int, owner: str) -> RunOutcome:
    """One lookup attempt for a pop this process leases. Returns when to retry, if at all. Never raises for
    Freshdesk's failures: they become the pop's state (with retries 1 s / 5 s / 15 s, `Retry-After` first)."""
    pop = pop_leased(pop_id, owner)
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
    display = caller.display or pop.phone_raw
    collected = _ivr_collected(pop, tenant, display)
    if collected is not None:
        result, calls = collected
        return _finish(pop, owner, state=Pop.State.MATCHED, result=result, calls=calls)
    if not caller.can_look_up:
        return _finish(
            pop,
            owner,
            state=Pop.State.NO_MATCH,
            detail=caller.reason,
            reason=reasons.reason_of_number(caller.outcome),
            result=PopResult(display),
        )
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
            reason=reasons.FRESHDESK_NOT_CONNECTED,
        )
    client = freshdesk_client_for(freshdesk, timeouts=lookup_timeouts())
    breaker = CircuitBreaker(client.base_url)
    pop.attempts += 1
    cached = flight.cached_result(tenant.pk, caller.e164)
    if cached is None and not breaker.allow():
        return _finish(
            pop,
            owner,
            state=Pop.State.UNAVAILABLE,
            detail="Freshdesk is unavailable (several failures in a row); lookups resume after a short pause.",
            reason=reasons.FRESHDESK_PAUSED,
        )

    slow = False

    def compute() -> dict[str, Any]:
        nonlocal slow
        started = time.perf_counter()
        try:
            found = caller_lookup(tenant=tenant, caller=caller, client=client, connection=freshdesk)
        finally:
            elapsed = time.perf_counter() - started
            metrics.lookup_seconds.observe(elapsed)
        slow = elapsed > settings.SCREENPOP_FRESHDESK_SLOW_SECONDS * max(1, found.freshdesk_calls)
        return found.as_dict()

    try:
        # A result already cached (read above, for the breaker) is used as is: one cache read per lookup.
        kept, computed_here = (
            (cached, False) if cached is not None else flight.shared_lookup(tenant.pk, caller.e164, compute)
        )
    except (FreshdeskTransientError, FreshdeskRateLimited) as error:
        reason = reasons.reason_of_error(error)
        if not isinstance(error, FreshdeskRateLimited):
            breaker.record_failure()
        delays = settings.SCREENPOP_RETRY_DELAYS
        if breaker.state() == "open" or error.code == TIMEOUT_CODE:
            # The agent is told now, not after retries against a Freshdesk that hangs (each would wait out the
            # deadline again); the sweep looks the caller up again once Freshdesk answers (`pop_sweep`).
            return _finish(pop, owner, state=Pop.State.UNAVAILABLE, detail=f"{_failure_detail(error)}.", reason=reason)
        if pop.attempts > len(delays):
            return _finish(
                pop,
                owner,
                state=Pop.State.UNAVAILABLE,
                detail=f"{_failure_detail(error)} after {pop.attempts} attempts.",
                reason=reason,
            )
        delay = delays[pop.attempts - 1]
        if isinstance(error, FreshdeskRateLimited) and error.retry_after is not None:
            delay = float(error.retry_after)
        calls = getattr(error, "freshdesk_calls", 0)
        return _retry_later(
            pop, owner, delay=delay, detail=f"{_failure_detail(error)}; retrying.", reason=reason, calls=calls
        )
    except FreshdeskError as error:
        _connection_error(freshdesk, error)
        return _finish(pop, owner, state=Pop.State.ERROR, detail=error.detail, reason=reasons.reason_of_error(error))
    if computed_here:
        if slow:  # a Freshdesk that crawls is as useless to a screen pop as one that fails
            metrics.freshdesk_slow_lookups.inc()
            breaker.record_failure()
        else:
            breaker.record_success()
    found = LookupResult.from_dict(kept)
    shown = replace(
        found.result,
        phone_display=found.result.phone_display or display,
        source=found.source if computed_here else "cache",
    )
    state = Pop.State.MATCHED if found.state == "matched" else Pop.State.NO_MATCH
    detail = "" if state == Pop.State.MATCHED else "No Freshdesk contact has this number."
    calls = found.freshdesk_calls if computed_here else 0
    reason = "" if state == Pop.State.MATCHED else reasons.NO_CONTACT
    finished = _finish(pop, owner, state=state, detail=detail, reason=reason, result=shown, calls=calls)
    if state == Pop.State.MATCHED and found.source == "mirror" and finished.state == state:
        # Shown at once from the mirror; now, budget allowing, one call brings any newer version of its tickets.
        mirror_refresh_after_pop(tenant=tenant, client=client, owner=owner)
    return finished


def _ivr_collected(pop: Pop, tenant: Tenant, display: str) -> tuple[PopResult, int] | None:
    """The pop of what the caller typed in the IVR, with the Freshdesk calls it cost; None to match the number."""
    value = ivr_value_read(tenant=tenant, conversation_id=pop.conversation_id)
    if value is None:
        return None
    try:
        freshdesk = tenant.freshdesk
    except FreshdeskConnection.DoesNotExist:
        return None
    client = freshdesk_client_for(freshdesk, timeouts=lookup_timeouts())
    with counting_freshdesk_calls(client) as calls:
        result = ivr_lookup(tenant=tenant, value=value, phone_display=display, client=client)
    return (result, calls[0]) if result is not None else None


def _connection_error(freshdesk: FreshdeskConnection, error: FreshdeskError) -> None:
    logger.error("Freshdesk refused a lookup: %s", error.detail)
    FreshdeskConnection.objects.filter(pk=freshdesk.pk).update(last_error=error.detail, last_error_at=timezone.now())


def pop_claim_due(*, owner: str, limit: int = CLAIM_BATCH) -> list[tuple[int, int]]:
    """Lease pending pops nobody holds and that are due (`storage.pops.pops_claim_due`); (pop id, tenant id) pairs."""
    return pops_claim_due(owner=owner, limit=limit)


def pop_claim_all_due(*, owner: str, limit: int = CLAIM_BATCH) -> list[tuple[int, int]]:
    """Lease every pending pop that nobody holds and that is due, `limit` at a time (so a process that starts after
    another died takes all of the dead one's pops in one sweep, not `limit` per sweep interval)."""
    due: list[tuple[int, int]] = []
    while True:
        batch = pops_claim_due_from(owner=owner, limit=limit)
        due += [(pop_id, tenant_id) for pop_id, tenant_id, _ in batch]
        taken_over = sum(1 for _, _, previous in batch if previous and previous != owner)
        if taken_over:
            # Their process died or stalled past its lease: a lookup it had in flight is made again here.
            metrics.pops_taken_over.inc(taken_over)
            logger.warning("Took over %d pop(s) whose lease expired at another process", taken_over)
        if len(batch) < limit:
            return due


def pop_sweep(*, owner: str, limit: int = CLAIM_BATCH) -> list[tuple[int, int]]:
    """The scheduler's sweep: lease every due pending pop nobody holds (`pop_claim_all_due`), and put back to
    pending the recent "unavailable" pops of the Freshdesk accounts that answer again (`pop_requeue_unavailable`).
    Returns the (pop id, tenant id) pairs to look up."""
    return pop_claim_all_due(owner=owner, limit=limit) + pop_requeue_unavailable(owner=owner)


def pop_requeue_unavailable(*, owner: str) -> list[tuple[int, int]]:
    """Recent "unavailable" pops (received within `SCREENPOP_UNAVAILABLE_RETRY_SECONDS`: the call is likely still
    live) are looked up again once their Freshdesk account's breaker lets calls through: all of them when it is
    closed, the newest alone when it is half-open (that lookup is the probe). None while it is open.

    Their attempts are not reset: one more attempt each time (its failure ends "unavailable" again, without the
    1 s / 5 s / 15 s retries), and no more once a pop has had `UNAVAILABLE_MAX_ATTEMPTS`. Their panels are told of a
    result, and of the last failure: meanwhile they say "not answering, retrying" (`retrying` in the panel state),
    so a failure that changes nothing publishes nothing."""
    since = timezone.now() - timedelta(seconds=settings.SCREENPOP_UNAVAILABLE_RETRY_SECONDS)
    by_account: dict[str, list[int]] = {}
    for pop_id, _, domain in pops_unavailable_since(since, max_attempts=UNAVAILABLE_MAX_ATTEMPTS):
        if domain:
            by_account.setdefault(domain, []).append(pop_id)
    requeued: list[int] = []
    for domain, pop_ids in by_account.items():
        try:
            state = CircuitBreaker(freshdesk_base_url(domain)).state()
        except ValidationFailed:
            continue  # a domain outside the allow-list: its lookups end in "error", not here
        if state == "closed":
            requeued += pop_ids
        elif state == "half_open":
            requeued.append(pop_ids[0])
    taken = pops_requeue(owner=owner, pop_ids=requeued)
    if taken:
        logger.info("Freshdesk answers again: %d unavailable pop(s) looked up again", len(taken))
    return taken


def pop_leases_renew(*, owner: str, pop_ids: list[int]) -> int:
    """Extend this process's lease on the pops its runner holds (`storage.pops.pops_lease_renew`)."""
    return pops_lease_renew(owner=owner, pop_ids=pop_ids)


def pop_leases_release(*, owner: str) -> int:
    """Let go of every pending pop this process holds, for the others to take at once (`storage.pops`)."""
    return pops_lease_release(owner=owner)


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
        pop.reason = ""
        pop.completed_at = None
        pop.next_attempt_at = None
        pop.lease_owner = owner
        pop.lease_expires_at = now + timedelta(seconds=settings.SCREENPOP_LEASE_SECONDS)
        pop.save()
        pop_publish_on_commit(pop)
        return pop.pk, pop.tenant_id


def pop_shown_save(pop_id: int, result: PopResult, *, now: datetime) -> None:
    """Record what `result` shows for the pop (tickets, contacts), so ticket updates reach its panels."""
    pop_shown_insert(pop_id, result.shown(now))
