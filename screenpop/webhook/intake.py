"""A webhook request as received: its credentials, its raw body and the event parsed from it (or why not)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from screenpop.errors import ValidationFailed
from screenpop.webhook.events import GenesysEvent, WrapUpEvent, body_parse, event_from_body, is_wrapup, wrapup_from_body
from screenpop.webhook.signing import SignedRequest


@dataclass(slots=True)
class Submission:
    """One webhook request as received: credentials, raw body, and the parsed event or why it did not parse."""

    received_at: datetime
    body: bytes
    bearer: str | None = None
    signed: SignedRequest | None = None
    event: GenesysEvent | None = None
    error: ValidationFailed | None = None
    wrapup: WrapUpEvent | None = None  # a wrap-up (CALL_WRAPUP) instead of a call start


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
    return submission_from_body(body, bearer=bearer, signed=signed)


def submission_from_body(body: bytes, *, bearer: str | None = None, signed: SignedRequest | None = None) -> Submission:
    """A submission of `body` (a call start or a wrap-up) with the credentials it came with."""
    event = wrapup = error = None
    try:
        parsed = body_parse(body)
        if is_wrapup(parsed):
            wrapup = wrapup_from_body(parsed)
        else:
            event = event_from_body(parsed)
    except ValidationFailed as failure:
        error = failure
    return Submission(
        received_at=datetime.now(UTC), body=body, bearer=bearer, signed=signed, event=event, error=error, wrapup=wrapup
    )
