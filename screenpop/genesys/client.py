"""A small Genesys Cloud HTTP client for the panel's login: the agent's identity, a conversation, a PKCE exchange.
It raises `screenpop.genesys.errors` kinds, like the install's SDK-based `api`.

The Python SDK is not used here: importing it costs ~2 s and ~200 MB per process (DESIGN.md §7), for three GETs
and a POST. One pooled `requests.Session` per environment; the agent's token is passed per call and never kept.
Timeouts are explicit; 429/502/503/504 are retried once after a short wait (the agent is waiting on the panel).
Only allowed environments get a client: `genesys_base_url` raises for anything else.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from typing import Any
from urllib.parse import quote

import requests

from screenpop.cpu import waiting
from screenpop.genesys.errors import (
    GenesysAuthError,
    GenesysError,
    GenesysNotFound,
    GenesysPermissionError,
    GenesysRateLimited,
    GenesysRequestRefused,
    GenesysUnavailable,
)
from screenpop.validation import genesys_base_url

logger = logging.getLogger("screenpop.genesys.client")

CONNECT_TIMEOUT_SECONDS = 3.05
READ_TIMEOUT_SECONDS = 6.0
RETRY_STATUSES = frozenset({429, 502, 503, 504})
MAX_RETRY_WAIT_SECONDS = 2.0
# RFC 6750's b64token: a token outside it cannot go into a header (non-Latin-1 text made http.client raise).
BEARER_TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")


class GenesysClient:
    """Calls with a user's bearer token against one environment (`mypurecloud.ie`, or a simulator's host:port)."""

    def __init__(self, environment: str, *, session: requests.Session | None = None) -> None:
        self.environment = environment
        self.api_url = genesys_base_url(environment, service="api")
        self.login_url = genesys_base_url(environment, service="login")
        self.session = session or requests.Session()
        self.session.headers.update({"Accept": "application/json", "User-Agent": "screenpop-panel"})

    def __repr__(self) -> str:
        return f"GenesysClient({self.environment!r})"

    def users_me(self, access_token: str) -> dict[str, Any]:
        """`GET /api/v2/users/me?expand=organization,token`: the user, their organisation, and the token's OAuth
        client (`token.OAuthClient.id`). Raises `GenesysAuthError` for a bad or expired token."""
        return self._get("/api/v2/users/me", access_token, params={"expand": "organization,token"})

    def conversation(self, access_token: str, conversation_id: str) -> dict[str, Any]:
        """`GET /api/v2/conversations/{id}` with its participants. Raises `GenesysNotFound` (unknown),
        `GenesysPermissionError` (another organisation's, or `missing.permissions`)."""
        return self._get(f"/api/v2/conversations/{quote(conversation_id, safe='')}", access_token)

    def call_create(self, access_token: str, phone_number: str) -> dict[str, Any]:
        """`POST /api/v2/conversations/calls {"phoneNumber"}` as the token's user (their own phone dials):
        `{"id", ...}`, the new conversation. Raises `GenesysAuthError`, `GenesysPermissionError`,
        `GenesysRequestRefused` (Genesys refused the number or the user's phone)."""
        return self._json(
            self._send(
                "POST",
                f"{self.api_url}/api/v2/conversations/calls",
                json={"phoneNumber": phone_number},
                headers=self._bearer(access_token),
                idempotent=False,
            )
        )

    def token_from_code(self, *, client_id: str, code: str, code_verifier: str, redirect_uri: str) -> dict[str, Any]:
        """`POST login.<env>/oauth/token` with a PKCE code (no client secret): `{access_token, expires_in, ...}`.
        Raises `GenesysAuthError` when Genesys refuses the code."""
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": code_verifier,
            "client_id": client_id,
            "redirect_uri": redirect_uri,
        }
        return self._token(form, refused="Genesys Cloud refused the login code; sign in again.")

    def token_from_client_credentials(self, *, client_id: str, client_secret: str) -> dict[str, Any]:
        """`POST login.<env>/oauth/token` with `grant_type=client_credentials` (Basic auth): `{access_token,
        expires_in, ...}`. Raises `GenesysAuthError` when Genesys refuses the client or its secret."""
        return self._token(
            {"grant_type": "client_credentials"},
            auth=(client_id, client_secret),
            refused="Genesys Cloud refused the client's credentials.",
        )

    def _token(self, form: dict[str, str], *, refused: str, auth: tuple[str, str] | None = None) -> dict[str, Any]:
        response = self._send("POST", f"{self.login_url}/oauth/token", data=form, auth=auth)
        if response.status_code in (400, 401):
            raise GenesysAuthError(refused, status=response.status_code)
        body = self._json(response)
        if not isinstance(body.get("access_token"), str):
            raise GenesysRequestRefused(
                "Genesys Cloud's token response has no access_token.", status=response.status_code
            )
        return body

    def _get(self, path: str, access_token: str, *, params: dict[str, str] | None = None) -> dict[str, Any]:
        response = self._send("GET", f"{self.api_url}{path}", params=params, headers=self._bearer(access_token))
        return self._json(response)

    def _bearer(self, access_token: str) -> dict[str, str]:
        if not BEARER_TOKEN.fullmatch(access_token):
            raise GenesysAuthError("This is not a Genesys Cloud access token; sign in again.")
        return {"Authorization": f"Bearer {access_token}"}

    def _send(self, method: str, url: str, *, idempotent: bool = True, **kwargs: Any) -> requests.Response:
        """Send once, and once more after a failure that may pass; a request that is not `idempotent` (placing a
        call) is sent again only after a 429, which refused it: a 5xx or a lost connection may have placed it."""
        retry_statuses = RETRY_STATUSES if idempotent else {429}
        for attempt in (1, 2):
            try:
                with waiting():  # a lookup reading the IVR's data gives its CPU slot back meanwhile
                    response = self.session.request(
                        method,
                        url,
                        timeout=(CONNECT_TIMEOUT_SECONDS, READ_TIMEOUT_SECONDS),
                        allow_redirects=False,
                        **kwargs,
                    )
            except requests.RequestException as error:
                if attempt == 1 and idempotent and isinstance(error, requests.ConnectionError):
                    continue
                raise GenesysUnavailable(
                    f"Genesys Cloud ({self.environment}) did not answer: {type(error).__name__}."
                ) from error
            if response.status_code in retry_statuses and attempt == 1:
                with waiting():
                    time.sleep(_retry_wait(response))
                continue
            return response
        return response

    def _json(self, response: requests.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            body = None
        if 200 <= response.status_code < 300 and isinstance(body, dict):
            return body
        error_body = body if isinstance(body, dict) else {}
        genesys_code = str(error_body.get("code") or error_body.get("error") or "")
        message = str(error_body.get("message") or error_body.get("description") or response.reason or "")[:300]
        status = response.status_code
        detail = f"Genesys Cloud answered {status} {genesys_code}: {message}".strip()
        common: dict[str, Any] = {"status": status, "genesys_code": genesys_code or None}
        common["context_id"] = error_body.get("contextId") or response.headers.get("inin-correlation-id")
        if status == 429:
            raise GenesysRateLimited(detail, retry_after=_retry_after(response), **common)
        kind: type[GenesysError]
        if status == 401:
            kind = GenesysAuthError
        elif status == 403:
            kind = GenesysPermissionError
        elif status == 404:
            kind = GenesysNotFound
        elif status >= 500:
            kind = GenesysUnavailable
        else:
            kind = GenesysRequestRefused
        raise kind(detail, **common)


def _retry_after(response: requests.Response) -> int:
    """Genesys's `Retry-After` in whole seconds (1 when absent or unreadable, at most 300)."""
    try:
        return max(1, min(300, math.ceil(float(response.headers.get("Retry-After", "1")))))
    except ValueError:
        return 1


def _retry_wait(response: requests.Response) -> float:
    try:
        wanted = float(response.headers.get("Retry-After", "0.5"))
    except ValueError:
        wanted = 0.5
    return max(0.0, min(wanted, MAX_RETRY_WAIT_SECONDS))


_clients: dict[str, GenesysClient] = {}
_clients_lock = threading.Lock()


def genesys_client_for(environment: str) -> GenesysClient:
    """The process's pooled client of an allowed environment. Raises ValueError for any other."""
    with _clients_lock:
        client = _clients.get(environment)
        if client is None:
            client = _clients[environment] = GenesysClient(environment)
        return client
