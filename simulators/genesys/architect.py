"""Architect: flows (saved and published), the publish jobs that take Archy YAML, and the org's home division.

Publishing by API (reference §12, as CX-as-Code's `genesyscloud_flow` does it):
1. `POST /api/v2/flows/jobs` registers a job: `{id, presignedUrl, headers, selfUri}`.
2. The client PUTs the YAML to `presignedUrl` with `headers` (no bearer token: on Genesys it is a presigned storage
   URL; here `/_sim/flow-uploads/{jobId}` on the simulator's own host). A missing header is a 403, as storage would
   answer; the upload is accepted without being read.
3. `GET /api/v2/flows/jobs/{jobId}` reports `Registered` until the upload, then `Started` for `flow_job_polls` reads
   (a knob, default 1, so clients must poll), then `Success` with `flow {id, name}` or `Failure` with `messages`
   (`{dateTime, type: "Error"|"Warning", text, details}`). Warnings ride along with a success.
The job parses the YAML (simulators.genesys.archy), checks its division against the org's divisions by name, and
checks that each callData names a published data action of the org (by category and name) with inputs the action's
contract knows and every required one given. A workflow of the same name is updated (its id kept) and published as
a new version. The message texts are ours; Genesys's exact wording is uncertain.

Saved versus published: `POST /api/v2/flows {name, type: "workflow"}` makes a saved flow with no published version
(nothing runs it, and a trigger cannot target it); a publish job gives it one. `DELETE /api/v2/flows/{id}` deletes it.

Home division: `GET /api/v2/authorization/divisions/home` → `{id, name, description, homeDivision, selfUri}`. Orgs
can rename it: `POST /_sim/divisions/home {"org"?, "name"}` does that here.
"""

from __future__ import annotations

import copy
import time
from typing import Any

from simulators.genesys import archy
from simulators.genesys.oauth import require_permission
from simulators.genesys.state import State
from simulators.genesys.web import (
    ApiError,
    Request,
    Response,
    Router,
    bad_request,
    iso,
    name_matches,
    new_id,
    page_listing,
)

UPLOAD_PATH = "/_sim/flow-uploads/{jobId}"
UPLOAD_HEADERS = {"Content-Type": "application/octet-stream", "x-amz-server-side-encryption": "AES256"}


def register(router: Router) -> None:
    router.add("GET", "/api/v2/flows", list_flows)
    router.add("POST", "/api/v2/flows", create_flow)
    router.add("GET", "/api/v2/flows/{flowId}", get_flow)
    router.add("DELETE", "/api/v2/flows/{flowId}", delete_flow)
    router.add("POST", "/api/v2/flows/jobs", create_job)
    router.add("GET", "/api/v2/flows/jobs/{jobId}", get_job)
    router.add("PUT", UPLOAD_PATH, upload_control, authenticated=False)
    router.add("GET", "/api/v2/authorization/divisions/home", home_division)
    router.add("POST", "/_sim/divisions/home", rename_home_division_control, authenticated=False)
    router.add("POST", "/_sim/flows", publish_flow_control, authenticated=False)
    router.add("GET", "/_sim/flows", list_flows_control, authenticated=False)


# -- divisions ------------------------------------------------------------------------------------------------------


def home_division(state: State, request: Request) -> dict:
    with state.lock:
        division = state.orgs[request.token.org_id]["_division"]
        return {**division, "description": "The organization's home division", "homeDivision": True}


def division_names(state: State, org_id: str) -> set[str]:
    with state.lock:
        return {d["name"] for d in state.divisions.values() if d["_org_id"] == org_id}


def rename_home_division_control(state: State, request: Request) -> dict:
    """`POST /_sim/divisions/home {"org"?, "name"}`: what an admin does in Genesys's admin UI."""
    body = request.json_object()
    if not isinstance(body.get("name"), str) or not body["name"].strip():
        raise bad_request("A division needs a name.", "invalid.value", "name")
    org = state.org_for(body.get("org"))
    if org is None:
        raise ApiError(404, f"No organisation {body.get('org')!r}.", "not.found")
    with state.lock:
        division = org["_division"]  # the dict users and queues share
        division["name"] = body["name"].strip()
        state.divisions[division["id"]]["name"] = division["name"]
        for flow in state.flows.values():
            if flow["division"]["id"] == division["id"]:
                flow["division"]["name"] = division["name"]
        return dict(division)


# -- flows ----------------------------------------------------------------------------------------------------------


def _flow(state: State, request: Request) -> dict:
    flow = state.flows.get(request.path_params["flowId"])
    if flow is None or flow["_org_id"] != request.token.org_id:
        raise ApiError(404, "Flow not found.", "not.found", entity_id=request.path_params["flowId"])
    return flow


def _new_flow(org: dict, name: str, description: str) -> dict:
    flow_id = new_id()
    division = org["_division"]
    return {
        "id": flow_id,
        "name": name,
        "description": description,
        "type": "WORKFLOW",
        "division": {"id": division["id"], "name": division["name"], "selfUri": division["selfUri"]},
        "active": False,
        "system": False,
        "deleted": False,
        "savedVersion": {"id": "1", "name": "1", "type": "SAVED", "secure": False},
        "selfUri": f"/api/v2/flows/{flow_id}",
        "_org_id": org["id"],
        "_definition": None,
        "_published_count": 0,
    }


def is_published(flow: dict) -> bool:
    return flow.get("_definition") is not None and "publishedVersion" in flow


def list_flows(state: State, request: Request) -> dict:
    """`type` (case-insensitive, comma-separated), `name` (with `*`), `id`, paging."""
    require_permission(state, request, "architect:flow:view")
    types = {kind.upper() for kind in request.arg_list("type")}
    ids, name = set(request.arg_list("id")), request.arg("name")
    with state.lock:
        found = [
            flow
            for flow in state.flows.values()
            if flow["_org_id"] == request.token.org_id
            and (not types or flow["type"] in types)
            and (not ids or flow["id"] in ids)
            and name_matches(name, flow["name"])
        ]
    found.sort(key=lambda flow: flow["name"].lower())
    return page_listing(found, request)


def create_flow(state: State, request: Request) -> dict:
    """A saved, unpublished workflow (`type` must be workflow here); 409 if the name is taken."""
    require_permission(state, request, "architect:flow:add")
    body = request.json_object()
    if not isinstance(body.get("name"), str) or not body["name"]:
        raise bad_request("A flow needs a name.", "invalid.value", "name")
    if str(body.get("type") or "").upper() != "WORKFLOW":
        raise bad_request("The simulator creates workflows only (type: workflow).", "invalid.value", "type")
    with state.lock:
        if any(f["_org_id"] == request.token.org_id and f["name"] == body["name"] for f in state.flows.values()):
            raise ApiError(409, f"A flow named '{body['name']}' already exists.", "conflict")
        flow = _new_flow(state.orgs[request.token.org_id], body["name"], body.get("description") or "")
        state.flows[flow["id"]] = flow
        return flow


def get_flow(state: State, request: Request) -> dict:
    require_permission(state, request, "architect:flow:view")
    with state.lock:
        return _flow(state, request)


def delete_flow(state: State, request: Request) -> Response:
    require_permission(state, request, "architect:flow:delete")
    with state.lock:
        del state.flows[_flow(state, request)["id"]]
    return Response(204)


# -- publish jobs ---------------------------------------------------------------------------------------------------


def create_job(state: State, request: Request) -> dict:
    require_permission(state, request, "architect:flow:add", "architect:flow:edit")
    request.json(required=False)  # `{"createStubs": ...}` is accepted and has no effect here
    job_id = new_id()
    host = request.headers.get("Host") or "127.0.0.1"
    with state.lock:
        state.flow_jobs[job_id] = {
            "id": job_id,
            "status": "Registered",
            "command": "Publish",
            "messages": [],
            "selfUri": f"/api/v2/flows/jobs/{job_id}",
            "_org_id": request.token.org_id,
            "_polls_left": int(state.config.get("flow_job_polls") or 0),
            "_uploaded": False,
        }
    return {
        "id": job_id,
        "presignedUrl": f"http://{host}{UPLOAD_PATH.replace('{jobId}', job_id)}",
        "headers": dict(UPLOAD_HEADERS),
        "selfUri": f"/api/v2/flows/jobs/{job_id}",
    }


def upload_control(state: State, request: Request) -> Response:
    """The presigned upload: the headers the job asked for, any body; processed when the job is read."""
    with state.lock:
        job = state.flow_jobs.get(request.path_params["jobId"])
        if job is None or job["_uploaded"]:
            return Response(403, {"error": "AccessDenied: the upload URL is not valid (any more)."})
        for name, value in UPLOAD_HEADERS.items():
            if request.headers.get(name) != value:
                return Response(403, {"error": f"AccessDenied: the signed header {name} is missing or differs."})
        job.update(_uploaded=True, _body=request.body, status="Started")
    return Response(200, None)


def get_job(state: State, request: Request) -> dict:
    require_permission(state, request, "architect:flow:view")
    with state.lock:
        job = state.flow_jobs.get(request.path_params["jobId"])
        if job is None or job["_org_id"] != request.token.org_id:
            raise ApiError(404, "Job not found.", "not.found", entity_id=request.path_params["jobId"])
        if job["status"] == "Started":
            if job["_polls_left"] > 0:
                job["_polls_left"] -= 1
            else:
                _run_job(state, job)
        return job


def _message(problem: archy.Problem) -> dict:
    text = f"{problem.text} (at {problem.path})" if problem.path else problem.text
    return {"dateTime": iso(), "type": problem.severity, "text": text, "details": []}


def _run_job(state: State, job: dict) -> None:
    flow, problems = publish_yaml(state, job["_org_id"], job.pop("_body", b""))
    job["messages"] = [_message(problem) for problem in problems]
    if flow is None:
        job["status"] = "Failure"
    else:
        job["status"] = "Success"
        job["flow"] = {"id": flow["id"], "name": flow["name"], "selfUri": flow["selfUri"]}


def publish_yaml(state: State, org_id: str, text: str | bytes) -> tuple[dict | None, list[archy.Problem]]:
    """Check and publish an Archy workflow in an org: (the flow, warnings) or (None, errors + warnings)."""
    workflow = archy.parse(text, division_names=division_names(state, org_id))
    if not workflow.errors:
        workflow.errors.extend(_data_action_problems(state, org_id, workflow))
    if workflow.errors:
        return None, workflow.errors + workflow.warnings
    with state.lock:
        org = state.orgs[org_id]
        flow = next((f for f in state.flows.values() if f["_org_id"] == org_id and f["name"] == workflow.name), None)
        if flow is None:
            flow = _new_flow(org, workflow.name, workflow.body.get("description") or "")
            state.flows[flow["id"]] = flow
        division = next(
            d for d in state.divisions.values() if d["_org_id"] == org_id and d["name"] == workflow.body["division"]
        )
        flow["_published_count"] += 1
        version = f"{flow['_published_count']}.0"
        flow.update(
            description=workflow.body.get("description") or flow["description"],
            division={"id": division["id"], "name": division["name"], "selfUri": division["selfUri"]},
            active=True,
            publishedVersion={"id": version, "name": version, "type": "PUBLISH", "secure": False},
            checkedInVersion={"id": version, "name": version},
            _definition=copy.deepcopy(workflow.document),
            _published_at=time.time(),
        )
        flow.pop("savedVersion", None)
        return flow, workflow.warnings


def published_action(state: State, org_id: str, category: str, name: str) -> dict | None:
    """The published (non-auth) data action of the org with that category and name."""
    with state.lock:
        for record in state.actions.values():
            published = record["published"]
            if (
                record["_org_id"] == org_id
                and not record["_auth"]
                and published
                and published["name"] == name
                and published["category"] == category
            ):
                return copy.deepcopy(published)
    return None


def _data_action_problems(state: State, org_id: str, workflow: archy.Workflow) -> list[archy.Problem]:
    problems = []
    for call_data in workflow.call_data_actions():
        category, name, spec = archy.data_action_of(call_data)
        path = f"callData '{call_data.get('name')}'"
        action = published_action(state, org_id, category, name)
        if action is None:
            problems.append(
                archy.Problem(f"Unable to find a published data action '{name}' in the category '{category}'.", path)
            )
            continue
        schema = ((action.get("contract") or {}).get("input") or {}).get("inputSchema") or {}
        known, inputs = set((schema.get("properties") or {}).keys()), set((spec.get("inputs") or {}).keys())
        for unknown in sorted(inputs - known):
            problems.append(archy.Problem(f"The data action '{name}' has no input '{unknown}'.", path))
        for missing in sorted(set(schema.get("required") or []) - inputs):
            problems.append(archy.Problem(f"The data action '{name}' requires the input '{missing}'.", path))
    return problems


def publish_flow_control(state: State, request: Request) -> Any:
    """`POST /_sim/flows {"yaml", "org"?}`: a publish job in one step, for tests and the demo. 200 with the flow,
    or 400 with the job's messages."""
    body = request.json_object()
    org = state.org_for(body.get("org"))
    if org is None:
        raise ApiError(404, f"No organisation {body.get('org')!r}.", "not.found")
    if not isinstance(body.get("yaml"), str):
        raise bad_request("Send the workflow's Archy YAML as 'yaml'.", "invalid.value", "yaml")
    flow, problems = publish_yaml(state, org["id"], body["yaml"])
    messages = [_message(problem) for problem in problems]
    if flow is None:
        raise ApiError(
            400,
            "The workflow was refused: " + "; ".join(message["text"] for message in messages),
            "flow.validation.failed",
            details=[{"errorCode": "flow.validation.failed", "message": m["text"]} for m in messages],
        )
    return {**_control_view(flow), "messages": messages}


def _control_view(flow: dict) -> dict:
    return {
        **{key: value for key, value in flow.items() if not key.startswith("_")},
        "orgId": flow["_org_id"],
        "published": is_published(flow),
        "definition": flow["_definition"],
    }


def list_flows_control(state: State, request: Request) -> dict:
    with state.lock:
        return {"entities": [_control_view(flow) for flow in state.flows.values()]}
