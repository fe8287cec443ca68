"""Login (`/oauth/token`, `/oauth/authorize`), bearer-token checks and permissions (reference §3, §4).

Tokens are opaque random strings remembered with their organisation, OAuth client, user (none for client
credentials), scopes and expiry. Scopes are recorded and reported by `tokens/me` but not enforced; permissions
are, from the user's roles or the client's `roleDivisions` (knob `enforce_permissions`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from urllib.parse import urlencode

from simulators.genesys.seed import IMPLICIT_CLIENT_ID
from simulators.genesys.state import State, Token, past
from simulators.genesys.web import ApiError, Request, Response, Router

CODE_LIFETIME_SECONDS = 300


def register(router: Router) -> None:
    router.add("POST", "/oauth/token", token_endpoint, authenticated=False)
    router.add("GET", "/oauth/authorize", authorize_endpoint, authenticated=False)
    router.add("POST", "/_sim/tokens", mint_token_control, authenticated=False)


def oauth_error(status: int, error: str, description: str) -> Response:
    """Login-service errors use the OAuth 2 shape, not the platform `ErrorBody`."""
    return Response(status, {"error": error, "description": description, "error_description": description})


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("Authorization") or ""
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        client_id, _, secret = base64.b64decode(encoded.strip()).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return client_id, secret


def _client_by_secret(state: State, credentials: tuple[str, str] | None) -> dict | Response:
    if credentials is None:
        return oauth_error(401, "invalid_client", "Basic authentication with the client id and secret is required.")
    client = state.oauth_clients.get(credentials[0])
    if client is None or not hmac.compare_digest(client["_secret"], credentials[1]):
        return oauth_error(401, "invalid_client", "client not found or bad client secret")
    if client["state"] != "active":
        return oauth_error(401, "invalid_client", f"client is {client['state']}")
    return client


def issue_token(
    state: State, client: dict, *, org_id: str, user_id: str | None, grant: str, expires_in: int | None = None
) -> Token:
    lifetime = client["accessTokenValiditySeconds"] if expires_in is None else expires_in
    token = Token(
        value=secrets.token_urlsafe(32),
        org_id=org_id,
        client_id=client["id"],
        user_id=user_id,
        scopes=list(client.get("scope") or []),
        grant=grant,
        expires_at=time.time() + lifetime,
    )
    with state.lock:
        state.tokens[token.value] = token
    return token


def _token_response(token: Token, refresh_token: str | None = None) -> Response:
    body = {
        "access_token": token.value,
        "token_type": "bearer",
        "expires_in": max(0, int(token.expires_at - time.time())),
    }
    if refresh_token:
        body["refresh_token"] = refresh_token
    return Response(200, body)


def _issue_refresh_token(state: State, token: Token) -> str:
    value = secrets.token_urlsafe(32)
    state.refresh_tokens[value] = {"client_id": token.client_id, "user_id": token.user_id, "org_id": token.org_id}
    return value


def token_endpoint(state: State, request: Request) -> Response:
    content_type = (request.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        return oauth_error(400, "invalid_request", "The token endpoint takes application/x-www-form-urlencoded only.")
    form = request.form()
    grant = form.get("grant_type")
    with state.lock:
        if grant == "client_credentials":
            client = _client_by_secret(state, _basic_credentials(request))
            if isinstance(client, Response):
                return client
            if client["authorizedGrantType"] != "CLIENT-CREDENTIALS" or client["_org_id"] is None:
                return oauth_error(400, "unauthorized_client", "client is not a client-credentials client")
            return _token_response(issue_token(state, client, org_id=client["_org_id"], user_id=None, grant=grant))
        if grant == "authorization_code":
            return _exchange_code(state, request, form)
        if grant == "refresh_token":
            client = _client_by_secret(state, _basic_credentials(request))
            if isinstance(client, Response):
                return client
            grant_record = state.refresh_tokens.pop(form.get("refresh_token", ""), None)
            if grant_record is None or grant_record["client_id"] != client["id"]:
                return oauth_error(400, "invalid_grant", "refresh token not found")
            token = issue_token(
                state, client, org_id=grant_record["org_id"], user_id=grant_record["user_id"], grant=grant
            )
            return _token_response(token, _issue_refresh_token(state, token))
    return oauth_error(400, "unsupported_grant_type", f"grant_type {grant!r} is not supported")


def _exchange_code(state: State, request: Request, form: dict[str, str]) -> Response:
    code = state.auth_codes.pop(form.get("code", ""), None)
    if code is None or code["expires_at"] < time.time():
        return oauth_error(400, "invalid_grant", "authorization code not found or expired")
    basic = _basic_credentials(request)
    if basic is not None:
        client = _client_by_secret(state, basic)
        if isinstance(client, Response):
            return client
    else:
        # PKCE: no secret, but the client id and the verifier whose S256 hash was given at /oauth/authorize.
        verifier, client = form.get("code_verifier"), state.oauth_clients.get(form.get("client_id", ""))
        if client is None or not verifier:
            return oauth_error(401, "invalid_client", "PKCE requires client_id and code_verifier (or Basic auth)")
        if not code["challenge"]:
            return oauth_error(400, "invalid_grant", "this code was issued without a code_challenge")
        if not 43 <= len(verifier) <= 128 or not hmac.compare_digest(pkce_challenge(verifier), code["challenge"]):
            return oauth_error(400, "invalid_grant", "code_verifier does not match the code_challenge")
    if client["id"] != code["client_id"]:
        return oauth_error(400, "invalid_grant", "the code was issued to another client")
    if client["state"] != "active":
        return oauth_error(401, "invalid_client", f"client is {client['state']}")
    if form.get("redirect_uri") != code["redirect_uri"]:
        return oauth_error(400, "invalid_grant", "redirect_uri does not match the one used to get the code")
    token = issue_token(state, client, org_id=code["org_id"], user_id=code["user_id"], grant="authorization_code")
    return _token_response(token, _issue_refresh_token(state, token))


def pkce_challenge(verifier: str) -> str:
    """base64url(SHA-256(verifier)) without padding, as `compute_pkce_code_challenge` in the SDK."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).decode().rstrip("=")


def login_user(state: State, *, login_hint: str | None, org_reference: str | None) -> dict | None:
    """Who /oauth/authorize logs in: `login_hint` (id or email), else the first agent of `org`, else the
    `default_login_user` knob, else the first agent of the first organisation."""
    if login_hint:
        return state.user_for(login_hint)
    with state.lock:
        if org_reference:
            org = state.org_for(org_reference)
            org_id = org["id"] if org else None
            return next((u for u in state.users.values() if u["_org_id"] == org_id and u["_agent"]), None)
        if state.config.get("default_login_user"):
            return state.user_for(state.config["default_login_user"])
        return next((user for user in state.users.values() if user["_agent"]), None)


def _redirect(uri: str, params: dict[str, str], *, fragment: bool) -> Response:
    encoded = urlencode({key: value for key, value in params.items() if value is not None})
    separator = "#" if fragment else ("&" if "?" in uri else "?")
    return Response(302, None, headers={"Location": f"{uri}{separator}{encoded}"}, content_type="text/plain")


def authorize_endpoint(state: State, request: Request) -> Response:
    """Browser login with automatic sign-in (no login page): implicit (`response_type=token`) or code (+ PKCE)."""
    client = state.oauth_clients.get(request.arg("client_id") or "")
    redirect_uri = request.arg("redirect_uri") or ""
    if client is None:
        return oauth_error(400, "invalid_client", "client not found")
    if redirect_uri not in client["registeredRedirectUri"]:
        # Never redirect to an unregistered URI: exact match, query string included (reference §3).
        return oauth_error(400, "invalid_request", f"redirect_uri {redirect_uri!r} is not registered for this client")
    response_type, client_state = request.arg("response_type"), request.arg("state")
    fragment = response_type == "token"
    expected = {"token": "TOKEN", "code": "CODE"}.get(response_type or "")
    if expected is None or client["authorizedGrantType"] != expected:
        return _redirect(redirect_uri, {"error": "unsupported_response_type", "state": client_state}, fragment=fragment)
    if client["state"] != "active" or (fragment and past(state.config.get("implicit_grant_until"))):
        # From `implicit_grant_until`, implicit-grant clients log nobody in (reference §12).
        return _redirect(redirect_uri, {"error": "unauthorized_client", "state": client_state}, fragment=fragment)
    user = login_user(state, login_hint=request.arg("login_hint"), org_reference=request.arg("org"))
    if user is None or (client["_org_id"] and client["_org_id"] != user["_org_id"]):
        return _redirect(redirect_uri, {"error": "access_denied", "state": client_state}, fragment=fragment)
    if response_type == "token":
        token = issue_token(state, client, org_id=user["_org_id"], user_id=user["id"], grant="implicit")
        params = {
            "access_token": token.value,
            "expires_in": str(client["accessTokenValiditySeconds"]),
            "token_type": "bearer",
            "state": client_state,
        }
        return _redirect(redirect_uri, params, fragment=True)
    challenge, method = request.arg("code_challenge"), request.arg("code_challenge_method")
    if challenge and method != "S256":
        return _redirect(redirect_uri, {"error": "invalid_request", "state": client_state}, fragment=False)
    code = secrets.token_urlsafe(24)
    with state.lock:
        state.auth_codes[code] = {
            "client_id": client["id"],
            "user_id": user["id"],
            "org_id": user["_org_id"],
            "redirect_uri": redirect_uri,
            "challenge": challenge,
            "expires_at": time.time() + CODE_LIFETIME_SECONDS,
        }
    return _redirect(redirect_uri, {"code": code, "state": client_state}, fragment=False)


def authenticate(state: State, request: Request) -> Token:
    """The bearer token of an /api/v2 request, or 401 in the platform's words."""
    scheme, _, value = (request.headers.get("Authorization") or "").partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise ApiError(
            401, "No authentication bearer token specified in authorization header.", "authentication.required"
        )
    with state.lock:
        token = state.tokens.get(value.strip())
        client = state.oauth_clients.get(token.client_id) if token else None
    if token is None or token.expired or client is None or client["state"] != "active":
        raise ApiError(401, "Invalid login credentials.", "bad.credentials")
    if token.grant == "implicit" and past(state.config.get("implicit_grant_until")):
        raise ApiError(401, "Implicit-grant tokens are no longer accepted.", "bad.credentials")
    return token


def role_ids_for(state: State, token: Token) -> list[str]:
    with state.lock:
        if token.user_id:
            return [role["id"] for role in state.roles.values() if token.user_id in role["_user_ids"]]
        client = state.oauth_clients.get(token.client_id) or {}
        ids = [division["roleId"] for division in client.get("roleDivisions") or []] + list(client.get("roleIds") or [])
        return [role_id for role_id in dict.fromkeys(ids) if role_id in state.roles]


def permissions_for(state: State, token: Token) -> list[str]:
    """`domain:entity:action` strings granted by the token's roles (a `*` segment grants everything there)."""
    granted = []
    with state.lock:
        for role_id in role_ids_for(state, token):
            for policy in state.roles[role_id]["permissionPolicies"]:
                for action in policy.get("actionSet") or []:
                    granted.append(f"{policy['domain']}:{policy['entityName']}:{action}")
    return list(dict.fromkeys(granted))


def _grants(granted: str, required: str) -> bool:
    return all(have in ("*", need) for have, need in zip(granted.split(":"), required.split(":"), strict=False))


def require_permission(state: State, request: Request, *any_of: str) -> None:
    """403 `missing.permissions` unless the token holds one of `any_of` (reference §4 names them per endpoint)."""
    if not state.config.get("enforce_permissions", True):
        return
    granted = permissions_for(state, request.token)
    if any(_grants(have, need) for have in granted for need in any_of):
        return
    listed = ", ".join(any_of)
    raise ApiError(
        403,
        f"Unable to perform the requested action. You are missing the following permission(s): [{listed}]",
        "missing.permissions",
        message_params={"permissions": listed},
    )


def require_user(request: Request) -> str:
    """The token's user id; client-credentials tokens have no user context (reference §4, `users/me`)."""
    if request.token.user_id is None:
        raise ApiError(
            400,
            "This request requires a user context. Client credentials cannot be used for requests to this resource.",
            "bad.request",
        )
    return request.token.user_id


def mint_token_control(state: State, request: Request) -> dict:
    """`POST /_sim/tokens {"user"?, "org"?, "client_id"?, "expires_in"?}`: a token without the browser dance,
    e.g. an already-expired one (`expires_in: 0`). With `user`: a user token through the client (default: the
    seeded implicit client); without: a client-credentials token of the org's (default: first org's) admin client.
    """
    body = request.json(required=False) or {}
    if body.get("user"):
        user = state.user_for(str(body["user"]))
        if user is None:
            raise ApiError(404, f"No user {body['user']!r}", "not.found")
        client_id, org_id = body.get("client_id") or IMPLICIT_CLIENT_ID, user["_org_id"]
    else:
        org = state.org_for(body.get("org"))
        if org is None:
            raise ApiError(404, f"No organisation {body.get('org')!r}", "not.found")
        with state.lock:
            default_client = next(
                (
                    client["id"]
                    for client in state.oauth_clients.values()
                    if client["_org_id"] == org["id"] and client["authorizedGrantType"] == "CLIENT-CREDENTIALS"
                ),
                None,
            )
        user, client_id, org_id = None, body.get("client_id") or default_client, org["id"]
    client = state.oauth_clients.get(client_id or "")
    if client is None:
        raise ApiError(404, f"No OAuth client {client_id!r}", "not.found")
    token = issue_token(
        state,
        client,
        org_id=org_id,
        user_id=user["id"] if user else None,
        grant="implicit" if user else "client_credentials",
        expires_in=body.get("expires_in"),
    )
    return {
        "access_token": token.value,
        "token_type": "bearer",
        "expires_in": max(0, round(token.expires_at - time.time())),
        "user_id": token.user_id,
        "org_id": token.org_id,
        "client_id": token.client_id,
    }
