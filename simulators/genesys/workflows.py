"""From an event to the product's webhook: match enabled triggers (topic and `matchCriteria`), then run each target
workflow as published: the Archy YAML a publish job accepted (simulators.genesys.architect), not a mapping of ours
(reference §4 "Reaching Django": trigger → workflow → web-services data action → webhook).

How a published workflow runs here:
- Inputs: with `dataFormat` `TopLevelPrimitives`, each input variable (`isInput: true`) named `Flow.<field>` takes the
  event's top-level field of that name when its type fits the variable's (a string for `stringVariable`, an integer
  for `integerVariable`, ...); with `Json`, the input `Flow.jsonData` (a `jsonVariable`) takes the whole event
  (reference §4 "Workflow input"). A missing or ill-typed field leaves the variable NOT_SET; whether Genesys converts
  types instead is uncertain.
- From the state named by `startUpRef`, actions run in order. `callData` evaluates its `inputs` (a NOT_SET input is
  left out of the input map, so a template that uses it renders `${input.x}` literally), runs the published data
  action of that category and name, writes `successOutputs` into their variables, and continues with its `success`,
  `failure` or `timeout` output (timeout: the action's request timed out). `endWorkflow` ends the run.
- Before a run, the delivery limits of simulators.genesys.quotas apply: an event past its trigger's
  `eventTTLSeconds`, or over the organisation's or the workflow's quota, is dropped and reported (`dropped`).
"""

from __future__ import annotations

import copy
import time
from typing import Any

from simulators.genesys import archy, quotas
from simulators.genesys.architect import published_action
from simulators.genesys.execution import execute_action
from simulators.genesys.state import State

TOPIC_PREFIX = "v2.detail.events.conversation.{id}."
TOPICS = tuple(
    TOPIC_PREFIX + suffix for suffix in ("customer.start", "acd.start", "user.start", "customer.end", "user.end", "acw")
)
MAX_ACTIONS_PER_RUN = 100


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
        now = time.time()
        refusal = "ttl" if quotas.event_expired(state, trigger, event, now) else None
        refusal = refusal or quotas.admit(state, org_id, trigger["target"]["id"], now)
        if refusal is not None:
            results.append(_dropped(state, trigger, topic, refusal))
            continue
        results.append(run_workflow(state, trigger, topic, event))
    return results


DROP_REASONS = {
    "ttl": "the event was older than the trigger's eventTTLSeconds when it would have been delivered",
    "minute": "the organization's workflow invocations a minute are used up",
    "hour": "the organization's workflow invocations an hour are used up",
    "workflow": "this workflow reached its share (80%) of the organization's invocations a minute",
}


def _dropped(state: State, trigger: dict, topic: str, reason: str) -> dict:
    result = {
        "triggerId": trigger["id"],
        "triggerName": trigger["name"],
        "topicName": topic,
        "flowId": trigger["target"]["id"],
        "success": False,
        "dropped": reason,
        "error": DROP_REASONS[reason],
        "path": [],
    }
    state.record({"direction": "workflow", **result})
    return result


def _flow_inputs(definition: dict, data_format: str, event: dict) -> dict[str, Any]:
    variables: dict[str, Any] = {}
    for item in definition["workflow"].get("variables") or []:
        ((kind, spec),) = item.items()
        name = spec["name"]
        variables[name] = archy.evaluate(spec.get("initialValue"), {})
        if not spec.get("isInput"):
            continue
        if data_format == "Json":
            value = event if name == "Flow.jsonData" else archy.NOT_SET
        else:
            value = event.get(name.removeprefix("Flow."), archy.NOT_SET)
        expected = archy.VARIABLE_TYPES[kind]
        fits = isinstance(value, expected) and not (isinstance(value, bool) and expected is not bool)
        if fits or (expected is float and isinstance(value, int) and not isinstance(value, bool)):
            variables[name] = value
    return variables


class _Run:
    """One execution of a published workflow; fills `result` as it goes."""

    def __init__(self, state: State, flow: dict, result: dict[str, Any]) -> None:
        self.state, self.flow, self.result = state, flow, result
        self.steps = 0

    def actions(self, actions: list[dict], variables: dict[str, Any]) -> bool:
        """Run a sequence; True when it ended the workflow."""
        for item in actions:
            self.steps += 1
            if self.steps > MAX_ACTIONS_PER_RUN:
                self.result["error"] = f"the workflow ran more than {MAX_ACTIONS_PER_RUN} actions"
                return True
            ((kind, body),) = item.items()
            self.result["path"].append(f"{kind}: {body.get('name', '')}")
            if kind == "endWorkflow":
                reason = archy.evaluate(body.get("exitReason"), variables)
                self.result["exitReason"] = None if reason is archy.NOT_SET else reason
                return True
            if self.call_data(body, variables):
                return True
        return False

    def call_data(self, body: dict, variables: dict[str, Any]) -> bool:
        category, name, spec = archy.data_action_of(body)
        self.result["dataActionName"] = name
        action = published_action(self.state, self.flow["_org_id"], category, name)
        if action is None:
            self.result["error"] = f"the data action {name!r} of category {category!r} is not published in this org"
            branch = "failure"
        else:
            inputs = {}
            for input_name, value in (spec.get("inputs") or {}).items():
                evaluated = archy.evaluate(value, variables)
                if evaluated is not archy.NOT_SET:
                    inputs[input_name] = evaluated
            outcome = execute_action(self.state, action, inputs)
            action_calls = [r for r in outcome.requests if r["purpose"] == "action"]
            token_calls = [r for r in outcome.requests if r["purpose"] == "auth"]
            self.result.update(
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
            if outcome.success:
                branch = "success"
                output = outcome.output if isinstance(outcome.output, dict) else {}
                for output_name, target in (spec.get("successOutputs") or {}).items():
                    if output_name in output:
                        variables[target["var"]] = output[output_name]
            else:
                timed_out = any(
                    d.get("errorCode") == "ACTION.TIMEOUT" for d in (outcome.error or {}).get("details", [])
                )
                branch = "timeout" if timed_out else "failure"
        self.result["branch"] = branch
        return self.actions(body["outputs"][branch].get("actions") or [], variables)


def run_workflow(state: State, trigger: dict, topic: str, event: dict) -> dict:
    """The target workflow's published definition, run for one event; what happened, for the log and the caller."""
    result: dict[str, Any] = {
        "triggerId": trigger["id"],
        "triggerName": trigger["name"],
        "topicName": topic,
        "flowId": trigger["target"]["id"],
        "success": False,
        "path": [],
    }
    with state.lock:
        flow = copy.deepcopy(state.flows.get(trigger["target"]["id"]))
    if flow is None:
        result["error"] = "the trigger's target workflow no longer exists"
    elif flow.get("_definition") is None:
        result["error"] = "the trigger's target workflow is not published"
    else:
        result["flowName"] = flow["name"]
        definition = flow["_definition"]
        data_format = trigger["target"].get("workflowTargetSettings", {}).get("dataFormat", "Json")
        variables = _flow_inputs(definition, data_format, event)
        match = archy.START_UP_REF.match(definition["workflow"]["startUpRef"])
        state_body = next(
            s["state"] for s in definition["workflow"]["states"] if s["state"]["refId"] == (match and match["ref"])
        )
        _Run(state, flow, result).actions(state_body.get("actions") or [], variables)
        result["variables"] = {name: value for name, value in variables.items() if value is not archy.NOT_SET}
    state.record({"direction": "workflow", **{k: v for k, v in result.items() if k != "requests"}})
    return result


def _brief(call: dict) -> dict:
    return {
        key: call.get(key)
        for key in ("method", "url", "headers", "body", "status", "response_body", "error", "elapsed_ms")
    }
