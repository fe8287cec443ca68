"""Process-automation triggers (reference §4 "Process-automation triggers"). A trigger's target must be a published
workflow of the org (reference §12): a saved-only flow is refused with 400."""

from __future__ import annotations

from simulators.genesys.architect import is_published
from simulators.genesys.oauth import require_permission
from simulators.genesys.state import State
from simulators.genesys.web import (
    ApiError,
    Request,
    Response,
    Router,
    bad_request,
    cursor_listing,
    new_id,
)
from simulators.genesys.workflows import TOPICS

OPERATORS = (
    "Equal",
    "NotEqual",
    "In",
    "NotIn",
    "Contains",
    "All",
    "Exists",
    "Size",
    "GreaterThan",
    "GreaterThanOrEqual",
    "LessThan",
    "LessThanOrEqual",
)
MULTI_VALUE_OPERATORS = ("In", "NotIn", "All")


def register(router: Router) -> None:
    base = "/api/v2/processautomation/triggers"
    router.add("POST", base, create_trigger)
    router.add("GET", base, list_triggers)
    router.add("GET", f"{base}/topics", list_topics)
    router.add("GET", f"{base}/{{triggerId}}", get_trigger)
    router.add("PUT", f"{base}/{{triggerId}}", put_trigger)
    router.add("DELETE", f"{base}/{{triggerId}}", delete_trigger)


def _validated(state: State, request: Request, body: dict) -> dict:
    """The trigger's fields after the platform's rules: Workflow targets only, known operators, `values` for
    In/NotIn/All, `eventTTLSeconds` >= 10 or `delayBySeconds` 60-900 but not both, description <= 512."""
    for required in ("name", "topicName"):
        if not isinstance(body.get(required), str) or not body[required]:
            raise bad_request(f"A trigger needs {required}.", "invalid.value", required)
    if body["topicName"] not in TOPICS:
        raise bad_request(f"Topic {body['topicName']!r} is not available for triggers.", "invalid.value", "topicName")
    target = body.get("target") or {}
    if target.get("type") != "Workflow":
        raise bad_request("target.type must be Workflow.", "invalid.value", "target.type")
    flow = state.flows.get(target.get("id") or "")
    if flow is None or flow["_org_id"] != request.token.org_id:
        raise bad_request(f"The target workflow {target.get('id')!r} was not found.", "invalid.value", "target.id")
    if not is_published(flow):
        raise bad_request(
            f"The target workflow '{flow['name']}' is not published: publish it before a trigger can target it.",
            "invalid.value",
            "target.id",
        )
    data_format = (target.get("workflowTargetSettings") or {}).get("dataFormat", "Json")
    if data_format not in ("Json", "TopLevelPrimitives"):
        raise bad_request(
            "workflowTargetSettings.dataFormat must be Json or TopLevelPrimitives.",
            "invalid.value",
            "target.workflowTargetSettings.dataFormat",
        )
    criteria = []
    for criterion in body.get("matchCriteria") or []:
        operator = criterion.get("operator")
        if not criterion.get("jsonPath") or operator not in OPERATORS:
            raise bad_request(
                f"Each match criterion needs a jsonPath and an operator among {', '.join(OPERATORS)}.",
                "invalid.value",
                "matchCriteria",
            )
        if operator in MULTI_VALUE_OPERATORS and (
            not isinstance(criterion.get("values"), list) or "value" in criterion
        ):
            raise bad_request(
                f"Operator {operator} takes `values` (a list), not `value`.", "invalid.value", "matchCriteria"
            )
        if operator not in MULTI_VALUE_OPERATORS and operator != "Exists" and "value" not in criterion:
            raise bad_request(f"Operator {operator} takes `value`.", "invalid.value", "matchCriteria")
        criteria.append(
            {key: criterion[key] for key in ("jsonPath", "operator", "value", "values") if key in criterion}
        )
    ttl, delay = body.get("eventTTLSeconds"), body.get("delayBySeconds")
    if ttl is not None and delay is not None:
        raise bad_request("Set eventTTLSeconds or delayBySeconds, not both.", "invalid.value", "delayBySeconds")
    if ttl is not None and (not isinstance(ttl, int) or ttl < 10):
        raise bad_request("eventTTLSeconds must be at least 10.", "invalid.value", "eventTTLSeconds")
    if delay is not None and (not isinstance(delay, int) or not 60 <= delay <= 900):
        raise bad_request("delayBySeconds must be from 60 to 900.", "invalid.value", "delayBySeconds")
    if len(body.get("description") or "") > 512:
        raise bad_request("description is at most 512 characters.", "invalid.value", "description")
    return {
        "name": body["name"],
        "topicName": body["topicName"],
        "target": {"type": "Workflow", "id": flow["id"], "workflowTargetSettings": {"dataFormat": data_format}},
        "enabled": bool(body.get("enabled", False)),
        "matchCriteria": criteria,
        "eventTTLSeconds": ttl,
        "delayBySeconds": delay,
        "description": body.get("description"),
    }


def create_trigger(state: State, request: Request) -> dict:
    require_permission(state, request, "processautomation:trigger:add")
    body = request.json_object()
    with state.lock:
        trigger_id = new_id()
        trigger = {
            "id": trigger_id,
            **_validated(state, request, body),
            "version": 1,
            "selfUri": f"/api/v2/processautomation/triggers/{trigger_id}",
            "_org_id": request.token.org_id,
            "_order": state.next_order(),
        }
        state.triggers[trigger_id] = trigger
        return trigger


def list_triggers(state: State, request: Request) -> dict:
    """Cursor paging (`before`, `after`, `pageSize` <= 200), filters `topicName` and `enabled`."""
    require_permission(state, request, "processautomation:trigger:view")
    topic, enabled = request.arg("topicName"), request.arg_bool("enabled")
    with state.lock:
        found = [
            trigger
            for trigger in state.triggers.values()
            if trigger["_org_id"] == request.token.org_id
            and (not topic or trigger["topicName"] == topic)
            and (enabled is None or trigger["enabled"] == enabled)
        ]
    return cursor_listing(sorted(found, key=lambda trigger: trigger["_order"]), request)


def list_topics(state: State, request: Request) -> dict:
    """The topics triggers accept here (entities are topic names, as the SDK's TopicCursorEntityListing models)."""
    require_permission(state, request, "processautomation:trigger:view")
    return {"entities": list(TOPICS), "selfUri": request.path}


def _trigger(state: State, request: Request) -> dict:
    trigger = state.triggers.get(request.path_params["triggerId"])
    if trigger is None or trigger["_org_id"] != request.token.org_id:
        raise ApiError(404, "Trigger not found.", "not.found", entity_id=request.path_params["triggerId"])
    return trigger


def get_trigger(state: State, request: Request) -> dict:
    require_permission(state, request, "processautomation:trigger:view")
    with state.lock:
        return _trigger(state, request)


def put_trigger(state: State, request: Request) -> dict:
    """Replace a trigger: `version` must match (409 otherwise) and `topicName` cannot change (400)."""
    require_permission(state, request, "processautomation:trigger:edit")
    body = request.json_object()
    with state.lock:
        trigger = _trigger(state, request)
        if body.get("version") != trigger["version"]:
            raise ApiError(
                409,
                f"Version {body.get('version')!r} does not match the trigger's version {trigger['version']}.",
                "conflict",
                entity_id=trigger["id"],
            )
        if body.get("topicName") != trigger["topicName"]:
            raise bad_request("The topicName of a trigger cannot be changed.", "invalid.value", "topicName")
        trigger.update(_validated(state, request, body), version=trigger["version"] + 1)
        return trigger


def delete_trigger(state: State, request: Request) -> Response:
    require_permission(state, request, "processautomation:trigger:delete")
    with state.lock:
        del state.triggers[_trigger(state, request)["id"]]
    return Response(204)
