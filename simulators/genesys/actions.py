"""Data actions under `/api/v2/integrations/actions` (reference §4 "Data actions"): drafts with a `version`,
publishing, listing, and `execute` / `test` (which run through simulators.genesys.execution).

An action record holds its `published` and `draft` forms. Action ids look like Genesys's: `custom_-_<uuid>`; the
custom auth action of a User Defined (OAuth) integration has the id `customAuth_-_<integrationId>` (what the Premium
App example and CX-as-Code address it by) and a name derived from the integration's name. The exact name Genesys
gives it is not documented (uncertain): here it is `<integration name> (Custom Auth)`, so a client that searches the
action by a fixed name finds nothing, as on a real org.
GET responses leave out `config` unless `includeConfig=true` and `contract` unless `expand=contract`, as the
platform does; create/patch/publish responses carry everything.
"""

from __future__ import annotations

import copy

from simulators.genesys.execution import (
    CUSTOM_AUTH_CONFIG,
    custom_auth_action_id,
    custom_auth_action_name,
    execute_action,
)
from simulators.genesys.oauth import require_permission
from simulators.genesys.state import State
from simulators.genesys.web import ApiError, Request, Response, Router, bad_request, new_id, page_listing

REQUEST_TYPES = ("GET", "PUT", "POST", "PATCH", "DELETE")
CUSTOM_AUTH_CONTRACT = {
    "input": {"inputSchema": {"type": "object", "properties": {}}},
    "output": {
        "successSchema": {
            "type": "object",
            "properties": {"access_token": {"type": "string"}, "token_type": {"type": "string"}},
        }
    },
}


def register(router: Router) -> None:
    base = "/api/v2/integrations/actions"
    router.add("POST", f"{base}/drafts", create_draft)
    router.add("GET", f"{base}/drafts", list_drafts)
    router.add("GET", base, list_actions)
    router.add("GET", f"{base}/{{actionId}}", get_action)
    router.add("DELETE", f"{base}/{{actionId}}", delete_action)
    router.add("GET", f"{base}/{{actionId}}/draft", get_draft)
    router.add("POST", f"{base}/{{actionId}}/draft", reopen_draft)
    router.add("PATCH", f"{base}/{{actionId}}/draft", patch_draft)
    router.add("DELETE", f"{base}/{{actionId}}/draft", delete_draft)
    router.add("POST", f"{base}/{{actionId}}/draft/publish", publish_draft)
    router.add("POST", f"{base}/{{actionId}}/execute", execute)
    router.add("POST", f"{base}/{{actionId}}/test", test)
    router.add("POST", f"{base}/{{actionId}}/draft/test", test_draft)


def ensure_custom_auth_action(state: State, integration: dict) -> dict:
    """Create (once) the published custom auth action of a web-services integration with User Defined (OAuth)."""
    action_id = custom_auth_action_id(integration["id"])
    with state.lock:
        if action_id not in state.actions:
            published = {
                "id": action_id,
                "name": custom_auth_action_name(integration["name"]),
                "integrationId": integration["id"],
                "category": integration["name"],
                "contract": copy.deepcopy(CUSTOM_AUTH_CONTRACT),
                "version": 1,
                "secure": False,
                "config": copy.deepcopy(CUSTOM_AUTH_CONFIG),
                "selfUri": f"/api/v2/integrations/actions/{action_id}",
            }
            state.actions[action_id] = {
                "id": action_id,
                "_org_id": integration["_org_id"],
                "_auth": True,
                "published": published,
                "draft": None,
            }
        return state.actions[action_id]


def rename_custom_auth_action(state: State, integration: dict) -> None:
    """The custom auth action's name follows its integration's (its id does not change)."""
    with state.lock:
        record = state.actions.get(custom_auth_action_id(integration["id"]))
        for form in ("published", "draft"):
            if record is not None and record[form] is not None:
                record[form]["name"] = custom_auth_action_name(integration["name"])


def remove_integration_actions(state: State, integration_id: str) -> None:
    with state.lock:
        for action_id in [key for key, record in state.actions.items() if _integration_id(record) == integration_id]:
            del state.actions[action_id]


def _integration_id(record: dict) -> str | None:
    form = record.get("published") or record.get("draft") or {}
    return form.get("integrationId")


def _record(state: State, request: Request) -> dict:
    record = state.actions.get(request.path_params["actionId"])
    if record is None or record["_org_id"] != request.token.org_id:
        raise ApiError(404, "Action not found.", "not.found", entity_id=request.path_params["actionId"])
    return record


def _validated_config(config: object, *, auth_action: bool) -> dict:
    if not isinstance(config, dict) or not isinstance(config.get("request"), dict):
        raise bad_request("An action needs config.request.", "invalid.value", "config")
    request_config = config["request"]
    if not request_config.get("requestUrlTemplate"):
        raise bad_request("config.request.requestUrlTemplate is required.", "invalid.value", "config.request")
    if (request_config.get("requestType") or "").upper() not in REQUEST_TYPES:
        raise bad_request(
            f"config.request.requestType must be one of {', '.join(REQUEST_TYPES)}.",
            "invalid.value",
            "config.request.requestType",
        )
    timeout = config.get("timeoutSeconds")
    if timeout is not None:
        if auth_action:
            raise bad_request(
                "timeoutSeconds is not allowed on custom auth actions.", "invalid.value", "timeoutSeconds"
            )
        if not isinstance(timeout, int) or isinstance(timeout, bool) or not 1 <= timeout <= 60:
            raise bad_request(
                f"timeoutSeconds must be an integer from 1 to 60; got {timeout!r}.",
                "invalid.value",
                "config.timeoutSeconds",
            )
    return copy.deepcopy(config)


def _shown(action: dict, request: Request) -> dict:
    shown = dict(action)
    if request.method == "GET":
        if request.arg_bool("includeConfig") is not True:
            shown.pop("config", None)
        if request.arg("expand") != "contract":
            shown.pop("contract", None)
    return shown


def create_draft(state: State, request: Request) -> dict:
    require_permission(state, request, "integrations:action:add")
    body = request.json_object()
    for required in ("name", "category", "integrationId"):
        if not isinstance(body.get(required), str) or not body[required]:
            raise bad_request(f"An action needs {required}.", "invalid.value", required)
    with state.lock:
        integration = state.integrations.get(body["integrationId"])
        if integration is None or integration["_org_id"] != request.token.org_id:
            raise bad_request(f"Integration {body['integrationId']} was not found.", "invalid.value", "integrationId")
        action_id = f"custom_-_{new_id()}"
        draft = {
            "id": action_id,
            "name": body["name"],
            "integrationId": body["integrationId"],
            "category": body["category"],
            "contract": copy.deepcopy(body.get("contract") or {}),
            "version": 1,
            "secure": bool(body.get("secure")),
            "config": _validated_config(body.get("config"), auth_action=False),
            "selfUri": f"/api/v2/integrations/actions/{action_id}/draft",
        }
        state.actions[action_id] = {
            "id": action_id,
            "_org_id": request.token.org_id,
            "_auth": False,
            "published": None,
            "draft": draft,
        }
        return draft


def _listing(state: State, request: Request, form: str) -> dict:
    name, category, ids = request.arg("name"), request.arg("category"), set(request.arg_list("ids"))
    include_auth, secure = request.arg_bool("includeAuthActions"), request.arg_bool("secure")
    with state.lock:
        found = [
            _shown(record[form], request)
            for record in state.actions.values()
            if record["_org_id"] == request.token.org_id
            and record[form] is not None
            and (include_auth or not record["_auth"])
            and (not name or name.lower() in record[form]["name"].lower())
            and (not category or category.lower() == record[form]["category"].lower())
            and (not ids or record["id"] in ids)
            and (secure is None or record[form]["secure"] == secure)
        ]
    found.sort(key=lambda action: action["name"].lower(), reverse=(request.arg("sortOrder") or "") == "DESC")
    return page_listing(found, request)


def list_actions(state: State, request: Request) -> dict:
    """Published actions; `name` is a partial match, `category` exact; auth actions only with
    `includeAuthActions=true`."""
    require_permission(state, request, "integrations:action:view")
    return _listing(state, request, "published")


def list_drafts(state: State, request: Request) -> dict:
    require_permission(state, request, "integrations:action:view")
    return _listing(state, request, "draft")


def get_action(state: State, request: Request) -> dict:
    require_permission(state, request, "integrations:action:view")
    with state.lock:
        record = _record(state, request)
        if record["published"] is None:
            raise ApiError(404, "The action has no published version.", "not.found", entity_id=record["id"])
        return _shown(record["published"], request)


def delete_action(state: State, request: Request) -> Response:
    require_permission(state, request, "integrations:action:delete")
    with state.lock:
        state.actions.pop(_record(state, request)["id"])
    return Response(204)


def get_draft(state: State, request: Request) -> dict:
    require_permission(state, request, "integrations:action:view")
    with state.lock:
        record = _record(state, request)
        if record["draft"] is None:
            raise ApiError(404, "The action has no draft.", "not.found", entity_id=record["id"])
        return _shown(record["draft"], request)


def reopen_draft(state: State, request: Request) -> dict:
    """A new draft from the published action; 409 if a draft exists already."""
    require_permission(state, request, "integrations:action:edit")
    with state.lock:
        record = _record(state, request)
        if record["draft"] is not None:
            raise ApiError(409, "The action already has a draft.", "conflict", entity_id=record["id"])
        if record["published"] is None:
            raise ApiError(404, "The action has no published version.", "not.found", entity_id=record["id"])
        record["draft"] = {**copy.deepcopy(record["published"]), "selfUri": f"{record['published']['selfUri']}/draft"}
        return record["draft"]


def _checked_version(body: dict, current: dict) -> None:
    if not isinstance(body.get("version"), int):
        raise bad_request("version is required.", "invalid.value", "version")
    if body["version"] != current["version"]:
        raise ApiError(
            409,
            f"Version {body['version']} does not match the draft's current version {current['version']}.",
            "conflict",
            entity_id=current["id"],
        )


def patch_draft(state: State, request: Request) -> dict:
    require_permission(state, request, "integrations:action:edit")
    body = request.json_object()
    with state.lock:
        record = _record(state, request)
        draft = record["draft"]
        if draft is None:
            raise ApiError(
                404, "The action has no draft; POST .../draft to open one.", "not.found", entity_id=record["id"]
            )
        _checked_version(body, draft)
        if "config" in body:
            draft["config"] = _validated_config(body["config"], auth_action=record["_auth"])
        for key in ("name", "category", "contract", "secure"):
            if key in body and not record["_auth"]:
                draft[key] = copy.deepcopy(body[key])
        draft["version"] += 1
        return draft


def delete_draft(state: State, request: Request) -> Response:
    require_permission(state, request, "integrations:action:delete")
    with state.lock:
        record = _record(state, request)
        record["draft"] = None
        if record["published"] is None:
            del state.actions[record["id"]]
    return Response(204)


def publish_draft(state: State, request: Request) -> dict:
    """Publish the draft (`{"version": <draft version>}`); the draft is consumed."""
    require_permission(state, request, "integrations:action:add", "integrations:action:edit")
    body = request.json_object()
    with state.lock:
        record = _record(state, request)
        if record["draft"] is None:
            raise ApiError(404, "The action has no draft to publish.", "not.found", entity_id=record["id"])
        _checked_version(body, record["draft"])
        published = copy.deepcopy(record["draft"])
        published["selfUri"] = f"/api/v2/integrations/actions/{record['id']}"
        record["published"], record["draft"] = published, None
        return published


def _inputs(request: Request) -> dict:
    body = request.json(required=False)
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise bad_request("The body of an execution is the input map, a JSON object.")
    return body


def _executable(state: State, request: Request, form: str) -> dict:
    require_permission(state, request, "integrations:action:execute", "bridge:actions:execute")
    with state.lock:
        record = _record(state, request)
        if record["_auth"]:
            raise bad_request("Authentication actions are not directly executable.", "invalid.value", "actionId")
        if record[form] is None:
            raise ApiError(404, f"The action has no {form} version.", "not.found", entity_id=record["id"])
        return copy.deepcopy(record[form])


def execute(state: State, request: Request) -> Response:
    """The translated result, or the error body with the failure's status."""
    action = _executable(state, request, "published")
    outcome = execute_action(state, action, _inputs(request), flatten=request.arg_bool("flatten") is True)
    if outcome.success:
        return Response(200, outcome.output)
    return Response(outcome.status, outcome.error)


def _test_result(state: State, request: Request, form: str) -> dict:
    action = _executable(state, request, form)
    outcome = execute_action(state, action, _inputs(request), flatten=request.arg_bool("flatten") is True)
    operations = [{"step": number, **step} for number, step in enumerate(outcome.steps, start=1)]
    return {"operations": operations, "success": outcome.success, "finalResult": outcome.output, "error": outcome.error}


def test(state: State, request: Request) -> dict:
    """Like execute, but always 200 with a `TestExecutionResult` listing the steps (authorization redacted)."""
    return _test_result(state, request, "published")


def test_draft(state: State, request: Request) -> dict:
    return _test_result(state, request, "draft")
