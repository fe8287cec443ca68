"""Process-automation delivery limits (reference §12 "Trigger quotas"): per organisation at most
`trigger_quota_per_minute` (6,000) workflow invocations a minute and `trigger_quota_per_hour` (36,000) an hour, and at
most `trigger_workflow_share` (80%) of the minute's quota to one workflow; an event older than its trigger's
`eventTTLSeconds` when it would be delivered is dropped.

Windows slide (the last 60 s and 3,600 s); whether Genesys counts in sliding or fixed windows is uncertain, and so is
what it does with an invocation over the limit: here it is dropped and reported (`dropped`: `minute`, `hour`,
`workflow` or `ttl`), never queued. The knob `trigger_delivery_lag_seconds` ages every event by that much at delivery,
to play a backlog in Genesys's event pipeline. `GET /_sim/quotas` shows each organisation's counts against the limits.
"""

from __future__ import annotations

import time
from collections import deque

from simulators.genesys.state import State
from simulators.genesys.web import Request, Router

MINUTE, HOUR = 60.0, 3600.0


def register(router: Router) -> None:
    router.add("GET", "/_sim/quotas", quotas_control, authenticated=False)


def _limits(state: State) -> tuple[int, int, int]:
    per_minute = int(state.config.get("trigger_quota_per_minute") or 0)
    per_hour = int(state.config.get("trigger_quota_per_hour") or 0)
    per_workflow = int(per_minute * float(state.config.get("trigger_workflow_share") or 0))
    return per_minute, per_hour, per_workflow


def _window(state: State, org_id: str, now: float) -> deque:
    window = state.trigger_invocations.setdefault(org_id, deque())
    while window and window[0][0] <= now - HOUR:
        window.popleft()
    return window


def event_expired(state: State, trigger: dict, event: dict, now: float) -> bool:
    """Whether the event is older than the trigger's `eventTTLSeconds` at delivery (lag knob included)."""
    ttl = trigger.get("eventTTLSeconds")
    event_time = event.get("eventTime")
    if not ttl or not isinstance(event_time, int):
        return False
    age = now - event_time / 1000 + float(state.config.get("trigger_delivery_lag_seconds") or 0)
    return age > ttl


def admit(state: State, org_id: str, flow_id: str, now: float | None = None) -> str | None:
    """Count one invocation of `flow_id`, or say which limit refuses it (`hour`, `minute`, `workflow`)."""
    now = time.time() if now is None else now
    per_minute, per_hour, per_workflow = _limits(state)
    with state.lock:
        window = _window(state, org_id, now)
        last_minute = [flow for at, flow in window if at > now - MINUTE]
        if len(window) >= per_hour:
            return "hour"
        if len(last_minute) >= per_minute:
            return "minute"
        if last_minute.count(flow_id) >= per_workflow:
            return "workflow"
        window.append((now, flow_id))
    return None


def quotas_control(state: State, request: Request) -> dict:
    """`GET /_sim/quotas`: per organisation, invocations in the last minute and hour, per workflow, and the limits."""
    now = time.time()
    per_minute, per_hour, per_workflow = _limits(state)
    organisations = []
    with state.lock:
        for org_id in list(state.trigger_invocations):
            window = _window(state, org_id, now)
            minute = [flow for at, flow in window if at > now - MINUTE]
            organisations.append(
                {
                    "orgId": org_id,
                    "lastMinute": len(minute),
                    "lastHour": len(window),
                    "lastMinuteByWorkflow": {flow: minute.count(flow) for flow in sorted(set(minute))},
                }
            )
    return {
        "limits": {"perMinute": per_minute, "perHour": per_hour, "perWorkflowPerMinute": per_workflow},
        "organizations": organisations,
    }
