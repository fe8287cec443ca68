"""Client functions for the simulator's control API (`/_sim/*`), for management commands, the demo and tests.

    from simulators.genesys import control
    control.import_workflow(base_url, "Screenpop inbound call", data_action_name="Screenpop - notify")
    result = control.place_call(base_url, "+15550199", "Support")
    result["triggers"][0]["webhook"]["status"]      # what the product's webhook answered

Every function raises `requests.HTTPError` when the simulator refuses the request (its body says why).
"""

from __future__ import annotations

from typing import Any

import requests

TIMEOUT_SECONDS = 90  # a call runs every matching trigger's data action, each up to 60 s


def _call(
    base_url: str, method: str, path: str, body: dict | None = None, session: requests.Session | None = None
) -> Any:
    response = (session or requests).request(
        method, f"{base_url.rstrip('/')}/_sim/{path}", json=body, timeout=TIMEOUT_SECONDS
    )
    response.raise_for_status()
    return response.json() if response.content else None


def place_call(
    base_url: str, ani: str, queue: str = "Support", *, session: requests.Session | None = None, **options: Any
) -> dict:
    """Place an inbound call from `ani` (`+15550199` or `tel:+15550199`) to `queue` (name or id).

    Options: `org` (id, thirdPartyOrgName or name; default the demo org), `media_type` (`VOICE`), `direction`
    (`INBOUND`), `agent` (id, email or name; default round-robin; `False` leaves the call in queue), `dnis`,
    `caller_name`, `wait` (default True: return after every trigger ran). Returns `{"conversationId", "events":
    [{"topicName", "eventBody", "triggers"}], "triggers": [<outcome per fired trigger>]}`.
    """
    return _call(base_url, "POST", "calls", {"ani": ani, "queue": queue, **options}, session)


def transfer_call(
    base_url: str,
    conversation_id: str,
    agent: str | None = None,
    *,
    queue: str | None = None,
    session: requests.Session | None = None,
    **options: Any,
) -> dict:
    """Transfer to `agent` (fires `user.start` again) and/or through `queue` (`acd.start`, then `user.start`)."""
    body = {key: value for key, value in {"agent": agent, "queue": queue, **options}.items() if value is not None}
    return _call(base_url, "POST", f"calls/{conversation_id}/transfer", body, session)


def end_call(base_url: str, conversation_id: str, *, session: requests.Session | None = None) -> dict:
    """Disconnect everyone; fires `customer.end`."""
    return _call(base_url, "POST", f"calls/{conversation_id}/end", {}, session)


def import_workflow(
    base_url: str,
    name: str,
    data_action_name: str,
    *,
    org: str | None = None,
    input_mapping: dict[str, str] | None = None,
    input_constants: dict[str, Any] | None = None,
    session: requests.Session | None = None,
) -> dict:
    """Publish a workflow named `name` that runs the data action `data_action_name` with the event mapped to its
    inputs (see simulators.genesys.workflows for the default mapping). Returns the flow, with its `id` to target."""
    body: dict[str, Any] = {"name": name, "type": "workflow", "dataActionName": data_action_name}
    for key, value in (("org", org), ("inputMapping", input_mapping), ("inputConstants", input_constants)):
        if value is not None:
            body[key] = value
    return _call(base_url, "POST", "flows", body, session)


def configure(base_url: str, *, session: requests.Session | None = None, **knobs: Any) -> dict:
    """Set knobs (see simulators/README.md); returns the whole configuration."""
    return _call(base_url, "POST", "config", knobs, session)


def reset(base_url: str, *, session: requests.Session | None = None) -> None:
    _call(base_url, "POST", "reset", None, session)


def request_log(
    base_url: str, *, since: int = 0, direction: str | None = None, session: requests.Session | None = None
) -> list[dict]:
    """Requests received (`in`), made (`out`) and workflow runs (`workflow`), oldest first, secrets masked."""
    query = f"log?since={since}" + (f"&direction={direction}" if direction else "")
    return _call(base_url, "GET", query, None, session)["entries"]


def seed(base_url: str, *, session: requests.Session | None = None) -> dict:
    """Seeded organisations, users, queues and OAuth clients (with their secrets)."""
    return _call(base_url, "GET", "seed", None, session)
