"""Wrap-up: the webhook records the end event once per (conversation, agent), and the write-back writes exactly one
private note on the right Freshdesk ticket (the Freshdesk simulator, over real HTTP), retrying 429s without losing
any. `transactional_db`: the webhook and the racing write-back threads have connections of their own."""

from __future__ import annotations

import asyncio
import json
import threading
from datetime import timedelta
from typing import Any

import pytest
from channels.testing import HttpCommunicator
from django.core.cache import cache
from django.utils import timezone

from screenpop.models import CallWrapUp, EventLog, Pop
from screenpop.pops.links import agent_note_set, call_link_set
from screenpop.writeback.services import writeback_round
from simulators.freshdesk.seed import DEMO_TICKETS, demo_contact

pytestmark = [pytest.mark.django_db(transaction=True)]

PATH = "/api/v1/genesys/events"
CONVERSATION = "c0ffee00-0000-4000-8000-000000000021"
AGENT = "a9e47000-0000-4000-8000-000000000001"
CALLER = demo_contact("us_parenthesised")


def wrapup_event(**overrides: Any) -> dict[str, Any]:
    body = {
        "event_type": "CALL_WRAPUP",
        "conversation_id": CONVERSATION,
        "user_id": AGENT,
        "participant_id": "p-agent-1",
        "queue_id": "queue-support",
        "wrapup_code": "Resolved",
        "wrapup_notes": "Customer happy",
        "wrapup_duration_ms": 12000,
        "media_type": "VOICE",
        "direction": "INBOUND",
        "phone_number": f"tel:{CALLER.e164}",
        "timestamp": "1764763200000",
    }
    body.update(overrides)
    return {key: value for key, value in body.items() if value is not None}


async def _post(app, bodies: list[dict[str, Any]], token: str) -> list[tuple[int, dict[str, Any]]]:
    async def one(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        headers = [(b"content-type", b"application/json"), (b"authorization", f"Bearer {token}".encode())]
        communicator = HttpCommunicator(app, "POST", PATH, body=json.dumps(body).encode(), headers=headers)
        response = await communicator.get_response(timeout=10)
        return response["status"], json.loads(response["body"] or b"{}")

    return list(await asyncio.gather(*(one(body) for body in bodies)))


@pytest.fixture
def tenant(sim_tenant, make_webhook_client, token_for):
    tenant = sim_tenant()
    tenant.token = token_for(make_webhook_client(tenant))
    return tenant


def notes_on(freshdesk_sim, ticket_id: int) -> list[dict[str, Any]]:
    listed = freshdesk_sim.get(f"/api/v2/tickets/{ticket_id}/conversations", params={"per_page": 100})
    assert listed.status_code == 200, listed.text
    return [item for item in listed.json() if item["source"] == 2]


def caller_ticket() -> Any:
    return next(t for t in DEMO_TICKETS if t.requester_key == CALLER.key and t.visible and t.status not in (4, 5))


# The webhook


def test_a_wrapup_delivered_three_times_is_recorded_once(app, tenant) -> None:
    replies = asyncio.run(_post(app, [wrapup_event()] * 3, tenant.token))
    again = asyncio.run(_post(app, [wrapup_event()], tenant.token))

    assert sorted(status for status, _ in replies) == [200, 200, 202]
    assert again[0][0] == 200
    assert again[0][1]["status"] == "duplicate"
    wrapup = CallWrapUp.objects.get()
    assert {body["wrapup_id"] for _, body in replies + again} == {wrapup.pk}
    assert (wrapup.wrapup_code, wrapup.wrapup_duration_ms, wrapup.state) == ("Resolved", 12000, "pending")
    logged = EventLog.objects.filter(event_type="CALL_WRAPUP").values_list("outcome", flat=True)
    assert sorted(logged) == ["accepted", "duplicate", "duplicate", "duplicate"]


def test_a_wrapup_and_a_call_start_in_one_batch_each_get_their_answer(app, tenant) -> None:
    start = {"conversation_id": "start-1", "phone_number": "tel:+15550100", "event_type": "INBOUND_CALL_START"}
    replies = asyncio.run(_post(app, [start, wrapup_event(), wrapup_event(user_id="a-second-agent")], tenant.token))

    assert [status for status, _ in replies] == [202, 202, 202]
    assert "pop_id" in replies[0][1]
    assert "wrapup_id" in replies[1][1]
    assert Pop.objects.count() == 1
    assert CallWrapUp.objects.count() == 2  # one per agent


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"user_id": "${input.userId}"}, "user_id"),
        ({"user_id": None}, "user_id"),
        ({"conversation_id": ""}, "conversation_id"),
        ({"wrapup_duration_ms": "${input.wrapupDurationMs}"}, "wrapup_duration_ms"),
        ({"wrapup_code": "${input.wrapupCode}"}, "wrapup_code"),
    ],
)
def test_a_wrapup_genesys_did_not_resolve_is_422_naming_the_field(app, tenant, overrides, field) -> None:
    ((status, body),) = asyncio.run(_post(app, [wrapup_event(**overrides)], tenant.token))

    assert status == 422
    assert body["field"] == field
    assert CallWrapUp.objects.count() == 0
    assert EventLog.objects.get().outcome == "rejected"


def test_a_wrapup_without_a_token_is_401_and_a_chat_is_ignored(app, tenant) -> None:
    ((status, _),) = asyncio.run(_post(app, [wrapup_event()], "not-a-token"))
    ((ignored, body),) = asyncio.run(_post(app, [wrapup_event(media_type="CHAT")], tenant.token))

    assert status == 401
    assert (ignored, body["status"]) == (200, "ignored")
    assert CallWrapUp.objects.count() == 0


# The write-back


def _wrapup(tenant, **fields: Any) -> CallWrapUp:
    values = {
        "conversation_id": CONVERSATION,
        "user_id": AGENT,
        "queue_id": "queue-support",
        "wrapup_code": "Resolved",
        "wrapup_notes": "Customer happy",
        "direction": "INBOUND",
        "phone_raw": f"tel:{CALLER.e164}",
        "received_at": timezone.now(),
    }
    values.update(fields)
    return CallWrapUp.objects.create(tenant=tenant, **values)


def test_the_linked_ticket_gets_one_private_note_with_the_calls_facts(tenant, freshdesk_sim) -> None:
    ticket = caller_ticket()
    call_link_set(tenant_id=tenant.pk, conversation_id=CONVERSATION, ticket_id=ticket.id, chosen_by=AGENT)
    agent_note_set(tenant_id=tenant.pk, conversation_id=CONVERSATION, user_id=AGENT, text="Router <b>reset</b>")
    wrapup = _wrapup(tenant)

    assert writeback_round(owner="p1") == 1
    assert writeback_round(owner="p1") == 0

    (note,) = notes_on(freshdesk_sim, ticket.id)
    assert note["private"] is True
    for fact in ("Wrap-up code: Resolved", "Customer happy", "Router <b>reset</b>", "Direction: Inbound", CALLER.e164):
        assert fact in note["body_text"]
    assert "<b>reset</b>" not in note["body"]  # the agent's text is escaped, never markup
    assert f"/engage/admin/interactions/{CONVERSATION}" in note["body"]
    wrapup.refresh_from_db()
    assert (wrapup.state, wrapup.ticket_id, wrapup.note_id) == ("written", ticket.id, note["id"])


def test_two_processes_racing_write_one_note(tenant, freshdesk_sim) -> None:
    ticket = caller_ticket()
    call_link_set(tenant_id=tenant.pk, conversation_id=CONVERSATION, ticket_id=ticket.id, chosen_by=AGENT)
    _wrapup(tenant)
    start = threading.Barrier(2)
    handled: list[int] = []

    def run(owner: str) -> None:
        from django.db import connection

        start.wait()
        try:
            handled.append(writeback_round(owner=owner))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(owner,)) for owner in ("p1", "p2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert len(notes_on(freshdesk_sim, ticket.id)) == 1
    assert CallWrapUp.objects.get().state == "written"


def test_an_attempt_cut_short_after_freshdesk_wrote_the_note_does_not_write_it_again(tenant, freshdesk_sim) -> None:
    from screenpop.writeback.note import CallFacts, note_html

    ticket = caller_ticket()
    # Freshdesk wrote the note, then the process died before recording it.
    body = note_html(CallFacts(conversation_id=CONVERSATION, user_id=AGENT, wrapup_code="Resolved"))
    assert freshdesk_sim.api("POST", f"/api/v2/tickets/{ticket.id}/notes", json={"body": body}).status_code == 201
    wrapup = _wrapup(tenant, ticket_id=ticket.id, note_attempted_at=timezone.now() - timedelta(minutes=5))

    assert writeback_round(owner="p2") == 1

    (note,) = notes_on(freshdesk_sim, ticket.id)
    wrapup.refresh_from_db()
    assert (wrapup.state, wrapup.note_id, wrapup.note_attempted_at) == ("written", note["id"], None)


def test_a_429_storm_delays_notes_but_loses_none(tenant, freshdesk_sim) -> None:
    ticket = caller_ticket()
    for number in range(5):
        conversation = f"{CONVERSATION[:-2]}{number:02d}"
        call_link_set(tenant_id=tenant.pk, conversation_id=conversation, ticket_id=ticket.id, chosen_by=AGENT)
        _wrapup(tenant, conversation_id=conversation)
    freshdesk_sim.configure(plan="trial")
    while freshdesk_sim.get("/api/v2/ticket_fields").status_code != 429:
        pass  # another app spends the account's minute

    writeback_round(owner="p1")
    waiting = list(CallWrapUp.objects.values_list("state", "last_error", "next_attempt_at"))

    assert {state for state, _, _ in waiting} == {"pending"}
    assert all(error and retry_at > timezone.now() for _, error, retry_at in waiting)
    assert not CallWrapUp.objects.filter(note_id__isnull=False).exists()
    # A minute later the account takes calls again.
    freshdesk_sim.advance_clock(61)
    cache.clear()
    CallWrapUp.objects.update(next_attempt_at=None)
    for _ in range(5):
        writeback_round(owner="p1")
        if not CallWrapUp.objects.filter(state="pending").exists():
            break
        freshdesk_sim.advance_clock(61)
        cache.clear()
        CallWrapUp.objects.update(next_attempt_at=None)

    assert set(CallWrapUp.objects.values_list("state", flat=True)) == {"written"}
    markers = [note["body_text"] for note in notes_on(freshdesk_sim, ticket.id)]
    assert sorted(text.split("screenpop call ")[1] for text in markers) == sorted(
        f"{CONVERSATION[:-2]}{number:02d} / agent {AGENT}" for number in range(5)
    )


def test_an_unknown_caller_gets_a_new_ticket_with_the_note(tenant, freshdesk_sim) -> None:
    Pop.objects.create(
        tenant=tenant, conversation_id=CONVERSATION, phone_raw="tel:+15550123987", phone_e164="+15550123987",
        state=Pop.State.NO_MATCH, received_at=timezone.now(),
    )  # fmt: skip
    wrapup = _wrapup(tenant, phone_raw="tel:+15550123987")

    writeback_round(owner="p1")

    wrapup.refresh_from_db()
    assert (wrapup.state, wrapup.ticket_created) == ("written", True)
    created = freshdesk_sim.get(f"/api/v2/tickets/{wrapup.ticket_id}", params={"include": "requester"}).json()
    assert created["source"] == 3
    assert created["requester"]["phone"] == "+15550123987"
    assert len(notes_on(freshdesk_sim, wrapup.ticket_id)) == 1


def test_a_matched_caller_without_a_link_gets_the_note_on_the_most_recent_open_ticket(tenant, freshdesk_sim) -> None:
    result = {"contacts": [{"id": CALLER.id, "name": CALLER.name, "tickets": [
        {"id": 1001, "status": 2, "updated_at": "2026-11-01T10:00:00Z"},
        {"id": 1002, "status": 3, "updated_at": "2026-11-20T10:00:00Z"},
        {"id": 1003, "status": 4, "updated_at": "2026-11-30T10:00:00Z"},
    ]}]}  # fmt: skip
    Pop.objects.create(
        tenant=tenant, conversation_id=CONVERSATION, phone_raw="x", phone_e164=CALLER.e164, state=Pop.State.MATCHED,
        result=result, received_at=timezone.now(),
    )  # fmt: skip
    wrapup = _wrapup(tenant)

    writeback_round(owner="p1")

    wrapup.refresh_from_db()
    assert (wrapup.state, wrapup.ticket_id, wrapup.ticket_created) == ("written", 1002, False)


def test_the_tenant_may_write_nothing_when_no_ticket_is_linked(tenant, freshdesk_sim) -> None:
    tenant.wrapup_unknown_caller = "nothing"
    tenant.save()
    wrapup = _wrapup(tenant, phone_raw="tel:+15550123987")

    writeback_round(owner="p1")

    wrapup.refresh_from_db()
    assert wrapup.state == "skipped"
    assert "unknown caller" in wrapup.last_error
    assert freshdesk_sim.requests() == []


def test_a_wrapup_code_mapped_to_a_status_sets_it(tenant, freshdesk_sim) -> None:
    tenant.wrapup_status_map = {"Resolved": 4}
    tenant.save()
    ticket = caller_ticket()
    call_link_set(tenant_id=tenant.pk, conversation_id=CONVERSATION, ticket_id=ticket.id, chosen_by=AGENT)
    wrapup = _wrapup(tenant)

    writeback_round(owner="p1")

    wrapup.refresh_from_db()
    assert (wrapup.state, wrapup.status_set) == ("written", 4)
    assert freshdesk_sim.get(f"/api/v2/tickets/{ticket.id}").json()["status"] == 4


def test_a_deleted_linked_ticket_fails_with_its_cause_and_a_retry_puts_it_back(tenant, freshdesk_sim) -> None:
    from screenpop.storage.wrapups import wrapup_retry

    call_link_set(tenant_id=tenant.pk, conversation_id=CONVERSATION, ticket_id=999999, chosen_by=AGENT)
    wrapup = _wrapup(tenant)

    writeback_round(owner="p1")
    wrapup.refresh_from_db()

    assert wrapup.state == "failed"
    assert "404" in wrapup.last_error or "not" in wrapup.last_error.lower()
    assert wrapup_retry(wrapup.pk)
    wrapup.refresh_from_db()
    assert (wrapup.state, wrapup.next_attempt_at) == ("pending", None)


def test_a_ticket_created_by_an_attempt_whose_answer_was_lost_is_found_not_made_again(tenant, freshdesk_sim) -> None:
    from screenpop.writeback.note import note_marker

    number = "+15550123555"
    marker = note_marker(conversation_id=CONVERSATION, user_id=AGENT)
    # Freshdesk created the ticket (and its contact), then the answer never reached us.
    first = freshdesk_sim.api(
        "POST",
        "/api/v2/tickets",
        json={"subject": "Phone call", "description": f"<div>{marker}</div>", "phone": number, "name": number},
    ).json()
    wrapup = _wrapup(tenant, phone_raw=f"tel:{number}", ticket_attempted_at=timezone.now())
    before = len(freshdesk_sim.get("/api/v2/tickets", params={"per_page": 100}).json())

    writeback_round(owner="p1")

    wrapup.refresh_from_db()
    assert (wrapup.state, wrapup.ticket_id, wrapup.ticket_attempted_at) == ("written", first["id"], None)
    assert len(freshdesk_sim.get("/api/v2/tickets", params={"per_page": 100}).json()) == before
    assert len(notes_on(freshdesk_sim, first["id"])) == 1


def test_old_finished_wrapups_are_purged_and_unfinished_ones_kept(tenant) -> None:
    from screenpop.retention import purge_old_records

    old = timezone.now() - timedelta(days=40)
    for number, state in enumerate(("written", "skipped", "failed", "pending")):
        _wrapup(tenant, conversation_id=f"old-{number}", state=state, received_at=old)
    _wrapup(tenant, conversation_id="recent", state="written")

    report = purge_old_records(days=30)

    assert report.wrapups == 2
    assert sorted(CallWrapUp.objects.values_list("conversation_id", flat=True)) == ["old-2", "old-3", "recent"]


def test_a_wrapup_before_its_lookup_ended_waits_for_it_then_uses_its_result(tenant, freshdesk_sim) -> None:
    pop = Pop.objects.create(
        tenant=tenant, conversation_id=CONVERSATION, phone_raw=f"tel:{CALLER.e164}", state=Pop.State.PENDING,
        received_at=timezone.now(),
    )  # fmt: skip
    wrapup = _wrapup(tenant)

    writeback_round(owner="p1")
    wrapup.refresh_from_db()
    waited = (wrapup.state, wrapup.ticket_id, wrapup.next_attempt_at > timezone.now(), wrapup.last_error)
    pop.state, pop.phone_e164 = Pop.State.MATCHED, CALLER.e164
    pop.result = {"contacts": [{"id": CALLER.id, "name": CALLER.name, "tickets": [{"id": 1002, "status": 2}]}]}
    pop.save()
    CallWrapUp.objects.update(next_attempt_at=None)
    writeback_round(owner="p1")
    wrapup.refresh_from_db()

    assert waited[:3] == ("pending", None, True)
    assert "lookup" in waited[3]
    assert (wrapup.state, wrapup.ticket_id, wrapup.ticket_created) == ("written", 1002, False)


def test_a_transferred_calls_second_agent_writes_on_the_first_agents_new_ticket(tenant, freshdesk_sim) -> None:
    Pop.objects.create(
        tenant=tenant, conversation_id=CONVERSATION, phone_raw="tel:+15550123987", phone_e164="+15550123987",
        state=Pop.State.NO_MATCH, received_at=timezone.now(),
    )  # fmt: skip
    first = _wrapup(tenant, phone_raw="tel:+15550123987")
    writeback_round(owner="p1")
    second = _wrapup(tenant, user_id="a-second-agent", phone_raw="tel:+15550123987")

    writeback_round(owner="p1")

    first.refresh_from_db()
    second.refresh_from_db()
    assert (second.state, second.ticket_id, second.ticket_created) == ("written", first.ticket_id, False)
    assert len(notes_on(freshdesk_sim, first.ticket_id)) == 2


def test_freshdesk_down_delays_the_note_and_a_day_of_failures_marks_it_failed(tenant, freshdesk_sim) -> None:
    ticket = caller_ticket()
    call_link_set(tenant_id=tenant.pk, conversation_id=CONVERSATION, ticket_id=ticket.id, chosen_by=AGENT)
    recent = _wrapup(tenant)
    call_link_set(tenant_id=tenant.pk, conversation_id="old-call", ticket_id=ticket.id, chosen_by=AGENT)
    old = _wrapup(tenant, conversation_id="old-call", received_at=timezone.now() - timedelta(hours=25))
    freshdesk_sim.configure(outage=True)

    writeback_round(owner="p1")

    recent.refresh_from_db()
    old.refresh_from_db()
    assert (recent.state, recent.attempts) == ("pending", 1)
    assert recent.next_attempt_at > timezone.now() + timedelta(seconds=4)
    assert old.state == "failed"
    assert old.last_error.startswith("Still failing after 24 h")
