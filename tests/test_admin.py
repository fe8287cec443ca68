"""Every admin page renders for a superuser and is refused to anyone else; secrets are never rendered."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from screenpop.models import EventLog, Pop, QueueFilter

pytestmark = pytest.mark.django_db


@pytest.fixture
def objects(make_tenant, make_webhook_client, settings):
    settings.SCREENPOP_ALLOW_SIMULATORS = False
    tenant = make_tenant(freshdesk_domain="acme.freshdesk.com", freshdesk_api_key="KeyThatMustNotShow")
    issued = make_webhook_client(tenant)
    pop = Pop.objects.create(
        tenant=tenant, conversation_id="conv-1", phone_raw="tel:+15550100", received_at=timezone.now()
    )
    event = EventLog.objects.create(
        tenant=tenant, received_at=timezone.now(), outcome="rejected", status_code=422, reason="phone_number empty"
    )
    return {"tenant": tenant, "issued": issued, "pop": pop, "event": event}


def admin_urls(objects) -> list[str]:
    tenant, issued, pop, event = objects["tenant"], objects["issued"], objects["pop"], objects["event"]
    return [
        "/admin/",
        "/admin/screenpop/tenant/",
        "/admin/screenpop/tenant/add/",
        f"/admin/screenpop/tenant/{tenant.pk}/change/",
        "/admin/screenpop/webhookclient/",
        "/admin/screenpop/webhookclient/add/",
        f"/admin/screenpop/webhookclient/{issued.webhook_client.pk}/change/",
        "/admin/screenpop/pop/",
        f"/admin/screenpop/pop/{pop.pk}/change/",
        "/admin/screenpop/pop/?state__exact=pending&q=conv-1",
        "/admin/screenpop/eventlog/",
        f"/admin/screenpop/eventlog/{event.pk}/change/",
        "/admin/screenpop/eventlog/?outcome__exact=rejected&q=conv",
        f"/admin/screenpop/tenant/{tenant.pk}/health/",
    ]


def test_every_admin_page_renders_for_a_superuser(client, objects) -> None:
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw-for-tests-only")
    client.force_login(user)
    for url in admin_urls(objects):
        response = client.get(url)
        assert response.status_code == 200, url
        assert b"KeyThatMustNotShow" not in response.content, url
        assert objects["issued"].client_secret.encode() not in response.content, url


@pytest.mark.parametrize("who", ["anonymous", "staff_without_permissions", "plain_user"])
def test_admin_pages_are_refused_to_anyone_else(client, objects, who: str) -> None:
    users = get_user_model().objects
    if who == "staff_without_permissions":
        client.force_login(users.create_user("staff", password="pw-for-tests-only", is_staff=True))
    elif who == "plain_user":
        client.force_login(users.create_user("user", password="pw-for-tests-only"))
    for url in admin_urls(objects)[1:]:
        response = client.get(url)
        assert response.status_code in (302, 403), url
        if response.status_code == 302:
            assert "/admin/login/" in response["Location"], url


def test_new_webhook_client_secret_is_shown_once(client, objects, token_for) -> None:
    client.force_login(get_user_model().objects.create_superuser("root", "r@example.com", "pw-for-tests-only"))
    response = client.post(
        "/admin/screenpop/webhookclient/add/", {"tenant": objects["tenant"].pk, "name": "genesys"}, follow=True
    )
    assert response.status_code == 200
    match = re.search(
        rb"Client id <code>([^<]+)</code> .{0,5} client secret <code class='screenpop-secret'>([^<]+)<",
        response.content,
    )
    assert match, response.content[:2000]
    client_id, secret = (value.decode() for value in match.groups())

    class Issued:
        pass

    issued = Issued()
    issued.client_id, issued.client_secret = client_id, secret
    assert token_for(issued)
    # Not on the next page view.
    again = client.get("/admin/screenpop/webhookclient/")
    assert secret.encode() not in again.content


def test_admin_keeps_the_saved_api_key_when_the_field_is_left_empty(client, objects) -> None:
    from screenpop.models import FreshdeskConnection

    client.force_login(get_user_model().objects.create_superuser("root", "r@example.com", "pw-for-tests-only"))
    tenant = objects["tenant"]
    connection = FreshdeskConnection.objects.get(tenant=tenant)
    data = {
        "name": tenant.name,
        "genesys_org_id": tenant.genesys_org_id,
        "region": tenant.region,
        "active": "on",
        "phone_region": "GB",
        "ticket_limit": 5,
        "panel_client_id": "",
        "freshdesk-TOTAL_FORMS": 1,
        "freshdesk-INITIAL_FORMS": 1,
        "freshdesk-0-id": connection.pk,
        "freshdesk-0-tenant": tenant.pk,
        "freshdesk-0-domain": "acme.freshdesk.com",
        "freshdesk-0-api_key": "",
        "freshdesk-0-plan": "pro",
        "freshdesk-0-match_phone": "on",
        "freshdesk-0-webhook_secret": "",
        # Without a sync client the picker offers the saved filters only: the admin can keep or drop them.
        "queues": ["q-support"],
    }
    QueueFilter.objects.create(tenant=tenant, queue_id="q-support", name="Support")
    QueueFilter.objects.create(tenant=tenant, queue_id="q-sales", name="Sales")
    response = client.post(f"/admin/screenpop/tenant/{tenant.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    connection.refresh_from_db()
    tenant.refresh_from_db()
    assert connection.api_key == "KeyThatMustNotShow"
    assert connection.plan == "pro"
    assert tenant.phone_region == "GB"
    assert list(tenant.queue_filters.values_list("queue_id", flat=True)) == ["q-support"]


def test_event_log_admin_finds_events_by_a_fragment_and_filters_by_tenant_and_outcome(client, make_tenant) -> None:
    """What the event log's indexes used to be for, answered by the one left (received_at) and the admin's search."""
    client.force_login(get_user_model().objects.create_superuser("root", "r@example.com", "pw-for-tests-only"))
    acme, globex = make_tenant(name="Acme"), make_tenant(name="Globex")
    start = timezone.now()
    rows = [
        (acme, "rejected", "c0ffee-0001-aaaa"),
        (acme, "accepted", "c0ffee-0002-bbbb"),
        (globex, "rejected", "c0ffee-0003-cccc"),
        (acme, "rejected", "c0ffee-0004-dddd"),
    ]
    for minute, (tenant, outcome, conversation) in enumerate(rows):
        EventLog.objects.create(
            tenant=tenant,
            received_at=start + timedelta(minutes=minute),
            outcome=outcome,
            status_code=422 if outcome == "rejected" else 202,
            conversation_id=conversation,
        )

    def listed(query: str) -> list[str]:
        response = client.get(f"/admin/screenpop/eventlog/?{query}")
        assert response.status_code == 200
        return re.findall(r"c0ffee-\d{4}-[a-d]{4}", response.content.decode())

    assert listed("q=0003-cc") == ["c0ffee-0003-cccc"]
    assert listed(f"tenant__id__exact={acme.pk}&outcome__exact=rejected") == ["c0ffee-0004-dddd", "c0ffee-0001-aaaa"]
    assert listed("") == [conversation for _, _, conversation in reversed(rows)]  # newest first


def test_the_tenant_admin_shows_how_close_the_org_runs_to_the_trigger_quotas(client, make_tenant) -> None:
    client.force_login(get_user_model().objects.create_superuser("root", "r@example.com", "pw-for-tests-only"))
    busy, quiet = make_tenant(name="Busy"), make_tenant(name="Quiet")
    now = timezone.now()

    def received(tenant, ago: timedelta, count: int, source: str = "genesys") -> list[EventLog]:
        return [
            EventLog(tenant=tenant, received_at=now - ago, source=source, outcome="accepted", status_code=202)
            for _ in range(count)
        ]

    EventLog.objects.bulk_create(
        received(busy, timedelta(seconds=5), 2400)
        + received(busy, timedelta(minutes=30), 600)
        + received(busy, timedelta(hours=2), 50)
        + received(quiet, timedelta(0), 1, source="freshdesk")
    )

    listing = client.get("/admin/screenpop/tenant/").content.decode()
    detail = client.get(f"/admin/screenpop/tenant/{busy.pk}/change/").content.decode()
    quiet_detail = client.get(f"/admin/screenpop/tenant/{quiet.pk}/change/").content.decode()

    # 2,400 in the last minute of the workflow's 4,800 (80% of 6,000); 3,000 in the last hour of 36,000.
    assert '<strong class="errornote">50% / 8%</strong>' in listing
    assert "0% / 0%" in listing  # Freshdesk's events do not count
    assert "Last minute: 2,400 of 4,800 (50.0%)" in detail
    assert "Last hour: 3,000 of 36,000 (8.3%)" in detail
    assert "Last minute: 0 of 4,800 (0.0%)" in quiet_detail


@pytest.fixture
def superuser_client(client):
    client.force_login(get_user_model().objects.create_superuser("root", "r@example.com", "pw-for-tests-only"))
    return client


def test_the_health_page_shows_the_last_pop_budget_breaker_and_the_last_hours_failures(
    superuser_client, objects, settings
) -> None:
    from screenpop.freshdesk.budget import RateBudget
    from screenpop.freshdesk.client import freshdesk_base_url
    from screenpop.lookup.breaker import CircuitBreaker

    tenant = objects["tenant"]
    now = timezone.now()
    account = freshdesk_base_url("acme.freshdesk.com")
    RateBudget(account, "growth").acquire("other", 3)
    for _ in range(settings.SCREENPOP_BREAKER_FAILURES):
        CircuitBreaker(account).record_failure()
    Pop.objects.create(
        tenant=tenant,
        conversation_id="conv-failed",
        phone_raw="tel:+15550111",
        phone_e164="+15550111",
        state=Pop.State.UNAVAILABLE,
        detail="Freshdesk did not answer within 1.2 s.",
        received_at=now - timedelta(minutes=5),
    )
    Pop.objects.create(
        tenant=tenant,
        conversation_id="conv-old-failure",
        phone_raw="tel:+15550112",
        state=Pop.State.ERROR,
        received_at=now - timedelta(hours=2),
    )

    page = superuser_client.get(f"/admin/screenpop/tenant/{tenant.pk}/health/").content.decode()
    change = superuser_client.get(f"/admin/screenpop/tenant/{tenant.pk}/change/").content.decode()

    assert f'href="/admin/screenpop/tenant/{tenant.pk}/health/"' in change
    assert "conv-1" in page  # the last pop
    assert "3 of 180 API calls" in page  # Growth's 200 a minute less the 10% margin
    assert "Open: Freshdesk failed repeatedly" in page
    assert "conv-failed" in page
    assert "Freshdesk did not answer within 1.2 s." in page
    assert "conv-old-failure" not in page  # more than an hour ago
    assert "phone_number empty" in page  # the refused event and its cause
    assert 'name="retry"' in page


def test_the_retry_on_the_health_page_looks_a_failed_pop_up_again(superuser_client, objects) -> None:
    tenant = objects["tenant"]
    failed = Pop.objects.create(
        tenant=tenant,
        conversation_id="conv-failed",
        phone_raw="tel:+15550111",
        state=Pop.State.ERROR,
        detail="Freshdesk refused the API key.",
        received_at=timezone.now(),
    )
    url = f"/admin/screenpop/tenant/{tenant.pk}/health/"

    retried = superuser_client.post(url, {"retry": failed.pk}, follow=True)
    again = superuser_client.post(url, {"retry": failed.pk}, follow=True)
    nonsense = superuser_client.post(url, {"retry": "x"})
    failed.refresh_from_db()

    assert f"Pop {failed.pk} is being looked up again." in retried.content.decode()
    assert failed.state == Pop.State.PENDING
    assert f"Pop {failed.pk} is not unavailable or in error any more." in again.content.decode()
    assert nonsense.status_code == 400
    assert b"retry" in nonsense.content


def test_the_health_page_is_refused_to_staff_without_tenant_permissions(client, objects) -> None:
    staff = get_user_model().objects.create_user("staff", "s@example.com", "pw-for-tests-only", is_staff=True)
    client.force_login(staff)

    response = client.post(f"/admin/screenpop/tenant/{objects['tenant'].pk}/health/", {"retry": objects["pop"].pk})

    assert response.status_code == 403
    assert Pop.objects.get(pk=objects["pop"].pk).state == Pop.State.PENDING


def test_the_tenant_page_shows_the_genesys_objects_as_linked_rows(superuser_client, objects) -> None:
    tenant = objects["tenant"]
    tenant.region = "mypurecloud.ie"
    tenant.genesys_objects = {
        "trigger": {"id": "trig-1", "name": "Freshdesk screen pop - inbound calls", "version": 3},
        "workflow": {"id": "flow-1", "name": "Freshdesk screen pop - inbound call", "version": "2.0", "digest": "ab"},
        "installed_at": "2026-12-03T10:00:00Z",
    }
    tenant.save()

    page = superuser_client.get(f"/admin/screenpop/tenant/{tenant.pk}/change/").content.decode()

    assert '<table class="screenpop-objects">' in page
    assert 'href="https://apps.mypurecloud.ie/architect/#/workflow/flow-1/latest"' in page
    assert 'href="https://apps.mypurecloud.ie/directory/#/admin/processautomation/triggers/trig-1"' in page
    assert "installed_at" not in page  # no raw JSON


def test_the_event_log_cuts_a_long_reason_and_keeps_it_whole_on_hover(superuser_client, objects) -> None:
    reason = "queue q-1 is not among this tenant's queue filters; " * 8
    EventLog.objects.create(
        tenant=objects["tenant"],
        received_at=timezone.now(),
        outcome="ignored",
        status_code=200,
        reason=reason,
        conversation_id="conv-long",
        phone="+15550199",
    )

    page = superuser_client.get("/admin/screenpop/eventlog/").content.decode()

    assert re.search(r"admin/screenpop/eventlog(\.[0-9a-f]+)?\.css", page)  # hashed in production
    assert "<code>conv-long</code>" in page
    assert "+15550199" in page
    assert 'title="queue q-1 is not among this tenant&#x27;s queue filters;' in page
    assert "…" in page
