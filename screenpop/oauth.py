"""The OAuth server Genesys's data action authenticates with (django-oauth-toolkit, client-credentials grant).

Genesys's "User Defined (OAuth)" credential POSTs the client id and secret to `/oauth/token/` (form body, Basic auth
or body fields); django-oauth-toolkit does the grant. What this module adds:

- a revoked webhook client gets no token, whatever secret it shows;
- client secrets are hashed with HMAC-SHA-256 under a server key (`ClientSecretHasher`), not PBKDF2: they are 48
  random characters, which no dictionary holds, so a slow hash only made every guess a CPU lever (0.37 s each).
  Secrets hashed with PBKDF2 before keep working and are re-hashed on their next successful use;
- an unknown client id costs the HMAC a wrong secret costs, so timing does not tell which ids exist;
- failed requests are counted in the cache (Redis in production, so every process counts together): per client id
  when the id exists (wrong secrets), per client address otherwise (made-up ids); past either limit the endpoint
  answers 429 with `Retry-After` before reading any secret.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import logging
import math
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from django.conf import settings
from django.contrib.auth.hashers import BasePasswordHasher, mask_hash
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.crypto import constant_time_compare
from oauth2_provider.models import Application
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.views import TokenView

logger = logging.getLogger("screenpop.oauth")

ALGORITHM = "hmac_sha256"


def _hash_keys() -> dict[str, bytes]:
    """Key id -> key; the first key hashes new secrets, every key verifies (rotation)."""
    keys = [key.encode() for key in settings.CLIENT_SECRET_HASH_KEYS]
    return {hashlib.sha256(key).hexdigest()[:8]: key for key in keys}


class ClientSecretHasher(BasePasswordHasher):
    """`hmac_sha256$<key id>$<salt>$<hex digest>`: HMAC-SHA-256 of `salt$secret` under a server key (settings'
    `CLIENT_SECRET_HASH_KEYS`). For machine-made secrets only: human passwords keep Django's PBKDF2."""

    algorithm = ALGORITHM

    def encode(self, password: str, salt: str) -> str:
        self._check_encode_args(password, salt)
        key_id, key = next(iter(_hash_keys().items()))
        return f"{self.algorithm}${key_id}${salt}${self._digest(key, salt, password)}"

    def decode(self, encoded: str) -> dict[str, str]:
        algorithm, key_id, salt, digest = encoded.split("$", 3)
        assert algorithm == self.algorithm
        return {"algorithm": algorithm, "key_id": key_id, "salt": salt, "hash": digest}

    def verify(self, password: str, encoded: str) -> bool:
        decoded = self.decode(encoded)
        key = _hash_keys().get(decoded["key_id"])
        # A retired key still costs one HMAC: the answer takes the same time either way.
        expected = self._digest(key or b"retired", decoded["salt"], password)
        return key is not None and constant_time_compare(expected, decoded["hash"])

    def safe_summary(self, encoded: str) -> dict[str, str]:
        decoded = self.decode(encoded)
        return {
            "algorithm": decoded["algorithm"],
            "key id": decoded["key_id"],
            "salt": mask_hash(decoded["salt"], show=2),
            "hash": mask_hash(decoded["hash"]),
        }

    def must_update(self, encoded: str) -> bool:
        return self.decode(encoded)["key_id"] != next(iter(_hash_keys()))

    def harden_runtime(self, password: str, encoded: str) -> None:
        pass  # one HMAC whatever the key: nothing to even out

    @staticmethod
    def _digest(key: bytes, salt: str, password: str) -> str:
        return hmac.new(key, f"{salt}${password}".encode(), hashlib.sha256).hexdigest()


_UNKNOWN_CLIENT = f"{ALGORITHM}$unknown$salt$" + "0" * 64


class WebhookOAuth2Validator(OAuth2Validator):
    """django-oauth-toolkit keeps one validator per process for every request and thread: no state on `self`."""

    def authenticate_client(self, request: Any, *args: Any, **kwargs: Any) -> bool:
        if not super().authenticate_client(request, *args, **kwargs):
            return False
        webhook_client = getattr(request.client, "webhook_client", None)
        if webhook_client is not None and not webhook_client.active:
            return False
        if not request.client.client_secret.startswith(f"{ALGORITHM}$"):
            self._rehash_legacy(request)
        return True

    def authenticate_client_id(self, client_id: str, request: Any, *args: Any, **kwargs: Any) -> bool:
        # Public clients (no secret) are never webhook clients: refuse them outright.
        return False

    def _check_secret(self, provided_secret: str, stored_secret: str) -> bool:
        if stored_secret.startswith(f"{ALGORITHM}$"):
            return ClientSecretHasher().verify(provided_secret, stored_secret)
        return super()._check_secret(provided_secret, stored_secret)  # PBKDF2 from before, or clear text

    def _load_application(self, client_id: str, request: Any) -> Any:
        application = super()._load_application(client_id, request)
        if application is None and client_id:
            # An unknown id costs what a wrong secret costs: the response time does not tell which ids exist.
            ClientSecretHasher().verify(getattr(request, "client_secret", None) or "", _UNKNOWN_CLIENT)
        return application

    def _rehash_legacy(self, request: Any) -> None:
        """Store an authenticated client's PBKDF2-hashed secret again with `ClientSecretHasher`, once: the secret
        that authenticated it (Basic auth or the body) is checked again to know which one it was."""
        candidates = [getattr(request, "client_secret", None)]
        encoded = self._extract_basic_auth(request)
        if encoded:
            with contextlib.suppress(binascii.Error, UnicodeDecodeError):
                candidates.insert(0, unquote_plus(base64.b64decode(encoded).decode().partition(":")[2]))
        application = request.client
        for secret in candidates:
            if secret and super()._check_secret(secret, application.client_secret):
                application.client_secret = secret  # the field hashes clear text on save
                application.hash_client_secret = True
                application.save(update_fields=["client_secret", "hash_client_secret"])
                logger.info("Client secret of application %s re-hashed with %s", application.pk, ALGORITHM)
                return


# -- throttling ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    retry_after: int
    scope: str  # "client" | "address"


def _client_id_of(request: HttpRequest) -> str:
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return ""
        return unquote_plus(decoded.partition(":")[0])
    return request.POST.get("client_id", "")


def _window() -> tuple[int, int]:
    """The current fixed window's number and the seconds left in it."""
    period = settings.SCREENPOP_TOKEN_THROTTLE_SECONDS
    now = time.time()
    return int(now // period), max(1, math.ceil(period - now % period))


def _keys(request: HttpRequest, window: int) -> dict[str, str]:
    """Cache keys of the request's client id and address in this window (hashed: both are attacker-chosen)."""
    client_id = _client_id_of(request)
    address = request.META.get("REMOTE_ADDR", "")

    def key(scope: str, value: str) -> str:
        return f"oauth-failures:{scope}:{window}:{hashlib.sha256(value.encode()).hexdigest()[:32]}"

    keys = {"address": key("address", address)}
    if client_id:
        keys["client"] = key("client", client_id)
    return keys


def token_throttle_check(request: HttpRequest) -> Refusal | None:
    """A refusal when the request's client id or address failed too often in the current window, else None."""
    window, left = _window()
    keys = _keys(request, window)
    limits = {
        "client": settings.SCREENPOP_TOKEN_FAILURES_PER_CLIENT,
        "address": settings.SCREENPOP_TOKEN_FAILURES_PER_ADDRESS,
    }
    try:
        counts = cache.get_many(list(keys.values()))
    except Exception:  # the cache is down: the endpoint still works, without its guard
        logger.warning("Token throttle unavailable (cache error); request not throttled", exc_info=True)
        return None
    for scope, key in keys.items():
        if counts.get(key, 0) >= limits[scope]:
            return Refusal(retry_after=left, scope=scope)
    return None


def token_failure_record(request: HttpRequest) -> None:
    """Count a failed request in the current window: against its client id when that client exists (a wrong
    secret), else against its address (a made-up id, or none). Many tenants' Genesys data actions share Genesys's
    egress addresses: one tenant's wrong secret must not count against the others' address."""
    window, _ = _window()
    timeout = 2 * settings.SCREENPOP_TOKEN_THROTTLE_SECONDS
    keys = _keys(request, window)
    client_id = _client_id_of(request)
    known = bool(client_id) and Application.objects.filter(client_id=client_id).exists()
    key = keys["client"] if known else keys["address"]
    try:
        cache.add(key, 0, timeout=timeout)
        cache.incr(key)
    except Exception:
        logger.warning("Token throttle unavailable (cache error); failure not counted", exc_info=True)


class ThrottledTokenView(TokenView):
    """django-oauth-toolkit's token endpoint behind the failure throttle."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        refusal = token_throttle_check(request)
        if refusal is not None:
            response = JsonResponse(
                {
                    "error": "too_many_requests",
                    "error_description": f"Too many failed token requests from this {refusal.scope}; "
                    f"retry in {refusal.retry_after} s with the right client id and secret.",
                },
                status=429,
            )
            response["Retry-After"] = str(refusal.retry_after)
            response["Cache-Control"] = "no-store"
            return response
        response = super().post(request, *args, **kwargs)
        if response.status_code != 200:
            token_failure_record(request)
        return response
