"""The call's link to a ticket and the agents' notes: one per conversation (and agent), the newest choice wins."""

import pytest

from screenpop.models import Tenant
from screenpop.pops.links import agent_note_of, agent_note_set, call_link_of, call_link_set, number_last_link

pytestmark = pytest.mark.django_db


@pytest.fixture
def tenant():
    return Tenant.objects.create(name="Acme", genesys_org_id="org-links")


def test_a_conversation_keeps_its_newest_link(tenant):
    call_link_set(tenant_id=tenant.id, conversation_id="c1", ticket_id=1, chosen_by="u1", phone_e164="+15550001")
    call_link_set(tenant_id=tenant.id, conversation_id="c1", ticket_id=2, chosen_by="u2", phone_e164="+15550001")
    assert call_link_of(tenant_id=tenant.id, conversation_id="c1").ticket_id == 2
    assert call_link_of(tenant_id=tenant.id, conversation_id="c2") is None


def test_a_number_offers_its_newest_choice_across_calls(tenant):
    call_link_set(tenant_id=tenant.id, conversation_id="c1", ticket_id=7, chosen_by="u1", phone_e164="+15550001")
    call_link_set(tenant_id=tenant.id, conversation_id="c2", ticket_id=9, chosen_by="u1", phone_e164="+15550001")
    assert number_last_link(tenant_id=tenant.id, phone_e164="+15550001").ticket_id == 9
    assert number_last_link(tenant_id=tenant.id, phone_e164="+15559999") is None
    assert number_last_link(tenant_id=tenant.id, phone_e164="") is None


def test_each_agent_has_one_note_per_conversation(tenant):
    agent_note_set(tenant_id=tenant.id, conversation_id="c1", user_id="u1", text="first")
    agent_note_set(tenant_id=tenant.id, conversation_id="c1", user_id="u1", text="second")
    agent_note_set(tenant_id=tenant.id, conversation_id="c1", user_id="u2", text="other")
    assert agent_note_of(tenant_id=tenant.id, conversation_id="c1", user_id="u1") == "second"
    assert agent_note_of(tenant_id=tenant.id, conversation_id="c1", user_id="u2") == "other"
    assert agent_note_of(tenant_id=tenant.id, conversation_id="c1", user_id="u3") == ""
