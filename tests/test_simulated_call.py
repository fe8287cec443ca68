"""End to end after an install: a call placed on the Genesys simulator runs the provisioned trigger, the published
workflow (the shipped Archy YAML, as the simulator reads it) and the data action, which gets a token from our
/oauth/token/ and posts to our webhook; the pop is looked up in the Freshdesk simulator and matched. A real server
(uvicorn), the operator's commands, both simulators.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from screenpop.install import blueprint
from simulators.freshdesk.seed import demo_contact
from tests.fixtures.genesys_sim import ADMIN_CLIENT_ID, DEMO_ORG_ID
from tests.fixtures.processes import free_port

pytestmark = pytest.mark.slow


def wait_for_state(server: Any, tenant_id: int, conversation_id: str, timeout: float = 20) -> dict[str, Any]:
    token = server.panel_token(tenant_id=tenant_id, conversation_id=conversation_id)
    deadline = time.monotonic() + timeout
    while True:
        response = requests.get(
            f"{server.base_url}/api/v1/pops/{conversation_id}", headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
        assert response.status_code == 200, response.text
        state = response.json()
        if state["state"] not in ("pending",) or time.monotonic() > deadline:
            return state
        time.sleep(0.2)


def test_a_simulated_call_through_the_provisioned_trigger_pops_the_callers_tickets(
    screenpop_server, genesys_sim, freshdesk_sim
) -> None:
    server = screenpop_server
    server.port = free_port()
    server.env["PUBLIC_BASE_URL"] = server.base_url  # what the data action and the credential will call
    server.env["GENESYS_SIMULATOR_URL"] = genesys_sim.base_url
    secret = genesys_sim.seed["clients"]["demo_admin"]["secret"]
    tenant = server.manage_json(
        "tenant_create", "--org-id", DEMO_ORG_ID, "--name", "Demo", "--region", urlsplit(genesys_sim.base_url).netloc,
        "--freshdesk-url", freshdesk_sim.base_url, "--freshdesk-api-key", freshdesk_sim.api_key,
    )  # fmt: skip
    provision = [
        "genesys_provision",
        "--org-id",
        DEMO_ORG_ID,
        "--client-id",
        ADMIN_CLIENT_ID,
        "--client-secret",
        secret,
    ]
    finished = server.manage(*provision, "--queues", "Support")
    assert "created  Architect workflow" in finished  # published through a job: no hand step
    assert "created  Trigger" in finished

    with server.run():
        seq = genesys_sim.log()[-1]["seq"]
        output = server.manage("simulate_call", "+15550199999", "--queue", "support", "--org-id", DEMO_ORG_ID)
        other_queue = server.manage("simulate_call", "+15550199999", "--queue", "billing", "--org-id", DEMO_ORG_ID)
        conversation_id = output.split()[1]
        state = wait_for_state(server, tenant["id"], conversation_id)

    assert f"token request: POST {server.base_url}/oauth/token/ → 200" in output, output
    assert f"webhook:       POST {server.base_url}/api/v1/genesys/events → 202" in output, output
    assert '"status": "accepted"' in output
    assert "No trigger ran" in other_queue  # Billing is not among the tenant's queue filters
    assert state["state"] == "matched", state
    assert state["contact"]["name"] == demo_contact("us_parenthesised").name
    assert state["phone"]["e164"] == "+15550199999"
    assert state["tickets"]
    outgoing = genesys_sim.log(since=seq, direction="out")
    assert [(entry["purpose"], entry["status"]) for entry in outgoing] == [("auth", 200), ("action", 202)]
    assert outgoing[0]["headers"]["Authorization"] == "Basic ***"
    assert outgoing[1]["headers"]["Authorization"] == "Bearer ***"
    assert outgoing[1]["body"]["conversation_id"] == conversation_id
    assert outgoing[1]["body"]["phone_number"] == "tel:+15550199999"
    # The shipped workflow passes the event's epoch milliseconds through; the webhook accepts them as they are.
    assert outgoing[1]["body"]["timestamp"].isdigit()
    runs = [entry for entry in genesys_sim.log(since=seq, direction="workflow")]
    assert [(run["triggerName"], run["flowName"], run["success"]) for run in runs] == [
        (blueprint.TRIGGER_NAME, blueprint.WORKFLOW_NAME, True)
    ]
    assert server.sql("SELECT state FROM screenpop_pop") == [("matched",)]
