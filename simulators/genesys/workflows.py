"""From an event to the product's webhook: match enabled triggers (topic and `matchCriteria`), run each target
workflow, which maps the event into the input map of its data action and executes it (reference §4 "Reaching
Django": trigger → workflow → web-services data action → webhook).

The imported workflow's input map (the default when `/_sim/flows` gives no `inputMapping`): each action input is
named after the event field it carries, plus three fields derived by the workflow:

    conversationId participantId sessionId ani dnis queueId userId mediaType direction provider divisionId
    eventTime addressTo addressFrom          ← the event body's fields of the same name (reference §6)
    eventType   ← the topic's last two segments: "customer.start", "acd.start", "user.start", "customer.end"
    timestamp   ← eventTime as ISO 8601 UTC, e.g. "2025-01-31T09:30:00.000Z"
    topicName   ← the concrete topic, e.g. "v2.detail.events.conversation.<id>.acd.start"

A field the event lacks (e.g. `userId` on `acd.start`) is left out of the input map, so a template that uses it
renders `${input.userId}` literally, as Genesys does. With `dataFormat` `TopLevelPrimitives` or `Json` alike, only
top-level primitive fields are mapped (arrays such as `requestedRoutingSkillIds` are not).
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from simulators.genesys.execution import execute_action
from simulators.genesys.state import State
from simulators.genesys.web import iso

TOPIC_PREFIX = "v2.detail.events.conversation.{id}."
TOPICS = tuple(TOPIC_PREFIX + suffix for suffix in ("customer.start", "acd.start", "user.start", "customer.end"))
INPUT_FIELDS = (
    "conversationId",
    "participantId",
    "sessionId",
    "ani",
    "dnis",
    "queueId",
    "userId",
    "mediaType",
    "direction",
    "provider",
    "divisionId",
    "eventTime",
    "addressTo",
    "addressFrom",
    "eventType",
    "timestamp",
    "topicName",
)
DEFAULT_INPUT_MAPPING = dict(zip(INPUT_FIELDS, INPUT_FIELDS, strict=True))


def workflow_view(topic: str, event: dict) -> dict:
    """The event as the workflow sees it: top-level primitives plus the derived fields."""
    view = {key: value for key, value in event.items() if isinstance(value, str | int | float | bool)}
    view["eventType"] = ".".join(topic.split(".")[-2:])
    view["topicName"] = topic
    if isinstance(event.get("eventTime"), int):
        view["timestamp"] = iso(datetime.fromtimestamp(event["eventTime"] / 1000, UTC))
    return view


def _lookup(event: dict, json_path: str) -> tuple[bool, Any]:
    node: Any = event
    for part in json_path.removeprefix("$").lstrip(".").split("."):
        if not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
    return True, node


def criterion_matches(criterion: dict, event: dict) -> bool:
    present, value = _lookup(event, criterion["jsonPath"])
    operator, expected, expected_list = criterion["operator"], criterion.get("value"), criterion.get("values") or []
    if operator == "Exists":
        return present == (expected if isinstance(expected, bool) else True)
    if operator == "NotEqual":
        return not present or value != expected
    if operator == "NotIn":
        return not present or value not in expected_list
    if not present:
        return False
    try:
        match operator:
            case "Equal":
                return value == expected
            case "In":
                return value in expected_list
            case "Contains":
                return expected in value if isinstance(value, str | list) else False
            case "All":
                return isinstance(value, list) and all(item in value for item in expected_list)
            case "Size":
                return isinstance(value, list | str | dict) and len(value) == expected
            case "GreaterThan":
                return float(value) > float(expected)
            case "GreaterThanOrEqual":
                return float(value) >= float(expected)
            case "LessThan":
                return float(value) < float(expected)
            case "LessThanOrEqual":
                return float(value) <= float(expected)
    except (TypeError, ValueError):
        return False
    return False


def fire_event(state: State, org_id: str, topic: str, event: dict) -> list[dict]:
    """Run every enabled trigger of the org matching `topic` (concrete) and the event; one result per trigger."""
    with state.lock:
        triggers = sorted(
            (copy.deepcopy(t) for t in state.triggers.values() if t["_org_id"] == org_id and t["enabled"]),
            key=lambda trigger: trigger["_order"],
        )
    results = []
    for trigger in triggers:
        pattern = trigger["topicName"].replace("{id}", event.get("conversationId", ""))
        if pattern != topic or not all(criterion_matches(c, event) for c in trigger["matchCriteria"]):
            continue
        results.append(run_workflow(state, trigger, topic, event))
    return results


def run_workflow(state: State, trigger: dict, topic: str, event: dict) -> dict:
    """The target workflow: build the input map, execute the published data action, report what happened."""
    result: dict[str, Any] = {
        "triggerId": trigger["id"],
        "triggerName": trigger["name"],
        "topicName": topic,
        "flowId": trigger["target"]["id"],
        "success": False,
    }
    with state.lock:
        flow = copy.deepcopy(state.flows.get(trigger["target"]["id"]))
        action = None
        if flow is not None:
            result.update(flowName=flow["name"], dataActionName=flow["_data_action_name"])
            record = next(
                (
                    r
                    for r in state.actions.values()
                    if r["_org_id"] == flow["_org_id"]
                    and not r["_auth"]
                    and r["published"]
                    and r["published"]["name"] == flow["_data_action_name"]
                ),
                None,
            )
            action = copy.deepcopy(record["published"]) if record else None
    if flow is None:
        result["error"] = "the trigger's target workflow no longer exists"
    elif action is None:
        result["error"] = f"the workflow's data action {flow['_data_action_name']!r} is not published in this org"
    else:
        view = workflow_view(topic, event)
        inputs = {name: view[field] for name, field in flow["_input_mapping"].items() if field in view}
        inputs.update(flow["_input_constants"])
        outcome = execute_action(state, action, inputs)
        action_calls = [r for r in outcome.requests if r["purpose"] == "action"]
        token_calls = [r for r in outcome.requests if r["purpose"] == "auth"]
        result.update(
            actionId=action["id"],
            input=inputs,
            success=outcome.success,
            status=outcome.status,
            output=outcome.output,
            error=outcome.error,
            requests=outcome.requests,
            tokenRequest=_brief(token_calls[0]) if token_calls else None,
            webhook=_brief(action_calls[-1]) if action_calls else None,
        )
    state.record({"direction": "workflow", **{k: v for k, v in result.items() if k != "requests"}})
    return result


def _brief(call: dict) -> dict:
    return {
        key: call.get(key)
        for key in ("method", "url", "headers", "body", "status", "response_body", "error", "elapsed_ms")
    }
