"""Scripted set-up: tenant_create and webhook_client_create, with the admin's validation."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from screenpop.models import FreshdeskConnection, Tenant

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_tenant_create_with_freshdesk(settings) -> None:
    settings.SCREENPOP_ALLOW_SIMULATORS = False
    out = run(
        "tenant_create",
        "--org-id",
        "org-1",
        "--name",
        "Acme",
        "--region",
        "mypurecloud.ie",
        "--phone-region",
        "GB",
        "--freshdesk-domain",
        "acme.freshdesk.com",
        "--freshdesk-api-key",
        "KEY",
        "--json",
    )
    body = json.loads(out)
    assert body["org_id"] == "org-1"
    tenant = Tenant.objects.get(genesys_org_id="org-1")
    assert (tenant.region, tenant.phone_region) == ("mypurecloud.ie", "GB")
    assert FreshdeskConnection.objects.get(tenant=tenant).api_key == "KEY"


def test_tenant_create_refuses_bad_input_with_the_field_named(settings) -> None:
    settings.SCREENPOP_ALLOW_SIMULATORS = False
    with pytest.raises(CommandError, match="region"):
        run("tenant_create", "--org-id", "org-2", "--name", "X", "--region", "evil.com")
    with pytest.raises(CommandError, match="domain"):
        run(
            "tenant_create",
            "--org-id",
            "org-3",
            "--name",
            "X",
            "--freshdesk-domain",
            "evil.com",
            "--freshdesk-api-key",
            "K",
        )
    assert not Tenant.objects.exists(), "nothing half-created"
    run("tenant_create", "--org-id", "org-4", "--name", "X")
    with pytest.raises(CommandError, match="genesys_org_id"):
        run("tenant_create", "--org-id", "org-4", "--name", "Y")


def test_simulator_url_only_when_allowed(settings) -> None:
    settings.SCREENPOP_ALLOW_SIMULATORS = False
    with pytest.raises(CommandError, match="domain"):
        run(
            "tenant_create",
            "--org-id",
            "org-5",
            "--name",
            "X",
            "--freshdesk-url",
            "http://127.0.0.1:9999",
            "--freshdesk-api-key",
            "K",
        )
    settings.SCREENPOP_ALLOW_SIMULATORS = True
    run(
        "tenant_create",
        "--org-id",
        "org-5",
        "--name",
        "X",
        "--freshdesk-url",
        "http://127.0.0.1:9999",
        "--freshdesk-api-key",
        "K",
    )
    assert FreshdeskConnection.objects.get(tenant__genesys_org_id="org-5").domain == "http://127.0.0.1:9999"


def test_webhook_client_create_prints_a_working_secret_once(client) -> None:
    run("tenant_create", "--org-id", "org-6", "--name", "X")
    credentials = json.loads(run("webhook_client_create", "--org-id", "org-6", "--json"))
    assert set(credentials) == {"client_id", "client_secret"}
    response = client.post(
        "/oauth/token/",
        {"grant_type": "client_credentials", **credentials},
    )
    assert response.status_code == 200
    with pytest.raises(CommandError, match="No tenant"):
        run("webhook_client_create", "--org-id", "nope")
