"""Running a web-services data action the way Genesys does: authenticate (User Defined (OAuth): run the custom auth
action against the credential's `loginUrl`), render the request with Velocity, call the web service, translate the
response with `translationMap` / `successTemplate`, and report failures as Genesys error bodies.

Authorization (a simulator choice, documented in simulators/README.md): with a User Defined (OAuth) credential, when
the action sets no `Authorization` header itself, the simulator sends `Authorization: <Token_type> <access_token>`
from the auth response, capitalising `token_type` (`bearer` → `Bearer`; `Bearer` when absent), the way the custom
auth action template Genesys generates is reported to; the reference does not show that template, so treat the exact
form as uncertain. An action may instead set the header from `${authResponse.*}`; that is sent as written.
"""

from __future__ import annotations

import base64
import copy
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import requests

from simulators.genesys.state import State, mask_secrets
from simulators.genesys.velocity import RawJson, context_with_tools, json_path, render
from simulators.genesys.web import DEFAULT_CODES, error_body, new_id

DEFAULT_REQUEST_TEMPLATE = "${input.rawRequest}"
DEFAULT_TIMEOUT_SECONDS = 60
# The custom auth action created for a User Defined (OAuth) credential: a client-credentials token request to the
# credential's loginUrl, Basic-authenticated with its clientId/clientSecret; the raw JSON answer is `authResponse`.
CUSTOM_AUTH_CONFIG = {
    "request": {
        "requestUrlTemplate": "${credentials.loginUrl}",
        "requestType": "POST",
        "headers": {
            "Authorization": 'Basic $encoding.base64("${credentials.clientId}:${credentials.clientSecret}")',
            "Content-Type": "application/x-www-form-urlencoded",
        },
        "requestTemplate": "grant_type=client_credentials",
    },
    "response": {"translationMap": {}, "translationMapDefaults": {}, "successTemplate": "${rawResult}"},
}
_sessions = threading.local()


def custom_auth_action_id(integration_id: str) -> str:
    return f"customAuth_-_{integration_id}"


def custom_auth_action_name(integration_name: str) -> str:
    """The custom auth action's name; Genesys derives it from the integration's name, how exactly is uncertain."""
    return f"{integration_name} (Custom Auth)"


class ActionFailure(Exception):
    def __init__(self, status: int, message: str, error_code: str = "ACTION.PROCESSING") -> None:
        super().__init__(message)
        self.status, self.message, self.error_code = status, message, error_code


@dataclass
class Outcome:
    """What one execution did. `requests` are the outgoing calls in order (the token request first)."""

    success: bool
    status: int
    output: Any = None
    error: dict | None = None
    requests: list[dict] = field(default_factory=list)
    steps: list[dict] = field(default_factory=list)


def _session() -> requests.Session:
    if not hasattr(_sessions, "session"):
        _sessions.session = requests.Session()
    return _sessions.session


def execute_action(state: State, action: dict, inputs: dict, *, flatten: bool = False) -> Outcome:
    """Run `action` (a published or draft Action record) with the input map; never raises for remote failures."""
    outcome = Outcome(success=False, status=200)
    try:
        with state.lock:
            integration = copy.deepcopy(state.integrations.get(action["integrationId"]))
            credential = _credential_of(state, integration)
            auth_action = state.actions.get(custom_auth_action_id(action["integrationId"]))
            auth_config = copy.deepcopy((auth_action or {}).get("published") or {}).get("config")
        if integration is None:
            raise ActionFailure(400, f"The integration {action['integrationId']} of this action no longer exists.")
        if integration["intendedState"] != "ENABLED":
            raise ActionFailure(400, f"The integration '{integration['name']}' is not enabled.")
        _check_inputs(action, inputs)
        context = context_with_tools(input=inputs)
        auth_response = None
        if credential and credential["type"]["name"] == "userDefinedOAuth":
            auth_response = _authenticate(state, integration, credential, auth_config, outcome)
            context["authResponse"] = auth_response
        elif credential and credential["type"]["name"] == "userDefined":
            context["credentials"] = credential["_fields"]
        response = _call(state, action, context, credential, auth_response, outcome, purpose="action")
        if response.status_code == 401 and auth_response is not None and auth_response.get("_cached"):
            with state.lock:
                state.auth_cache.pop(_cache_key(integration, credential), None)
            context["authResponse"] = auth_response = _authenticate(
                state, integration, credential, auth_config, outcome
            )
            response = _call(state, action, context, credential, auth_response, outcome, purpose="action")
        _raise_for_remote(response)
        output = translate(action["config"].get("response") or {}, response.text, inputs)
        outcome.steps.append({"name": "Apply output transformation", "success": True, "result": output})
        outcome.output = _flattened(output) if flatten and isinstance(output, dict) else output
        outcome.success = True
    except ActionFailure as failure:
        outcome.status = failure.status
        outcome.error = error_body(
            failure.status,
            failure.message,
            DEFAULT_CODES.get(failure.status, "bad.request"),
            context_id=new_id(),
            details=[{"errorCode": failure.error_code}],
        )
        outcome.steps.append({"name": "Execute", "success": False, "error": outcome.error})
    return outcome


def _credential_of(state: State, integration: dict | None) -> dict | None:
    for reference in ((integration or {}).get("_config") or {}).get("credentials", {}).values():
        credential = state.credentials.get(reference["id"])
        if credential:
            return copy.deepcopy(credential)
    return None


def _check_inputs(action: dict, inputs: dict) -> None:
    schema = ((action.get("contract") or {}).get("input") or {}).get("inputSchema") or {}
    missing = [name for name in schema.get("required") or [] if inputs.get(name) is None]
    if missing:
        raise ActionFailure(
            400,
            f"The following required input parameters are missing: {', '.join(missing)}.",
            "ACTION.INPUT_VALIDATION",
        )
    kinds = {"string": str, "integer": int, "number": int | float, "boolean": bool}
    for name, spec in (schema.get("properties") or {}).items():
        expected = kinds.get((spec or {}).get("type"))
        if name in inputs and inputs[name] is not None and expected and not isinstance(inputs[name], expected):
            raise ActionFailure(400, f"Input {name!r} must be of type {spec['type']}.", "ACTION.INPUT_VALIDATION")


def _cache_key(integration: dict, credential: dict) -> str:
    return f"{integration['id']}:{credential['id']}:{credential['modifiedDate']}"


def _authenticate(
    state: State, integration: dict, credential: dict, auth_config: dict | None, outcome: Outcome
) -> dict:
    """Run the custom auth action and return `authResponse`, from the cache when `auth_cache_seconds` allows."""
    cache_seconds = float(state.config.get("auth_cache_seconds") or 0)
    key = _cache_key(integration, credential)
    cached = state.auth_cache.get(key)
    if cache_seconds > 0 and cached and cached[0] > time.time():
        return {**cached[1], "_cached": True}
    config = auth_config or CUSTOM_AUTH_CONFIG
    auth_action = {
        "id": custom_auth_action_id(integration["id"]),
        "name": custom_auth_action_name(integration["name"]),
        "config": config,
    }
    context = context_with_tools(credentials=credential["_fields"])
    response = _call(state, auth_action, context, None, None, outcome, purpose="auth")
    if not 200 <= response.status_code < 300:
        raise ActionFailure(
            400,
            f"The custom auth action failed: the login URL answered {response.status_code}: {response.text[:500]}",
            "ACTION.AUTHENTICATION",
        )
    auth_response = translate(config.get("response") or {}, response.text, {})
    if not isinstance(auth_response, dict) or not auth_response.get("access_token"):
        raise ActionFailure(400, "The custom auth action's response has no access_token.", "ACTION.AUTHENTICATION")
    if cache_seconds > 0:
        lifetime = min(cache_seconds, float(auth_response.get("expires_in") or cache_seconds))
        with state.lock:
            state.auth_cache[key] = (time.time() + lifetime, auth_response)
    outcome.steps.append({"name": "Resolve authentication", "success": True, "result": mask_secrets(auth_response)})
    return auth_response


def render_request(action: dict, context: dict) -> tuple[str, str, dict[str, str], str | None]:
    """(method, url, headers, body) of the action's request; GET requests ignore `requestTemplate`."""
    request_config = (action.get("config") or {}).get("request") or {}
    method = (request_config.get("requestType") or "GET").upper()
    url = render(request_config.get("requestUrlTemplate"), context)
    headers = {name: render(value, context) for name, value in (request_config.get("headers") or {}).items()}
    body = None
    if method != "GET":
        template = request_config.get("requestTemplate")
        body = render(DEFAULT_REQUEST_TEMPLATE if template is None else template, context)
    return method, url, headers, body


def _call(
    state: State,
    action: dict,
    context: dict,
    credential: dict | None,
    auth_response: dict | None,
    outcome: Outcome,
    *,
    purpose: str,
) -> requests.Response:
    method, url, headers, body = render_request(action, context)
    outcome.steps.append(
        {
            "name": f"Resolve {purpose} request",
            "success": True,
            "result": mask_secrets({"method": method, "url": url, "headers": headers, "body": body}),
        }
    )
    if not any(name.lower() == "authorization" for name in headers):
        if auth_response is not None:
            token_type = str(auth_response.get("token_type") or "bearer")
            headers["Authorization"] = f"{token_type[:1].upper()}{token_type[1:]} {auth_response['access_token']}"
        elif credential and credential["type"]["name"] == "basicAuth":
            pair = f"{credential['_fields']['userName']}:{credential['_fields']['password']}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
    if body is not None and not any(name.lower() == "content-type" for name in headers):
        headers["Content-Type"] = "application/json"
    timeout = (action.get("config") or {}).get("timeoutSeconds") or DEFAULT_TIMEOUT_SECONDS
    record = {
        "direction": "out",
        "purpose": purpose,
        "action_id": action["id"],
        "action_name": action.get("name"),
        "method": method,
        "url": url,
        "headers": headers,
        "body": _maybe_json(body),
    }
    started = time.monotonic()
    try:
        response = _session().request(
            method, url, headers=headers, data=body.encode() if body else None, timeout=timeout, allow_redirects=False
        )
    except requests.Timeout:
        _finish(state, outcome, record, started, error=f"timed out after {timeout} s")
        raise ActionFailure(504, f"The request to {url} timed out after {timeout} seconds.", "ACTION.TIMEOUT") from None
    except requests.RequestException as error:
        _finish(state, outcome, record, started, error=str(error))
        raise ActionFailure(502, f"The request to {url} failed: {error}", "ACTION.REMOTE_ENDPOINT") from None
    _finish(
        state,
        outcome,
        record,
        started,
        status=response.status_code,
        response_body=_maybe_json(response.text),
        response_headers=dict(response.headers),
    )
    return response


def _finish(state: State, outcome: Outcome, record: dict, started: float, **result: Any) -> None:
    record.update(result, elapsed_ms=round((time.monotonic() - started) * 1000, 1))
    state.record(record)
    outcome.requests.append(mask_secrets(record))


def _maybe_json(text: str | None) -> Any:
    if not text:
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def _raise_for_remote(response: requests.Response) -> None:
    if 200 <= response.status_code < 300:
        return
    raise ActionFailure(
        response.status_code,
        "REST call for action execute failed. Message: Request to backend service failed. "
        f"Response from web service: {response.text[:2000]}",
        "ACTION.REMOTE_ENDPOINT",
    )


def translate(response_config: dict, raw: str, inputs: dict) -> Any:
    """Apply `translationMap` (JSONPath), `translationMapDefaults` and `successTemplate` (default `${rawResult}`).
    In the success template each translated value prints as JSON, so strings arrive quoted."""
    try:
        document = json.loads(raw) if raw.strip() else {}
    except ValueError:
        raise ActionFailure(400, "The web service's response is not valid JSON.", "ACTION.RESPONSE_PARSING") from None
    values: dict[str, Any] = {}
    defaults = response_config.get("translationMapDefaults") or {}
    for name, path in (response_config.get("translationMap") or {}).items():
        try:
            found, value = json_path(document, path)
        except ValueError as error:
            raise ActionFailure(400, f"Invalid JSONPath for {name!r}: {error}", "ACTION.TRANSLATION") from None
        if not found:
            if name not in defaults:
                raise ActionFailure(
                    400,
                    "Failed while processing the translation map. Could not resolve value for "
                    f"the key: '{name}' and no default value was configured.",
                    "ACTION.TRANSLATION",
                )
            value = json.loads(defaults[name])
        values[name] = RawJson(json.dumps(value))
    template = response_config.get("successTemplate") or "${rawResult}"
    rendered = render(
        template, context_with_tools(**values, rawResult=RawJson(raw if raw.strip() else "{}"), input=inputs)
    )
    try:
        return json.loads(rendered)
    except ValueError:
        raise ActionFailure(
            400, f"The success template did not produce valid JSON: {rendered[:500]}", "ACTION.TRANSFORMATION"
        ) from None


def _flattened(output: dict, prefix: str = "") -> dict:
    flat: dict[str, Any] = {}
    for key, value in output.items():
        if isinstance(value, dict):
            flat.update(_flattened(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat
