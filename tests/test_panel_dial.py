"""Click-to-dial: `POST /api/v1/pops/<conversation_id>/dial` places the call through the Genesys simulator's
`POST /api/v2/conversations/calls` with the agent's own token, and the new call pops like an inbound one (against
the Freshdesk simulator)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import pytest

from screenpop.models import Pop
from screenpop.panel_tokens import panel_token_issue
from screenpop.pops.services import pop_lookup_run
from simulators.freshdesk.seed import demo_contact
from tests.fixtures.genesys_sim import DEMO_ORG_ID, USERS

pytestmark = pytest.mark.django_db

CONTACT = demo_contact("us_parenthesised")  # Dana Whitfield, stored as "(555) 019-9999"


@pytest.fixture
def tenant(settings: Any, make_tenant: Any, freshdesk_sim: Any, genesys_sim: Any) -> Any:
    settings.SCREENPOP_ALLOW_SIMULATORS = True
    return make_tenant(
        org_id=DEMO_ORG_ID,
        region=urlsplit(genesys_sim.base_url).netloc,
        freshdesk_domain=freshdesk_sim.base_url,
        freshdesk_api_key=freshdesk_sim.api_key,
    )


@pytest.fixture
def inbound(genesys_sim: Any) -> str:
    return genesys_sim.place_call("+12015550123", "Support", agent=USERS["alex"])["conversationId"]


def dial(client: Any, tenant: Any, conversation: str, body: dict[str, Any], *, agent: str = "alex") -> Any:
    token = panel_token_issue(tenant_id=tenant.pk, conversation_id=conversation, user_id=USERS[agent])
    return client.post(
        f"/api/v1/pops/{conversation}/dial",
        data=json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def test_the_dialled_call_is_placed_as_the_agent_and_pops_like_an_inbound_one(
    client: Any, tenant: Any, genesys_sim: Any, inbound: str
) -> None:
    response = dial(client, tenant, inbound, {"number": CONTACT.phone, "genesys_token": genesys_sim.token_for("alex")})

    assert response.status_code == 201, response.content
    placed = response.json()["conversation_id"]
    call = genesys_sim.control("GET", f"calls/{placed}")
    assert call["participants"][0]["userId"] == USERS["alex"]
    assert call["participants"][1]["address"] == "tel:+15550199999"  # the stored "(555) 019-9999", as E.164
    assert call["participants"][1]["calls"][0]["direction"] == "outbound"
    pop = Pop.objects.get(tenant=tenant, conversation_id=placed)
    pop_lookup_run(pop_id=pop.pk, owner=pop.lease_owner)
    pop.refresh_from_db()
    assert pop.state == Pop.State.MATCHED
    assert pop.result["contacts"][0]["name"] == "Dana Whitfield"


def test_another_users_genesys_login_cannot_dial_for_the_agent(
    client: Any, tenant: Any, genesys_sim: Any, inbound: str
) -> None:
    response = dial(client, tenant, inbound, {"number": CONTACT.phone, "genesys_token": genesys_sim.token_for("blair")})

    assert (response.status_code, response.json()["error"]) == (403, "not_your_login")
    assert not [e for e in genesys_sim.log(direction="in") if e["path"] == "/api/v2/conversations/calls"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"number": "not a number", "genesys_token": "abc"}, "number"),
        ({"number": "+12015550123"}, "genesys_token"),
        ({"number": "+12015550123", "genesys_token": "has spaces"}, "genesys_token"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(
    client: Any, tenant: Any, genesys_sim: Any, inbound: str, body: dict[str, Any], field: str
) -> None:
    response = dial(client, tenant, inbound, body)

    assert (response.status_code, response.json()["field"]) == (422, field)
    assert not [e for e in genesys_sim.log(direction="in") if e["path"] == "/api/v2/conversations/calls"]


def test_an_expired_genesys_login_asks_the_agent_to_sign_in(client: Any, tenant: Any, inbound: str) -> None:
    response = dial(client, tenant, inbound, {"number": CONTACT.phone, "genesys_token": "expired-token"})

    assert (response.status_code, response.json()["error"]) == (401, "login_required")


def test_the_simulator_refuses_a_call_without_a_user(genesys_sim: Any) -> None:
    response = genesys_sim.api(
        "POST", "/api/v2/conversations/calls", token=genesys_sim.admin_token(), json={"phoneNumber": "+12015550123"}
    )
    unknown = genesys_sim.api(
        "POST", "/api/v2/conversations/calls", token=genesys_sim.token_for("alex"), json={"phoneNumber": "x"}
    )

    assert response.status_code == 400
    assert (unknown.status_code, unknown.json()["code"]) == (400, "invalid.value")
