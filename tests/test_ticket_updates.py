"""Freshdesk's "Trigger webhook" on ticket updates: authenticated, idempotent, and a push only when newer."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.utils import timezone

from screenpop.models import EventLog, FreshdeskConnection, Pop
from screenpop.pops.services import pop_lookup_run
from screenpop.publishing import pop_group
from simulators.freshdesk.seed import demo_contact

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "fd-webhook-secret"


@pytest.fixture
def matched_pop(freshdesk_sim, make_tenant, settings):
    """A tenant on the simulator and a pop really looked up (us_dotted: one ticket)."""
    settings.SCREENPOP_ALLOW_SIMULATORS = True
    tenant = make_tenant(freshdesk_domain=freshdesk_sim.base_url, freshdesk_api_key=freshdesk_sim.api_key)
    FreshdeskConnection.objects.filter(tenant=tenant).update(webhook_secret=SECRET)  # encrypted by the field
    pop = Pop.objects.create(
        tenant=tenant, conversation_id="conv-ticket-updates", phone_raw="tel:+15550199998",
        received_at=timezone.now(), lease_owner="test", lease_expires_at=timezone.now() + timezone.timedelta(minutes=1),
    )  # fmt: skip
    assert pop_lookup_run(pop_id=pop.pk, owner="test").state == "matched"
    pop.refresh_from_db()
    return pop


class Panel:
    """A channel in the pop's group, as a connected panel's consumer would be."""

    def __init__(self, pop: Pop) -> None:
        self.layer = get_channel_layer()
        self.channel = async_to_sync(self.layer.new_channel)()
        async_to_sync(self.layer.group_add)(pop_group(pop.tenant_id, pop.conversation_id), self.channel)

    def next(self, timeout: float = 2.0) -> dict[str, Any] | None:
        async def receive():
            try:
                return await asyncio.wait_for(self.layer.receive(self.channel), timeout)
            except TimeoutError:
                return None

        return async_to_sync(receive)()


def deliver(client, pop: Pop, body: dict[str, Any], *, secret: str = SECRET, basic: bool = True):
    url = f"/api/v1/freshdesk/events/{pop.tenant.freshdesk_webhook_token}"
    headers = (
        {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(f"freshdesk:{secret}".encode()).decode()}
        if basic
        else {"HTTP_X_SCREENPOP_SECRET": secret}
    )
    return client.post(url, body, content_type="application/json", HTTP_USER_AGENT="Freshdesk", **headers)


def simple(ticket_id: int, status: str = "Pending") -> dict[str, Any]:
    return {"freshdesk_webhook": {"ticket_id": ticket_id, "ticket_status": status, "ticket_subject": "x"}}


def test_a_newer_update_is_pushed_and_stored(client, matched_pop, freshdesk_sim) -> None:
    ticket_id = matched_pop.result["tickets"][0]["id"]
    panel = Panel(matched_pop)
    freshdesk_sim.update_ticket(ticket_id, status=3, subject="Now pending")
    response = deliver(client, matched_pop, simple(ticket_id))
    assert response.status_code == 200, response.content
    assert response.json() == {"status": "updated", "ticket_id": ticket_id, "panels": 1}
    pushed = panel.next()
    assert pushed is not None
    assert pushed["type"] == "pop.state"
    ticket = pushed["state"]["tickets"][0]
    assert (ticket["id"], ticket["status"], ticket["status_label"], ticket["subject"]) == (
        ticket_id, 3, "Pending", "Now pending"
    )  # fmt: skip
    matched_pop.refresh_from_db()
    assert matched_pop.result["tickets"][0]["subject"] == "Now pending"
    assert EventLog.objects.filter(source="freshdesk", outcome="accepted").count() == 1


def test_redelivery_and_out_of_order_delivery_push_nothing(client, matched_pop, freshdesk_sim) -> None:
    ticket_id = matched_pop.result["tickets"][0]["id"]
    panel = Panel(matched_pop)
    freshdesk_sim.update_ticket(ticket_id, status=3)  # update A
    freshdesk_sim.update_ticket(ticket_id, status=6)  # update B
    assert deliver(client, matched_pop, simple(ticket_id, "Waiting on Customer")).json()["status"] == "updated"
    assert panel.next()["state"]["tickets"][0]["status"] == 6
    # Freshdesk retries B (at-least-once), then delivers A late (unordered): the panel already has the newest.
    assert deliver(client, matched_pop, simple(ticket_id, "Waiting on Customer")).json()["status"] == "unchanged"
    assert deliver(client, matched_pop, simple(ticket_id, "Pending")).json()["status"] == "unchanged"
    assert panel.next(timeout=0.5) is None


def test_a_ticket_created_during_the_call_joins_the_panel(client, matched_pop, freshdesk_sim) -> None:
    contact_id = matched_pop.result["contact"]["id"]
    panel = Panel(matched_pop)
    created = freshdesk_sim.create_ticket(requester_id=contact_id, subject="Raised during the call", status=2)
    response = deliver(client, matched_pop, {"ticket_id": str(created["id"])})  # an "advanced" body
    assert response.json()["status"] == "updated"
    tickets = panel.next()["state"]["tickets"]
    assert tickets[0]["id"] == created["id"], "an open ticket ranks first"


def test_a_ticket_shown_on_no_panel_changes_nothing(client, matched_pop, freshdesk_sim) -> None:
    other = next(
        c
        for c in freshdesk_sim.get("/api/v2/contacts", params={"per_page": 100}).json()
        if c["phone"] == demo_contact("us_e164").phone
    )
    other_ticket = freshdesk_sim.create_ticket(requester_id=other["id"], subject="x")
    response = deliver(client, matched_pop, simple(other_ticket["id"]))
    assert response.json()["status"] == "not_shown"


@pytest.mark.parametrize("how", ["wrong_secret", "wrong_token", "no_auth"])
def test_webhooks_without_the_tenants_secret_are_refused(client, matched_pop, how) -> None:
    ticket_id = matched_pop.result["tickets"][0]["id"]
    if how == "wrong_secret":
        response = deliver(client, matched_pop, simple(ticket_id), secret="guess")
    elif how == "wrong_token":
        response = client.post(
            "/api/v1/freshdesk/events/not-a-token", simple(ticket_id), content_type="application/json",
            HTTP_X_SCREENPOP_SECRET=SECRET,
        )  # fmt: skip
    else:
        url = f"/api/v1/freshdesk/events/{matched_pop.tenant.freshdesk_webhook_token}"
        response = client.post(url, simple(ticket_id), content_type="application/json")
    assert response.status_code == 401
    assert EventLog.objects.filter(source="freshdesk", outcome="unauthorized").count() == 1


def test_the_secret_header_works_too_and_bad_bodies_say_which_field(client, matched_pop) -> None:
    response = deliver(client, matched_pop, {"ticket": {"subject": "no id"}}, basic=False)
    assert response.status_code == 422
    assert response.json()["field"] == "ticket_id"
    event = EventLog.objects.get(source="freshdesk")
    assert (event.outcome, event.status_code) == ("rejected", 422)


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ('{"ticket_id": 1, "subject": "\\u0000"}', "subject"),
        ('{"freshdesk_webhook": {"ticket_id": 1, "ticket_subject": "\\ud800"}}', "freshdesk_webhook"),
        ('{"ticket_id": 1, "x": ' + "[" * 20000 + "]" * 20000 + "}", "body"),
        ('{"ticket_id": 1, "subject": "\x00"}', "body"),
    ],
)
def test_bodies_a_database_cannot_store_are_422_and_logged(client, matched_pop, raw, field) -> None:
    """A NUL, a lone surrogate or nesting too deep for the parser: a 422 naming the field, logged, never a 500."""
    response = deliver(client, matched_pop, raw)
    assert (response.status_code, response.json()["field"]) == (422, field)
    event = EventLog.objects.get(source="freshdesk")
    assert (event.outcome, event.status_code) == ("rejected", 422)
    assert "ticket_id" in event.payload["raw"]


def test_an_authenticated_webhook_with_an_empty_body_is_a_422(client, matched_pop) -> None:
    """DRF hands an empty body to no parser (an empty dict instead of bytes): still a 422 naming the body."""
    response = deliver(client, matched_pop, "")
    assert (response.status_code, response.json()["error"], response.json()["field"]) == (
        422,
        "validation_failed",
        "body",
    )
    event = EventLog.objects.get(source="freshdesk")
    assert (event.outcome, event.status_code, event.payload["raw"]) == ("rejected", 422, "")
