"""The OAuth token endpoint Genesys's "User Defined (OAuth)" credential calls (client-credentials grant)."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta

import pytest
from django.contrib.auth.hashers import check_password, make_password
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application

pytestmark = pytest.mark.django_db


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def post_token(client, client_id: str, secret: str, address: str = "192.0.2.1"):
    return client.post(
        "/oauth/token/",
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=basic(client_id, secret),
        REMOTE_ADDR=address,
    )


def test_token_with_the_right_secret_in_basic_auth(client, make_tenant, make_webhook_client) -> None:
    issued = make_webhook_client(make_tenant())
    response = client.post(
        "/oauth/token/",
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=basic(issued.client_id, issued.client_secret),
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] > 0
    token = AccessToken.objects.get(token_checksum=hashlib.sha256(body["access_token"].encode()).hexdigest())
    assert token.token == "", "only the checksum of a token is kept at rest"
    assert token.expires > timezone.now()
    assert token.expires < timezone.now() + timedelta(days=1), "tokens expire"


def test_token_with_credentials_in_the_body(client, make_tenant, make_webhook_client) -> None:
    issued = make_webhook_client(make_tenant())
    response = client.post(
        "/oauth/token/",
        {"grant_type": "client_credentials", "client_id": issued.client_id, "client_secret": issued.client_secret},
    )
    assert response.status_code == 200
    assert response.json()["access_token"]


def test_wrong_secret_is_refused_without_a_token(client, make_tenant, make_webhook_client) -> None:
    issued = make_webhook_client(make_tenant())
    response = client.post(
        "/oauth/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=basic(issued.client_id, "wrong")
    )
    assert response.status_code == 401
    assert "access_token" not in response.json()
    assert AccessToken.objects.count() == 0


def test_secret_is_stored_hashed_with_the_keyed_hmac(make_tenant, make_webhook_client) -> None:
    issued = make_webhook_client(make_tenant())
    application = issued.webhook_client.application
    application.refresh_from_db()
    assert issued.client_secret not in application.client_secret
    algorithm, _key_id, _salt, digest = application.client_secret.split("$")
    assert (algorithm, len(digest)) == ("hmac_sha256", 64)
    assert check_password(issued.client_secret, application.client_secret)
    assert not check_password(issued.client_secret + "x", application.client_secret)


def test_people_passwords_keep_pbkdf2() -> None:
    assert make_password("a person's password").startswith("pbkdf2_sha256$")


def test_a_secret_hashed_with_pbkdf2_before_still_works_and_is_rehashed(client, make_tenant, make_webhook_client):
    issued = make_webhook_client(make_tenant())
    Application.objects.filter(pk=issued.webhook_client.application_id).update(
        client_secret=make_password(issued.client_secret, hasher="pbkdf2_sha256")
    )
    assert post_token(client, issued.client_id, issued.client_secret + "x").status_code == 401
    assert Application.objects.get(pk=issued.webhook_client.application_id).client_secret.startswith("pbkdf2_")

    assert post_token(client, issued.client_id, issued.client_secret).status_code == 200
    stored = Application.objects.get(pk=issued.webhook_client.application_id).client_secret
    assert stored.startswith("hmac_sha256$")
    assert post_token(client, issued.client_id, issued.client_secret).status_code == 200


def test_secrets_verify_under_every_configured_key_and_not_after_it_is_removed(
    client, make_tenant, make_webhook_client, settings
) -> None:
    issued = make_webhook_client(make_tenant())
    old_key = settings.CLIENT_SECRET_HASH_KEYS[0]
    settings.CLIENT_SECRET_HASH_KEYS = ["a-new-key-" + "n" * 40, old_key]
    assert post_token(client, issued.client_id, issued.client_secret).status_code == 200
    settings.CLIENT_SECRET_HASH_KEYS = ["a-new-key-" + "n" * 40]
    assert post_token(client, issued.client_id, issued.client_secret).status_code == 401


def test_unknown_ids_and_wrong_secrets_get_the_same_answer_for_the_same_work(
    client, make_tenant, make_webhook_client, monkeypatch
) -> None:
    """Both cost exactly one HMAC (the unknown id against a placeholder hash) and are answered alike."""
    from screenpop.oauth import ClientSecretHasher

    issued = make_webhook_client(make_tenant())
    digests = []
    original = ClientSecretHasher._digest
    monkeypatch.setattr(ClientSecretHasher, "_digest", staticmethod(lambda *a: digests.append(1) or original(*a)))

    wrong = post_token(client, issued.client_id, "wrong-" + issued.client_secret)
    wrong_digests, digests[:] = len(digests), []
    unknown = post_token(client, "no-such-client-" + issued.client_id[:20], issued.client_secret)

    assert (wrong.status_code, wrong.json()) == (unknown.status_code, unknown.json())
    assert wrong.status_code == 401
    assert wrong_digests == len(digests) == 1


def test_revoked_client_gets_no_token(client, make_tenant, make_webhook_client) -> None:
    from screenpop.tenants import webhook_client_revoke

    issued = make_webhook_client(make_tenant())
    webhook_client_revoke(webhook_client=issued.webhook_client)
    response = client.post(
        "/oauth/token/",
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=basic(issued.client_id, issued.client_secret),
    )
    assert response.status_code == 401
    assert AccessToken.objects.count() == 0


def test_rotation_ends_old_secret_and_tokens(client, make_tenant, make_webhook_client, token_for) -> None:
    from screenpop.tenants import webhook_client_rotate

    issued = make_webhook_client(make_tenant())
    old_token = token_for(issued)
    rotated = webhook_client_rotate(webhook_client=issued.webhook_client)
    assert not AccessToken.objects.filter(token_checksum=checksum(old_token)).exists()
    refused = client.post(
        "/oauth/token/",
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=basic(issued.client_id, issued.client_secret),
    )
    assert refused.status_code == 401
    assert token_for(rotated)


def test_token_is_tied_to_its_tenant(make_tenant, make_webhook_client, token_for) -> None:
    tenant_a, tenant_b = make_tenant(), make_tenant()
    token_a = token_for(make_webhook_client(tenant_a))
    token_b = token_for(make_webhook_client(tenant_b))
    assert AccessToken.objects.get(token_checksum=checksum(token_a)).application.webhook_client.tenant == tenant_a
    assert AccessToken.objects.get(token_checksum=checksum(token_b)).application.webhook_client.tenant == tenant_b


def checksum(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@pytest.fixture
def low_limits(settings):
    settings.SCREENPOP_TOKEN_FAILURES_PER_CLIENT = 3
    settings.SCREENPOP_TOKEN_FAILURES_PER_ADDRESS = 5
    settings.SCREENPOP_TOKEN_THROTTLE_SECONDS = 60
    return settings


def test_a_client_id_guessed_too_often_is_throttled_with_retry_after(
    client, make_tenant, make_webhook_client, low_limits
) -> None:
    issued = make_webhook_client(make_tenant())
    for number in range(3):  # three guesses from three addresses
        assert post_token(client, issued.client_id, f"guess-{number}", f"203.0.113.{number}").status_code == 401

    throttled = post_token(client, issued.client_id, "guess-4", "203.0.113.9")
    assert throttled.status_code == 429
    assert 1 <= int(throttled["Retry-After"]) <= 60
    assert throttled.json()["error"] == "too_many_requests"
    assert "client" in throttled.json()["error_description"]
    # While the id is throttled its secret is not even checked (the price of stopping guesses: its owner waits
    # too, and keeps the tokens it has); the count lives in the cache, shared by every process.
    assert post_token(client, issued.client_id, issued.client_secret, "198.51.100.7").status_code == 429
    from django.core.cache import cache

    cache.clear()
    assert post_token(client, issued.client_id, issued.client_secret, "198.51.100.7").status_code == 200


def test_an_address_failing_too_often_is_throttled_whatever_the_ids(
    client, make_tenant, make_webhook_client, low_limits
) -> None:
    issued = make_webhook_client(make_tenant())
    for number in range(5):
        assert post_token(client, f"made-up-{number}", "guess", "203.0.113.50").status_code == 401
    refused = post_token(client, issued.client_id, issued.client_secret, "203.0.113.50")
    assert (refused.status_code, "address" in refused.json()["error_description"]) == (429, True)
    assert refused["Retry-After"]
    # Another address, and the legitimate client, are not affected; successes are not counted.
    for _ in range(8):
        assert post_token(client, issued.client_id, issued.client_secret, "198.51.100.7").status_code == 200


@pytest.mark.parametrize(
    "request_kwargs",
    [
        {"data": {"grant_type": "client_credentials"}, "HTTP_AUTHORIZATION": "Basic !!!not-base64"},
        {
            "data": {"grant_type": "client_credentials"},
            "HTTP_AUTHORIZATION": "Basic " + base64.b64encode(b"\xff\xfe:x").decode(),
        },
        {
            "data": {"grant_type": "client_credentials"},
            "HTTP_AUTHORIZATION": "Basic " + base64.b64encode(b"no-colon").decode(),
        },
        {"data": {"grant_type": "client_credentials", "client_id": "x" * 10000, "client_secret": "y"}},
        {"data": {"grant_type": "client_credentials", "client_id": "\u00e9\u2603", "client_secret": "\x00"}},
        {"data": {"grant_type": "urn:ietf:params:oauth:grant-type:device_code", "device_code": "x", "client_id": "x"}},
        {"data": {"grant_type": "password", "username": "a", "password": "b", "client_id": "x"}},
        {"data": {"grant_type": "authorization_code", "code": "x", "client_id": "x", "redirect_uri": "https://e"}},
        {"data": {"grant_type": "refresh_token", "refresh_token": "x", "client_id": "x"}},
        {"data": {}},
        {"data": '{"grant_type": "client_credentials"}', "content_type": "application/json"},
        {"data": b"\xff\xfe", "content_type": "application/x-www-form-urlencoded"},
    ],
)
def test_malformed_token_requests_are_4xx(client, request_kwargs) -> None:
    response = client.post("/oauth/token/", **request_kwargs)
    assert 400 <= response.status_code < 500, response.content
    assert "access_token" not in response.content.decode(errors="replace")


def test_wrong_secrets_of_one_tenant_do_not_throttle_others_at_the_same_address(
    client, make_tenant, make_webhook_client, low_limits
) -> None:
    """Genesys's data actions of many tenants come from the same egress addresses."""
    misconfigured, other = make_webhook_client(make_tenant()), make_webhook_client(make_tenant())
    for _ in range(6):  # past both limits (3 per client, 5 per address)
        post_token(client, misconfigured.client_id, "an old secret", "52.0.0.1")
    assert post_token(client, misconfigured.client_id, misconfigured.client_secret, "52.0.0.1").status_code == 429
    assert post_token(client, other.client_id, other.client_secret, "52.0.0.1").status_code == 200
