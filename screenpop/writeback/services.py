"""Write a wrap-up's note on its Freshdesk ticket, exactly once, and retry Freshdesk's failures for hours.

A background round (`writeback_round`, in every server process's scheduler) leases one due wrap-up at a time
(`storage.wrapups`: `SKIP LOCKED` on PostgreSQL) and runs `wrapup_write`, whose every step is recorded before the
next, under the lease:

1. the ticket (`targets.note_target`): the linked one, the caller's open one, or a new one, whose id is recorded as
   soon as Freshdesk answers;
2. the note: `note_attempted_at` is recorded before it is posted and cleared once its id is; an attempt that finds
   it still set (the process died, or Freshdesk did not answer, between "posted" and "recorded") first looks for the
   note's marker among the ticket's conversations and posts only when it is absent;
3. the ticket's status, when the tenant maps the wrap-up code to one.

A new ticket is made the same way: `ticket_attempted_at` before the POST; after an uncertain one, the next attempt
looks for the marker in the descriptions of the requester's newest tickets (the ticket list is immediately
consistent, unlike search, which lags by minutes) before creating it again.

A re-delivered end event is a duplicate at the webhook (one row per conversation and agent), and a row is written by
one process at a time: no second note. What remains, as Freshdesk has no idempotency key: a note or ticket Freshdesk
wrote but whose marker the next attempt cannot see (an edit removed it, or the agent deleted the note or ticket)
is written again; a ticket created for a phone number whose contact then changed its work phone is not found.

Freshdesk's 429 and our own budget's refusal (the round leaves `SCREENPOP_WRITEBACK_BUDGET_RESERVE` of the account's
minute to the pops) wait for the time Freshdesk names; other transient failures back off by
`SCREENPOP_WRITEBACK_RETRY_DELAYS`. A wrap-up is never dropped: after `SCREENPOP_WRITEBACK_GIVE_UP_HOURS` of failures,
or at once on one a person must fix (a refused API key, a deleted ticket), it is "failed", shown in the admin with its
cause and a retry action.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from html import escape

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from screenpop import metrics
from screenpop.errors import ScreenpopError
from screenpop.freshdesk.accounts import UNHURRIED_TIMEOUTS, freshdesk_client_for
from screenpop.freshdesk.client import FreshdeskClient
from screenpop.freshdesk.errors import FreshdeskError, FreshdeskRateLimited, FreshdeskTransientError
from screenpop.lookup.breaker import CircuitBreaker
from screenpop.models import CallWrapUp, FreshdeskConnection, Pop, Tenant
from screenpop.pops.links import agent_note_of
from screenpop.storage.wrapups import (
    wrapup_guarded_update,
    wrapup_leased,
    wrapups_claim_due,
    wrapups_lease_release,
)
from screenpop.writeback.genesys_side import wrapup_facts
from screenpop.writeback.note import CallFacts, conversation_links, has_marker, note_html, note_marker
from screenpop.writeback.targets import LOOKUP_WAIT_RETRY_SECONDS, Target, note_target

logger = logging.getLogger("screenpop.writeback")

# A write-back call may wait this long for the account's budget before it is retried later.
BUDGET_WAIT_SECONDS = 2.0
_STATE = CallWrapUp.State


class _LostLease(Exception):
    """Another process holds the wrap-up now (this one was too slow): it does the rest."""


def _budget_check(client: FreshdeskClient) -> None:
    """Leave `SCREENPOP_WRITEBACK_BUDGET_RESERVE` of the account's minute to the screen pops."""
    budget = client.budget
    if budget is None:
        return
    limit, remaining = budget.limit("total"), budget.remaining("total")
    if limit and remaining is not None and remaining < limit * settings.SCREENPOP_WRITEBACK_BUDGET_RESERVE:
        raise FreshdeskRateLimited(
            f"Freshdesk's budget this minute is kept for screen pops ({remaining} of {limit} calls left).",
            retry_after=5.0,
        )


def _retry_delay(attempts: int) -> float:
    delays = settings.SCREENPOP_WRITEBACK_RETRY_DELAYS
    return delays[min(attempts, len(delays)) - 1] if attempts else delays[0]


FACTS_CACHE_SECONDS = 3600


def _call_facts(tenant: Tenant, wrapup: CallWrapUp) -> CallFacts:
    # Read from Genesys once per wrap-up, not once per attempt: a 429 storm retries many times.
    key = f"screenpop:wrapup-facts:{wrapup.pk}"
    genesys = cache.get(key)
    if genesys is None:
        genesys = wrapup_facts(tenant, wrapup)
        if genesys:
            cache.set(key, genesys, FACTS_CACHE_SECONDS)
    pop = Pop.objects.filter(tenant=tenant, conversation_id=wrapup.conversation_id).only("phone_e164").first()
    phone = (pop.phone_e164 if pop else "") or wrapup.phone_raw.removeprefix("tel:")
    conversation_url, recording_url = conversation_links(
        environment=tenant.region, conversation_id=wrapup.conversation_id, recorded=bool(genesys.get("recorded"))
    )
    return CallFacts(
        conversation_id=wrapup.conversation_id,
        user_id=wrapup.user_id,
        direction=wrapup.direction or genesys.get("direction", ""),
        queue=genesys.get("queue") or wrapup.queue_id,
        agent=genesys.get("agent") or wrapup.user_id,
        caller=_caller(genesys.get("caller", ""), phone),
        started_at=genesys.get("started_at"),
        talk_ms=genesys.get("talk_ms"),
        hold_ms=genesys.get("hold_ms"),
        wrapup_code=genesys.get("wrapup_code") or wrapup.wrapup_code,
        wrapup_notes=wrapup.wrapup_notes,
        agent_note=agent_note_of(tenant_id=tenant.pk, conversation_id=wrapup.conversation_id, user_id=wrapup.user_id),
        conversation_url=conversation_url,
        recording_url=recording_url,
    )


def _caller(name: str, phone: str) -> str:
    if not name or name.lstrip("+") in phone:
        return phone
    return f"{name} ({phone})" if phone else name


def _mapped_status(tenant: Tenant, code: str, code_id: str) -> int | None:
    mapping = tenant.wrapup_status_map if isinstance(tenant.wrapup_status_map, dict) else {}
    for key in (code, code_id):
        status = mapping.get(key)
        if isinstance(status, int) and not isinstance(status, bool) and status >= 2:
            return status
    return None


def _ticket_created(client: FreshdeskClient, target: Target, wrapup: CallWrapUp, marker: str) -> int:
    description = f"<div>Phone call on {wrapup.received_at:%Y-%m-%d %H:%M} UTC, logged at wrap-up.</div>"
    description += f"<div><small>{escape(marker)}</small></div>"
    created = client.create_ticket(
        subject=target.subject[:255],
        description=description,
        requester_id=target.requester_id,
        phone=target.phone or None,
        name=target.name or None,
    )
    return int(created["id"])


def _ticket_found(client: FreshdeskClient, target: Target, wrapup: CallWrapUp, marker: str) -> int | None:
    """The ticket an uncertain earlier attempt created, found by the marker in its description among the newest
    tickets of its requester (the contact, or the contacts whose work phone is exactly the number). Each look is
    one contacts-list and one tickets-list call per contact: lists Freshdesk's budget limits tightly, used only
    after an attempt whose answer never came."""
    if target.requester_id is not None:
        requester_ids = [target.requester_id]
    else:
        requester_ids = [contact["id"] for contact in client.list_contacts(phone=target.phone)][:3]
    since = wrapup.received_at - timedelta(days=1)
    for requester_id in requester_ids:
        tickets = client.list_tickets(
            requester_id=requester_id, updated_since=since, order_by="created_at", per_page=30, include=("description",)
        )
        for ticket in tickets:
            if marker in (ticket.get("description_text") or "") or marker in (ticket.get("description") or ""):
                return int(ticket["id"])
    return None


def _note_found(client: FreshdeskClient, ticket_id: int, marker: str) -> int | None:
    for conversation in client.iter_conversations(ticket_id):
        if has_marker(conversation, marker):
            return int(conversation["id"])
    return None


def _write(wrapup: CallWrapUp, owner: str) -> str:
    tenant = wrapup.tenant

    def record(**fields: object) -> None:
        if not wrapup_guarded_update(wrapup.pk, owner, **fields):
            raise _LostLease
        for name, value in fields.items():
            setattr(wrapup, name, value)

    try:
        connection = tenant.freshdesk
    except FreshdeskConnection.DoesNotExist:
        raise FreshdeskError("The tenant has no Freshdesk connection: add one in the admin.") from None
    client = freshdesk_client_for(connection, budget_wait=BUDGET_WAIT_SECONDS, timeouts=UNHURRIED_TIMEOUTS)
    if CircuitBreaker(client.base_url).state() == "open":
        # The lookups found Freshdesk down: waiting out a timeout per wrap-up would only slow the others' turns.
        raise FreshdeskTransientError("Freshdesk is unavailable (the screen pops' breaker for it is open).")
    _budget_check(client)
    if wrapup.ticket_id is None:
        target = note_target(tenant=tenant, wrapup=wrapup)
        if target.wait:
            return _later(wrapup, owner, target.wait, LOOKUP_WAIT_RETRY_SECONDS)
        if target.reason:
            record(state=_STATE.SKIPPED, last_error=target.reason, completed_at=timezone.now(), lease_owner="")
            return "skipped"
        if target.new_ticket:
            marker = note_marker(conversation_id=wrapup.conversation_id, user_id=wrapup.user_id)
            ticket_id = _ticket_found(client, target, wrapup, marker) if wrapup.ticket_attempted_at else None
            if ticket_id is None:
                record(ticket_attempted_at=timezone.now())
                try:
                    ticket_id = _ticket_created(client, target, wrapup, marker)
                except FreshdeskError as error:
                    if not isinstance(error, FreshdeskTransientError):
                        record(ticket_attempted_at=None)
                    raise
            record(ticket_id=ticket_id, ticket_created=True, ticket_attempted_at=None)
        else:
            record(ticket_id=target.ticket_id)
    facts = _call_facts(tenant, wrapup)
    if wrapup.note_id is None:
        marker = note_marker(conversation_id=wrapup.conversation_id, user_id=wrapup.user_id)
        note_id = _note_found(client, wrapup.ticket_id, marker) if wrapup.note_attempted_at else None
        if note_id is None:
            record(note_attempted_at=timezone.now())
            try:
                note_id = int(client.create_note(wrapup.ticket_id, body=note_html(facts))["id"])
            except FreshdeskError as error:
                if not isinstance(error, FreshdeskTransientError):  # Freshdesk answered (or we never sent): no note
                    record(note_attempted_at=None)
                raise
        record(note_id=note_id, note_attempted_at=None)
    detail = ""
    status = _mapped_status(tenant, facts.wrapup_code, wrapup.wrapup_code)
    if status is not None and wrapup.status_set != status:
        try:
            client.update_ticket(wrapup.ticket_id, {"status": status})
            record(status_set=status)
        except (FreshdeskRateLimited, FreshdeskTransientError):
            raise
        except FreshdeskError as error:
            detail = f"The note is written; the status {status} was refused: {error.detail}"
    record(state=_STATE.WRITTEN, completed_at=timezone.now(), last_error=detail, lease_owner="", lease_expires_at=None)
    return "written"


def wrapup_write(*, wrapup_id: int, owner: str) -> str:
    """Write the leased wrap-up's note; "written", "skipped", "retry", "failed" or "lost" (another process holds
    it). Never raises for Freshdesk's or Genesys's failures: they are recorded on the wrap-up."""
    wrapup = wrapup_leased(wrapup_id, owner)
    if wrapup is None:
        return "lost"
    try:
        return _write(wrapup, owner)
    except _LostLease:
        return "lost"
    except (FreshdeskRateLimited, FreshdeskTransientError) as error:
        delay = _retry_delay(wrapup.attempts + 1)
        if isinstance(error, FreshdeskRateLimited):
            delay = max(error.retry_after, 1.0)
        return _later(wrapup, owner, error.detail, delay)
    except ScreenpopError as error:
        return _failed(wrapup, owner, error.detail)
    except Exception as error:  # a bug: retried later, not hot, and shown in the admin meanwhile
        logger.exception("Writing the wrap-up of conversation %s failed", wrapup.conversation_id)
        return _later(
            wrapup, owner, f"Internal error ({type(error).__name__}); retrying.", _retry_delay(wrapup.attempts + 1)
        )


def _later(wrapup: CallWrapUp, owner: str, detail: str, delay: float) -> str:
    now = timezone.now()
    if now - wrapup.received_at > timedelta(hours=settings.SCREENPOP_WRITEBACK_GIVE_UP_HOURS):
        return _failed(wrapup, owner, f"Still failing after {settings.SCREENPOP_WRITEBACK_GIVE_UP_HOURS:g} h: {detail}")
    wrapup_guarded_update(
        wrapup.pk,
        owner,
        attempts=wrapup.attempts + 1,
        next_attempt_at=now + timedelta(seconds=delay),
        last_error=detail,
        lease_owner="",
        lease_expires_at=None,
    )
    logger.info("Wrap-up of conversation %s retried in %.0f s: %s", wrapup.conversation_id, delay, detail)
    return "retry"


def _failed(wrapup: CallWrapUp, owner: str, detail: str) -> str:
    wrapup_guarded_update(
        wrapup.pk,
        owner,
        state=_STATE.FAILED,
        attempts=wrapup.attempts + 1,
        last_error=detail,
        completed_at=timezone.now(),
        lease_owner="",
        lease_expires_at=None,
    )
    logger.warning("Wrap-up of conversation %s failed: %s", wrapup.conversation_id, detail)
    return "failed"


def writeback_round(*, owner: str, seconds: float | None = None) -> int:
    """Write due wrap-ups one at a time for up to `seconds` (`SCREENPOP_WRITEBACK_ROUND_SECONDS`); how many were
    handled. Several processes (or threads, each with its own `owner`) may run rounds at once."""
    deadline = time.monotonic() + (settings.SCREENPOP_WRITEBACK_ROUND_SECONDS if seconds is None else seconds)
    handled = 0
    while time.monotonic() < deadline:
        due = wrapups_claim_due(owner=owner, limit=1)
        if not due:
            break
        metrics.writeback_attempts.labels(outcome=wrapup_write(wrapup_id=due[0], owner=owner)).inc()
        handled += 1
    return handled


def writeback_release(*, owner: str) -> int:
    """Let go of the wrap-ups `owner` holds (a server shutting down)."""
    return wrapups_lease_release(owner=owner)
