"""Integration types (the premium-app purchase check), integrations with `config/current` and its optimistic
`version`, and integration credentials (reference §4 "Integrations" and "Credentials")."""

from __future__ import annotations

import copy

from simulators.genesys.actions import ensure_custom_auth_action, remove_integration_actions, rename_custom_auth_action
from simulators.genesys.oauth import require_permission
from simulators.genesys.state import State
from simulators.genesys.web import (
    ApiError,
    Request,
    Response,
    Router,
    bad_request,
    cursor_listing,
    iso,
    new_id,
    page_listing,
)

CREDENTIAL_TYPES = ("basicAuth", "userDefined", "userDefinedOAuth")
SENSITIVE_FIELD_HINTS = ("secret", "password", "key", "token")
WEB_SERVICES_CREDENTIALS = {
    "basicAuth": {"required": True, "title": "Credentials", "credentialTypes": list(CREDENTIAL_TYPES)}
}
BASE_TYPES = [
    ("embedded-client-app", "Client Application", "Embeds a web application in Genesys Cloud.", "Client Apps", None),
    (
        "embedded-client-app-interaction-widget",
        "Interaction Widget",
        "Embeds a web application next to each interaction.",
        "Client Apps",
        None,
    ),
    (
        "custom-rest-actions",
        "Web Services Data Actions",
        "Calls web services from flows and scripts.",
        "Data Actions",
        WEB_SERVICES_CREDENTIALS,
    ),
    (
        "purecloud-data-actions",
        "Genesys Cloud Data Actions",
        "Calls the Genesys Cloud Platform API.",
        "Data Actions",
        None,
    ),
    (
        "amazon-eventbridge-source",
        "Amazon EventBridge Source",
        "Sends events to Amazon EventBridge.",
        "Event Streaming",
        None,
    ),
]
INTENDED_STATES = {"ENABLED": ("ACTIVE", "Active"), "DISABLED": ("INACTIVE", "Inactive")}


def register(router: Router) -> None:
    router.add("GET", "/api/v2/integrations/types", list_types)
    router.add("GET", "/api/v2/integrations/types/{typeId}", get_type)
    router.add("POST", "/api/v2/integrations", create_integration)
    router.add("GET", "/api/v2/integrations", list_integrations)
    router.add("GET", "/api/v2/integrations/{integrationId}", get_integration)
    router.add("PATCH", "/api/v2/integrations/{integrationId}", patch_integration)
    router.add("DELETE", "/api/v2/integrations/{integrationId}", delete_integration)
    router.add("GET", "/api/v2/integrations/{integrationId}/config/current", get_config)
    router.add("PUT", "/api/v2/integrations/{integrationId}/config/current", put_config)
    router.add("POST", "/api/v2/integrations/credentials", create_credential)
    router.add("GET", "/api/v2/integrations/credentials", list_credentials)
    router.add("GET", "/api/v2/integrations/credentials/listing", list_credentials_cursor)
    router.add("GET", "/api/v2/integrations/credentials/{credentialId}", get_credential)
    router.add("PUT", "/api/v2/integrations/credentials/{credentialId}", put_credential)
    router.add("DELETE", "/api/v2/integrations/credentials/{credentialId}", delete_credential)


def available_types(state: State) -> list[dict]:
    """The base types plus the premium type while the `premium_type_id` knob names one."""
    specs = list(BASE_TYPES)
    if state.config.get("premium_type_id"):
        type_id = state.config["premium_type_id"]
        specs.append(
            (type_id, f"Premium app ({type_id})", "A premium app installed from AppFoundry.", "Client Apps", None)
        )
    return [
        {
            "id": type_id,
            "name": name,
            "description": description,
            "provider": "clientapps",
            "category": category,
            "images": [],
            "nonInstallable": False,
            "credentials": credentials or {},
            "helpLinks": [],
            "selfUri": f"/api/v2/integrations/types/{type_id}",
        }
        for type_id, name, description, category, credentials in specs
    ]


def list_types(state: State, request: Request) -> dict:
    return page_listing(available_types(state), request, max_page_size=100)


def get_type(state: State, request: Request) -> dict:
    type_id = request.path_params["typeId"]
    found = next((item for item in available_types(state) if item["id"] == type_id), None)
    if found is None:
        raise ApiError(404, f"Integration type {type_id} not found.", "not.found", entity_id=type_id)
    return found


def _integration(state: State, request: Request) -> dict:
    integration = state.integrations.get(request.path_params["integrationId"])
    if integration is None or integration["_org_id"] != request.token.org_id:
        raise ApiError(404, "Integration not found.", "not.found", entity_id=request.path_params["integrationId"])
    return integration


def _shown(integration: dict, request: Request) -> dict:
    shown = dict(integration)
    if "config.current" in request.arg_list("expand"):
        shown["config"] = {"current": integration["_config"]}
    return shown


def create_integration(state: State, request: Request) -> dict:
    require_permission(state, request, "integrations:integration:add")
    body = request.json_object()
    type_id = (body.get("integrationType") or {}).get("id")
    integration_type = next((item for item in available_types(state) if item["id"] == type_id), None)
    if integration_type is None:
        raise bad_request(
            f"Integration type {type_id!r} is not available in this organization.",
            "invalid.integration.type",
            "integrationType",
        )
    integration_id, now = new_id(), iso()
    name = body.get("name") or integration_type["name"]
    integration = {
        "id": integration_id,
        "name": name,
        "integrationType": {
            key: integration_type[key] for key in ("id", "name", "description", "provider", "category", "selfUri")
        },
        "notes": body.get("notes") or "",
        "intendedState": "DISABLED",
        "reportedState": {"code": "INACTIVE", "effective": "Inactive", "lastUpdated": now},
        "attributes": {},
        "selfUri": f"/api/v2/integrations/{integration_id}",
        "_org_id": request.token.org_id,
        "_config": {
            "id": integration_id,
            "name": name,
            "version": 1,
            "properties": {},
            "advanced": {},
            "notes": body.get("notes") or "",
            "credentials": {},
            "selfUri": f"/api/v2/integrations/{integration_id}/config/current",
        },
    }
    with state.lock:
        state.integrations[integration_id] = integration
    return integration


def list_integrations(state: State, request: Request) -> dict:
    require_permission(state, request, "integrations:integration:view")
    ids, type_id = set(request.arg_list("ids")), request.arg("integrationType")
    with state.lock:
        found = [
            _shown(item, request)
            for item in state.integrations.values()
            if item["_org_id"] == request.token.org_id
            and (not ids or item["id"] in ids)
            and (not type_id or item["integrationType"]["id"] == type_id)
            and (not request.arg("reportedState") or item["reportedState"]["code"] == request.arg("reportedState"))
        ]
    return page_listing(found, request, max_page_size=100)


def get_integration(state: State, request: Request) -> dict:
    require_permission(state, request, "integrations:integration:view")
    with state.lock:
        return _shown(_integration(state, request), request)


def patch_integration(state: State, request: Request) -> dict:
    """`intendedState` ENABLED / DISABLED / DELETED / RESTORED, plus `name` and `notes`."""
    require_permission(state, request, "integrations:integration:edit")
    body = request.json_object()
    intended = body.get("intendedState")
    if intended is not None and intended not in (*INTENDED_STATES, "DELETED", "RESTORED"):
        raise bad_request(f"Invalid intendedState {intended!r}.", "invalid.value", "intendedState")
    with state.lock:
        integration = _integration(state, request)
        for key in ("name", "notes"):
            if isinstance(body.get(key), str):
                integration[key] = body[key]
                integration["_config"][key] = body[key]
        rename_custom_auth_action(state, integration)
        if intended == "DELETED":
            return _remove(state, integration)
        if intended in INTENDED_STATES:
            code, effective = INTENDED_STATES[intended]
            integration["intendedState"] = intended
            integration["reportedState"] = {"code": code, "effective": effective, "lastUpdated": iso()}
        return _shown(integration, request)


def _remove(state: State, integration: dict) -> dict:
    state.integrations.pop(integration["id"], None)
    remove_integration_actions(state, integration["id"])
    return {
        **integration,
        "intendedState": "DELETED",
        "reportedState": {"code": "INACTIVE", "effective": "Deleted", "lastUpdated": iso()},
    }


def delete_integration(state: State, request: Request) -> dict:
    require_permission(state, request, "integrations:integration:delete")
    with state.lock:
        return _remove(state, _integration(state, request))


def get_config(state: State, request: Request) -> dict:
    require_permission(state, request, "integrations:integration:view")
    with state.lock:
        return _integration(state, request)["_config"]


def put_config(state: State, request: Request) -> dict:
    """Replace the configuration. `version` must equal the current one (the first PUT sends 1) or it is a 409;
    credentials must name credentials of the org. A web-services integration whose credential is User Defined
    (OAuth) gets its custom auth action `customAuth_-_<integrationId>`."""
    require_permission(state, request, "integrations:integration:edit")
    body = request.json_object()
    with state.lock:
        integration = _integration(state, request)
        current = integration["_config"]
        if not isinstance(body.get("version"), int):
            raise bad_request("The configuration version is required.", "invalid.value", "version")
        if body["version"] != current["version"]:
            raise ApiError(
                409,
                f"The configuration version {body['version']} does not match the current version "
                f"{current['version']}; get the current configuration and retry.",
                "conflict",
                entity_id=integration["id"],
            )
        credentials = {}
        for key, reference in (body.get("credentials") or {}).items():
            credential = state.credentials.get((reference or {}).get("id", ""))
            if credential is None or credential["_org_id"] != request.token.org_id:
                raise bad_request(
                    f"Credential {reference!r} for {key!r} was not found.", "invalid.value", "credentials"
                )
            credentials[key] = {"id": credential["id"], "name": credential["name"], "type": credential["type"]}
        current.update(
            {
                "name": body.get("name") or current["name"],
                "version": current["version"] + 1,
                "properties": copy.deepcopy(body.get("properties") or {}),
                "advanced": copy.deepcopy(body.get("advanced") or {}),
                "notes": body.get("notes") if body.get("notes") is not None else current["notes"],
                "credentials": credentials,
            }
        )
        integration["name"], integration["notes"] = current["name"], current["notes"]
        rename_custom_auth_action(state, integration)
        oauth_credential = any(ref["type"]["name"] == "userDefinedOAuth" for ref in credentials.values())
        if integration["integrationType"]["id"] == "custom-rest-actions" and oauth_credential:
            ensure_custom_auth_action(state, integration)
        return current


def _credential_type(raw: object) -> str:
    """`type` as a string (what the PA wizard sends) or an object `{id|name}` (what the SDK models)."""
    name = raw.get("name") or raw.get("id") if isinstance(raw, dict) else raw
    if name not in CREDENTIAL_TYPES:
        raise bad_request(
            f"Credential type {raw!r} is not one of {', '.join(CREDENTIAL_TYPES)}.", "invalid.value", "type"
        )
    return name


def _credential_fields(body: dict, type_name: str) -> dict[str, str]:
    fields = body.get("credentialFields") or {}
    if not isinstance(fields, dict) or not all(isinstance(value, str) for value in fields.values()):
        raise bad_request("credentialFields must map field names to strings.", "invalid.value", "credentialFields")
    if type_name == "basicAuth" and not {"userName", "password"} <= fields.keys():
        raise bad_request("basicAuth credentials need userName and password.", "invalid.value", "credentialFields")
    return dict(fields)


def create_credential(state: State, request: Request) -> dict:
    require_permission(state, request, "integrations:integration:add")
    body = request.json_object()
    if not body.get("name"):
        raise bad_request("A credential needs a name.", "invalid.value", "name")
    type_name = _credential_type(body.get("type"))
    credential_id, now = new_id(), iso()
    credential = {
        "id": credential_id,
        "name": body["name"],
        "createdDate": now,
        "modifiedDate": now,
        "type": {"id": type_name, "name": type_name},
        "selfUri": f"/api/v2/integrations/credentials/{credential_id}",
        "_org_id": request.token.org_id,
        "_fields": _credential_fields(body, type_name),
        "_order": state.next_order(),
    }
    with state.lock:
        state.credentials[credential_id] = credential
    return credential


def _credential(state: State, request: Request) -> dict:
    credential = state.credentials.get(request.path_params["credentialId"])
    if credential is None or credential["_org_id"] != request.token.org_id:
        raise ApiError(404, "Credential not found.", "not.found", entity_id=request.path_params["credentialId"])
    return credential


def list_credentials(state: State, request: Request) -> dict:
    require_permission(state, request, "integrations:integration:view")
    with state.lock:
        found = [item for item in state.credentials.values() if item["_org_id"] == request.token.org_id]
    return page_listing(found, request, max_page_size=100)


def list_credentials_cursor(state: State, request: Request) -> dict:
    """The cursor-paged listing the SDK recommends over the deprecated page-numbered one."""
    require_permission(state, request, "integrations:integration:view")
    with state.lock:
        found = [item for item in state.credentials.values() if item["_org_id"] == request.token.org_id]
    return cursor_listing(sorted(found, key=lambda item: item["_order"]), request)


def get_credential(state: State, request: Request) -> dict:
    """Sensitive fields (names containing secret/password/key/token) are redacted, as the platform does."""
    require_permission(state, request, "integrations:integration:view")
    with state.lock:
        credential = _credential(state, request)
        fields = {
            name: "********" if any(hint in name.lower() for hint in SENSITIVE_FIELD_HINTS) else value
            for name, value in credential["_fields"].items()
        }
        return {key: credential[key] for key in ("id", "name", "type", "selfUri")} | {"credentialFields": fields}


def put_credential(state: State, request: Request) -> dict:
    require_permission(state, request, "integrations:integration:edit")
    body = request.json_object()
    with state.lock:
        credential = _credential(state, request)
        type_name = _credential_type(body.get("type") or credential["type"]["name"])
        credential.update(
            name=body.get("name") or credential["name"],
            type={"id": type_name, "name": type_name},
            modifiedDate=iso(),
            _fields=_credential_fields(body, type_name),
        )
        state.auth_cache.clear()
        return credential


def delete_credential(state: State, request: Request) -> Response:
    require_permission(state, request, "integrations:integration:delete")
    with state.lock:
        state.credentials.pop(_credential(state, request)["id"])
    return Response(204)
