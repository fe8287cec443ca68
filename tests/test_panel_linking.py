"""The agent links the call and types notes: `PUT .../link`, `POST .../search`, `POST .../link/ticket`,
`GET|PUT .../note` with the panel token, against the Freshdesk simulator. Each request is bound to the token's
tenant, conversation and agent; bad input is a 4xx naming the field; Freshdesk's failures are 4xx codes the panel
words for the agent, never a 5xx."""

from __future__ import annotations

import json
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.utils import timezone

from screenpop.freshdesk.budget import RateBudget
from screenpop.freshdesk.client import freshdesk_base_url, search_string
from screenpop.models import AgentNote, CallLink, Pop
from screenpop.panel_tokens import panel_token_issue
from screenpop.pops.links import call_link_of, call_link_set
from screenpop.publishing import pop_group
from simulators.freshdesk.seed import DEMO_TICKETS, demo_contact

CONVERSATION = "6f0d8a3e-2b6c-4a53-9d7e-1c2b3a4d5e6f"
CALLER = demo_contact("us_e164")  # Jordan Blake, two tickets


def ticket_id(key: str) -> int:
    return next(ticket.id for ticket in DEMO_TICKETS if ticket.key == key)


def ticket_view(key: str) -> dict[str, Any]:
    seed = next(ticket for ticket in DEMO_TICKETS if ticket.key == key)
    return {"id": seed.id, "subject": seed.subject, "status": seed.status, "updated_at": "2026-12-01T10:00:00Z"}


@pytest.fixture
def tenant(settings: Any, make_tenant: Any, freshdesk_sim: Any) -> Any:
    settings.SCREENPOP_ALLOW_SIMULATORS = True
    return make_tenant(freshdesk_domain=freshdesk_sim.base_url, freshdesk_api_key=freshdesk_sim.api_key)


def make_pop(tenant: Any, *, conversation: str = CONVERSATION, phone: str = CALLER.phone_e164) -> Pop:
    contact = {
        "id": CALLER.id,
        "name": CALLER.name,
        "tickets": [ticket_view("us_e164_upgrade"), ticket_view("us_e164_receipt")],
    }
    return Pop.objects.create(
        tenant=tenant,
        conversation_id=conversation,
        phone_raw=f"tel:{phone}",
        phone_e164=phone,
        state=Pop.State.MATCHED,
        result={"phone_display": phone, "contact": contact, "contacts": [contact], "tickets": contact["tickets"]},
        received_at=timezone.now(),
        completed_at=timezone.now(),
    )


def call(
    client: Any,
    tenant: Any,
    method: str,
    what: str,
    body: Any = None,
    *,
    conversation: str = CONVERSATION,
    token_conversation: str = CONVERSATION,
    user: str = "agent-1",
) -> Any:
    token = panel_token_issue(tenant_id=tenant.pk, conversation_id=token_conversation, user_id=user)
    return getattr(client, method)(
        f"/api/v1/pops/{conversation}/{what}",
        data=json.dumps(body) if body is not None else None,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def endpoint_calls(freshdesk_sim: Any, name: str) -> list[dict[str, Any]]:
    return [request for request in freshdesk_sim.requests() if request["endpoint"] == name]


# -- link ---------------------------------------------------------------------------------------------------------


def test_linking_a_shown_ticket_stores_it_and_pushes_it_to_every_panel_without_asking_freshdesk(
    client: Any, tenant: Any, freshdesk_sim: Any, django_capture_on_commit_callbacks: Any
) -> None:
    make_pop(tenant)
    layer = get_channel_layer()
    panel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(pop_group(tenant.pk, CONVERSATION), panel)
    chosen = ticket_id("us_e164_receipt")

    with django_capture_on_commit_callbacks(execute=True):
        response = call(client, tenant, "put", "link", {"ticket_id": chosen})

    assert response.status_code == 200, response.content
    assert response.json()["link"]["ticket_id"] == chosen
    assert response.json()["link"]["subject"] == "Receipt for March"
    link = call_link_of(tenant_id=tenant.pk, conversation_id=CONVERSATION)
    assert (link.ticket_id, link.contact_id, link.chosen_by, link.phone_e164) == (
        chosen,
        CALLER.id,
        "agent-1",
        CALLER.phone_e164,
    )
    pushed = async_to_sync(layer.receive)(panel)
    assert pushed["type"] == "pop.state"
    assert pushed["state"]["link"]["ticket_id"] == chosen
    assert freshdesk_sim.requests() == []


def test_a_ticket_not_shown_is_checked_with_freshdesk(client: Any, tenant: Any, freshdesk_sim: Any) -> None:
    make_pop(tenant)
    other = ticket_id("uk_national_direct_debit")

    linked = call(client, tenant, "put", "link", {"ticket_id": other})
    missing = call(client, tenant, "put", "link", {"ticket_id": 999_999_999})

    assert linked.status_code == 200
    assert linked.json()["link"]["subject"] == "Direct debit failed"
    assert (missing.status_code, missing.json()["error"]) == (404, "ticket_not_found")
    assert call_link_of(tenant_id=tenant.pk, conversation_id=CONVERSATION).ticket_id == other
    assert len(endpoint_calls(freshdesk_sim, "tickets.view")) == 2


def test_the_state_offers_the_numbers_last_choice_on_its_next_call(client: Any, tenant: Any) -> None:
    make_pop(tenant)
    earlier = ticket_id("us_e164_upgrade")
    call_link_set(
        tenant_id=tenant.pk,
        conversation_id="earlier-call",
        ticket_id=earlier,
        chosen_by="agent-2",
        phone_e164=CALLER.phone_e164,
        subject="Upgrade to the Pro plan",
    )
    token = panel_token_issue(tenant_id=tenant.pk, conversation_id=CONVERSATION, user_id="agent-1")

    state = client.get(f"/api/v1/pops/{CONVERSATION}", HTTP_AUTHORIZATION=f"Bearer {token}").json()

    assert state["link"] is None
    assert state["suggested_link"]["ticket_id"] == earlier
    assert state["suggested_link"]["subject"] == "Upgrade to the Pro plan"
    assert state["suggested_link"]["chosen_at"].endswith("Z")
    # Once this call is linked, the suggestion steps aside.
    call(client, tenant, "put", "link", {"ticket_id": ticket_id("us_e164_receipt")})
    state = client.get(f"/api/v1/pops/{CONVERSATION}", HTTP_AUTHORIZATION=f"Bearer {token}").json()
    assert (state["link"]["ticket_id"], state["suggested_link"]) == (ticket_id("us_e164_receipt"), None)


# -- authorisation and validation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "what", "body"),
    [
        ("put", "link", {"ticket_id": 1}),
        ("post", "search", {"query": "#1"}),
        ("post", "link/ticket", {"subject": "x"}),
        ("get", "note", None),
        ("put", "note", {"text": "x"}),
    ],
)
def test_every_endpoint_needs_this_conversations_token(
    client: Any, tenant: Any, freshdesk_sim: Any, method: str, what: str, body: Any
) -> None:
    make_pop(tenant)
    anonymous = getattr(client, method)(
        f"/api/v1/pops/{CONVERSATION}/{what}",
        data=json.dumps(body) if body is not None else None,
        content_type="application/json",
    )
    other = call(client, tenant, method, what, body, token_conversation="another-conversation")

    assert (anonymous.status_code, anonymous.json()["error"]) == (401, "token_missing")
    assert (other.status_code, other.json()["error"]) == (403, "wrong_conversation")
    assert freshdesk_sim.requests() == []
    assert not CallLink.objects.exists()
    assert not AgentNote.objects.exists()


def test_another_tenants_token_reaches_only_its_own_tenant(
    client: Any, tenant: Any, make_tenant: Any, freshdesk_sim: Any
) -> None:
    make_pop(tenant)
    other_tenant = make_tenant()

    response = call(client, other_tenant, "put", "link", {"ticket_id": ticket_id("us_e164_receipt")})
    call(client, other_tenant, "put", "note", {"text": "not yours"})

    assert (response.status_code, response.json()["error"]) == (404, "pop_not_found")
    assert not CallLink.objects.exists()
    assert call(client, tenant, "get", "note").json()["text"] == ""


@pytest.mark.parametrize(
    ("what", "body", "field"),
    [
        ("link", {"ticket_id": "twelve"}, "ticket_id"),
        ("link", {}, "ticket_id"),
        ("search", {"query": ""}, "query"),
        ("search", {"query": "x" * 201}, "query"),
        ("search", {"query": "j"}, "query"),
        ("search", {"query": "not-an-email@"}, "query"),
        ("link/ticket", {"subject": "   "}, "subject"),
        ("link/ticket", {"subject": "A call", "contact_id": 12345}, "contact_id"),
        ("note", {"text": "x" * 5001}, "text"),
        ("note", {"words": "x"}, "text"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(
    client: Any, tenant: Any, freshdesk_sim: Any, what: str, body: Any, field: str
) -> None:
    make_pop(tenant)

    response = call(client, tenant, "put" if what in ("link", "note") else "post", what, body)

    assert response.status_code == 422, response.content
    assert response.json()["field"] == field
    assert field in response.json()["detail"]
    assert not endpoint_calls(freshdesk_sim, "tickets.create")


# -- search -------------------------------------------------------------------------------------------------------


def test_search_by_ticket_number(client: Any, tenant: Any, freshdesk_sim: Any) -> None:
    make_pop(tenant)
    wanted = ticket_id("de_national_invoice")

    response = call(client, tenant, "post", "search", {"query": f"#{wanted}"})

    assert response.status_code == 200
    assert response.json()["kind"] == "number"
    assert [ticket["subject"] for ticket in response.json()["tickets"]] == ["Rechnung doppelt erhalten"]
    assert response.json()["tickets"][0]["url"].endswith(f"/a/tickets/{wanted}")
    assert call(client, tenant, "post", "search", {"query": "999999999"}).json()["tickets"] == []


def test_search_by_email_uses_freshdesks_search_with_the_value_quoted(
    client: Any, tenant: Any, freshdesk_sim: Any
) -> None:
    make_pop(tenant)

    response = call(client, tenant, "post", "search", {"query": "Lukas.Schneider@example.de"})

    assert response.json()["kind"] == "email"
    assert {ticket["subject"] for ticket in response.json()["tickets"]} == {
        "Rechnung doppelt erhalten",
        "Kündigung bestätigen",
    }
    (search,) = endpoint_calls(freshdesk_sim, "contacts.search")
    assert search["query"]["query"] == ["\"email:'lukas.schneider@example.de'\""]


def test_search_by_company_and_by_name(client: Any, tenant: Any, freshdesk_sim: Any) -> None:
    make_pop(tenant)

    company = call(client, tenant, "post", "search", {"query": "Globex"}).json()
    person = call(client, tenant, "post", "search", {"query": "charlotte"}).json()

    assert company["kind"] == "name"
    assert {ticket["subject"] for ticket in company["tickets"]} == {
        "Rechnung doppelt erhalten",
        "Kündigung bestätigen",
        "Lieferadresse ändern",
    }
    assert {ticket["found_by"] for ticket in company["tickets"]} == {"Globex GmbH"}
    assert [ticket["subject"] for ticket in person["tickets"]] == ["Shared office line: password reset"]


def test_a_search_result_is_linked_without_asking_freshdesk_again(client: Any, tenant: Any, freshdesk_sim: Any) -> None:
    make_pop(tenant)
    found = call(client, tenant, "post", "search", {"query": "Globex"}).json()["tickets"][0]
    before = len(freshdesk_sim.requests())

    response = call(client, tenant, "put", "link", {"ticket_id": found["id"]})

    assert response.json()["link"]["subject"] == found["subject"]
    assert len(freshdesk_sim.requests()) == before


def test_the_agents_text_cannot_break_out_of_the_query(client: Any, tenant: Any, freshdesk_sim: Any) -> None:
    make_pop(tenant)

    response = call(client, tenant, "post", "search", {"query": "o'brien@example.com"})

    assert response.status_code == 200
    assert response.json()["tickets"] == []
    assert not endpoint_calls(freshdesk_sim, "contacts.search")  # an apostrophe never reaches the query language
    (listed,) = endpoint_calls(freshdesk_sim, "tickets.list")
    assert listed["query"]["email"] == ["o'brien@example.com"]
    for value in ("a' OR email:'b", 'a"', "a\\", "a\nb", ""):
        with pytest.raises(ValueError):
            search_string(value)
    assert search_string("jo@example.com") == "'jo@example.com'"


def test_freshdesk_down_is_a_424_and_a_spent_budget_a_429_sending_nothing(
    client: Any, tenant: Any, freshdesk_sim: Any
) -> None:
    make_pop(tenant)
    freshdesk_sim.configure(outage=True)

    down = call(client, tenant, "post", "search", {"query": "#1234"})
    freshdesk_sim.configure(outage=False)
    RateBudget(freshdesk_base_url(freshdesk_sim.base_url), "growth").block_for(30)
    freshdesk_sim.clear_requests()
    busy = call(client, tenant, "post", "search", {"query": "Globex"})
    linked = call(client, tenant, "put", "link", {"ticket_id": 1234})

    assert (down.status_code, down.json()["error"]) == (424, "freshdesk_unavailable")
    assert (busy.status_code, busy.json()["error"]) == (429, "freshdesk_busy")
    assert int(busy["Retry-After"]) > 0
    assert (linked.status_code, linked.json()["error"]) == (429, "freshdesk_busy")
    assert freshdesk_sim.requests() == []


# -- a new ticket -------------------------------------------------------------------------------------------------


def test_a_new_ticket_for_the_shown_contact_is_created_and_linked(client: Any, tenant: Any, freshdesk_sim: Any) -> None:
    make_pop(tenant)

    response = call(client, tenant, "post", "link/ticket", {"subject": "Asked about the invoice"})

    assert response.status_code == 201, response.content
    ticket = response.json()["ticket"]
    assert response.json()["link"]["ticket_id"] == ticket["id"]
    (created,) = endpoint_calls(freshdesk_sim, "tickets.create")
    assert created["body"]["requester_id"] == CALLER.id
    assert created["body"]["subject"] == "Asked about the invoice"
    assert created["body"]["source"] == 3
    assert CONVERSATION in created["body"]["description"]
    assert call_link_of(tenant_id=tenant.pk, conversation_id=CONVERSATION).contact_id == CALLER.id


def test_an_unknown_callers_new_ticket_links_the_call(client: Any, tenant: Any, freshdesk_sim: Any) -> None:
    pop = make_pop(tenant, phone="+12015550111")
    Pop.objects.filter(pk=pop.pk).update(
        state=Pop.State.NO_MATCH, result={"phone_display": "+12015550111", "contacts": []}
    )

    response = call(client, tenant, "post", "link/ticket", {"subject": "New caller"})

    assert response.status_code == 201, response.content
    assert response.json()["state"] == "matched"
    assert response.json()["link"]["ticket_id"] == response.json()["ticket"]["id"]


def test_freshdesk_refusing_a_creation_is_a_422(client: Any, tenant: Any, freshdesk_sim: Any) -> None:
    make_pop(tenant)
    blocked = demo_contact("us_blocked")
    Pop.objects.filter(conversation_id=CONVERSATION).update(
        result={"contacts": [{"id": blocked.id, "name": blocked.name, "tickets": []}]}
    )

    response = call(client, tenant, "post", "link/ticket", {"subject": "Spam again"})

    assert (response.status_code, response.json()["error"]) == (422, "freshdesk_refused")
    assert response.json()["field"] == "requester_id"
    assert not CallLink.objects.exists()


# -- notes --------------------------------------------------------------------------------------------------------


def test_each_agent_keeps_their_own_note(client: Any, tenant: Any) -> None:
    make_pop(tenant)

    saved = call(client, tenant, "put", "note", {"text": "Wants a refund  \n<b>not bold</b>"})

    assert saved.status_code == 200
    assert call(client, tenant, "get", "note").json()["text"] == "Wants a refund  \n<b>not bold</b>"
    assert call(client, tenant, "get", "note", user="agent-2").json()["text"] == ""
    note = AgentNote.objects.get()
    assert (note.user_id, note.conversation_id) == ("agent-1", CONVERSATION)
