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


@pytest.mark.django_db(transaction=True)
def test_a_pops_publish_waits_for_the_commit_and_not_inside_the_writer_lock(make_tenant, monkeypatch) -> None:
    """A pop's state is pushed after its transaction commits, and (SQLite) after this process's writer lock is
    released: the push waits for the event loop, and the webhook's next batch must not wait for it."""
    import threading

    from screenpop import publishing
    from screenpop.storage import transactions as db

    pushes: list[tuple[str, bool]] = []

    def group_send(group: str, message: dict) -> None:
        others_may_write: list[bool] = []

        def other_writer() -> None:
            taken = db.sqlite_writer.acquire(timeout=0.5)
            if taken:
                db.sqlite_writer.release()
            others_may_write.append(taken)

        thread = threading.Thread(target=other_writer)
        thread.start()
        thread.join()
        pushes.append((message["state"]["state"], others_may_write[0]))

    monkeypatch.setattr(publishing, "group_send", group_send)
    tenant = make_tenant()
    with db.write_transaction():
        pop = Pop.objects.create(
            tenant=tenant, conversation_id="c-1", phone_raw="tel:+15550100", received_at=timezone.now()
        )
        with db.write_transaction():  # a nested one leaves the push to the outermost
            publishing.pop_publish_on_commit(pop)
        assert pushes == [], "nothing is pushed before the commit"
    assert pushes == [("pending", True)]

    def publish_then_fail() -> None:
        with db.write_transaction():
            publishing.pop_publish_on_commit(pop)
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        publish_then_fail()
    assert pushes == [("pending", True)], "a rolled-back transaction pushes nothing"


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
