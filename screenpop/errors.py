"""The one domain error type of screenpop, and its kinds.

Every failure the product can explain is a `ScreenpopError`: it carries an HTTP status (used by the single DRF
exception handler and by the webhook's fast path), a machine-readable `code`, the `field` it concerns when there is
one, and a `detail` sentence that says what was wrong and what to do about it.
"""

from __future__ import annotations

from typing import Any


class ScreenpopError(Exception):
    status_code: int = 400
    code: str = "invalid"

    def __init__(self, detail: str, *, field: str | None = None, code: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        if code is not None:
            self.code = code
        self.extra = extra

    def with_status(self, status_code: int) -> ScreenpopError:
        self.status_code = status_code
        return self

    def as_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.code, "detail": self.detail}
        if self.field is not None:
            body["field"] = self.field
        body.update(self.extra)
        return body


class ValidationFailed(ScreenpopError):
    status_code = 422
    code = "validation_failed"


class NotAuthenticated(ScreenpopError):
    status_code = 401
    code = "not_authenticated"


class PermissionDenied(ScreenpopError):
    status_code = 403
    code = "permission_denied"


class NotFound(ScreenpopError):
    status_code = 404
    code = "not_found"


class UpstreamError(ScreenpopError):
    """A call to Freshdesk or Genesys failed; subclasses say how."""

    status_code = 502
    code = "upstream_error"
