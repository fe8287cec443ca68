"""What the write-back asks of and tells Genesys, as the tenant's sync client (client credentials set by the install
wizard), through the real SDK (`screenpop.genesys.api`): the conversation's facts at wrap-up, and participant
attributes after a pop.

Every call is counted against the client's per-minute limit (`genesys.quotas.api_calls_take`); a spent minute makes a
read give nothing (the note is written with what the event carried) and an attribute write wait for the next round.
The SDK is imported on the first use only (about 2 s and 200 MB: reference §10), by tenants that have a sync client.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime
from typing import Any

from django.core.cache import cache

from screenpop.errors import ScreenpopError
from screenpop.genesys.api import GenesysApi, login_with_client_credentials
from screenpop.genesys.quotas import api_calls_take
from screenpop.models import CallWrapUp, Tenant

logger = logging.getLogger("screenpop.writeback")

# Client-credentials tokens last a day by default (reference §3); a login is reused well within that.
LOGIN_REUSE_SECONDS = 1800.0
WRAPUP_CODE_CACHE_SECONDS = 3600

_logins: dict[tuple[int, str, str], tuple[float, GenesysApi]] = {}
_logins_lock = threading.Lock()


def tenant_genesys_api(tenant: Tenant) -> GenesysApi | None:
    """The tenant's Platform API as its sync client, or None when it has none (not installed by the wizard) or the
    per-minute budget is spent. Raises `ScreenpopError` kinds when the login fails."""
    if not (tenant.genesys_sync_client_id and tenant.genesys_sync_client_secret):
        return None
    key = (tenant.pk, tenant.genesys_sync_client_id, tenant.region)
    with _logins_lock:
        found = _logins.get(key)
        if found is not None and time.monotonic() - found[0] < LOGIN_REUSE_SECONDS:
            return found[1]
    if not api_calls_take(client_id=tenant.genesys_sync_client_id):
        return None
    api = login_with_client_credentials(
        environment=tenant.region,
        client_id=tenant.genesys_sync_client_id,
        client_secret=tenant.genesys_sync_client_secret,
    ).api
    with _logins_lock:
        _logins[key] = (time.monotonic(), api)
    return api


def forget_login(tenant: Tenant) -> None:
    """Drop the tenant's reused login (its token was refused)."""
    with _logins_lock:
        for key in [key for key in _logins if key[0] == tenant.pk]:
            del _logins[key]


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _milliseconds(start: datetime | None, end: datetime | None) -> int | None:
    if start is None or end is None:
        return None
    return max(0, int((end - start).total_seconds() * 1000))


def conversation_facts(conversation: dict[str, Any], *, user_id: str) -> dict[str, Any]:
    """What the note takes from a conversation (`GET /api/v2/conversations/{id}`) about the agent `user_id`'s part:
    agent and queue names, start, talk time (connected to end of that agent's last participant), whether it was
    recorded, the caller. Hold time is not in the conversation (only each leg's current `held` flag): analytics has it
    (`analytics_times`)."""
    participants = conversation.get("participants") or []
    agents = [p for p in participants if p.get("purpose") == "agent" and p.get("userId") == user_id]
    agent = agents[-1] if agents else {}
    customer = next((p for p in participants if p.get("purpose") in ("customer", "external")), {})
    recorded = str(conversation.get("recordingState") or "").upper() in ("ACTIVE", "PAUSED") or any(
        leg.get("recording") for participant in participants for leg in participant.get("calls") or []
    )
    return {
        "agent": agent.get("name") or "",
        "queue": agent.get("queueName") or "",
        "started_at": _time(conversation.get("startTime")),
        "talk_ms": _milliseconds(_time(agent.get("connectedTime")), _time(agent.get("endTime"))),
        "recorded": recorded,
        "caller": customer.get("name") or "",
        "direction": next((leg.get("direction") for leg in customer.get("calls") or [] if leg.get("direction")), ""),
        "customer_participant_id": customer.get("id") or "",
    }


def wrapup_facts(tenant: Tenant, wrapup: CallWrapUp) -> dict[str, Any]:
    """The conversation's facts and the wrap-up code's name from Genesys, or {} when the tenant has no sync client,
    its budget is spent or Genesys fails (the note is then written with what the event carried)."""
    try:
        api = tenant_genesys_api(tenant)
        if api is None:
            return {}
        facts: dict[str, Any] = {}
        if api_calls_take(client_id=tenant.genesys_sync_client_id):
            facts = conversation_facts(api.conversation(wrapup.conversation_id), user_id=wrapup.user_id)
        facts.update(_analytics_times(tenant, api, wrapup))
        if wrapup.wrapup_code:
            facts["wrapup_code"] = _wrapup_code_name(tenant, api, wrapup.wrapup_code)
        return facts
    except ScreenpopError as error:
        forget_login(tenant)
        logger.warning("Genesys facts of conversation %s unavailable: %s", wrapup.conversation_id, error.detail)
        return {}


def analytics_times(details: dict[str, Any], *, user_id: str) -> dict[str, int]:
    """The agent's talk and hold time (ms) from a conversation's analytics details: the sums of its sessions'
    `tTalk` and `tHeld` metrics; {} when the agent has no talk metric yet."""
    totals = {"tTalk": 0, "tHeld": 0}
    seen = False
    for participant in details.get("participants") or []:
        if participant.get("userId") != user_id:
            continue
        for session in participant.get("sessions") or []:
            for metric in session.get("metrics") or []:
                if metric.get("name") in totals and isinstance(metric.get("value"), int):
                    totals[metric["name"]] += metric["value"]
                    seen = seen or metric["name"] == "tTalk"
    return {"talk_ms": totals["tTalk"], "hold_ms": totals["tHeld"]} if seen else {}


def _analytics_times(tenant: Tenant, api: GenesysApi, wrapup: CallWrapUp) -> dict[str, int]:
    """Talk and hold time from analytics (the conversation itself has no hold time); {} when analytics has nothing
    yet, refuses, or the budget is spent (the note then shows the talk time the conversation gives, hold left out)."""
    if not api_calls_take(client_id=tenant.genesys_sync_client_id):
        return {}
    try:
        return analytics_times(api.conversation_details(wrapup.conversation_id), user_id=wrapup.user_id)
    except ScreenpopError as error:
        logger.info("Analytics of conversation %s unavailable: %s", wrapup.conversation_id, error.detail)
        return {}


def _wrapup_code_name(tenant: Tenant, api: GenesysApi, code: str) -> str:
    """The wrap-up code's name; the value as received when it is not an id Genesys knows (a workflow may send the
    name itself)."""
    key = f"screenpop:wrapup-code:{tenant.pk}:{code}"
    name = cache.get(key)
    if name is None:
        if not api_calls_take(client_id=tenant.genesys_sync_client_id):
            return code
        try:
            name = api.wrapup_code(code).get("name") or code
        except ScreenpopError:
            return code
        cache.set(key, name, WRAPUP_CODE_CACHE_SECONDS)
    return name
