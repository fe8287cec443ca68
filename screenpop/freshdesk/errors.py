"""What can go wrong when talking to Freshdesk, as domain errors (kinds of `screenpop.errors.UpstreamError`).

The client maps every HTTP status and every transport failure to exactly one of these, so callers decide on
retries by type: `FreshdeskTransientError` and `FreshdeskRateLimited` are worth retrying later; the others need a
person (a wrong key, a wrong domain, a request the account refuses).
"""

from __future__ import annotations

from typing import Any

from screenpop.errors import UpstreamError


class FreshdeskError(UpstreamError):
    """A Freshdesk call failed. `status` is the HTTP status when there was a response, `freshdesk_code` the
    machine code Freshdesk gave (`invalid_credentials`, `access_denied`, ...) when it gave one."""

    code = "freshdesk_error"

    def __init__(
        self,
        detail: str,
        *,
        status: int | None = None,
        freshdesk_code: str | None = None,
        field: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(detail, field=field, code=code)
        self.status = status
        self.freshdesk_code = freshdesk_code


class FreshdeskAuthError(FreshdeskError):
    """401/403: the API key is wrong, its agent lacks the permission, or the plan lacks the feature or the API."""

    code = "freshdesk_auth"


class FreshdeskNotFound(FreshdeskError):
    """404 (a ticket id that does not exist, or a domain with no helpdesk behind it), or a redirect elsewhere."""

    code = "freshdesk_not_found"


class FreshdeskRateLimited(FreshdeskError):
    """The account's per-minute budget is spent, by Freshdesk's 429 or by our own budget before sending.

    `retry_after` is how many seconds to wait before the account can take another call.
    """

    status_code = 503
    code = "freshdesk_rate_limited"

    def __init__(self, detail: str, *, retry_after: float, status: int | None = None, **kwargs: Any) -> None:
        super().__init__(detail, status=status, **kwargs)
        self.retry_after = max(0.0, float(retry_after))


class FreshdeskTransientError(FreshdeskError):
    """Timeout, connection failure, 5xx or an unreadable answer: Freshdesk may well answer a later retry."""

    status_code = 503
    code = "freshdesk_unavailable"


class FreshdeskInvalidRequest(FreshdeskError):
    """400/405/406/409/415 (and other 4xx): Freshdesk refused the request itself.

    `errors` is Freshdesk's `errors[]` list (`{"field", "message", "code"}` dicts) when it sent one, else empty.
    """

    code = "freshdesk_invalid_request"

    def __init__(self, detail: str, *, errors: list[dict[str, Any]] | None = None, **kwargs: Any) -> None:
        super().__init__(detail, **kwargs)
        self.errors: list[dict[str, Any]] = list(errors or [])
