"""HMAC-SHA256 request signatures, for senders that can sign instead of presenting a bearer token.

The sender names its organisation in `X-Screenpop-Org`, the Unix time in `X-Screenpop-Timestamp`, and sends
`X-Screenpop-Signature: v1=<hex HMAC-SHA256(key, "<timestamp>." + body)>`. A timestamp more than five minutes away
from our clock is refused (replay window); the comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

SIGNATURE_WINDOW_SECONDS = 300
SIGNATURE_PREFIX = "v1="


@dataclass(frozen=True)
class SignedRequest:
    org_id: str
    timestamp: str
    signature: str


def signature_compute(*, key: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(key.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return SIGNATURE_PREFIX + digest


def signature_problem(signed: SignedRequest, *, key: str, body: bytes, now: float) -> str | None:
    """Why the signature is not acceptable, or None when it is."""
    try:
        sent_at = int(signed.timestamp)
    except ValueError:
        return "X-Screenpop-Timestamp must be the Unix time in seconds."
    if abs(now - sent_at) > SIGNATURE_WINDOW_SECONDS:
        return "X-Screenpop-Timestamp is more than 5 minutes away from the server's clock."
    expected = signature_compute(key=key, timestamp=signed.timestamp, body=body)
    if not hmac.compare_digest(expected.encode(), signed.signature.encode()):
        return "X-Screenpop-Signature does not match the body."
    return None
