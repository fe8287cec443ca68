"""What a webhook request carries, read the same way by both entry points (the ASGI fast path and the DRF view)."""

from __future__ import annotations

from datetime import UTC, datetime

from screenpop.errors import ValidationFailed
from screenpop.webhook.events import event_parse
from screenpop.webhook.recorder import Submission
from screenpop.webhook.signing import SignedRequest


def credentials_from_headers(headers: dict[str, str]) -> tuple[str | None, SignedRequest | None]:
    authorization = headers.get("authorization", "")
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip(), None
    signature = headers.get("x-screenpop-signature")
    if signature:
        signed = SignedRequest(
            org_id=headers.get("x-screenpop-org", ""),
            timestamp=headers.get("x-screenpop-timestamp", ""),
            signature=signature,
        )
        return None, signed
    return None, None


def submission_from_request(*, body: bytes, headers: dict[str, str]) -> Submission:
    """A submission from a request's raw body and lower-cased headers."""
    bearer, signed = credentials_from_headers(headers)
    try:
        event, error = event_parse(body), None
    except ValidationFailed as failure:
        event, error = None, failure
    return Submission(received_at=datetime.now(UTC), body=body, bearer=bearer, signed=signed, event=event, error=error)
