"""Client functions for the simulator's control API (`/_sim/*`), for management commands, the demo and tests.

    from simulators.genesys import control
    flow = control.publish_workflow(base_url, control.workflow_yaml("Screenpop inbound call", category="Screenpop",
                                    data_action="Screenpop - notify", inputs={"conversationId": "conversationId"}))
    result = control.place_call(base_url, "+15550199", "Support")
    result["triggers"][0]["webhook"]["status"]      # what the product's webhook answered

Every function raises `requests.HTTPError` when the simulator refuses the request (its body says why).
"""

from __future__ import annotations

from typing import Any

import requests
import yaml

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


def end_call(
    base_url: str, conversation_id: str, *, wrapup: dict | None = None, session: requests.Session | None = None
) -> dict:
    """Disconnect everyone; fires `customer.end`, `user.end` and, with a `wrapup` (`{"code", "notes"?}`), `acw`."""
    return _call(base_url, "POST", f"calls/{conversation_id}/end", {"wrapup": wrapup} if wrapup else {}, session)


INTEGER_EVENT_FIELDS = ("eventTime", "routingPriority")


def workflow_yaml(
    name: str,
    *,
    category: str,
    data_action: str,
    inputs: dict[str, str],
    division: str = "Home",
    success_outputs: dict[str, str] | None = None,
) -> str:
    """A small Archy workflow: one state whose callData runs `category` / `data_action` with `inputs` (action input →
    the event's top-level field; integer fields are passed through `ToString`), then ends on every output.
    `success_outputs` maps the action's output names to string variables it declares (`Flow.<name>`)."""
    fields = sorted(set(inputs.values()))
    variables = [
        {
            ("integerVariable" if field in INTEGER_EVENT_FIELDS else "stringVariable"): {
                "name": f"Flow.{field}",
                "initialValue": {"noValue": True},
                "isInput": True,
                "isOutput": False,
            }
        }
        for field in fields
    ]
    for variable in (success_outputs or {}).values():
        variables.append(
            {
                "stringVariable": {
                    "name": variable,
                    "initialValue": {"noValue": True},
                    "isInput": False,
                    "isOutput": False,
                }
            }
        )
    action_inputs = {
        action_input: {"exp": f"ToString(Flow.{field})" if field in INTEGER_EVENT_FIELDS else f"Flow.{field}"}
        for action_input, field in inputs.items()
    }
    spec: dict[str, Any] = {"inputs": action_inputs}
    if success_outputs:
        spec["successOutputs"] = {output: {"var": variable} for output, variable in success_outputs.items()}
    end = lambda reason: {"actions": [{"endWorkflow": {"name": reason, "exitReason": {"lit": reason}}}]}  # noqa: E731
    document = {
        "workflow": {
            "name": name,
            "division": division,
            "startUpRef": "/workflow/states/state[Initial State_10]",
            "defaultLanguage": "en-us",
            "supportedLanguages": {"en-us": {"none": True}},
            "variables": variables,
            "states": [
                {
                    "state": {
                        "name": "Initial State",
                        "refId": "Initial State_10",
                        "actions": [
                            {
                                "callData": {
                                    "name": data_action,
                                    "timeout": {"lit": {"minutes": 1}},
                                    "category": {category: {"dataAction": {data_action: spec}}},
                                    "outputs": {
                                        "success": end("sent"),
                                        "failure": end("failed"),
                                        "timeout": end("timeout"),
                                    },
                                }
                            }
                        ],
                    }
                }
            ],
        }
    }
    return yaml.safe_dump(document, sort_keys=False)


def publish_workflow(
    base_url: str, yaml_text: str, *, org: str | None = None, session: requests.Session | None = None
) -> dict:
    """Publish an Archy workflow in one step (the checks of a publish job); returns the flow, with its `id` to
    target and the job's `messages` (warnings). A refused workflow is a `requests.HTTPError` (400) listing why."""
    body: dict[str, Any] = {"yaml": yaml_text}
    if org is not None:
        body["org"] = org
    return _call(base_url, "POST", "flows", body, session)


def rename_home_division(
    base_url: str, name: str, *, org: str | None = None, session: requests.Session | None = None
) -> dict:
    """Rename the org's home division, as an admin may in Genesys."""
    return _call(base_url, "POST", "divisions/home", {"name": name, **({"org": org} if org else {})}, session)


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
