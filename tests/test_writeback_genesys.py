"""The write-back's Genesys side, through the real SDK against the Genesys simulator, as the tenant's sync client:
participant attributes after a pop (and after a link), and the conversation's facts at wrap-up."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.utils import timezone

from screenpop.models import CallWrapUp, Pop
from screenpop.panel_tokens import panel_token_issue
from screenpop.pops.links import call_link_set
from screenpop.writeback.attributes import pop_attributes_write
from screenpop.writeback.genesys_side import wrapup_facts
from tests.fixtures.genesys_sim import ADMIN_CLIENT_ID, DEMO_ORG_ID
from tests.test_install import sim_environment

pytestmark = [pytest.mark.django_db(transaction=True)]

RESULT = {
    "contacts": [
        {
            "id": 43000001001,
            "name": "Dana Dozens",
            "tickets": [
                {
                    "id": 1001,
                    "subject": "Router <b>down</b>",
                    "status": 2,
                    "status_label": "Open",
                    "url": "https://x/1",
                },
                {"id": 1002, "subject": "Invoice", "status": 3, "status_label": "Pending", "url": "https://x/2"},
            ],
        },
        {"id": 43000001002, "name": "Second contact", "tickets": []},
    ]
}


@pytest.fixture
def tenant(genesys_sim, genesys_sdk, settings, make_tenant):
    settings.SCREENPOP_ALLOW_SIMULATORS = True
    tenant = make_tenant(org_id=DEMO_ORG_ID, name="Demo", region=sim_environment(genesys_sim))
    tenant.genesys_sync_client_id = ADMIN_CLIENT_ID
    tenant.genesys_sync_client_secret = genesys_sim.seed["clients"]["demo_admin"]["secret"]
    tenant.save()
    return tenant


def _customer_attributes(genesys_sim: Any, conversation_id: str) -> dict[str, str]:
    conversation = genesys_sim.control("GET", f"calls/{conversation_id}")
    return next(p for p in conversation["participants"] if p["purpose"] == "customer")["attributes"]


def _pop(tenant, conversation_id: str) -> Pop:
    return Pop.objects.create(
        tenant=tenant, conversation_id=conversation_id, phone_raw="tel:+15550199999", phone_e164="+15550199999",
        state=Pop.State.MATCHED, result=RESULT, received_at=timezone.now(),
    )  # fmt: skip


def test_a_pops_result_lands_on_the_callers_participant(tenant, genesys_sim) -> None:
    conversation_id = genesys_sim.place_call("+15550199999", "Support")["conversationId"]
    pop = _pop(tenant, conversation_id)

    assert pop_attributes_write(pop_id=pop.pk) == "written"

    assert _customer_attributes(genesys_sim, conversation_id) == {
        "screenpop_ticket_id": "1001",
        "screenpop_ticket_status": "Open",
        "screenpop_ticket_subject": "Router <b>down</b>",
        "screenpop_ticket_url": "https://x/1",
        "screenpop_contact_name": "Dana Dozens",
        "screenpop_match_count": "2",
    }


def test_the_linked_ticket_and_the_tenants_names_are_used(tenant, genesys_sim) -> None:
    tenant.participant_attributes = {"ticket_id": "fd_ticket", "ticket_url": "", "match_count": "fd_matches"}
    tenant.save()
    conversation_id = genesys_sim.place_call("+15550199999", "Support")["conversationId"]
    pop = _pop(tenant, conversation_id)
    call_link_set(tenant_id=tenant.pk, conversation_id=conversation_id, ticket_id=1002, chosen_by="agent")

    pop_attributes_write(pop_id=pop.pk)

    attributes = _customer_attributes(genesys_sim, conversation_id)
    assert (attributes["fd_ticket"], attributes["screenpop_ticket_status"], attributes["fd_matches"]) == (
        "1002",
        "Pending",
        "2",
    )
    assert "screenpop_ticket_url" not in attributes
    assert "screenpop_ticket_id" not in attributes


def test_attributes_turned_off_or_without_a_sync_client_write_nothing(tenant, genesys_sim) -> None:
    conversation_id = genesys_sim.place_call("+15550199999", "Support")["conversationId"]
    pop = _pop(tenant, conversation_id)
    tenant.participant_attributes = {"enabled": False}
    tenant.save()
    off = pop_attributes_write(pop_id=pop.pk)
    tenant.participant_attributes, tenant.genesys_sync_client_id = {}, ""
    tenant.save()
    no_client = pop_attributes_write(pop_id=pop.pk)

    assert (off, no_client) == ("off", "no-client")
    assert _customer_attributes(genesys_sim, conversation_id) == {}


def test_a_wrapups_facts_come_from_the_conversation_and_the_code_name_from_genesys(tenant, genesys_sim) -> None:
    call = genesys_sim.place_call("+15550199999", "Support", caller_name="Dana Dozens")
    agent_id = call["events"][2]["eventBody"]["userId"]
    genesys_sim.control("POST", f"calls/{call['conversationId']}/hold", {"seconds": 42})
    ended = genesys_sim.end_call(call["conversationId"], {"code": "Follow-up needed"})
    acw = ended["events"][-1]["eventBody"]
    wrapup = CallWrapUp(
        tenant=tenant, conversation_id=call["conversationId"], user_id=agent_id, wrapup_code=acw["wrapupCode"],
        received_at=timezone.now(),
    )  # fmt: skip

    facts = wrapup_facts(tenant, wrapup)

    assert facts["wrapup_code"] == "Follow-up needed"
    assert (facts["queue"], facts["caller"], facts["direction"]) == ("Support", "Dana Dozens", "inbound")
    assert facts["agent"] in ("Alex Agent", "Blair Agent")
    assert facts["talk_ms"] is not None
    assert facts["hold_ms"] == 42000
    assert ended["events"][1]["eventBody"]["heldDurationMs"] == 42000  # user.end says the same
    assert facts["recorded"] is False


def test_a_recorded_call_gets_a_recording_link_and_every_value_is_escaped(tenant, genesys_sim) -> None:
    from screenpop.writeback.note import CallFacts, conversation_links, note_html

    call = genesys_sim.place_call("+15550199999", "Support", recording=True)
    agent_id = call["events"][2]["eventBody"]["userId"]
    genesys_sim.end_call(call["conversationId"], {"code": "Resolved"})
    wrapup = CallWrapUp(tenant=tenant, conversation_id=call["conversationId"], user_id=agent_id)

    facts = wrapup_facts(tenant, wrapup)
    conversation_url, recording_url = conversation_links(
        environment="mypurecloud.ie", conversation_id=call["conversationId"], recorded=facts["recorded"]
    )
    body = note_html(
        CallFacts(
            conversation_id=call["conversationId"], user_id=agent_id, queue="<script>x</script>",
            agent_note='"quoted" & <i>tags</i>', conversation_url=conversation_url, recording_url=recording_url,
        )
    )  # fmt: skip

    assert facts["recorded"] is True
    assert (
        recording_url
        == f"https://apps.mypurecloud.ie/directory/#/engage/admin/interactions/{call['conversationId']}/recordings"
    )
    assert f'<a href="{recording_url}">Recording</a>' in body
    assert "<script>" not in body
    assert "&lt;script&gt;x&lt;/script&gt;" in body
    assert "&quot;quoted&quot; &amp; &lt;i&gt;tags&lt;/i&gt;" in body


def test_a_linked_ticket_the_pop_did_not_show_gets_its_freshdesk_url() -> None:
    from screenpop.models import CallLink
    from screenpop.pops.result import PopResult
    from screenpop.writeback.attributes import pop_attributes

    link = CallLink(ticket_id=2077, subject="Found by search")

    values = pop_attributes(PopResult.from_json(RESULT), link, freshdesk_url="https://acme.freshdesk.com")

    assert (values["ticket_id"], values["ticket_subject"], values["ticket_status"]) == ("2077", "Found by search", "")
    assert values["ticket_url"] == "https://acme.freshdesk.com/a/tickets/2077"


def test_linking_from_the_panel_names_the_linked_ticket_in_genesys(tenant, genesys_sim, client) -> None:
    """The panel's `PUT .../link` writes the attributes again (in the background, after its commit)."""
    conversation_id = genesys_sim.place_call("+15550199999", "Support")["conversationId"]
    _pop(tenant, conversation_id)
    token = panel_token_issue(tenant_id=tenant.pk, conversation_id=conversation_id, user_id="agent-1")

    response = client.put(
        f"/api/v1/pops/{conversation_id}/link",
        data=json.dumps({"ticket_id": 1002}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )

    assert response.status_code == 200, response.content
    deadline = time.monotonic() + 15
    while _customer_attributes(genesys_sim, conversation_id).get("screenpop_ticket_id") != "1002":
        assert time.monotonic() < deadline, _customer_attributes(genesys_sim, conversation_id)
        time.sleep(0.1)
    assert _customer_attributes(genesys_sim, conversation_id)["screenpop_ticket_subject"] == "Invoice"
