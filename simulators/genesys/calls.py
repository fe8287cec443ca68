"""Conversations (`GET /api/v2/conversations/{id}`) and simulated calls (`/_sim/calls`): a call creates the
conversation with customer, ACD and agent participants, then emits the detail events of reference §6 in order
(`customer.start`, `acd.start`, `user.start`) through the triggers, as Genesys would."""

from __future__ import annotations

import copy
import threading
import time
from typing import Any

from simulators.genesys.oauth import require_permission
from simulators.genesys.state import State
from simulators.genesys.web import ApiError, Request, Router, bad_request, iso, new_id
from simulators.genesys.workflows import TOPIC_PREFIX, fire_event

MEDIA_TYPES = ("VOICE", "CHAT", "EMAIL", "CALLBACK", "MESSAGE")
DIRECTIONS = ("INBOUND", "OUTBOUND")


def register(router: Router) -> None:
    router.add("GET", "/api/v2/conversations/{conversationId}", get_conversation)
    router.add("POST", "/_sim/calls", place_call_control, authenticated=False)
    router.add("GET", "/_sim/calls/{conversationId}", get_call_control, authenticated=False)
    router.add("POST", "/_sim/calls/{conversationId}/transfer", transfer_call_control, authenticated=False)
    router.add("POST", "/_sim/calls/{conversationId}/end", end_call_control, authenticated=False)


def get_conversation(state: State, request: Request) -> dict:
    """404 `not.found` if unknown; 403 if it belongs to another organisation than the token's."""
    conversation_id = request.path_params["conversationId"]
    with state.lock:
        conversation = state.conversations.get(conversation_id)
        if conversation is None:
            raise ApiError(
                404, "The requested operation failed with status 404", "not.found", entity_id=conversation_id
            )
        if conversation["_org_id"] != request.token.org_id:
            raise ApiError(
                403,
                "You are not authorized to perform the requested action.",
                "not.authorized",
                entity_id=conversation_id,
            )
        require_permission(state, request, "conversation:communication:view")
        return copy.deepcopy(conversation)


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
    "agent"?: id|email|name|false, "dnis"?, "caller_name"?, "wait"?: true}` → the conversation id, every event
    emitted and, per fired trigger, the data action's outcome (token request, webhook status and body)."""
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
            "recordingState": "NONE",
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


def end_call_control(state: State, request: Request) -> dict:
    """`POST /_sim/calls/{id}/end`: every participant disconnects; `customer.end` is emitted."""
    body = request.json(required=False) or {}
    with state.lock:
        conversation = _conversation(state, request)
        if "endTime" in conversation:
            raise bad_request("The conversation has ended already.", "invalid.value")
        for participant in conversation["participants"]:
            if "endTime" not in participant:
                _end_participant(participant, "peer" if participant["purpose"] == "customer" else "endpoint")
        conversation.update(endTime=iso(), state="disconnected")
        customer = next(p for p in conversation["participants"] if p["purpose"] == "customer")
        events = [("customer.end", _event(conversation, customer, disconnectType="PEER"))]
    return _emit(state, conversation["id"], conversation["_org_id"], events, body.get("wait", True) is not False)
