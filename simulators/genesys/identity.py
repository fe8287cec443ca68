"""Who the token is: `users/me`, `users/{id}`, `tokens/me`, `organizations/me`, `authorization/products`, and the
routing queues (reference §4 "Identity" and "Routing")."""

from __future__ import annotations

import math

from simulators.genesys.oauth import permissions_for, require_permission, require_user, role_ids_for
from simulators.genesys.state import State
from simulators.genesys.web import ApiError, Request, Router, bad_request, iso, name_matches, page_listing

BASE_PRODUCTS = ["byoc"]


def register(router: Router) -> None:
    router.add("GET", "/api/v2/users/me", users_me)
    router.add("GET", "/api/v2/users/{userId}", get_user)
    router.add("GET", "/api/v2/tokens/me", tokens_me)
    router.add("GET", "/api/v2/organizations/me", organizations_me)
    router.add("GET", "/api/v2/authorization/products", products)
    router.add("GET", "/api/v2/routing/queues", list_queues)
    router.add("GET", "/api/v2/routing/queues/{queueId}", get_queue)
    router.add("PUT", "/api/v2/routing/queues/{queueId}", put_queue)


def _expanded_user(state: State, request: Request, user: dict) -> dict:
    """The user with the `expand` values this simulator knows: organization, authorization, token."""
    body = dict(user)
    expand = set(request.arg_list("expand"))
    if "organization" in expand:
        body["organization"] = state.orgs[user["_org_id"]]
    if "authorization" in expand:
        body["authorization"] = _authorization(state, request)
    if "token" in expand:
        body["token"] = tokens_me(state, request)
    return body


def _authorization(state: State, request: Request) -> dict:
    with state.lock:
        roles = [state.roles[role_id] for role_id in role_ids_for(state, request.token)]
        policies = [
            {**policy, "id": f"{role['id']}-{index}", "actionSetKey": ",".join(policy.get("actionSet") or [])}
            for role in roles
            for index, policy in enumerate(role["permissionPolicies"])
        ]
    return {
        "roles": [{"id": role["id"], "name": role["name"]} for role in roles],
        "unusedRoles": [],
        "permissions": permissions_for(state, request.token),
        "permissionPolicies": policies,
    }


def users_me(state: State, request: Request) -> dict:
    user_id = require_user(request)
    with state.lock:
        return _expanded_user(state, request, state.users[user_id])


def get_user(state: State, request: Request) -> dict:
    with state.lock:
        user = state.users.get(request.path_params["userId"])
        if user is None or user["_org_id"] != request.token.org_id:
            raise ApiError(
                404, "The requested user was not found.", "not.found", entity_id=request.path_params["userId"]
            )
        return _expanded_user(state, request, user)


def tokens_me(state: State, request: Request) -> dict:
    token = request.token
    with state.lock:
        org = state.orgs[token.org_id]
        client = state.oauth_clients[token.client_id]
        org_ref = {"id": org["id"], "name": org["name"]}
        client_org = state.orgs.get(client["_org_id"] or "")
        return {
            "organization": org_ref,
            "homeOrganization": org_ref,
            "authorizedScope": token.scopes,
            "OAuthClient": {
                "id": client["id"],
                "name": client["name"],
                "authorizedGrantType": client["authorizedGrantType"],
                "state": client["state"],
                "dateCreated": client["dateCreated"],
                "organization": {"id": client_org["id"], "name": client_org["name"]} if client_org else None,
            },
        }


def organizations_me(state: State, request: Request) -> dict:
    with state.lock:
        return state.orgs[request.token.org_id]


def products(state: State, request: Request) -> dict:
    """Purchased products. The premium type id is listed while it is available (a simulator choice: which product
    ids a real org lists for a premium app is not documented)."""
    ids = list(BASE_PRODUCTS)
    if state.config.get("premium_type_id"):
        ids.append(state.config["premium_type_id"])
    return {
        "entities": [{"id": product} for product in ids],
        "pageSize": 25,
        "pageNumber": 1,
        "total": len(ids),
        "pageCount": math.ceil(len(ids) / 25),
    }


def list_queues(state: State, request: Request) -> dict:
    """`pageNumber`, `pageSize` (25 by default, at most 500), `sortOrder`, `name` (with `*`), `id`, `divisionId`."""
    require_permission(state, request, "routing:queue:view")
    ids, division_ids, name = set(request.arg_list("id")), set(request.arg_list("divisionId")), request.arg("name")
    with state.lock:
        queues = [
            queue
            for queue in state.queues.values()
            if queue["_org_id"] == request.token.org_id
            and name_matches(name, queue["name"])
            and (not ids or queue["id"] in ids)
            and (not division_ids or queue["division"]["id"] in division_ids)
        ]
    queues.sort(key=lambda queue: queue["name"].lower(), reverse=(request.arg("sortOrder") or "").lower() == "desc")
    return page_listing(queues, request)


def get_queue(state: State, request: Request) -> dict:
    require_permission(state, request, "routing:queue:view")
    with state.lock:
        queue = state.queues.get(request.path_params["queueId"])
    if queue is None or queue["_org_id"] != request.token.org_id:
        raise ApiError(404, "Queue not found.", "not.found", entity_id=request.path_params["queueId"])
    return queue


def put_queue(state: State, request: Request) -> dict:
    """`PUT /api/v2/routing/queues/{queueId}` (`routing:queue:edit`): what an admin's rename in Genesys does. Only
    `name` and `description` are applied here. A name another queue of the org has is refused with 400: Genesys keeps
    queue names unique per org, but its exact status and message for a clash are uncertain."""
    require_permission(state, request, "routing:queue:edit")
    body = request.json_object()
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise bad_request("A queue needs a name.", "invalid.value", "name")
    with state.lock:
        queue = state.queues.get(request.path_params["queueId"])
        if queue is None or queue["_org_id"] != request.token.org_id:
            raise ApiError(404, "Queue not found.", "not.found", entity_id=request.path_params["queueId"])
        clash = any(
            other["_org_id"] == queue["_org_id"]
            and other["id"] != queue["id"]
            and other["name"].lower() == name.lower()
            for other in state.queues.values()
        )
        if clash:
            raise bad_request(f"A queue named '{name}' already exists.", "duplicate.value", "name")
        queue.update(name=name.strip(), description=str(body.get("description") or queue["description"]))
        queue["dateModified"] = iso()
        return queue
