"""`PopResult`, the one shape a pop shows, and Freshdesk's timestamps read in one place."""

from __future__ import annotations

from datetime import UTC, datetime

from screenpop.freshdesk.times import freshdesk_epoch, freshdesk_time
from screenpop.pops.result import PopResult, contact_view, rank_tickets, ticket_view

LABELS = {"status": {2: "Open", 4: "Resolved"}, "priority": {1: "Low"}}
BASE = "https://acme.freshdesk.com"


def _ticket(ticket_id: int, status: int, updated_at: str) -> dict:
    return ticket_view(
        {"id": ticket_id, "subject": f"T{ticket_id}", "status": status, "priority": 1, "updated_at": updated_at},
        LABELS,
        BASE,
    )


def test_the_stored_json_names_the_first_contact_and_its_tickets_and_reads_back_the_same() -> None:
    first = contact_view(7, BASE, name="Dana", tickets=[_ticket(1, 2, "2026-11-28T12:00:00Z")])
    second = contact_view(8, BASE, name="Sam")
    result = PopResult("+1 555-0100", (first, second), "search")
    stored = result.to_json()
    assert stored["contact"] == first
    assert stored["tickets"] == first["tickets"]
    assert stored["contacts"] == [first, second]
    assert PopResult.from_json(stored) == result
    assert PopResult.from_json({}) == PopResult()  # a pending pop's result
    assert PopResult.from_json({"contact": first}).contacts == (first,)  # written before `contacts` existed


def test_a_ticket_view_labels_and_links_a_freshdesk_ticket() -> None:
    view = ticket_view({"id": 9, "subject": None, "status": 6, "priority": 1}, LABELS, BASE)
    assert view == {
        "id": 9, "subject": "", "status": 6, "status_label": "Status 6", "priority": 1, "priority_label": "Low",
        "updated_at": None, "url": f"{BASE}/a/tickets/9",
    }  # fmt: skip


def test_tickets_rank_unresolved_first_then_newest() -> None:
    tickets = [_ticket(1, 4, "2026-11-28T12:00:00Z"), _ticket(2, 2, "2026-11-01T00:00:00Z"),
               _ticket(3, 2, "2026-11-20T00:00:00Z"), _ticket(4, 2, "not a time")]  # fmt: skip
    assert [ticket["id"] for ticket in rank_tickets(tickets)] == [3, 2, 4, 1]


def test_an_updated_ticket_replaces_its_old_self_and_a_new_one_joins_its_requester() -> None:
    old = _ticket(1, 2, "2026-11-28T12:00:00Z")
    result = PopResult("+1 555-0100", (contact_view(7, BASE, tickets=[old]), contact_view(8, BASE)))
    newer = _ticket(1, 4, "2026-11-29T12:00:00Z")
    assert result.with_ticket(newer).tickets == [newer]
    added = _ticket(2, 2, "2026-11-30T00:00:00Z")
    assert result.with_new_ticket(added, 7, limit=5).tickets == [added, old]
    assert result.with_new_ticket(added, 7, limit=1).tickets == [added]
    assert result.with_new_ticket(added, 8, limit=5).contacts[1]["tickets"] == [added]
    assert result.with_new_ticket(added, 99, limit=5) is None  # not a requester this pop shows


def test_what_a_result_shows_for_ticket_updates() -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    ticket = _ticket(1, 2, "2026-11-28T12:00:00Z")
    undated = _ticket(2, 2, "")
    result = PopResult("x", (contact_view(7, BASE, tickets=[ticket, undated]), {"id": "not an id"}))
    tickets, contacts = result.shown(now)
    assert tickets == [(1, datetime(2026, 11, 28, 12, tzinfo=UTC)), (2, now)]
    assert contacts == [7]


def test_freshdesk_times_are_aware_or_none() -> None:
    assert freshdesk_time("2026-11-28T12:00:00Z") == datetime(2026, 11, 28, 12, tzinfo=UTC)
    assert freshdesk_time("2026-11-28T12:00:00") == datetime(2026, 11, 28, 12, tzinfo=UTC)  # no offset: UTC
    assert freshdesk_time("2026-13-28T12:00:00Z") is None
    assert freshdesk_time(None) is None
    assert freshdesk_time("yesterday") is None
    assert freshdesk_epoch("garbage") == 0.0
    assert freshdesk_epoch("1970-01-01T00:01:00Z") == 60.0
