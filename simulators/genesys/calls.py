"""Conversations (`GET /api/v2/conversations/{id}`, participant attributes) and simulated calls (`/_sim/calls`): a
call creates the conversation with customer, ACD and agent participants, then emits the detail events of reference §6
in order (`customer.start`, `acd.start`, `user.start`) through the triggers, as Genesys would; its end emits
`customer.end`, `user.end` and, once the agent submits a wrap-up, `acw` (reference §12)."""

from __future__ import annotations

import copy
import threading
import time
from datetime import datetime
from typing import Any

from simulators.genesys.oauth import require_permission
from simulators.genesys.state import State
from simulators.genesys.web import ApiError, Request, Response, Router, bad_request, iso, new_id
from simulators.genesys.workflows import TOPIC_PREFIX, fire_event

MEDIA_TYPES = ("VOICE", "CHAT", "EMAIL", "CALLBACK", "MESSAGE")
DIRECTIONS = ("INBOUND", "OUTBOUND")


def register(router: Router) -> None:
    router.add("GET", "/api/v2/conversations/{conversationId}", get_conversation)
    router.add("POST", "/_sim/calls", place_call_control, authenticated=False)
    router.add("GET", "/_sim/calls/{conversationId}", get_call_control, authenticated=False)
    router.add("POST", "/_sim/calls/{conversationId}/transfer", transfer_call_control, authenticated=False)
    router.add("POST", "/_sim/calls/{conversationId}/end", end_call_control, authenticated=False)
    router.add(
        "PATCH", "/api/v2/conversations/{conversationId}/participants/{participantId}/attributes", patch_attributes
    )
    router.add("GET", "/api/v2/routing/wrapupcodes/{codeId}", get_wrapup_code)
    router.add("GET", "/api/v2/analytics/conversations/{conversationId}/details", get_conversation_details)
    router.add("POST", "/_sim/calls/{conversationId}/hold", hold_call_control, authenticated=False)


def _conversation_of_token(state: State, request: Request) -> dict:
    """The path's conversation: 404 `not.found` if unknown; 403 if it belongs to another organisation than the
    token's. Call with the lock held."""
    conversation_id = request.path_params["conversationId"]
    conversation = state.conversations.get(conversation_id)
    if conversation is None:
        raise ApiError(404, "The requested operation failed with status 404", "not.found", entity_id=conversation_id)
    if conversation["_org_id"] != request.token.org_id:
        raise ApiError(
            403, "You are not authorized to perform the requested action.", "not.authorized", entity_id=conversation_id
        )
    return conversation


def get_conversation(state: State, request: Request) -> dict:
    with state.lock:
        conversation = _conversation_of_token(state, request)
        require_permission(state, request, "conversation:communication:view")
        return copy.deepcopy(conversation)


MAX_ATTRIBUTES_BYTES = 10_000  # the platform's limit on a participant's attributes is documented nowhere: (uncertain)


def patch_attributes(state: State, request: Request) -> None:
    """`PATCH .../participants/{participantId}/attributes {"attributes": {"name": "value"}}` (reference §12): the
    given attributes are merged into the participant's (strings only; a value of "" is kept as an empty string).
    Refused: a body without an `attributes` object, a value that is not a string (400 `bad.request`), an unknown
    participant (404), another organisation's conversation (403). Answers 202 with no body, as the SDK's
    `patch_conversation_participant_attributes` (returning None) expects. Which permission Genesys checks is not
    documented in our sources (uncertain): `conversation:communication:view` is required here, as for the read. Whether
    an ended conversation still takes attributes is uncertain too: this one does (wrap-up comes after the end)."""
    body = request.json_object()
    attributes = body.get("attributes")
    if not isinstance(attributes, dict):
        raise bad_request("attributes must be an object of string values.", "bad.request", "attributes")
    for name, value in attributes.items():
        if not isinstance(value, str):
            raise bad_request(f"The value of attribute {name!r} must be a string.", "bad.request", "attributes")
    with state.lock:
        conversation = _conversation_of_token(state, request)
        require_permission(state, request, "conversation:communication:view")
        participant_id = request.path_params["participantId"]
        participant = next((p for p in conversation["participants"] if p["id"] == participant_id), None)
        if participant is None:
            raise ApiError(404, "The participant was not found.", "not.found", entity_id=participant_id)
        merged = {**participant["attributes"], **attributes}
        if len(repr(merged).encode()) > MAX_ATTRIBUTES_BYTES:
            raise bad_request("The participant's attributes are too large.", "bad.request", "attributes")
        participant["attributes"] = merged
    return Response(202)


def _metrics(participant: dict) -> list[dict]:
    """tTalk (connected time less hold), tHeld and, once wrapped up, tAcw, in ms: the analytics metrics of an
    agent's session."""
    end = participant.get("endTime")
    if not end:
        return []
    held = participant.get("_held_ms", 0)
    connected = _milliseconds_between(participant.get("connectedTime"), end)
    metrics = [
        {"name": "tTalk", "value": max(0, connected - held), "emitDate": end},
        {"name": "tTalkComplete", "value": max(0, connected - held), "emitDate": end},
    ]
    if held:
        metrics.append({"name": "tHeld", "value": held, "emitDate": end})
        metrics.append({"name": "tHeldComplete", "value": held, "emitDate": end})
    if participant.get("wrapup"):
        metrics.append({"name": "tAcw", "value": participant["wrapup"]["durationSeconds"] * 1000, "emitDate": end})
    return metrics


def get_conversation_details(state: State, request: Request) -> dict:
    """`GET /api/v2/analytics/conversations/{id}/details` (`analytics:conversationDetail:view`): the conversation's
    participants, each with one session whose `metrics` hold the agent's talk and hold time (reference §12 leaves
    analytics out; the shape is the SDK's `AnalyticsConversationWithoutAttributes`). Genesys fills analytics a few
    seconds after the events (uncertain how long): here they are there at once, metrics from each participant's end."""
    with state.lock:
        conversation = _conversation_of_token(state, request)
        require_permission(state, request, "analytics:conversationDetail:view")
        participants = []
        for participant in conversation["participants"]:
            session = {
                "mediaType": conversation["_media_type"].lower(),
                "sessionId": _session_id(participant),
                "direction": conversation["_direction"].lower(),
                "ani": conversation["_ani"],
                "dnis": conversation["_dnis"],
                "recording": any(leg.get("recording") for leg in participant["calls"]),
                "metrics": _metrics(participant) if participant["purpose"] == "agent" else [],
                "segments": [],
            }
            entry = {
                "participantId": participant["id"],
                "participantName": participant["name"],
                "purpose": participant["purpose"],
                "sessions": [session],
            }
            if participant.get("userId"):
                entry["userId"] = participant["userId"]
            participants.append(entry)
        details = {
            "conversationId": conversation["id"],
            "conversationStart": conversation["startTime"],
            "originatingDirection": conversation["_direction"].lower(),
            "divisionIds": [conversation["divisions"][0]["division"]["id"]],
            "participants": participants,
        }
        if conversation.get("endTime"):
            details["conversationEnd"] = conversation["endTime"]
        return details


def get_wrapup_code(state: State, request: Request) -> dict:
    """`GET /api/v2/routing/wrapupcodes/{codeId}` (`routing:wrapupCode:view`): `{id, name, ...}`, 404 if unknown."""
    require_permission(state, request, "routing:wrapupCode:view")
    with state.lock:
        code = state.wrapup_codes.get(request.path_params["codeId"])
        if code is None or code["_org_id"] != request.token.org_id:
            raise ApiError(404, "The requested operation failed with status 404", "not.found")
        return {key: value for key, value in code.items() if not key.startswith("_")}


def _tel(number: str) -> str:
    number = number.strip()
    return number if number.startswith("tel:") else f"tel:{number}"


def _call_leg(state_name: str, address: str, other: str, *, direction: str) -> dict:
    now = iso()
    leg = {
        "id": new_id(),
        "state": state_name,
        "initialState": "alerting",
        "direction": direction.lower(),
        "recording": False,
        "recordingState": "none",
        "muted": False,
        "confined": False,
        "held": False,
        "provider": "Edge",
        "self": {"addressNormalized": address, "addressRaw": address},
        "other": {"addressNormalized": other, "addressRaw": other},
        "startAlertingTime": now,
    }
    if state_name == "connected":
        leg["connectedTime"] = now
    return leg


def _participant(purpose: str, participant_type: str, name: str, conversation: dict, **fields: Any) -> dict:
    participant = {
        "id": new_id(),
        "startTime": iso(),
        "name": name,
        "purpose": purpose,
        "participantType": participant_type,
        "ani": conversation["_ani"],
        "dnis": conversation["_dnis"],
        "attributes": {},
        "wrapupRequired": purpose == "agent",
        "calls": [],
        **fields,
    }
    if conversation["_media_type"] == "VOICE":
        address = conversation["_ani"] if purpose == "customer" else conversation["_dnis"]
        other = conversation["_dnis"] if purpose == "customer" else conversation["_ani"]
        leg_state = "disconnected" if purpose == "acd" else "connected"
        participant["calls"] = [_call_leg(leg_state, address, other, direction=conversation["_direction"])]
        if conversation.get("recordingState") == "ACTIVE" and purpose != "acd":
            participant["calls"][0].update(recording=True, recordingState="active")
    participant.setdefault("address", conversation["_ani"] if purpose == "customer" else conversation["_dnis"])
    return participant


def _session_id(participant: dict) -> str:
    return participant["calls"][0]["id"] if participant["calls"] else participant["id"]


def _event(conversation: dict, participant: dict, **extra: Any) -> dict:
    """The fields common to the detail events (reference §6), for one participant."""
    event = {
        "eventTime": int(time.time() * 1000),
        "conversationId": conversation["id"],
        "participantId": participant["id"],
        "sessionId": _session_id(participant),
        "mediaType": conversation["_media_type"],
        "provider": "Edge",
        "direction": conversation["_direction"],
        "ani": conversation["_ani"],
        "dnis": conversation["_dnis"],
        "addressFrom": conversation["_ani"],
        "addressTo": conversation["_dnis"],
        "divisionId": conversation["divisions"][0]["division"]["id"],
        "conversationExternalContactIds": [],
        "conversationExternalOrganizationIds": [],
    }
    event.update(extra)
    return event


def _queue(state: State, org_id: str, reference: str) -> dict:
    for queue in state.queues.values():
        if queue["_org_id"] == org_id and (reference == queue["id"] or queue["name"].lower() == reference.lower()):
            return queue
    raise bad_request(f"No queue {reference!r} in this organisation.", "invalid.value", "queue")


def _agent(state: State, org_id: str, reference: Any) -> dict:
    """The named agent, or the next seeded agent of the org in round-robin order."""
    if isinstance(reference, str) and reference:
        user = state.user_for(reference, org_id)
        if user is None:
            raise bad_request(f"No user {reference!r} in this organisation.", "invalid.value", "agent")
        return user
    agents = [user for user in state.users.values() if user["_org_id"] == org_id and user["_agent"]]
    if not agents:
        raise bad_request("This organisation has no agents to route the call to.", "invalid.value", "agent")
    turn = state.round_robin.get(org_id, 0)
    state.round_robin[org_id] = turn + 1
    return agents[turn % len(agents)]


def _add_acd(state: State, conversation: dict, queue: dict, events: list) -> None:
    acd = _participant("acd", "Acd", queue["name"], conversation, queueId=queue["id"], queueName=queue["name"])
    conversation["participants"].append(acd)
    conversation["divisions"][0]["entities"].append({"id": queue["id"], "selfUri": queue["selfUri"]})
    conversation["_queue_id"] = queue["id"]
    events.append(
        (
            "acd.start",
            _event(
                conversation,
                acd,
                queueId=queue["id"],
                routingPriority=0,
                requestedRoutingSkillIds=[],
                skillExpressionApplied=False,
            ),
        )
    )


def _add_agent(state: State, conversation: dict, user: dict, events: list) -> None:
    queue = state.queues[conversation["_queue_id"]]
    for participant in conversation["participants"]:
        if participant["purpose"] == "agent" and "endTime" not in participant:
            _end_participant(participant, "transfer")
    agent = _participant(
        "agent",
        "Internal",
        user["name"],
        conversation,
        userId=user["id"],
        userUri=f"/api/v2/users/{user['id']}",
        queueId=queue["id"],
        queueName=queue["name"],
    )
    agent["connectedTime"] = agent["startTime"]
    conversation["participants"].append(agent)
    events.append(("user.start", _event(conversation, agent, userId=user["id"], queueId=queue["id"])))


def _end_participant(participant: dict, disconnect_type: str) -> None:
    now = iso()
    participant["endTime"] = now
    for leg in participant["calls"]:
        if leg["state"] != "disconnected":
            leg.update(state="disconnected", disconnectedTime=now, disconnectType=disconnect_type)


def _emit(state: State, conversation_id: str, org_id: str, events: list, wait: bool) -> dict:
    """Fire the events in order; with `wait` false, in a background thread (results go to /_sim/log only)."""

    def run() -> list[dict]:
        fired = []
        for suffix, body in events:
            topic = TOPIC_PREFIX.replace("{id}", conversation_id) + suffix
            fired.append({"topicName": topic, "eventBody": body, "triggers": fire_event(state, org_id, topic, body)})
        return fired

    if not wait:
        threading.Thread(target=run, name=f"events-{conversation_id}", daemon=True).start()
        return {"conversationId": conversation_id, "events": [], "triggers": [], "async": True}
    fired = run()
    return {
        "conversationId": conversation_id,
        "events": fired,
        "triggers": [result for event in fired for result in event["triggers"]],
    }


def place_call_control(state: State, request: Request) -> dict:
    """`POST /_sim/calls {"ani", "queue"?: "Support", "org"?, "media_type"?: "VOICE", "direction"?: "INBOUND",
    "agent"?: id|email|name|false, "dnis"?, "caller_name"?, "recording"?: false, "wait"?: true}` → the conversation
    id, every event emitted and, per fired trigger, the data action's outcome (token request, webhook status and
    body). With `recording`, the conversation records (`recordingState` ACTIVE, its legs `recording`)."""
    body = request.json_object()
    if not isinstance(body.get("ani"), str) or not body["ani"].strip():
        raise bad_request("A call needs an ani (e.g. +15550199 or tel:+15550199).", "invalid.value", "ani")
    media_type, direction = body.get("media_type", "VOICE").upper(), body.get("direction", "INBOUND").upper()
    if media_type not in MEDIA_TYPES or direction not in DIRECTIONS:
        raise bad_request(f"media_type is one of {MEDIA_TYPES}, direction one of {DIRECTIONS}.", "invalid.value")
    org = state.org_for(body.get("org"))
    if org is None:
        raise bad_request(f"No organisation {body.get('org')!r}.", "invalid.value", "org")
    events: list = []
    with state.lock:
        queue = _queue(state, org["id"], str(body.get("queue") or "Support"))
        conversation_id = new_id()
        conversation = {
            "id": conversation_id,
            "startTime": iso(),
            "address": _tel(body["ani"]),
            "participants": [],
            "divisions": [
                {"division": {"id": org["_division"]["id"], "selfUri": org["_division"]["selfUri"]}, "entities": []}
            ],
            "recordingState": "ACTIVE" if body.get("recording") is True else "NONE",
            "state": "connected",
            "selfUri": f"/api/v2/conversations/{conversation_id}",
            "_org_id": org["id"],
            "_ani": _tel(body["ani"]),
            "_dnis": _tel(body.get("dnis") or org["_did"]),
            "_media_type": media_type,
            "_direction": direction,
        }
        customer = _participant("customer", "External", body.get("caller_name") or _tel(body["ani"])[4:], conversation)
        conversation["participants"].append(customer)
        events.append(("customer.start", _event(conversation, customer)))
        _add_acd(state, conversation, queue, events)
        if body.get("agent") is not False:
            _add_agent(state, conversation, _agent(state, org["id"], body.get("agent")), events)
        state.conversations[conversation_id] = conversation
    return _emit(state, conversation_id, org["id"], events, body.get("wait", True) is not False)


def _conversation(state: State, request: Request) -> dict:
    conversation = state.conversations.get(request.path_params["conversationId"])
    if conversation is None:
        raise ApiError(404, "No such conversation.", "not.found", entity_id=request.path_params["conversationId"])
    return conversation


def get_call_control(state: State, request: Request) -> dict:
    with state.lock:
        conversation = _conversation(state, request)
        return {**copy.deepcopy(conversation), "orgId": conversation["_org_id"]}


def transfer_call_control(state: State, request: Request) -> dict:
    """`POST /_sim/calls/{id}/transfer {"agent"?, "queue"?, "wait"?}`: to a queue (a new ACD participant and
    `acd.start`, then an agent and `user.start`) or straight to an agent (`user.start` only). The previous agent's
    participant ends with disconnectType `transfer`. The same conversation id comes again, so consumers must dedupe."""
    body = request.json(required=False) or {}
    events: list = []
    with state.lock:
        conversation = _conversation(state, request)
        if "endTime" in conversation:
            raise bad_request("The conversation has ended.", "invalid.value")
        org_id = conversation["_org_id"]
        if body.get("queue"):
            _add_acd(state, conversation, _queue(state, org_id, str(body["queue"])), events)
        _add_agent(state, conversation, _agent(state, org_id, body.get("agent")), events)
    return _emit(state, conversation["id"], org_id, events, body.get("wait", True) is not False)


def _wrapup_of(state: State, org_id: str, body: dict) -> dict | None:
    """The `wrapup` a call's end carries (`{"code": name or id, "notes"?, "duration_ms"?}`), or None."""
    wrapup = body.get("wrapup")
    if wrapup is None:
        return None
    if not isinstance(wrapup, dict) or not isinstance(wrapup.get("code"), str):
        raise bad_request('wrapup must be {"code": name or id, "notes"?: text}.', "invalid.value", "wrapup.code")
    code = next(
        (
            item
            for item in state.wrapup_codes.values()
            if item["_org_id"] == org_id and wrapup["code"].lower() in (item["id"], item["name"].lower())
        ),
        None,
    )
    if code is None:
        raise bad_request(f"No wrap-up code {wrapup['code']!r} in this organisation.", "invalid.value", "wrapup.code")
    notes = wrapup.get("notes", "")
    duration = wrapup.get("duration_ms", 12_000)
    if not isinstance(notes, str) or not isinstance(duration, int) or isinstance(duration, bool) or duration < 0:
        raise bad_request("wrapup.notes is text and wrapup.duration_ms a whole number of ms.", "invalid.value")
    return {"code": code, "notes": notes, "duration_ms": duration}


def _milliseconds_between(start: str | None, end: str | None) -> int:
    if not start or not end:
        return 0
    return max(0, int((datetime.fromisoformat(end[:-1] + "+00:00") - datetime.fromisoformat(start[:-1] + "+00:00"))
                       .total_seconds() * 1000))  # fmt: skip


def hold_call_control(state: State, request: Request) -> dict:
    """`POST /_sim/calls/{id}/hold {"seconds": 30}`: the connected agent had the caller on hold that long (added to
    its hold time at once, no waiting); `user.end` and the analytics details then report it."""
    body = request.json_object()
    seconds = body.get("seconds")
    if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds <= 0:
        raise bad_request("seconds is a positive number.", "invalid.value", "seconds")
    with state.lock:
        conversation = _conversation(state, request)
        agents = [p for p in conversation["participants"] if p["purpose"] == "agent" and "endTime" not in p]
        if not agents:
            raise bad_request("No agent is connected to hold the call.", "invalid.value")
        agents[-1]["_held_ms"] = agents[-1].get("_held_ms", 0) + int(seconds * 1000)
        return {"conversationId": conversation["id"], "heldMs": agents[-1]["_held_ms"]}


def end_call_control(state: State, request: Request) -> dict:
    """`POST /_sim/calls/{id}/end {"wrapup"?: {"code": "Resolved", "notes"?, "duration_ms"?}, "wait"?}`: every
    participant disconnects; `customer.end` is emitted, then `user.end` for each agent still connected (with its
    talk and hold time), then, with a wrap-up, `acw` for the last agent (AfterCallWorkEvent of reference §12: the
    code's id in `wrapupCode`, its notes and duration); the agent participant keeps the wrap-up. Without one the
    agent has not wrapped up yet, so no `acw` comes."""
    body = request.json(required=False) or {}
    with state.lock:
        conversation = _conversation(state, request)
        if "endTime" in conversation:
            raise bad_request("The conversation has ended already.", "invalid.value")
        wrapup = _wrapup_of(state, conversation["_org_id"], body)
        connected_agents = [p for p in conversation["participants"] if p["purpose"] == "agent" and "endTime" not in p]
        for participant in conversation["participants"]:
            if "endTime" not in participant:
                _end_participant(participant, "peer" if participant["purpose"] == "customer" else "endpoint")
        conversation.update(endTime=iso(), state="disconnected")
        customer = next(p for p in conversation["participants"] if p["purpose"] == "customer")
        events = [("customer.end", _event(conversation, customer, disconnectType="PEER"))]
        for agent in connected_agents:
            durations = {
                "interactingDurationMs": _milliseconds_between(agent.get("connectedTime"), agent["endTime"]),
                "heldDurationMs": agent.get("_held_ms", 0),
                "alertingDurationMs": 0,
            }
            extra = {"userId": agent["userId"], "queueId": agent.get("queueId"), "disconnectType": "PEER"}
            events.append(("user.end", _event(conversation, agent, **extra, **durations)))
        if wrapup is not None and connected_agents:
            agent = connected_agents[-1]
            code = wrapup["code"]
            agent["wrapup"] = {
                "code": code["id"],
                "name": code["name"],
                "notes": wrapup["notes"],
                "durationSeconds": wrapup["duration_ms"] // 1000,
                "endTime": iso(),
            }
            events.append(
                (
                    "acw",
                    _event(
                        conversation,
                        agent,
                        userId=agent["userId"],
                        queueId=agent.get("queueId"),
                        wrapupCode=code["id"],
                        wrapupNotes=wrapup["notes"],
                        wrapupDurationMs=wrapup["duration_ms"],
                    ),
                )
            )
    return _emit(state, conversation["id"], conversation["_org_id"], events, body.get("wait", True) is not False)
