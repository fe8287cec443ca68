"""What an IVR collected, as participant data: `POST /_sim/calls/{id}/participant-data {"attributes": {...}}`.

Plays Architect's Set Participant Data in an inbound call flow, before the call reaches a queue: the values land in
the customer participant's `attributes`, which `GET /api/v2/conversations/{id}` shows (reference/genesys.md §4,
§12: attribute values are strings only). Send it before the call's events when a test needs the value present at
`acd.start`. Uncertain: Genesys's limits on attribute names and sizes; the simulator refuses non-string values and
names outside letters, digits, `_`, `.` and `-`.
"""

from __future__ import annotations

import re

from simulators.genesys.calls import _conversation
from simulators.genesys.state import State
from simulators.genesys.web import Request, Router, bad_request

NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")


def register(router: Router) -> None:
    router.add("POST", "/_sim/calls/{conversationId}/participant-data", participant_data_control, authenticated=False)


def participant_data_control(state: State, request: Request) -> dict:
    body = request.json_object()
    attributes = body.get("attributes")
    if not isinstance(attributes, dict) or not attributes:
        raise bad_request('Send {"attributes": {"name": "value"}}.', "invalid.value", "attributes")
    for name, value in attributes.items():
        if not NAME.match(name) or not isinstance(value, str):
            raise bad_request(f"Attribute {name!r}: names are letters, digits, _ . -; values strings.", "invalid.value")
    with state.lock:
        conversation = _conversation(state, request)
        customer = next(p for p in conversation["participants"] if p["purpose"] == "customer")
        customer.setdefault("attributes", {}).update(attributes)
        return {
            "conversationId": conversation["id"],
            "participantId": customer["id"],
            "attributes": customer["attributes"],
        }
