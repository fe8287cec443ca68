"""The OAuth token endpoint Genesys's "User Defined (OAuth)" credential calls (client-credentials grant)."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone
from oauth2_provider.models import AccessToken

pytestmark = pytest.mark.django_db


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


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


def test_secret_is_stored_hashed(make_tenant, make_webhook_client) -> None:
    issued = make_webhook_client(make_tenant())
    application = issued.webhook_client.application
    application.refresh_from_db()
    assert issued.client_secret not in application.client_secret
    assert application.client_secret.startswith("pbkdf2_")


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
