"""The Freshdesk simulator's notes, conversations and ticket updates, through real HTTP (reference §5, §6, §7)."""

from __future__ import annotations

import pytest

from simulators.freshdesk.seed import DEMO_TICKETS
from tests.fixtures.freshdesk_sim import FreshdeskSim

TICKET = next(ticket for ticket in DEMO_TICKETS if ticket.visible)


def _errors(response) -> dict[str, str]:
    assert response.status_code == 400, response.text
    assert response.json()["description"] == "Validation failed"
    return {error["field"]: error["code"] for error in response.json()["errors"]}


def test_a_note_is_private_by_default_and_listed_in_the_conversations(freshdesk_sim: FreshdeskSim) -> None:
    before = freshdesk_sim.get(f"/api/v2/tickets/{TICKET.id}").json()["updated_at"]
    freshdesk_sim.advance_clock(5)

    created = freshdesk_sim.api("POST", f"/api/v2/tickets/{TICKET.id}/notes", json={"body": "<b>Call</b> logged"})

    assert created.status_code == 201, created.text
    note = created.json()
    assert (note["private"], note["incoming"], note["source"], note["ticket_id"]) == (True, False, 2, TICKET.id)
    assert note["body_text"] == "Call logged"
    listed = freshdesk_sim.get(f"/api/v2/tickets/{TICKET.id}/conversations", params={"per_page": 100}).json()
    assert listed[-1]["id"] == note["id"]
    assert listed[-1]["private"] is True
    assert freshdesk_sim.get(f"/api/v2/tickets/{TICKET.id}").json()["updated_at"] > before


def test_a_note_is_validated_like_freshdesk_every_problem_at_once(freshdesk_sim: FreshdeskSim) -> None:
    path = f"/api/v2/tickets/{TICKET.id}/notes"

    assert _errors(freshdesk_sim.api("POST", path, json={"private": True})) == {"body": "missing_field"}
    problems = _errors(
        freshdesk_sim.api("POST", path, json={"body": 3, "private": "yes", "user_id": 12, "colour": "red"})
    )
    assert problems == {"body": "datatype_mismatch", "private": "datatype_mismatch", "user_id": "invalid_value",
                        "colour": "invalid_field"}  # fmt: skip
    assert freshdesk_sim.api("POST", "/api/v2/tickets/999999/notes", json={"body": "x"}).status_code == 404
    assert freshdesk_sim.api("POST", path, data="body=x", headers={"Content-Type": "text/plain"}).status_code == 415


def test_conversations_are_paged_with_a_link_until_the_last_page(freshdesk_sim: FreshdeskSim) -> None:
    path = f"/api/v2/tickets/{TICKET.id}/conversations"
    total = len(freshdesk_sim.get(path, params={"per_page": 100}).json())
    for number in range(3):
        freshdesk_sim.api("POST", f"/api/v2/tickets/{TICKET.id}/notes", json={"body": f"note {number}"})

    first = freshdesk_sim.get(path, params={"per_page": 2})
    pages = [first.json()]
    link = first.headers.get("Link")
    while link:
        url = link.split(";")[0].strip("<>")
        answer = freshdesk_sim.session.get(url, auth=freshdesk_sim.auth, timeout=10)
        pages.append(answer.json())
        link = answer.headers.get("Link")

    assert sum(len(page) for page in pages) == total + 3
    assert [note["body_text"] for note in pages[-1]][-1] == "note 2"
    assert _errors(freshdesk_sim.get(path, params={"per_page": 101})) == {"per_page": "datatype_mismatch"}


@pytest.mark.parametrize(("status", "valid"), [(4, True), (7, True), (9, False), ("4", False)])
def test_a_ticket_update_checks_the_status(freshdesk_sim: FreshdeskSim, status, valid: bool) -> None:
    response = freshdesk_sim.api("PUT", f"/api/v2/tickets/{TICKET.id}", json={"status": status})

    if valid:
        assert response.status_code == 200, response.text
        assert response.json()["status"] == status
    else:
        assert "status" in _errors(response)


def test_notes_count_against_the_rate_limit(freshdesk_sim: FreshdeskSim) -> None:
    freshdesk_sim.configure(plan="trial")
    statuses = [
        freshdesk_sim.api("POST", f"/api/v2/tickets/{TICKET.id}/notes", json={"body": "x"}).status_code
        for _ in range(51)
    ]

    assert statuses.count(201) == 50
    assert statuses[-1] == 429
    refused = freshdesk_sim.get(f"/api/v2/tickets/{TICKET.id}/conversations")
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
