"""The loop closed, end to end after an install: a call on the Genesys simulator pops (the first trigger), the pop's
result lands on the caller's participant in Genesys, the agent links a ticket and types a note, the call ends with a
wrap-up code, the second trigger's workflow and data action post the wrap-up to our webhook (three times: Genesys
retries), and the Freshdesk simulator holds exactly one private note on the linked ticket with the call's facts.
A real server (uvicorn) with its write-back worker, the operator's commands, both simulators.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

import pytest

from screenpop.install import blueprint
from tests.fixtures.genesys_sim import ADMIN_CLIENT_ID, DEMO_ORG_ID
from tests.fixtures.processes import free_port
from tests.test_simulated_call import wait_for_state

pytestmark = pytest.mark.slow

CALLER = "+15550199999"


def _until(check: Any, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.3)


def _notes(freshdesk_sim: Any, ticket_id: int) -> list[dict[str, Any]]:
    listed = freshdesk_sim.get(f"/api/v2/tickets/{ticket_id}/conversations", params={"per_page": 100}).json()
    return [item for item in listed if item["source"] == 2]


def _customer_attributes(genesys_sim: Any, conversation_id: str) -> dict[str, str]:
    conversation = genesys_sim.control("GET", f"calls/{conversation_id}")
    return next(p for p in conversation["participants"] if p["purpose"] == "customer")["attributes"]


def test_a_call_ends_with_a_wrapup_and_its_ticket_holds_exactly_one_note(
    screenpop_server, genesys_sim, freshdesk_sim
) -> None:
    server = screenpop_server
    server.port = free_port()
    server.env["PUBLIC_BASE_URL"] = server.base_url
    server.env["GENESYS_SIMULATOR_URL"] = genesys_sim.base_url
    secret = genesys_sim.seed["clients"]["demo_admin"]["secret"]
    tenant = server.manage_json(
        "tenant_create", "--org-id", DEMO_ORG_ID, "--name", "Demo", "--region", urlsplit(genesys_sim.base_url).netloc,
        "--freshdesk-url", freshdesk_sim.base_url, "--freshdesk-api-key", freshdesk_sim.api_key,
    )  # fmt: skip
    provisioned = server.manage(
        "genesys_provision", "--org-id", DEMO_ORG_ID, "--client-id", ADMIN_CLIENT_ID, "--client-secret", secret,
        "--queues", "Support",
    )  # fmt: skip
    assert "created  Trigger on wrap-ups (acw)" in provisioned, provisioned

    with server.run():
        call = genesys_sim.place_call(CALLER, "Support")
        conversation_id = call["conversationId"]
        agent_id = call["events"][2]["eventBody"]["userId"]
        state = wait_for_state(server, tenant["id"], conversation_id)
        assert state["state"] == "matched", state
        ticket = state["tickets"][0]
        # Genesys sees the pop: the first ticket shown, on the caller's participant.
        attributes = _until(lambda: _customer_attributes(genesys_sim, conversation_id).get("screenpop_ticket_id"))
        assert attributes == str(ticket["id"])
        assert _customer_attributes(genesys_sim, conversation_id)["screenpop_match_count"] == "1"
        # The agent links the ticket and types a note (the panel's half writes these through the same functions).
        server.manage(
            "shell", "-c",
            "from screenpop.pops.links import agent_note_set, call_link_set\n"
            f"call_link_set(tenant_id={tenant['id']}, conversation_id={conversation_id!r}, "
            f"ticket_id={ticket['id']}, chosen_by={agent_id!r})\n"
            f"agent_note_set(tenant_id={tenant['id']}, conversation_id={conversation_id!r}, user_id={agent_id!r}, "
            "text='Replaced the router <b>today</b>')",
        )  # fmt: skip

        genesys_sim.control("POST", f"calls/{conversation_id}/hold", {"seconds": 42})
        ended = genesys_sim.end_call(conversation_id, {"code": "Resolved", "notes": "Customer satisfied"})
        (run,) = ended["triggers"]
        # Genesys delivers the same end event again (its retries): the data action runs twice more.
        token = genesys_sim.admin_token()
        again = [
            genesys_sim.api(
                "POST", f"/api/v2/integrations/actions/{run['actionId']}/test", token=token, json=run["input"]
            ).json()
            for _ in range(2)
        ]
        notes = _until(lambda: _notes(freshdesk_sim, ticket["id"]))
        time.sleep(3)  # three write-back rounds: nothing more may come
        notes = _notes(freshdesk_sim, ticket["id"])
        wrapups = server.sql("SELECT state, note_id, ticket_id FROM screenpop_callwrapup")

    assert (run["triggerName"], run["flowName"], run["success"]) == (
        blueprint.WRAPUP_TRIGGER_NAME,
        blueprint.WRAPUP_WORKFLOW_NAME,
        True,
    )
    assert run["webhook"]["status"] == 202, run["webhook"]
    assert run["webhook"]["body"]["event_type"] == "CALL_WRAPUP"
    assert [answer["finalResult"]["status"] for answer in again] == ["duplicate", "duplicate"]
    (note,) = notes
    assert note["private"] is True
    text = note["body_text"]
    for fact in (
        "Wrap-up code: Resolved",  # the code's id in the event, its name read from Genesys
        "Queue: Support",
        "Direction: Inbound",
        "Customer satisfied",
        "Hold time: 0:42",  # from Genesys's analytics of the conversation
        "Replaced the router <b>today</b>",
        CALLER,
    ):
        assert fact in text, text
    assert f"/engage/admin/interactions/{conversation_id}" in note["body"]
    assert "Talk time:" in text
    assert wrapups == [("written", note["id"], ticket["id"])]


def test_two_servers_given_the_same_wrapups_write_each_note_once(
    screenpop_server, freshdesk_sim, postgres_url, redis_url
) -> None:
    """Production configuration: each wrap-up is delivered to both processes (Genesys retrying against another
    one), and both run the write-back on the same PostgreSQL: every call gets exactly one note."""
    import requests

    from simulators.freshdesk.seed import DEMO_TICKETS
    from tests.test_pipeline import Installed

    if "DATABASE_URL" not in screenpop_server.env:
        pytest.skip("runs in the production configuration (CI's second pass: DATABASE_URL and REDIS_URL set)")
    ticket_id = next(ticket.id for ticket in DEMO_TICKETS if ticket.visible)
    conversations = [f"two-servers-{number}" for number in range(8)]
    with screenpop_server.run(REDIS_URL=redis_url):
        second = type(screenpop_server)(directory=screenpop_server.directory, env=dict(screenpop_server.env))
        with second.run(REDIS_URL=redis_url):
            installed = Installed(screenpop_server, freshdesk_sim)
            links = "".join(
                f"call_link_set(tenant_id={installed.tenant_id}, conversation_id={conversation!r}, "
                f"ticket_id={ticket_id}, chosen_by='agent-1')\n"
                for conversation in conversations
            )
            screenpop_server.manage("shell", "-c", "from screenpop.pops.links import call_link_set\n" + links)
            token = installed.token()
            statuses = []
            for conversation in conversations:
                body = {"event_type": "CALL_WRAPUP", "conversation_id": conversation, "user_id": "agent-1",
                        "wrapup_code": "Resolved", "media_type": "VOICE"}  # fmt: skip
                for base_url in (screenpop_server.base_url, second.base_url):
                    answer = requests.post(
                        f"{base_url}/api/v1/genesys/events",
                        json=body,
                        headers={"Authorization": f"Bearer {token}"},
                        timeout=10,
                    )
                    statuses.append(answer.status_code)

            def all_written() -> bool:
                states = screenpop_server.sql("SELECT state FROM screenpop_callwrapup")
                return len(states) == len(conversations) and {state for (state,) in states} == {"written"}

            assert _until(all_written, timeout=60)
            time.sleep(2)  # more rounds of both processes: nothing more may come
            notes = _notes(freshdesk_sim, ticket_id)

    assert statuses == [202, 200] * len(conversations)
    markers = sorted(note["body_text"].split("screenpop call ")[1] for note in notes)
    assert markers == sorted(f"{conversation} / agent agent-1" for conversation in conversations)
