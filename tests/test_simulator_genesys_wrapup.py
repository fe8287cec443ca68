"""The Genesys simulator's call end, wrap-up and participant attributes (reference §12), through real HTTP and the
real SDK."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures.genesys_sim import GenesysSim


def _customer(conversation: dict[str, Any]) -> dict[str, Any]:
    return next(p for p in conversation["participants"] if p["purpose"] == "customer")


def test_an_end_with_a_wrapup_emits_customer_end_user_end_then_acw(genesys_sim: GenesysSim) -> None:
    call = genesys_sim.place_call("+15550199", "Support")
    agent_id = call["events"][2]["eventBody"]["userId"]

    ended = genesys_sim.end_call(call["conversationId"], {"code": "Resolved", "notes": "Reset the router"})

    topics = [event["topicName"].split(call["conversationId"] + ".")[1] for event in ended["events"]]
    assert topics == ["customer.end", "user.end", "acw"]
    user_end, acw = ended["events"][1]["eventBody"], ended["events"][2]["eventBody"]
    assert user_end["userId"] == agent_id
    assert user_end["interactingDurationMs"] >= 0
    assert user_end["heldDurationMs"] == 0
    assert (acw["userId"], acw["wrapupNotes"], acw["wrapupDurationMs"]) == (agent_id, "Reset the router", 12000)
    assert acw["queueId"] == genesys_sim.queue_id("Support")
    assert (acw["mediaType"], acw["direction"], acw["ani"]) == ("VOICE", "INBOUND", "tel:+15550199")
    code = genesys_sim.api("GET", f"/api/v2/routing/wrapupcodes/{acw['wrapupCode']}", token=genesys_sim.admin_token())
    assert code.status_code == 200
    assert code.json()["name"] == "Resolved"
    conversation = genesys_sim.control("GET", f"calls/{call['conversationId']}")
    agent = next(p for p in conversation["participants"] if p["purpose"] == "agent")
    assert agent["wrapup"]["name"] == "Resolved"


def test_an_end_without_a_wrapup_emits_no_acw_and_an_unknown_code_is_refused(genesys_sim: GenesysSim) -> None:
    call = genesys_sim.place_call("+15550199", "Support")
    refused = genesys_sim.session.post(
        f"{genesys_sim.base_url}/_sim/calls/{call['conversationId']}/end", json={"wrapup": {"code": "Nope"}}, timeout=10
    )
    ended = genesys_sim.end_call(call["conversationId"])

    assert refused.status_code == 400
    assert [event["topicName"].split(call["conversationId"] + ".")[1] for event in ended["events"]] == [
        "customer.end",
        "user.end",
    ]


def test_participant_attributes_written_with_the_sdk_show_on_the_conversation(
    genesys_sim: GenesysSim, genesys_sdk: Any
) -> None:
    call = genesys_sim.place_call("+15550199", "Support")
    client = genesys_sdk.ApiClient(host=genesys_sim.base_url)
    client.access_token = genesys_sim.admin_token()
    api = genesys_sdk.ConversationsApi(client)
    customer_id = _customer(genesys_sim.control("GET", f"calls/{call['conversationId']}"))["id"]

    api.patch_conversation_participant_attributes(
        call["conversationId"], customer_id, {"attributes": {"fd_ticket_id": "1001"}}
    )
    api.patch_conversation_participant_attributes(
        call["conversationId"], customer_id, {"attributes": {"fd_status": "Open"}}
    )

    shown = api.get_conversation(call["conversationId"]).to_dict()
    customer = next(p for p in shown["participants"] if p["purpose"] == "customer")
    assert customer["attributes"] == {"fd_ticket_id": "1001", "fd_status": "Open"}


@pytest.mark.parametrize(
    ("body", "participant", "status"),
    [
        ({"attributes": {"n": 5}}, "customer", 400),
        ({"other": {}}, "customer", 400),
        ({"attributes": {"n": "v"}}, "nobody", 404),
    ],
)
def test_participant_attributes_refuse_what_genesys_refuses(genesys_sim: GenesysSim, body, participant, status) -> None:
    call = genesys_sim.place_call("+15550199", "Support")
    customer_id = _customer(genesys_sim.control("GET", f"calls/{call['conversationId']}"))["id"]
    path = f"/api/v2/conversations/{call['conversationId']}/participants/"
    path += f"{customer_id if participant == 'customer' else 'nobody'}/attributes"

    response = genesys_sim.api("PATCH", path, token=genesys_sim.admin_token(), json=body)
    other_org = genesys_sim.api("PATCH", path, token=genesys_sim.admin_token("other"), json={"attributes": {}})

    assert response.status_code == status, response.text
    assert other_org.status_code == 403


def test_hold_time_shows_in_user_end_and_in_the_analytics_details(genesys_sim: GenesysSim, genesys_sdk: Any) -> None:
    call = genesys_sim.place_call("+15550199999", "Support")
    refused = genesys_sim.session.post(
        f"{genesys_sim.base_url}/_sim/calls/{call['conversationId']}/hold", json={"seconds": -1}, timeout=10
    )
    genesys_sim.control("POST", f"calls/{call['conversationId']}/hold", {"seconds": 20})
    genesys_sim.control("POST", f"calls/{call['conversationId']}/hold", {"seconds": 5})
    ended = genesys_sim.end_call(call["conversationId"], {"code": "Resolved"})
    client = genesys_sdk.ApiClient(host=genesys_sim.base_url)
    client.access_token = genesys_sim.admin_token()

    details = genesys_sdk.ConversationsApi(client).get_analytics_conversation_details(call["conversationId"]).to_dict()

    assert refused.status_code == 400
    assert ended["events"][1]["eventBody"]["heldDurationMs"] == 25000
    (agent,) = [p for p in details["participants"] if p["purpose"] == "agent"]
    metrics = {metric["name"]: metric["value"] for metric in agent["sessions"][0]["metrics"]}
    assert (metrics["tHeld"], metrics["tAcw"]) == (25000, 12000)
    assert "outdated_sdk_version" not in str(details)
