"""What can go wrong while installing, syncing or removing the app, as domain errors (`ScreenpopError` kinds).

`genesys.py` maps every Genesys failure (an `ApiException` of the SDK, a transport error) to exactly one
`GenesysError` subclass; the wizard shows `detail`, which says what happened and what to do.
"""

from __future__ import annotations

from typing import Any

from screenpop.errors import ScreenpopError, UpstreamError


class GenesysError(UpstreamError):
    """A Genesys Cloud call failed. `status` is the HTTP status (None without a response), `genesys_code` the
    platform's error code (`missing.permissions`, `conflict`, ...), `context_id` its correlation id for support."""

    code = "genesys_error"

    def __init__(
        self,
        detail: str,
        *,
        status: int | None = None,
        genesys_code: str | None = None,
        context_id: str | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail, **extra)
        self.status = status
        self.genesys_code = genesys_code
        self.context_id = context_id


class GenesysAuthError(GenesysError):
    """401, or a login that failed: the token is missing, expired or revoked, or the client was refused."""

    status_code = 401
    code = "genesys_auth"


class GenesysPermissionError(GenesysError):
    """403: the token's user or client lacks a permission."""

    status_code = 403
    code = "genesys_permission"


class GenesysNotFound(GenesysError):
    status_code = 404
    code = "genesys_not_found"


class GenesysConflict(GenesysError):
    """409: the object changed in Genesys since it was read (its `version` moved on), even after one re-read."""

    status_code = 409
    code = "genesys_conflict"


class GenesysRateLimited(GenesysError):
    """429 after the bounded retries: Genesys asks to wait `retry_after` seconds."""

    status_code = 503
    code = "genesys_rate_limited"

    def __init__(self, detail: str, *, retry_after: int, **kwargs: Any) -> None:
        super().__init__(detail, **kwargs)
        self.retry_after = retry_after


class GenesysUnavailable(GenesysError):
    """5xx, timeout or connection failure: Genesys may answer a later retry."""

    status_code = 503
    code = "genesys_unavailable"


class GenesysRequestRefused(GenesysError):
    """400 and other 4xx: Genesys refused the request itself (its message says why)."""

    code = "genesys_request_refused"


class InstallNotPossible(ScreenpopError):
    """A precondition of the install is not met (product not available, permissions missing, no Freshdesk...)."""

    status_code = 409
    code = "install_not_possible"
