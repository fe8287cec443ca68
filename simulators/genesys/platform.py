"""OAuth clients and authorization roles (reference §4 "OAuth clients, roles, products", §9 install sequence)."""

from __future__ import annotations

import copy
import secrets

from simulators.genesys.oauth import require_permission
from simulators.genesys.seed import oauth_client_record, role_record
from simulators.genesys.state import State, past
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

GRANT_TYPES = ("CODE", "TOKEN", "SAML2-BEARER", "PASSWORD", "CLIENT-CREDENTIALS")
CLIENT_STATES = ("active", "disabled", "inactive")


def register(router: Router) -> None:
    router.add("POST", "/api/v2/oauth/clients", create_client)
    router.add("GET", "/api/v2/oauth/clients", list_clients)
    router.add("GET", "/api/v2/oauth/clients/{clientId}", get_client)
    router.add("PUT", "/api/v2/oauth/clients/{clientId}", put_client)
    router.add("DELETE", "/api/v2/oauth/clients/{clientId}", delete_client)
    router.add("POST", "/api/v2/authorization/roles", create_role)
    router.add("GET", "/api/v2/authorization/roles", list_roles)
    router.add("GET", "/api/v2/authorization/roles/{roleId}", get_role)
    router.add("PUT", "/api/v2/authorization/roles/{roleId}", put_role)
    router.add("DELETE", "/api/v2/authorization/roles/{roleId}", delete_role)
    router.add("PUT", "/api/v2/authorization/roles/{roleId}/users/add", add_role_users)


def _client_fields(state: State, request: Request, body: dict, current: dict | None = None) -> dict:
    """Validated mutable fields of an OAuth client body (`current`: the client being replaced). New implicit-grant
    clients are refused from the `implicit_grant_new_clients_until` date; an existing one may keep its grant."""
    if not body.get("name"):
        raise bad_request("An OAuth client needs a name.", "invalid.value", "name")
    grant = body.get("authorizedGrantType")
    if grant not in GRANT_TYPES:
        raise bad_request(
            f"authorizedGrantType must be one of {', '.join(GRANT_TYPES)}.", "invalid.value", "authorizedGrantType"
        )
    switching = current is None or current["authorizedGrantType"] != "TOKEN"
    if grant == "TOKEN" and switching and past(state.config.get("implicit_grant_new_clients_until")):
        raise bad_request(
            "The implicit grant is retired: new OAuth clients cannot use authorizedGrantType TOKEN since "
            f"{state.config['implicit_grant_new_clients_until']}. Use CODE (authorization code with PKCE).",
            "invalid.value",
            "authorizedGrantType",
        )
    validity = body.get("accessTokenValiditySeconds", 86400)
    if not isinstance(validity, int) or not 300 <= validity <= 172800:
        raise bad_request(
            "accessTokenValiditySeconds must be from 300 to 172800.", "invalid.value", "accessTokenValiditySeconds"
        )
    state_value = body.get("state", "active")
    if state_value not in CLIENT_STATES:
        raise bad_request(f"state must be one of {', '.join(CLIENT_STATES)}.", "invalid.value", "state")
    role_divisions = [dict(item) for item in body.get("roleDivisions") or []]
    role_ids = list(body.get("roleIds") or [])
    for role_id in [item.get("roleId") for item in role_divisions] + role_ids:
        role = state.roles.get(role_id or "")
        if role is None or role["_org_id"] != request.token.org_id:
            raise bad_request(f"Role {role_id!r} was not found.", "invalid.value", "roleDivisions")
    redirect_uris = list(body.get("registeredRedirectUri") or [])
    if grant == "CLIENT-CREDENTIALS" and not (role_divisions or role_ids):
        raise bad_request("A client-credentials client needs at least one role.", "invalid.value", "roleDivisions")
    if grant in ("CODE", "TOKEN") and not redirect_uris:
        raise bad_request("This grant type needs registeredRedirectUri.", "invalid.value", "registeredRedirectUri")
    for item in role_divisions:
        item.setdefault("divisionId", state.orgs[request.token.org_id]["_division"]["id"])
    return {
        "name": body["name"],
        "description": body.get("description") or "",
        "accessTokenValiditySeconds": validity,
        "registeredRedirectUri": redirect_uris,
        "authorizedGrantType": grant,
        "scope": list(body.get("scope") or []),
        "roleDivisions": role_divisions,
        "roleIds": role_ids or None,
        "state": state_value,
    }


def _user_ref(request: Request) -> dict:
    return {"id": request.token.user_id or request.token.client_id, "selfUri": f"/api/v2/users/{request.token.user_id}"}


def create_client(state: State, request: Request) -> dict:
    """The response is the only one carrying `secret`."""
    require_permission(state, request, "oauth:client:add")
    body = request.json_object()
    with state.lock:
        fields = _client_fields(state, request, body)
        client_id = new_id()
        client = oauth_client_record(
            client_id,
            fields["name"],
            fields["authorizedGrantType"],
            secrets.token_urlsafe(32),
            org_id=request.token.org_id,
            created=iso(),
        )
        client.update(fields, createdBy=_user_ref(request), modifiedBy=_user_ref(request))
        state.oauth_clients[client_id] = client
        return {**client, "secret": client["_secret"]}


def _client(state: State, request: Request) -> dict:
    client = state.oauth_clients.get(request.path_params["clientId"])
    if client is None or client["_org_id"] != request.token.org_id:
        raise ApiError(404, "OAuth client not found.", "not.found", entity_id=request.path_params["clientId"])
    return client


def list_clients(state: State, request: Request) -> dict:
    require_permission(state, request, "oauth:client:view")
    with state.lock:
        found = [client for client in state.oauth_clients.values() if client["_org_id"] == request.token.org_id]
    return page_listing(found, request)


def get_client(state: State, request: Request) -> dict:
    require_permission(state, request, "oauth:client:view")
    with state.lock:
        return _client(state, request)


def put_client(state: State, request: Request) -> dict:
    """Replace the client's fields; `state: "disabled"|"inactive"` makes its tokens and logins fail."""
    require_permission(state, request, "oauth:client:edit")
    body = request.json_object()
    with state.lock:
        client = _client(state, request)
        client.update(_client_fields(state, request, body, client), dateModified=iso(), modifiedBy=_user_ref(request))
        return client


def delete_client(state: State, request: Request) -> Response:
    require_permission(state, request, "oauth:client:delete")
    with state.lock:
        client = _client(state, request)
        del state.oauth_clients[client["id"]]
        for value in [value for value, token in state.tokens.items() if token.client_id == client["id"]]:
            del state.tokens[value]
    return Response(204)


def _policies(body: dict) -> list[dict]:
    policies = []
    for policy in body.get("permissionPolicies") or []:
        if not policy.get("domain") or not policy.get("entityName") or not policy.get("actionSet"):
            raise bad_request(
                "Each permission policy needs domain, entityName and actionSet.", "invalid.value", "permissionPolicies"
            )
        policies.append(
            {
                "domain": policy["domain"],
                "entityName": policy["entityName"],
                "actionSet": list(policy["actionSet"]),
                "allowConditions": bool(policy.get("allowConditions")),
            }
        )
    return policies


def _shown_role(role: dict) -> dict:
    permissions = [
        f"{p['domain']}:{p['entityName']}:{action}" for p in role["permissionPolicies"] for action in p["actionSet"]
    ]
    return {**role, "permissions": permissions, "userCount": len(role["_user_ids"])}


def _unique_name(state: State, request: Request, name: str, except_id: str | None = None) -> None:
    for role in state.roles.values():
        if role["_org_id"] == request.token.org_id and role["name"].lower() == name.lower() and role["id"] != except_id:
            raise bad_request(f"A role named {name!r} already exists.", "general.conflict", "name")


def create_role(state: State, request: Request) -> dict:
    require_permission(state, request, "authorization:role:add")
    body = request.json_object()
    if not body.get("name"):
        raise bad_request("A role needs a name.", "invalid.value", "name")
    with state.lock:
        _unique_name(state, request, body["name"])
        role_id = new_id()
        role = role_record(
            role_id, body["name"], body.get("description") or "", _policies(body), org_id=request.token.org_id
        )
        state.roles[role_id] = role
        return _shown_role(role)


def _role(state: State, request: Request) -> dict:
    role = state.roles.get(request.path_params["roleId"])
    if role is None or role["_org_id"] != request.token.org_id:
        raise ApiError(404, "Role not found.", "not.found", entity_id=request.path_params["roleId"])
    return role


def list_roles(state: State, request: Request) -> dict:
    """`name` with `*` wildcards (the PA wizard passes `<prefix>*`), `permission`, paging."""
    require_permission(state, request, "authorization:role:view")
    name, permissions = request.arg("name"), set(request.arg_list("permission"))
    with state.lock:
        found = [
            _shown_role(role)
            for role in state.roles.values()
            if role["_org_id"] == request.token.org_id and name_matches(name, role["name"])
        ]
    found = [role for role in found if not permissions or permissions & set(role["permissions"])]
    found.sort(key=lambda role: role["name"].lower())
    return page_listing(found, request)


def get_role(state: State, request: Request) -> dict:
    require_permission(state, request, "authorization:role:view")
    with state.lock:
        return _shown_role(_role(state, request))


def put_role(state: State, request: Request) -> dict:
    require_permission(state, request, "authorization:role:edit")
    body = request.json_object()
    with state.lock:
        role = _role(state, request)
        if body.get("name"):
            _unique_name(state, request, body["name"], role["id"])
            role["name"] = body["name"]
        role["description"] = body.get("description", role["description"])
        if "permissionPolicies" in body:
            role["permissionPolicies"] = _policies(body)
        return _shown_role(role)


def delete_role(state: State, request: Request) -> Response:
    require_permission(state, request, "authorization:role:delete")
    with state.lock:
        del state.roles[_role(state, request)["id"]]
    return Response(204)


def add_role_users(state: State, request: Request) -> list[str]:
    """Body and response: a JSON array of user ids."""
    require_permission(state, request, "authorization:grant:add")
    user_ids = request.json()
    if not isinstance(user_ids, list) or not all(isinstance(item, str) for item in user_ids):
        raise bad_request("The body must be a JSON array of user ids.")
    with state.lock:
        role = _role(state, request)
        for user_id in user_ids:
            user = state.users.get(user_id)
            if user is None or user["_org_id"] != request.token.org_id:
                raise bad_request(f"User {user_id} was not found.", "invalid.value", "userIds")
            if user_id not in role["_user_ids"]:
                role["_user_ids"].append(user_id)
        return copy.copy(user_ids)
