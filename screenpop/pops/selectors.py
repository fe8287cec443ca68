"""Reads: the state a conversation's panel shows."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from screenpop.models import EventLog, Pop
from screenpop.pops import reasons
from screenpop.pops.links import pops_with_links
from screenpop.pops.result import panel_state

# How far back the event log is read for a conversation without a pop: a call rings within minutes of its queue
# event, and the read walks the log's only index (received_at) over this window.
CALL_EVENT_WINDOW = timedelta(hours=1)


def pop_state_for(*, tenant_id: int, conversation_id: str) -> dict[str, Any]:
    """The panel state, with the call's `link` and the number's `suggested_link` (one query)."""
    pop = pops_with_links(Pop.objects.filter(tenant_id=tenant_id, conversation_id=conversation_id)).first()
    return _with_links(panel_state(pop, conversation_id=conversation_id))


def _with_links(state: dict[str, Any]) -> dict[str, Any]:
    state.setdefault("link", None)
    state.setdefault("suggested_link", None)
    return state


def pop_state_explained(*, tenant_id: int, conversation_id: str) -> dict[str, Any]:
    """The state the REST endpoint answers: as `pop_state_for`, and for a conversation without a pop, why, from
    the event log: its call event was ignored (a queue outside the filters, not an inbound voice call) or refused
    (the tenant is inactive, its webhook client revoked), or nothing has arrived (yet). The panel asks this when it
    has waited a while for a pop."""
    pop = pops_with_links(Pop.objects.filter(tenant_id=tenant_id, conversation_id=conversation_id)).first()
    if pop is not None:
        return _with_links(panel_state(pop, conversation_id=conversation_id))
    turned_away = (
        EventLog.objects.filter(
            received_at__gte=timezone.now() - CALL_EVENT_WINDOW,
            tenant_id=tenant_id,
            conversation_id=conversation_id,
            outcome__in=[EventLog.Outcome.IGNORED, EventLog.Outcome.FORBIDDEN],
        )
        .values_list("outcome", "field")
        .first()
    )
    reason = reasons.WAITING_FOR_CALL_EVENT if turned_away is None else reasons.call_event_reason(*turned_away)
    return _with_links(panel_state(None, conversation_id=conversation_id, reason=reason))
