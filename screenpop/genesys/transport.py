"""The transport under `GenesysApi`: importing the SDK, its HTTP pool (timeouts, bounded 429 retries), PKCE and the
authorize URL, and the mapping of failures to `screenpop.genesys.errors`.

Transport, on purpose unlike the SDK's defaults:
- explicit timeouts (the SDK sets none);
- 429 (and 503 with `Retry-After`) retried at most `STATUS_RETRIES` times, and only when `Retry-After` is at most
  `MAX_RETRY_WAIT_SECONDS`: the SDK's default `Retry()` would wait up to ten times a minute inside a web request.
  Past that, the 429 surfaces as `GenesysRateLimited(retry_after=...)`, which the wizard and the sync report;
- a request whose answer was lost is not re-sent (POSTs are not idempotent).
"""

from __future__ import annotations

import base64
import hashlib
import importlib
import json
import secrets
import threading
from types import ModuleType
from typing import Any
from urllib.parse import urlencode, urlsplit

import certifi
import urllib3

from screenpop.genesys.errors import (
    GenesysAuthError,
    GenesysConflict,
    GenesysError,
    GenesysNotFound,
    GenesysPermissionError,
    GenesysRateLimited,
    GenesysRequestRefused,
    GenesysUnavailable,
)
from screenpop.validation import genesys_base_url

CONNECT_TIMEOUT_SECONDS = 5.0
READ_TIMEOUT_SECONDS = 30.0
STATUS_RETRIES = 3
MAX_RETRY_WAIT_SECONDS = 10

_sdk_lock = threading.Lock()
_sdk_module: ModuleType | None = None


def sdk() -> ModuleType:
    """`PureCloudPlatformClientV2`, imported on first use."""
    global _sdk_module
    with _sdk_lock:
        if _sdk_module is None:
            module = importlib.import_module("PureCloudPlatformClientV2")
            configuration = module.Configuration()  # the process-wide singleton, made at import
            # Its ~/.genesyscloudpython/config may turn on request logging (bearer tokens, credential secrets) and is
            # watched for changes (recursively from ~ when the directory is missing): neither belongs in a server.
            configuration.logger.log_level = importlib.import_module("PureCloudPlatformClientV2.logger").LogLevel.LNone
            configuration.live_reload_config = False
            observer = getattr(configuration, "_observer", None)
            if observer is not None:
                observer.unschedule_all()
            _sdk_module = module
        return _sdk_module


# PKCE and the authorize URL need no SDK: the wizard's first page stays light.


def pkce_verifier() -> str:
    """A PKCE code verifier: 86 characters of [A-Za-z0-9_-] (43-128 allowed)."""
    return secrets.token_urlsafe(64)


def pkce_challenge(verifier: str) -> str:
    """base64url(SHA-256(verifier)) without padding (S256)."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).decode().rstrip("=")


def authorize_url(
    *, environment: str, client_id: str, redirect_uri: str, state: str, code_challenge: str, login_hint: str = ""
) -> str:
    """Genesys's login page for the authorization-code grant with PKCE, in `environment` (allow-listed);
    `login_hint` pre-fills who logs in (the simulator signs that user in)."""
    query = {
        "client_id": client_id,
        "response_type": "code",
        "redirect_uri": redirect_uri,
        "state": state,
        "code_challenge": code_challenge,
        "code_challenge_method": "S256",
    }
    if login_hint:
        query["login_hint"] = login_hint
    return f"{genesys_base_url(environment, service='login')}/oauth/authorize?{urlencode(query)}"


class _BoundedRetry(urllib3.util.Retry):
    """Retries a 429/503 only when its `Retry-After` is short; a long one ends the retries at once, so the caller
    gets the 429 (with its `Retry-After`) instead of a request that hangs for minutes."""

    def increment(self, method: Any = None, url: Any = None, response: Any = None, *args: Any, **kwargs: Any) -> Any:
        if response is not None:
            wait = self.get_retry_after(response)
            if wait is not None and wait > MAX_RETRY_WAIT_SECONDS:
                raise urllib3.exceptions.MaxRetryError(kwargs.get("_pool"), url, f"Retry-After {wait:.0f} s")
        return super().increment(method, url, response, *args, **kwargs)


def _pool_manager() -> urllib3.PoolManager:
    retries = _BoundedRetry(
        total=STATUS_RETRIES + 2,
        connect=2,
        read=0,
        status=STATUS_RETRIES,
        other=0,
        allowed_methods=None,  # any method: a 429 or 503 was not processed
        status_forcelist=(),  # only statuses with Retry-After (413/429/503) are retried
        backoff_factor=0.5,
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    return urllib3.PoolManager(
        num_pools=2,
        maxsize=4,
        retries=retries,
        timeout=urllib3.Timeout(connect=CONNECT_TIMEOUT_SECONDS, read=READ_TIMEOUT_SECONDS),
        cert_reqs="CERT_REQUIRED",
        ca_certs=certifi.where(),
    )


def api_client(environment: str) -> Any:
    module = sdk()
    client = module.ApiClient(host=genesys_base_url(environment))
    # A developer's ~/.genesyscloudpython/config must not send our calls (and tokens) elsewhere.
    client.gateway_configuration = None
    http_client = importlib.import_module("PureCloudPlatformClientV2.default_http_client").DefaultHttpClient()
    http_client.rest_client.pool_manager = _pool_manager()
    client.set_http_client(http_client)
    return client


def presigned_upload(url: str, headers: dict[str, str], content: bytes) -> None:
    """PUT `content` to a presigned storage URL Genesys handed out (an Architect job's upload). Nothing of ours is
    sent but the headers Genesys chose, so the URL needs no allow-list; only HTTP(S) is accepted. Raises
    `GenesysUnavailable` when the upload does not arrive, `GenesysRequestRefused` when storage refuses it."""
    if urlsplit(url).scheme not in ("https", "http"):
        raise GenesysRequestRefused(f"Genesys Cloud gave an upload URL that is not HTTP(S): {url[:80]!r}.")
    try:
        response = _pool_manager().request(
            "PUT", url, body=content, headers=headers, retries=False, redirect=False, preload_content=True
        )
    except urllib3.exceptions.HTTPError as error:
        raise GenesysUnavailable(f"The workflow did not reach Genesys Cloud ({error}). Try again.") from error
    if not 200 <= response.status < 300:
        raise GenesysRequestRefused(
            f"Genesys Cloud's storage refused the workflow upload ({response.status}): {response.data[:300]!r}.",
            status=response.status,
        )


def _error_body(exception: Any) -> dict[str, Any]:
    try:
        body = json.loads(exception.body or "{}")
    except (TypeError, ValueError):
        return {}
    return body if isinstance(body, dict) else {}


def error_from(exception: Exception, what: str) -> GenesysError:
    """The domain error for a failed SDK call. `what` names the operation for the message ("list queues")."""
    if isinstance(exception, urllib3.exceptions.HTTPError):
        return GenesysUnavailable(
            f"Genesys Cloud could not be reached to {what} ({type(exception).__name__}: {exception}). "
            "Check the network and try again."
        )
    status = getattr(exception, "status", None)
    headers = getattr(exception, "headers", None) or {}
    body = _error_body(exception)
    message = str(body.get("message") or body.get("error_description") or getattr(exception, "reason", "") or "")
    common = {
        "status": status,
        "genesys_code": body.get("code") or body.get("error"),
        "context_id": body.get("contextId") or headers.get("inin-correlation-id"),
    }
    said = f"Genesys Cloud answered {status} to {what}" + (f": {message}" if message else "")
    if status == 401:
        return GenesysAuthError(f"{said}. Log in again (the session may have expired).", **common)
    if status == 403:
        return GenesysPermissionError(
            f"{said}. Ask a Genesys Cloud admin for a role with the missing permission, then log in again.", **common
        )
    if status == 404:
        return GenesysNotFound(f"{said}.", **common)
    if status == 409:
        return GenesysConflict(f"{said}.", **common)
    if status == 429:
        try:
            retry_after = int(float(headers.get("Retry-After") or 60))
        except ValueError:
            retry_after = 60
        return GenesysRateLimited(
            f"Genesys Cloud is limiting this app's requests (429) while trying to {what}. "
            f"Nothing was lost: try again in {retry_after} second{'' if retry_after == 1 else 's'}.",
            retry_after=retry_after,
            **common,
        )
    if status is None or status == 0 or status >= 500:
        return GenesysUnavailable(f"{said or 'Genesys Cloud failed to ' + what}. Try again in a moment.", **common)
    return GenesysRequestRefused(f"{said}.", **common)


def is_transport_or_api_error(exception: Exception) -> bool:
    if isinstance(exception, urllib3.exceptions.HTTPError):
        return True
    return type(exception).__name__ == "ApiException" and hasattr(exception, "status")
