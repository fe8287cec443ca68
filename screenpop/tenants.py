"""Services for tenants, their Freshdesk connection and their webhook OAuth clients.

The admin, the management commands and the install wizard all go through these functions, so each applies the
same validation (model `full_clean`) and the same rules (secrets shown once, revocation immediate).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application

from screenpop.models import FreshdeskConnection, Tenant, WebhookClient


@dataclass(frozen=True)
class IssuedCredentials:
    """A client id and its secret in clear: returned once, never stored in clear."""

    client_id: str
    client_secret: str
    webhook_client: WebhookClient


@transaction.atomic
def tenant_create(
    *,
    org_id: str,
    name: str,
    region: str = "mypurecloud.com",
    phone_region: str = "US",
    freshdesk_domain: str | None = None,
    freshdesk_api_key: str | None = None,
    freshdesk_plan: str = FreshdeskConnection.Plan.GROWTH,
) -> Tenant:
    """Create a tenant (and its Freshdesk connection when a domain is given). Raises `ValidationError`."""
    tenant = Tenant(genesys_org_id=org_id, name=name, region=region, phone_region=phone_region)
    tenant.full_clean()
    tenant.save()
    if freshdesk_domain:
        freshdesk_connection_set(
            tenant=tenant, domain=freshdesk_domain, api_key=freshdesk_api_key or "", plan=freshdesk_plan
        )
    return tenant


def freshdesk_connection_set(*, tenant: Tenant, domain: str, api_key: str, plan: str) -> FreshdeskConnection:
    """Create or replace the tenant's Freshdesk connection. Raises `ValidationError`."""
    connection = FreshdeskConnection.objects.filter(tenant=tenant).first() or FreshdeskConnection(tenant=tenant)
    connection.domain = domain
    if api_key:
        connection.api_key = api_key
    connection.plan = plan
    connection.full_clean(exclude=["webhook_secret"])
    connection.save()
    return connection


def _new_secret() -> str:
    return secrets.token_urlsafe(36)


@transaction.atomic
def webhook_client_create(*, tenant: Tenant, name: str = "") -> IssuedCredentials:
    """Issue a client-credentials OAuth client for the tenant's Genesys data action. The secret is hashed at rest."""
    secret = _new_secret()
    application = Application.objects.create(
        name=name or f"Genesys data action ({tenant.name})",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
        client_secret=secret,
        hash_client_secret=True,
        skip_authorization=True,
    )
    webhook_client = WebhookClient.objects.create(tenant=tenant, application=application)
    return IssuedCredentials(application.client_id, secret, webhook_client)


@transaction.atomic
def webhook_client_rotate(*, webhook_client: WebhookClient) -> IssuedCredentials:
    """Give the client a new secret (shown once) and end the tokens issued under the old one."""
    secret = _new_secret()
    application = webhook_client.application
    application.client_secret = secret
    application.hash_client_secret = True
    application.save()
    AccessToken.objects.filter(application=application).delete()
    webhook_client.secret_rotated_at = timezone.now()
    webhook_client.save(update_fields=["secret_rotated_at"])
    return IssuedCredentials(application.client_id, secret, webhook_client)


@transaction.atomic
def webhook_client_revoke(*, webhook_client: WebhookClient) -> None:
    """Disable the client: it gets no new token, and its tokens are refused from now on (403 "client revoked",
    so the admin reading Genesys's data-action error sees why, rather than a bare 401)."""
    webhook_client.active = False
    webhook_client.revoked_at = timezone.now()
    webhook_client.save(update_fields=["active", "revoked_at"])
