"""Outbound calls an agent places: `POST /api/v2/conversations/calls {"phoneNumber"}` with the agent's own token
(as the panel's click-to-dial does), and `POST /_sim/calls/outbound {"number", "agent"}` to place one as a given
agent without a token.

The conversation has the agent (connected, `purpose` agent) and the customer (`purpose` customer, its address the
number dialled), direction OUTBOUND; `user.start` then `customer.start` are emitted with that direction, through
the triggers like any detail event (a trigger on inbound `acd.start` does not fire: an agent's own call never
enters a queue). The answer is `{"id", "selfUri"}` (the conversation).

Uncertain (reference/genesys.md has no section on it): the permission Genesys checks (the simulator asks for none
beyond a user token), its exact refusal of a client-credentials token (here 400 `bad.request`, "requires a user
context"), and which fields of the body it requires besides `phoneNumber` (here none).
"""

from __future__ import annotations

import re

from simulators.genesys.calls import _emit, _event, _participant, _tel
from simulators.genesys.state import State
from simulators.genesys.web import ApiError, Request, Router, bad_request, iso, new_id

DIALLABLE = re.compile(r"^\+?[0-9][0-9 ()\-.]{2,30}$")


def register(router: Router) -> None:
    router.add("POST", "/api/v2/conversations/calls", create_call)
    router.add("POST", "/_sim/calls/outbound", place_outbound_control, authenticated=False)


def create_call(state: State, request: Request) -> dict:
    if not request.token.user_id:
        raise bad_request("This request requires a user context. Client credentials cannot be used.")
    body = request.json_object()
    with state.lock:
        user = state.users.get(request.token.user_id)
    if user is None:
        raise ApiError(404, "The user does not exist.", "not.found")
    placed = _place(state, user, body.get("phoneNumber"), wait=True)
    return {"id": placed["conversationId"], "selfUri": f"/api/v2/conversations/{placed['conversationId']}"}


def place_outbound_control(state: State, request: Request) -> dict:
    """`{"number", "agent": id|email|name, "wait"?: true}` -> the conversation id and the events emitted."""
    body = request.json_object()
    with state.lock:
        user = next(
            (
                candidate
                for candidate in state.users.values()
                if body.get("agent") in (candidate["id"], candidate.get("email"), candidate["name"])
            ),
            None,
        )
    if user is None:
        raise bad_request(f"No agent {body.get('agent')!r}.", "invalid.value", "agent")
    return _place(state, user, body.get("number"), wait=body.get("wait", True) is not False)


def _place(state: State, user: dict, number: object, *, wait: bool) -> dict:
    if not isinstance(number, str) or not DIALLABLE.match(number.strip()):
        raise bad_request("phoneNumber must be a phone number, e.g. +15550199.", "invalid.value", "phoneNumber")
    events: list = []
    with state.lock:
        org = state.orgs[user["_org_id"]]
        conversation_id = new_id()
        dialled = _tel(re.sub(r"[ ()\-.]", "", number.strip()))
        conversation = {
            "id": conversation_id,
            "startTime": iso(),
            "address": dialled,
            "participants": [],
            "divisions": [
                {"division": {"id": org["_division"]["id"], "selfUri": org["_division"]["selfUri"]}, "entities": []}
            ],
            "recordingState": "NONE",
            "state": "connected",
            "selfUri": f"/api/v2/conversations/{conversation_id}",
            "_org_id": org["id"],
            "_ani": _tel(org["_did"]),
            "_dnis": dialled,
            "_media_type": "VOICE",
            "_direction": "OUTBOUND",
        }
        agent = _participant(
            "agent", "Internal", user["name"], conversation, userId=user["id"], userUri=f"/api/v2/users/{user['id']}"
        )
        agent["connectedTime"] = agent["startTime"]
        customer = _participant("customer", "External", dialled[4:], conversation, address=dialled)
        conversation["participants"] += [agent, customer]
        events.append(("user.start", _event(conversation, agent, userId=user["id"])))
        events.append(("customer.start", _event(conversation, customer)))
        state.conversations[conversation_id] = conversation
    return _emit(state, conversation_id, org["id"], events, wait)
