"""Pops from what the IVR collected: the lookup reads the tenant's participant attribute on the Genesys
conversation (with the sync client's client credentials, against the Genesys simulator) and opens that ticket, or
that email's contact, before matching the phone number (against the Freshdesk simulator)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.utils import timezone

from screenpop.models import Pop
from screenpop.pops.services import pop_lookup_run
from simulators.freshdesk.seed import DEMO_TICKETS, demo_contact
from simulators.genesys.seed import ADMIN_CLIENT_ID, DEMO_ORG_ID, SEEDED_SECRETS
from tests.fixtures.genesys_sim import USERS

pytestmark = pytest.mark.django_db

CALLER = demo_contact("us_e164")  # Jordan Blake: "Upgrade to the Pro plan" (open) and "Receipt for March"


def ticket_id(key: str) -> int:
    return next(ticket.id for ticket in DEMO_TICKETS if ticket.key == key)


@pytest.fixture
def tenant(settings: Any, make_tenant: Any, freshdesk_sim: Any, genesys_sim: Any) -> Any:
    settings.SCREENPOP_ALLOW_SIMULATORS = True
    tenant = make_tenant(
        org_id=DEMO_ORG_ID,
        region=urlsplit(genesys_sim.base_url).netloc,
        freshdesk_domain=freshdesk_sim.base_url,
        freshdesk_api_key=freshdesk_sim.api_key,
    )
    tenant.ivr_attribute = "ticket_number"
    tenant.genesys_sync_client_id = ADMIN_CLIENT_ID
    tenant.genesys_sync_client_secret = SEEDED_SECRETS[ADMIN_CLIENT_ID]
    tenant.save()
    return tenant


def looked_up(tenant: Any, genesys_sim: Any, number: str, **attributes: str) -> Pop:
    conversation_id = genesys_sim.place_call(number, "Support", agent=USERS["alex"])["conversationId"]
    if attributes:
        genesys_sim.control("POST", f"calls/{conversation_id}/participant-data", {"attributes": attributes})
    now = timezone.now()
    pop = Pop.objects.create(
        tenant=tenant, conversation_id=conversation_id, phone_raw=f"tel:{number}", received_at=now,
        lease_owner="test", lease_expires_at=now + timedelta(minutes=1),
    )  # fmt: skip
    pop_lookup_run(pop_id=pop.pk, owner="test")
    pop.refresh_from_db()
    return pop


def shown_tickets(pop: Pop) -> list[str]:
    return [ticket["subject"] for ticket in pop.result["contacts"][0]["tickets"]]


def test_a_ticket_number_from_the_ivr_opens_that_ticket_first(tenant: Any, genesys_sim: Any) -> None:
    pop = looked_up(tenant, genesys_sim, CALLER.phone_e164, ticket_number=str(ticket_id("us_e164_receipt")))

    assert pop.state == Pop.State.MATCHED
    assert pop.result["source"] == "ivr"
    assert pop.result["contacts"][0]["id"] == CALLER.id
    # The closed ticket the caller named comes first, before their open one.
    assert shown_tickets(pop) == ["Receipt for March", "Upgrade to the Pro plan"]


def test_it_wins_over_the_phone_number_and_works_for_a_withheld_one(tenant: Any, genesys_sim: Any) -> None:
    other = ticket_id("de_national_invoice")

    from_another_phone = looked_up(tenant, genesys_sim, CALLER.phone_e164, ticket_number=f"#{other}")
    withheld = looked_up(tenant, genesys_sim, "anonymous", ticket_number=str(other))

    assert from_another_phone.result["contacts"][0]["name"] == "Lukas Schneider"
    assert shown_tickets(from_another_phone)[0] == "Rechnung doppelt erhalten"
    assert withheld.state == Pop.State.MATCHED
    assert shown_tickets(withheld)[0] == "Rechnung doppelt erhalten"


def test_an_email_from_the_ivr_opens_that_contact(tenant: Any, genesys_sim: Any) -> None:
    pop = looked_up(tenant, genesys_sim, "+12015550111", ticket_number="Anna.Fischer@example.de")

    assert pop.result["contacts"][0]["name"] == "Anna Fischer"
    assert shown_tickets(pop) == ["Lieferadresse ändern"]


@pytest.mark.parametrize("value", [None, "999999999", "not a ticket", "nobody@example.org"])
def test_without_a_usable_value_the_phone_number_is_matched(tenant: Any, genesys_sim: Any, value: Any) -> None:
    pop = looked_up(tenant, genesys_sim, CALLER.phone_e164, **({"ticket_number": value} if value else {}))

    assert pop.state == Pop.State.MATCHED
    assert pop.result["source"] != "ivr"
    assert pop.result["contacts"][0]["id"] == CALLER.id
    assert shown_tickets(pop)[0] == "Upgrade to the Pro plan"


def test_genesys_refusing_the_sync_client_falls_back_to_the_phone_number(tenant: Any, genesys_sim: Any) -> None:
    tenant.genesys_sync_client_secret = "wrong"
    tenant.save()

    pop = looked_up(tenant, genesys_sim, CALLER.phone_e164, ticket_number=str(ticket_id("us_e164_receipt")))

    assert pop.state == Pop.State.MATCHED
    assert shown_tickets(pop)[0] == "Upgrade to the Pro plan"


def test_a_tenant_without_the_setting_asks_genesys_nothing(tenant: Any, genesys_sim: Any) -> None:
    tenant.ivr_attribute = ""
    tenant.save()
    before = len(genesys_sim.log(direction="in"))

    pop = looked_up(tenant, genesys_sim, CALLER.phone_e164, ticket_number=str(ticket_id("us_e164_receipt")))

    assert shown_tickets(pop)[0] == "Upgrade to the Pro plan"
    asked = [e for e in genesys_sim.log(direction="in")[before:] if not e["path"].startswith("/_sim/")]
    assert asked == []


def test_the_simulator_refuses_participant_data_genesys_cannot_hold(genesys_sim: Any) -> None:
    conversation_id = genesys_sim.place_call(CALLER.phone_e164, "Support", agent=USERS["alex"])["conversationId"]
    for attributes in ({}, {"ticket_number": 1234}, {"bad name": "x"}):
        with pytest.raises(Exception, match="400"):
            genesys_sim.control("POST", f"calls/{conversation_id}/participant-data", {"attributes": attributes})
