"""The panel's Create-ticket action: `POST /api/v1/pops/<conversation_id>/tickets` with the panel token, against the
Freshdesk simulator. The ticket is a phone ticket for the caller's number, the pop becomes matched, and the
conversation's panels receive it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.utils import timezone

from screenpop.lookup.service import caller_lookup
from screenpop.models import PhoneIndexEntry, Pop, PopTicket
from screenpop.panel_tokens import panel_token_issue
from screenpop.phones import normalize_caller
from screenpop.publishing import pop_group
from simulators.freshdesk.seed import demo_contact, demo_ticket_count

CONVERSATION = "6f0d8a3e-2b6c-4a53-9d7e-1c2b3a4d5e6f"
NUMBER = "+12015550111"  # no contact has it in the seed


@pytest.fixture
def tenant(settings: Any, make_tenant: Any, freshdesk_sim: Any) -> Any:
    settings.SCREENPOP_ALLOW_SIMULATORS = True
    return make_tenant(freshdesk_domain=freshdesk_sim.base_url, freshdesk_api_key=freshdesk_sim.api_key)


def make_pop(tenant: Any, *, state: str = Pop.State.NO_MATCH, phone: str = NUMBER) -> Pop:
    return Pop.objects.create(
        tenant=tenant,
        conversation_id=CONVERSATION,
        phone_raw=f"tel:{phone}",
        phone_e164=phone if phone.startswith("+") else "",
        state=state,
        detail="No Freshdesk contact has this number.",
        result={"phone_display": "+1 201-555-0111", "contact": None, "contacts": [], "tickets": []},
        received_at=timezone.now(),
        completed_at=timezone.now(),
    )


def create(client: Any, tenant: Any, *, body: dict[str, Any] | None = None, conversation: str = CONVERSATION) -> Any:
    token = panel_token_issue(tenant_id=tenant.pk, conversation_id=CONVERSATION, user_id="agent-1")
    return client.post(
        f"/api/v1/pops/{conversation}/tickets",
        data=json.dumps(body or {}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def test_a_phone_ticket_is_created_and_the_pop_becomes_matched_for_every_panel(
    client: Any, tenant: Any, freshdesk_sim: Any, django_capture_on_commit_callbacks: Any
) -> None:
    pop = make_pop(tenant)
    layer = get_channel_layer()
    panel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(pop_group(tenant.pk, CONVERSATION), panel)

    with django_capture_on_commit_callbacks(execute=True):
        response = create(client, tenant)

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["state"] == "matched"
    assert body["ticket"]["subject"] == "Call from +1 201-555-0111"
    assert [ticket["id"] for ticket in body["tickets"]] == [body["ticket"]["id"]]
    sent = next(r for r in freshdesk_sim.requests() if r["endpoint"] == "tickets.create")
    assert sent["body"]["phone"] == NUMBER
    assert sent["body"]["name"] == "Caller +1 201-555-0111"
    assert sent["body"]["source"] == 3
    assert CONVERSATION in sent["body"]["description"]
    pop.refresh_from_db()
    assert pop.state == Pop.State.MATCHED
    assert PopTicket.objects.filter(pop=pop, ticket_id=body["ticket"]["id"]).exists()  # ticket updates reach it
    pushed = async_to_sync(layer.receive)(panel)
    assert (pushed["type"], pushed["state"]["state"]) == ("pop.state", "matched")
    # The next call from this number is found through the index, without waiting for Freshdesk search to catch up.
    assert PhoneIndexEntry.objects.filter(tenant=tenant, e164=NUMBER).exists()


def test_the_agent_may_edit_the_subject(client: Any, tenant: Any, freshdesk_sim: Any) -> None:
    make_pop(tenant)

    response = create(client, tenant, body={"subject": "Wants a callback about order 40100"})

    assert response.json()["ticket"]["subject"] == "Wants a callback about order 40100"


def test_the_panel_token_is_required_and_bound_to_the_conversation(client: Any, tenant: Any) -> None:
    make_pop(tenant)

    anonymous = client.post(f"/api/v1/pops/{CONVERSATION}/tickets", data="{}", content_type="application/json")
    other = create(client, tenant, conversation="another-conversation")

    assert (anonymous.status_code, anonymous.json()["error"]) == (401, "token_missing")
    assert (other.status_code, other.json()["error"]) == (403, "wrong_conversation")


@pytest.mark.parametrize(("state", "phone"), [(Pop.State.MATCHED, NUMBER), (Pop.State.NO_MATCH, "anonymous")])
def test_only_a_caller_with_a_number_and_no_contact_gets_a_ticket(
    client: Any, tenant: Any, freshdesk_sim: Any, state: str, phone: str
) -> None:
    make_pop(tenant, state=state, phone=phone)

    response = create(client, tenant)

    assert (response.status_code, response.json()["error"]) == (409, "not_creatable")
    assert not [r for r in freshdesk_sim.requests() if r["endpoint"] == "tickets.create"]


def test_freshdesk_down_leaves_the_pop_as_it_was(client: Any, tenant: Any, freshdesk_sim: Any) -> None:
    pop = make_pop(tenant)
    freshdesk_sim.configure(outage=True)

    response = create(client, tenant)

    assert (response.status_code, response.json()["error"]) == (503, "freshdesk_unavailable")
    pop.refresh_from_db()
    assert pop.state == Pop.State.NO_MATCH
    freshdesk_sim.configure(outage=False)
    assert create(client, tenant).status_code == 201  # the agent's retry works: no lock left behind


# -- the whole story: a caller's other tickets on demand (issue 24) -------------------------------------------------

DANA = demo_contact("us_parenthesised")  # 45 tickets


def looked_up_pop(tenant: Any, phone: str) -> Pop:
    """The pop a real lookup of `phone` leaves (the panel's first tickets, their count)."""
    found = caller_lookup(tenant=tenant, caller=normalize_caller(f"tel:{phone}", default_region="US"))
    return Pop.objects.create(
        tenant=tenant, conversation_id=CONVERSATION, phone_raw=f"tel:{phone}", phone_e164=phone,
        state=Pop.State.MATCHED, result=found.result.to_json(), received_at=timezone.now(),
        completed_at=timezone.now(),
    )  # fmt: skip


def page(client: Any, tenant: Any, query: str, *, conversation: str = CONVERSATION) -> Any:
    token = panel_token_issue(tenant_id=tenant.pk, conversation_id=CONVERSATION, user_id="agent-1")
    return client.get(f"/api/v1/pops/{conversation}/tickets?{query}", HTTP_AUTHORIZATION=f"Bearer {token}")


def test_a_caller_with_45_tickets_shows_the_first_ones_with_the_count_and_pages_the_rest(
    client: Any, tenant: Any, freshdesk_sim: Any
) -> None:
    pop = looked_up_pop(tenant, DANA.phone_e164)
    contact = pop.result["contacts"][0]
    assert (len(contact["tickets"]), contact["ticket_count"], contact["tickets_beyond"]) == (
        tenant.ticket_limit,
        demo_ticket_count("us_parenthesised"),
        False,
    )
    freshdesk_sim.clear_requests()

    first = page(client, tenant, f"contact={contact['id']}&offset=0&limit={tenant.ticket_limit}").json()
    second = page(client, tenant, f"contact={contact['id']}&offset={tenant.ticket_limit}&limit=10").json()
    last = page(client, tenant, f"contact={contact['id']}&offset=40&limit=10").json()

    assert [t["id"] for t in first["tickets"]] == [t["id"] for t in contact["tickets"]], "the same ranking"
    assert (len(second["tickets"]), second["next_offset"], second["count"]) == (10, tenant.ticket_limit + 10, 45)
    assert not {t["id"] for t in second["tickets"]} & {t["id"] for t in first["tickets"]}
    assert (len(last["tickets"]), last["next_offset"], last["beyond"]) == (5, None, False)
    lists = [r for r in freshdesk_sim.requests() if r["endpoint"] == "tickets.list"]
    assert len(lists) == 1, "one Freshdesk call for the whole page, kept while the agent pages"


def test_load_more_needs_the_conversations_token_and_one_of_its_contacts(
    client: Any, tenant: Any, freshdesk_sim: Any
) -> None:
    pop = looked_up_pop(tenant, DANA.phone_e164)
    contact_id = pop.result["contacts"][0]["id"]
    url = f"/api/v1/pops/{CONVERSATION}/tickets?contact={contact_id}"

    assert client.get(url).status_code == 401
    other = page(client, tenant, f"contact={contact_id}", conversation="another-conversation")
    assert (other.status_code, other.json()["error"]) == (403, "wrong_conversation")
    stranger = page(client, tenant, f"contact={contact_id + 1}")
    assert (stranger.status_code, stranger.json()["error"]) == (404, "contact_not_shown")
    refusals = [
        ("", "contact"),
        ("contact=abc", "contact"),
        (f"contact={contact_id}&limit=0", "limit"),
        (f"contact={contact_id}&offset=-1", "offset"),
        (f"contact={contact_id}&limit=51", "limit"),
    ]
    for query, field in refusals:
        refused = page(client, tenant, query)
        assert (refused.status_code, refused.json().get("field")) == (422, field), query
    assert not [r for r in freshdesk_sim.requests() if r["endpoint"] == "tickets.list"][1:], "none for refusals"


def test_load_more_while_freshdesk_is_down_is_a_503_the_panel_can_name(
    client: Any, tenant: Any, freshdesk_sim: Any
) -> None:
    pop = looked_up_pop(tenant, DANA.phone_e164)
    freshdesk_sim.configure(outage=True)
    response = page(client, tenant, f"contact={pop.result['contacts'][0]['id']}&offset=5")
    assert (response.status_code, response.json()["error"]) == (503, "freshdesk_unavailable")
    assert "http" not in response.json()["detail"]
