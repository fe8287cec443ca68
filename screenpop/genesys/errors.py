"""Every failure of a Genesys Cloud call, for the install, the queue sync and the panel alike: one family.

`screenpop.genesys.transport.error_from` (SDK calls) and `screenpop.genesys.client` (the panel's small HTTP client)
map each failure (an HTTP status, a transport error) to exactly one subclass; `detail` says what happened and what
to do.
"""

from __future__ import annotations

from typing import Any

from screenpop.errors import UpstreamError


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
    """401, or a login that failed: the token is missing, expired or revoked, the code was refused, or the client
    was refused. The user must log in again."""

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
    """429 after the bounded retries: Genesys asks to wait `retry_after` seconds (a kind of unavailability)."""

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
