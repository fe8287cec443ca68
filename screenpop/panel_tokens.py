"""Panel tokens: short-lived, signed, bound to tenant + conversation + agent; sent in a header, never a cookie nor a
URL.

The panel obtains one after the server verified the agent with Genesys (the panel's login); the WebSocket consumer
(in the `Sec-WebSocket-Protocol` header) and the REST endpoints (`Authorization: Bearer`) accept nothing else. A token
is base64url text and dots (Django's signed-object format with `.` as the separator), so that it is a valid
subprotocol name: browsers refuse a `:` there.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core import signing

from screenpop.errors import NotAuthenticated, PermissionDenied

SALT = "screenpop.panel-token.v1"
SEPARATOR = "."


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=SALT, sep=SEPARATOR)


@dataclass(frozen=True)
class PanelGrant:
    tenant_id: int
    conversation_id: str
    user_id: str


def panel_token_issue(*, tenant_id: int, conversation_id: str, user_id: str) -> str:
    return _signer().sign_object({"t": tenant_id, "c": conversation_id, "u": user_id})


def panel_token_verify(token: str | None, *, conversation_id: str) -> PanelGrant:
    """The grant the token carries, for this conversation only. Raises NotAuthenticated or PermissionDenied."""
    if not token:
        raise NotAuthenticated("A panel token is required.", code="token_missing")
    try:
        claims = _signer().unsign_object(token, max_age=settings.SCREENPOP_PANEL_TOKEN_SECONDS)
    except signing.SignatureExpired as error:
        raise NotAuthenticated(
            "The panel token has expired; the panel gets a new one.", code="token_expired"
        ) from error
    except signing.BadSignature as error:
        raise NotAuthenticated("The panel token is not valid.", code="token_invalid") from error
    if claims.get("c") != conversation_id:
        raise PermissionDenied("This panel token is for another conversation.", code="wrong_conversation")
    return PanelGrant(tenant_id=int(claims["t"]), conversation_id=claims["c"], user_id=str(claims["u"]))


def panel_grant_of(authorization: str, *, conversation_id: str) -> PanelGrant:
    """`panel_token_verify` of the bearer token in an `Authorization` header's value (the REST endpoints)."""
    scheme, _, token = authorization.partition(" ")
    return panel_token_verify(token.strip() if scheme.lower() == "bearer" else None, conversation_id=conversation_id)
