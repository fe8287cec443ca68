"""Data model rules that hold on every database: secrets encrypted at rest, one pop per conversation."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from screenpop.models import EventLog, FreshdeskConnection, Pop

pytestmark = pytest.mark.django_db


def test_api_key_is_not_stored_in_clear(make_tenant, settings) -> None:
    settings.SCREENPOP_ALLOW_SIMULATORS = False
    tenant = make_tenant(freshdesk_domain="acme.freshdesk.com", freshdesk_api_key="SuperSecretKey123")
    with connection.cursor() as cursor:
        cursor.execute("SELECT api_key FROM screenpop_freshdeskconnection WHERE tenant_id = %s", [tenant.pk])
        (raw,) = cursor.fetchone()
    assert "SuperSecretKey123" not in raw
    assert raw.startswith("fernet:")
    assert FreshdeskConnection.objects.get(tenant=tenant).api_key == "SuperSecretKey123"


def test_one_pop_per_tenant_and_conversation(make_tenant) -> None:
    tenant, other = make_tenant(), make_tenant()
    now = timezone.now()
    Pop.objects.create(tenant=tenant, conversation_id="c-1", phone_raw="tel:+15550100", received_at=now)
    with pytest.raises(IntegrityError), transaction.atomic():
        Pop.objects.create(tenant=tenant, conversation_id="c-1", phone_raw="tel:+15550100", received_at=now)
    # The same conversation id in another tenant is another pop.
    Pop.objects.create(tenant=other, conversation_id="c-1", phone_raw="tel:+15550100", received_at=now)
    assert Pop.objects.filter(conversation_id="c-1").count() == 2


@pytest.mark.parametrize(
    "domain",
    ["evil.com", "acme.freshdesk.com.evil.com", "http://acme.freshdesk.com", "https://u@acme.freshdesk.com", ""],
)
def test_freshdesk_domain_must_be_a_freshdesk_subdomain(make_tenant, settings, domain: str) -> None:
    settings.SCREENPOP_ALLOW_SIMULATORS = False
    with pytest.raises(ValidationError) as caught:
        make_tenant(freshdesk_domain=domain or " ", freshdesk_api_key="k")
    assert "domain" in caught.value.message_dict


def test_region_and_phone_region_are_validated(make_tenant) -> None:
    with pytest.raises(ValidationError) as caught:
        make_tenant(region="evil.example.com", phone_region="XX")
    assert set(caught.value.message_dict) == {"region", "phone_region"}


def test_deleting_a_tenant_deletes_its_events_and_pops(make_tenant) -> None:
    """The event log's tenant has no database constraint (one row lock fewer per webhook on PostgreSQL): Django's
    cascade still takes a tenant's events with it, and leaves other tenants' alone."""
    tenant, other = make_tenant(), make_tenant()
    now = timezone.now()
    for owner in (tenant, other):
        EventLog.objects.create(tenant=owner, received_at=now, outcome="accepted", status_code=202)
        Pop.objects.create(tenant=owner, conversation_id="c-1", phone_raw="tel:+15550100", received_at=now)
    tenant.delete()
    assert list(EventLog.objects.values_list("tenant_id", flat=True)) == [other.pk]
    assert list(Pop.objects.values_list("tenant_id", flat=True)) == [other.pk]
