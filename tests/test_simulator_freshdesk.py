"""The Freshdesk simulator, through real HTTP against its process: does it behave as reference/freshdesk.md says?"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import phonenumbers
import pytest
import requests

from simulators.freshdesk.seed import DEMO_CONTACTS, DEMO_TICKETS, XSS_SUBJECT, demo_contact, demo_ticket_count
from tests.fixtures.freshdesk_sim import FreshdeskSim

DOZENS = demo_contact("us_parenthesised")
TIMESTAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
VISIBLE_TICKETS = [ticket for ticket in DEMO_TICKETS if ticket.visible]


def names(response: requests.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return sorted(contact["name"] for contact in response.json())


def validation_errors(response: requests.Response) -> list[dict[str, str]]:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["description"] == "Validation failed"
    return body["errors"]


def search(sim: FreshdeskSim, kind: str, query: str, **params: Any) -> requests.Response:
    return sim.get(f"/api/v2/search/{kind}", params={"query": f'"{query}"', **params})


def all_tickets(sim: FreshdeskSim) -> list[dict[str, Any]]:
    """Every listed ticket (spam/deleted excluded), fetched with an old `updated_since` to skip the 30-day window."""
    response = sim.get("/api/v2/tickets", params={"updated_since": "2000-01-01T00:00:00Z", "per_page": 100})
    assert "Link" not in response.headers
    return response.json()


# Authentication and content negotiation


def test_api_key_with_any_password_is_accepted(freshdesk_sim: FreshdeskSim) -> None:
    response = freshdesk_sim.get("/api/v2/ticket_fields", auth=(freshdesk_sim.api_key, "anything at all"))

    assert response.status_code == 200


@pytest.mark.parametrize("auth", [None, ("wrong-key", "X")], ids=["no-auth", "wrong-key"])
def test_missing_or_wrong_key_is_401_invalid_credentials(freshdesk_sim: FreshdeskSim, auth: Any) -> None:
    response = freshdesk_sim.get("/api/v2/contacts", auth=auth)

    assert response.status_code == 401
    assert response.json() == {
        "code": "invalid_credentials",
        "message": "You have to be logged in to perform this action.",
    }
    assert response.headers["X-RateLimit-Used-CurrentRequest"] == "1"


def test_free_plan_has_no_api(freshdesk_sim: FreshdeskSim) -> None:
    freshdesk_sim.configure(plan="free")

    response = freshdesk_sim.get("/api/v2/contacts")

    assert response.status_code == 403
    assert response.json()["code"] == "require_feature"


def test_a_body_that_is_not_json_is_415(freshdesk_sim: FreshdeskSim) -> None:
    response = freshdesk_sim.api("POST", "/api/v2/tickets", data={"subject": "form-encoded"})

    assert response.status_code == 415
    assert response.json() == {
        "code": "invalid_content_type",
        "message": (
            "Content-Type header is set to application/x-www-form-urlencoded. It should be set to application/json"
        ),
    }


@pytest.mark.parametrize(
    ("accept", "status"),
    [
        ("text/html", 406),
        ("application/xml", 406),
        ("application/json", 200),
        ("*/*", 200),
        ("text/html, */*;q=0.8", 200),
        (None, 200),  # no Accept header at all
    ],
)
def test_accept_must_allow_json(freshdesk_sim: FreshdeskSim, accept: str | None, status: int) -> None:
    response = freshdesk_sim.get("/api/v2/ticket_fields", headers={"Accept": accept})

    assert response.status_code == status
    if status == 406:
        assert response.json()["code"] == "invalid_accept_header"


def test_responses_use_freshdesk_formats_and_headers(freshdesk_sim: FreshdeskSim) -> None:
    response = freshdesk_sim.get(f"/api/v2/contacts/{DOZENS.id}")

    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert response.headers["X-Freshdesk-Api-Version"] == "latest=v2; requested=v2"
    assert {"X-RateLimit-Total", "X-RateLimit-Remaining", "X-RateLimit-Used-CurrentRequest"} <= set(response.headers)
    contact = response.json()
    assert "address" in contact  # empty fields are null, never omitted
    assert contact["address"] is None
    assert TIMESTAMP_RE.match(contact["created_at"])
    assert TIMESTAMP_RE.match(contact["updated_at"])


def test_unknown_path_and_unknown_id_are_404_with_empty_body(freshdesk_sim: FreshdeskSim) -> None:
    for path in ("/api/v2/nothing-here", "/api/v2/tickets/999999", "/api/v2/contacts/1"):
        response = freshdesk_sim.get(path)
        assert response.status_code == 404, path
        assert response.content == b""


def test_wrong_verb_is_405_with_allow(freshdesk_sim: FreshdeskSim) -> None:
    response = freshdesk_sim.api("PUT", "/api/v2/tickets", json={"status": 2})

    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, POST"
    assert response.json()["code"] == "method_not_allowed"


# GET /api/v2/contacts


def test_phone_filter_is_exact_string_equality(freshdesk_sim: FreshdeskSim) -> None:
    def by_phone(phone: str) -> list[str]:
        return names(freshdesk_sim.get("/api/v2/contacts", params={"phone": phone}))

    assert by_phone("(555) 019-9999") == ["Dana Whitfield"]
    assert by_phone(DOZENS.phone_e164 or "") == []
    assert by_phone("5550199999") == []
    assert by_phone("(555) 019-9999 ") == []


def test_encoded_plus_is_a_plus_and_a_raw_plus_is_a_space(freshdesk_sim: FreshdeskSim) -> None:
    encoded = freshdesk_sim.get("/api/v2/contacts?phone=%2B12015550123")
    raw = freshdesk_sim.get("/api/v2/contacts?phone=+12015550123")

    assert names(encoded) == ["Jordan Blake"]
    assert names(raw) == []
    logged = freshdesk_sim.requests()
    assert [entry["query"]["phone"] for entry in logged] == [["+12015550123"], [" 12015550123"]]
    assert [entry["raw_query"] for entry in logged] == ["phone=%2B12015550123", "phone=+12015550123"]


def test_mobile_filter_checks_only_the_mobile(freshdesk_sim: FreshdeskSim) -> None:
    mobile = demo_contact("us_mobile_only").mobile

    assert names(freshdesk_sim.get("/api/v2/contacts", params={"mobile": mobile})) == ["Chloe Martin"]
    assert names(freshdesk_sim.get("/api/v2/contacts", params={"phone": mobile})) == []


def test_email_filter_matches_any_of_the_contacts_emails(freshdesk_sim: FreshdeskSim) -> None:
    response = freshdesk_sim.get("/api/v2/contacts", params={"email": DOZENS.other_emails[0]})

    assert names(response) == ["Dana Whitfield"]


def test_a_shared_number_finds_both_contacts(freshdesk_sim: FreshdeskSim) -> None:
    response = freshdesk_sim.get("/api/v2/contacts", params={"phone": "+61 3 5550 4321"})

    assert names(response) == ["Charlotte Wilson", "Jack Wilson"]


def test_filters_combine(freshdesk_sim: FreshdeskSim) -> None:
    params = {"phone": "+61 3 5550 4321", "email": "jack.wilson@example.com.au"}

    assert names(freshdesk_sim.get("/api/v2/contacts", params=params)) == ["Jack Wilson"]


def test_deleted_and_blocked_contacts_need_the_state_filter(freshdesk_sim: FreshdeskSim) -> None:
    def listed(**params: str) -> list[dict[str, Any]]:
        response = freshdesk_sim.get("/api/v2/contacts", params=params)
        assert response.status_code == 200
        return response.json()

    assert [contact["name"] for contact in listed(phone="555.019.9998")] == ["Marcus Lee"]
    deleted = listed(phone="555.019.9998", state="deleted")
    assert [(contact["name"], contact["deleted"]) for contact in deleted] == [("Marcus Lee (old)", True)]
    assert [contact["name"] for contact in listed(state="blocked")] == ["Blocked Caller"]
    assert [contact["name"] for contact in listed(state="unverified")] == ["Aarav Sharma"]


@pytest.mark.parametrize("parameter", ["updated_since", "_updated_since"])
def test_updated_since_and_its_underscored_alias(freshdesk_sim: FreshdeskSim, parameter: str) -> None:
    everyone = freshdesk_sim.get("/api/v2/contacts", params={"per_page": 100}).json()
    threshold = sorted(contact["updated_at"] for contact in everyone)[len(everyone) // 2]

    response = freshdesk_sim.get("/api/v2/contacts", params={parameter: threshold, "per_page": 100})

    expected = sorted(contact["name"] for contact in everyone if contact["updated_at"] >= threshold)
    assert names(response) == expected
    assert 0 < len(expected) < len(everyone)


def test_an_unknown_query_parameter_is_400_invalid_field(freshdesk_sim: FreshdeskSim) -> None:
    response = freshdesk_sim.get("/api/v2/contacts", params={"phone_number": "x"})

    assert validation_errors(response) == [
        {"field": "phone_number", "message": "Unexpected/invalid field in request", "code": "invalid_field"}
    ]


def test_contacts_paginate_with_a_link_until_the_last_page(freshdesk_sim: FreshdeskSim) -> None:
    live = [contact for contact in DEMO_CONTACTS if not contact.deleted and not contact.blocked]
    seen: list[int] = []
    pages = 0
    url: str | None = f"{freshdesk_sim.base_url}/api/v2/contacts?per_page=10"
    while url:
        response = freshdesk_sim.session.get(url, auth=freshdesk_sim.auth, timeout=10)
        assert response.status_code == 200
        assert isinstance(response.json(), list)
        seen += [contact["id"] for contact in response.json()]
        pages += 1
        url = response.links.get("next", {}).get("url")
        if url:
            assert url.startswith(f"{freshdesk_sim.base_url}/api/v2/contacts?per_page=10&page=")

    assert pages == 3
    assert sorted(seen) == sorted(contact.id for contact in live)


def test_a_page_after_the_last_is_empty(freshdesk_sim: FreshdeskSim) -> None:
    response = freshdesk_sim.get("/api/v2/contacts", params={"page": 5})

    assert response.json() == []
    assert "Link" not in response.headers


@pytest.mark.parametrize("per_page", ["101", "0", "ten"])
def test_per_page_above_100_or_invalid_is_400(freshdesk_sim: FreshdeskSim, per_page: str) -> None:
    response = freshdesk_sim.get("/api/v2/contacts", params={"per_page": per_page})

    [error] = validation_errors(response)
    assert error["field"] == "per_page"
    assert error["message"] == "It should be a Positive Integer less than or equal to 100"


def test_view_a_contact(freshdesk_sim: FreshdeskSim) -> None:
    contact = freshdesk_sim.get(f"/api/v2/contacts/{DOZENS.id}").json()

    assert (contact["id"], contact["phone"], contact["email"]) == (DOZENS.id, DOZENS.phone, DOZENS.email)
    assert contact["other_emails"] == list(DOZENS.other_emails)


# GET /api/v2/search/contacts and /api/v2/search/tickets


def test_contact_search_over_phone_or_mobile(freshdesk_sim: FreshdeskSim) -> None:
    response = search(freshdesk_sim, "contacts", "phone:'+12015550123' OR mobile:'+1 201 555 0188'")

    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 2
    assert sorted(contact["name"] for contact in body["results"]) == ["Chloe Martin", "Jordan Blake"]


def test_search_and_binds_tighter_than_or_and_parentheses_group(freshdesk_sim: FreshdeskSim) -> None:
    without = search(freshdesk_sim, "tickets", "status:2 OR status:3 AND priority:2").json()["total"]
    grouped = search(freshdesk_sim, "tickets", "(status:2 OR status:3) AND priority:2").json()["total"]

    assert without == sum(t.status == 2 or (t.status == 3 and t.priority == 2) for t in VISIBLE_TICKETS)
    assert grouped == sum(t.status in (2, 3) and t.priority == 2 for t in VISIBLE_TICKETS)
    assert without != grouped


def test_search_compares_numbers_and_dates_inclusively(freshdesk_sim: FreshdeskSim) -> None:
    tickets = all_tickets(freshdesk_sim)
    day = sorted(ticket["created_at"][:10] for ticket in tickets)[len(tickets) // 2]

    at_least_high = search(freshdesk_sim, "tickets", "priority:>3").json()["total"]
    at_most_low = search(freshdesk_sim, "tickets", "priority:<1").json()["total"]
    since_day = search(freshdesk_sim, "tickets", f"created_at:>'{day}'").json()["total"]
    until_day = search(freshdesk_sim, "tickets", f"created_at:<'{day}'").json()["total"]
    on_day = search(freshdesk_sim, "tickets", f"created_at:'{day}'").json()["total"]

    assert at_least_high == sum(ticket["priority"] >= 3 for ticket in tickets)
    assert at_most_low == sum(ticket["priority"] == 1 for ticket in tickets)
    assert since_day == sum(ticket["created_at"][:10] >= day for ticket in tickets)
    assert until_day == sum(ticket["created_at"][:10] <= day for ticket in tickets)
    assert on_day == sum(ticket["created_at"][:10] == day for ticket in tickets) > 0


def test_search_null_matches_empty_fields(freshdesk_sim: FreshdeskSim) -> None:
    response = search(freshdesk_sim, "contacts", "mobile:null")

    # us_just_now is not indexed yet (index lag); deleted contacts never match.
    expected = [c for c in DEMO_CONTACTS if c.mobile is None and not c.deleted and c.key != "us_just_now"]
    assert response.json()["total"] == len(expected)


def test_ticket_search_has_no_requester_field(freshdesk_sim: FreshdeskSim) -> None:
    response = search(freshdesk_sim, "tickets", f"requester_id:{DOZENS.id}")

    assert validation_errors(response) == [
        {"field": "requester_id", "message": "Unexpected/invalid field in request", "code": "invalid_field"}
    ]


@pytest.mark.parametrize(
    "query",
    [
        "status:2",  # not wrapped in double quotes
        '"status:2AND status:3"',  # no space before the operator
        '"status:2 AND"',
        '"(status:2 OR status:3"',
        '"phone:\'+15550199999"',  # unterminated string
        "\"tag:>'2020-01-01'\"",  # :> on a string field
    ],
)
def test_malformed_queries_are_400(freshdesk_sim: FreshdeskSim, query: str) -> None:
    response = freshdesk_sim.get("/api/v2/search/tickets", params={"query": query})

    [error] = validation_errors(response)
    assert (error["field"], error["code"]) == ("query", "invalid_value")


def test_search_values_are_type_checked(freshdesk_sim: FreshdeskSim) -> None:
    assert validation_errors(search(freshdesk_sim, "tickets", "status:9"))[0]["field"] == "status"
    assert validation_errors(search(freshdesk_sim, "tickets", "created_at:'01/02/2020'"))[0]["field"] == "created_at"
    assert validation_errors(search(freshdesk_sim, "contacts", "phone:15550199999"))[0]["code"] == "datatype_mismatch"


def test_the_query_is_limited_to_512_characters(freshdesk_sim: FreshdeskSim) -> None:
    def query_of(length: int) -> str:
        return '"status:2' + " " * (length - len('"status:2"')) + '"'

    longest = freshdesk_sim.get("/api/v2/search/tickets", params={"query": query_of(512)})
    too_long = freshdesk_sim.get("/api/v2/search/tickets", params={"query": query_of(513)})

    assert longest.status_code == 200
    [error] = validation_errors(too_long)
    assert error == {
        "field": "query",
        "message": "Has 513 characters, it can have maximum of 512 characters",
        "code": "invalid_value",
    }


def test_search_pages_hold_30_results_and_stop_at_page_10(freshdesk_sim: FreshdeskSim) -> None:
    query = "created_at:>'2000-01-01'"

    first = search(freshdesk_sim, "tickets", query).json()
    third = search(freshdesk_sim, "tickets", query, page=3).json()
    tenth = search(freshdesk_sim, "tickets", query, page=10)
    eleventh = search(freshdesk_sim, "tickets", query, page=11)

    assert first["total"] == third["total"] == len(VISIBLE_TICKETS)
    assert len(first["results"]) == 30
    assert len(third["results"]) == len(VISIBLE_TICKETS) - 60
    assert tenth.status_code == 200
    assert tenth.json()["results"] == []
    assert validation_errors(eleventh)[0]["field"] == "page"
    assert validation_errors(search(freshdesk_sim, "tickets", query, per_page=50))[0]["code"] == "invalid_field"


def test_a_new_contact_reaches_search_only_after_the_index_lag(freshdesk_sim: FreshdeskSim) -> None:
    newcomer = demo_contact("us_just_now")
    query = f"phone:'{newcomer.phone}'"

    listed = names(freshdesk_sim.get("/api/v2/contacts", params={"phone": newcomer.phone}))
    before = search(freshdesk_sim, "contacts", query).json()
    freshdesk_sim.advance_clock(121)
    after = search(freshdesk_sim, "contacts", query).json()

    assert listed == ["Noah Newcomer"]
    assert before == {"total": 0, "results": []}
    assert [contact["name"] for contact in after["results"]] == ["Noah Newcomer"]


def test_search_shows_the_old_version_of_a_changed_ticket_until_reindexed(freshdesk_sim: FreshdeskSim) -> None:
    ticket = next(t for t in DEMO_TICKETS if t.key == "us_dotted_wrong_size")  # status 2

    freshdesk_sim.update_ticket(ticket.id, status=7)

    def ids_with_status(status: int) -> set[int]:
        results = search(freshdesk_sim, "tickets", f"status:{status}", page=1).json()["results"]
        return {result["id"] for result in results}

    assert freshdesk_sim.get(f"/api/v2/tickets/{ticket.id}").json()["status"] == 7
    assert ticket.id not in ids_with_status(7)
    freshdesk_sim.advance_clock(121)
    assert ticket.id in ids_with_status(7)


def test_the_index_lag_knob_applies_to_later_changes(freshdesk_sim: FreshdeskSim) -> None:
    freshdesk_sim.configure(index_lag_seconds=0)
    freshdesk_sim.create_contact(name="Instant Indexing", phone="+1 201 555 0111")

    response = search(freshdesk_sim, "contacts", "phone:'+1 201 555 0111'")

    assert response.json()["total"] == 1


# GET /api/v2/tickets


def test_the_ticket_list_defaults_to_tickets_created_in_the_last_30_days(freshdesk_sim: FreshdeskSim) -> None:
    response = freshdesk_sim.get("/api/v2/tickets", params={"per_page": 100})

    cutoff = datetime.now(UTC) - timedelta(days=30)
    created = [datetime.fromisoformat(ticket["created_at"]) for ticket in response.json()]
    assert all(moment >= cutoff for moment in created)
    assert len(created) == sum(ticket.created_days_ago <= 30 for ticket in VISIBLE_TICKETS)


def test_requester_id_lists_the_whole_history_across_pages(freshdesk_sim: FreshdeskSim) -> None:
    first = freshdesk_sim.get("/api/v2/tickets", params={"requester_id": DOZENS.id})
    second = freshdesk_sim.session.get(first.links["next"]["url"], auth=freshdesk_sim.auth, timeout=10)

    tickets = first.json() + second.json()
    assert (len(first.json()), len(second.json())) == (30, demo_ticket_count("us_parenthesised") - 30)
    assert "Link" not in second.headers
    assert {ticket["requester_id"] for ticket in tickets} == {DOZENS.id}
    cutoff = (datetime.now(UTC) - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert any(ticket["status"] == 2 and ticket["created_at"] < cutoff for ticket in tickets)
    assert [ticket["created_at"] for ticket in tickets] == sorted((t["created_at"] for t in tickets), reverse=True)


def test_the_thirty_day_window_always_knob(freshdesk_sim: FreshdeskSim) -> None:
    freshdesk_sim.configure(thirty_day_window_always=True)

    response = freshdesk_sim.get("/api/v2/tickets", params={"requester_id": DOZENS.id})

    expected = [t for t in VISIBLE_TICKETS if t.requester_key == "us_parenthesised" and t.created_days_ago <= 30]
    assert len(response.json()) == len(expected) < demo_ticket_count("us_parenthesised")


@pytest.mark.parametrize(
    ("params", "field"),
    [({"requester_id": "1"}, "requester_id"), ({"email": "nobody@example.com"}, "email"), ({"company_id": "7"}, None)],
)
def test_an_unknown_requester_is_400_not_an_empty_list(
    freshdesk_sim: FreshdeskSim, params: dict[str, str], field: str | None
) -> None:
    [error] = validation_errors(freshdesk_sim.get("/api/v2/tickets", params=params))

    field = field or "company_id"
    resource = "company" if field == "company_id" else "contact"
    assert error == {
        "field": field,
        "message": f"There is no {resource} matching the given {field}",
        "code": "invalid_value",
    }


def test_email_and_company_filters(freshdesk_sim: FreshdeskSim) -> None:
    by_email = freshdesk_sim.get("/api/v2/tickets", params={"email": DOZENS.email, "per_page": 100}).json()
    by_company = freshdesk_sim.get("/api/v2/tickets", params={"company_id": DOZENS.company_id, "per_page": 100}).json()

    assert len(by_email) == demo_ticket_count("us_parenthesised")
    company_keys = [c.key for c in DEMO_CONTACTS if c.company_id == DOZENS.company_id]
    assert len(by_company) == sum(demo_ticket_count(key) for key in company_keys)


def test_spam_and_deleted_tickets_appear_only_under_their_filter(freshdesk_sim: FreshdeskSim) -> None:
    spam_ids = {t.id for t in DEMO_TICKETS if t.spam}
    deleted_ids = {t.id for t in DEMO_TICKETS if t.deleted}

    listed = {ticket["id"] for ticket in all_tickets(freshdesk_sim)}
    spam = freshdesk_sim.get("/api/v2/tickets", params={"filter": "spam"}).json()
    deleted = freshdesk_sim.get("/api/v2/tickets", params={"filter": "deleted"}).json()

    assert not listed & (spam_ids | deleted_ids)
    assert {ticket["id"] for ticket in spam} == spam_ids
    assert {ticket["id"] for ticket in deleted} == deleted_ids
    assert all(ticket["deleted"] for ticket in deleted)
    [error] = validation_errors(freshdesk_sim.get("/api/v2/tickets", params={"filter": "all"}))
    assert error["message"] == "It should be one of these values: 'new_and_my_open,watching,spam,deleted'"


@pytest.mark.parametrize("order_by", ["created_at", "updated_at", "due_by", "status"])
@pytest.mark.parametrize("order_type", ["asc", "desc"])
def test_order_by_and_order_type(freshdesk_sim: FreshdeskSim, order_by: str, order_type: str) -> None:
    params = {"requester_id": DOZENS.id, "order_by": order_by, "order_type": order_type, "per_page": 100}

    values = [ticket[order_by] for ticket in freshdesk_sim.get("/api/v2/tickets", params=params).json()]

    assert values == sorted(values, reverse=order_type == "desc")


@pytest.mark.parametrize(
    ("path", "include", "credits", "embedded"),
    [
        ("/api/v2/tickets", None, 1, []),
        ("/api/v2/tickets", "requester", 3, ["requester"]),
        ("/api/v2/tickets", "requester,stats", 5, ["requester", "stats"]),
        ("/api/v2/tickets", "description", 3, ["description", "description_text"]),
        ("/api/v2/tickets/{id}", None, 1, ["description"]),
        ("/api/v2/tickets/{id}", "requester,company,stats", 4, ["requester", "company", "stats"]),
        ("/api/v2/tickets/{id}", "conversations", 3, ["conversations"]),
    ],
)
def test_includes_embed_and_cost_credits(
    freshdesk_sim: FreshdeskSim, path: str, include: str | None, credits: int, embedded: list[str]
) -> None:
    newest = max(VISIBLE_TICKETS, key=lambda ticket: -ticket.created_days_ago)
    params = {"requester_id": DOZENS.id} if "{id}" not in path else {}
    response = freshdesk_sim.get(path.format(id=newest.id), params={**params, "include": include})

    assert response.status_code == 200, response.text
    assert response.headers["X-RateLimit-Used-CurrentRequest"] == str(credits)
    body = response.json()
    ticket = body[0] if isinstance(body, list) else body
    assert all(name in ticket for name in embedded)
    if isinstance(body, list) and not include:
        assert "description" not in ticket
    if "requester" in embedded:
        assert set(ticket["requester"]) == {"id", "name", "email", "mobile", "phone"}
    if "stats" in embedded:
        assert {"closed_at", "resolved_at", "first_responded_at"} <= set(ticket["stats"])


def test_a_ticket_view_includes_the_first_ten_conversations_oldest_first(freshdesk_sim: FreshdeskSim) -> None:
    chatty = next(ticket for ticket in DEMO_TICKETS if ticket.conversation_count > 10)

    conversations = freshdesk_sim.get(f"/api/v2/tickets/{chatty.id}", params={"include": "conversations"}).json()[
        "conversations"
    ]

    assert len(conversations) == 10
    assert [c["created_at"] for c in conversations] == sorted(c["created_at"] for c in conversations)


def test_unknown_include_is_400(freshdesk_sim: FreshdeskSim) -> None:
    [error] = validation_errors(freshdesk_sim.get("/api/v2/tickets", params={"include": "conversations"}))

    assert error["field"] == "include"


def test_the_ticket_list_stops_at_page_300(freshdesk_sim: FreshdeskSim) -> None:
    [error] = validation_errors(freshdesk_sim.get("/api/v2/tickets", params={"page": 301}))

    assert error["field"] == "page"
    assert error["message"].startswith("You cannot access tickets beyond the 300th page")
    assert freshdesk_sim.get("/api/v2/tickets", params={"page": 300}).json() == []


def test_ticket_text_comes_back_verbatim(freshdesk_sim: FreshdeskSim) -> None:
    probe = next(ticket for ticket in DEMO_TICKETS if ticket.subject == XSS_SUBJECT)

    response = freshdesk_sim.get(f"/api/v2/tickets/{probe.id}")

    assert response.json()["subject"] == "<img src=x onerror=alert(1)>"
    assert b"<img src=x onerror=alert(1)>" in response.content


# POST /api/v2/tickets


def ticket_body(**fields: Any) -> dict[str, Any]:
    return {"subject": "Called about an order", "description": "<p>Caller asked for a callback.</p>", **fields}


def test_creating_a_ticket_for_an_unknown_phone_creates_the_contact(freshdesk_sim: FreshdeskSim) -> None:
    response = freshdesk_sim.api(
        "POST", "/api/v2/tickets", json=ticket_body(phone="+44 20 7946 0000", name="Nina Caller")
    )

    assert response.status_code == 201, response.text
    ticket = response.json()
    assert response.headers["Location"] == f"{freshdesk_sim.base_url}/api/v2/tickets/{ticket['id']}"
    assert (ticket["status"], ticket["priority"], ticket["source"]) == (2, 1, 2)
    assert ticket["description_text"] == "Caller asked for a callback."
    [contact] = freshdesk_sim.get("/api/v2/contacts", params={"phone": "+44 20 7946 0000"}).json()
    assert (contact["id"], contact["name"]) == (ticket["requester_id"], "Nina Caller")
    assert freshdesk_sim.get(f"/api/v2/tickets/{ticket['id']}").status_code == 200


def test_the_phone_must_match_exactly_to_reuse_a_contact(freshdesk_sim: FreshdeskSim) -> None:
    same = freshdesk_sim.api("POST", "/api/v2/tickets", json=ticket_body(phone=DOZENS.phone, name="Dana W"))
    reformatted = freshdesk_sim.api("POST", "/api/v2/tickets", json=ticket_body(phone=DOZENS.phone_e164, name="Dana W"))

    assert same.json()["requester_id"] == DOZENS.id
    assert reformatted.json()["requester_id"] != DOZENS.id  # a duplicate contact, as on the real API
    assert names(freshdesk_sim.get("/api/v2/contacts", params={"phone": DOZENS.phone_e164})) == ["Dana W"]


def test_a_phone_alone_needs_a_name(freshdesk_sim: FreshdeskSim) -> None:
    response = freshdesk_sim.api("POST", "/api/v2/tickets", json=ticket_body(phone="+1 201 555 0100"))

    assert validation_errors(response) == [
        {"field": "name", "message": "It should not be blank if phone is only given", "code": "missing_field"}
    ]


def test_ticket_creation_validates_every_field(freshdesk_sim: FreshdeskSim) -> None:
    body = ticket_body(requester_id=DOZENS.id, status=9, priority="high", source=5, colour="red")

    errors = {
        error["field"]: error for error in validation_errors(freshdesk_sim.api("POST", "/api/v2/tickets", json=body))
    }

    assert errors["status"]["message"] == "It should be one of these values: '2,3,4,5,6,7'"
    assert errors["priority"]["code"] == "datatype_mismatch"
    assert errors["source"]["code"] == "invalid_value"
    assert errors["colour"]["code"] == "invalid_field"


def test_ticket_creation_needs_a_requester_and_json(freshdesk_sim: FreshdeskSim) -> None:
    [error] = validation_errors(freshdesk_sim.api("POST", "/api/v2/tickets", json=ticket_body()))
    broken = freshdesk_sim.api(
        "POST", "/api/v2/tickets", data="{not json", headers={"Content-Type": "application/json"}
    )

    lone_surrogate = freshdesk_sim.api(
        "POST", "/api/v2/tickets", data='{"subject": "\\ud800"}', headers={"Content-Type": "application/json"}
    )

    assert (error["field"], error["code"]) == ("requester_id", "missing_field")
    assert broken.status_code == 400
    assert broken.json()["code"] == "invalid_json"
    assert (lone_surrogate.status_code, lone_surrogate.json()["code"]) == (400, "invalid_json")


def test_creating_a_ticket_by_email_or_requester_id(freshdesk_sim: FreshdeskSim) -> None:
    by_id = freshdesk_sim.api("POST", "/api/v2/tickets", json=ticket_body(requester_id=DOZENS.id, status=6, source=3))
    by_email = freshdesk_sim.api("POST", "/api/v2/tickets", json=ticket_body(email="new.person@example.org"))

    assert (by_id.json()["requester_id"], by_id.json()["status"], by_id.json()["source"]) == (DOZENS.id, 6, 3)
    assert by_email.status_code == 201
    assert names(freshdesk_sim.get("/api/v2/contacts", params={"email": "new.person@example.org"})) == ["new.person"]


def test_updating_a_ticket_with_put(freshdesk_sim: FreshdeskSim) -> None:
    ticket = next(t for t in DEMO_TICKETS if t.key == "us_mobile_only_sms")
    before = freshdesk_sim.get(f"/api/v2/tickets/{ticket.id}").json()

    response = freshdesk_sim.api("PUT", f"/api/v2/tickets/{ticket.id}", json={"status": 4, "priority": 3})

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["priority"]) == (4, 3)
    assert response.json()["updated_at"] > before["updated_at"]
    spam = next(t for t in DEMO_TICKETS if t.spam)
    assert freshdesk_sim.api("PUT", f"/api/v2/tickets/{spam.id}", json={"status": 4}).status_code == 405


# GET /api/v2/ticket_fields


def test_ticket_fields_map_codes_to_labels_in_both_shapes(freshdesk_sim: FreshdeskSim) -> None:
    fields = {field["name"]: field for field in freshdesk_sim.get("/api/v2/ticket_fields").json()}

    assert fields["status"]["choices"] == {
        "2": ["Open", "Being Processed"],
        "3": ["Pending", "Awaiting your Reply"],
        "4": ["Resolved", "This ticket has been Resolved"],
        "5": ["Closed", "This ticket has been Closed"],
        "6": ["Waiting on Customer", "Awaiting your Reply"],
        "7": ["Waiting on Third Party", "Being Processed"],
    }
    assert fields["priority"]["choices"] == {"Low": 1, "Medium": 2, "High": 3, "Urgent": 4}
    assert fields["source"]["choices"]["Phone"] == 3
    assert fields["ticket_type"]["choices"][0] == "Question"


# Rate limits


def test_the_contacts_list_sub_limit_answers_429_with_retry_after(freshdesk_sim: FreshdeskSim) -> None:
    remaining = [freshdesk_sim.get("/api/v2/contacts").headers["X-RateLimit-Remaining"] for _ in range(20)]

    limited = freshdesk_sim.get("/api/v2/contacts")
    other_endpoint = freshdesk_sim.get("/api/v2/ticket_fields")
    freshdesk_sim.advance_clock(61)
    next_minute = freshdesk_sim.get("/api/v2/contacts")

    assert remaining == [str(200 - n) for n in range(1, 21)]
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert limited.headers["X-RateLimit-Remaining"] == "180"  # the account total still has room
    assert limited.headers["X-RateLimit-Used-CurrentRequest"] == "0"
    assert other_endpoint.status_code == 200
    assert next_minute.status_code == 200


def test_the_plan_total_limits_every_endpoint_and_invalid_calls_count(freshdesk_sim: FreshdeskSim) -> None:
    freshdesk_sim.configure(plan="trial")
    statuses = [freshdesk_sim.get("/api/v2/ticket_fields", auth=("wrong", "X")).status_code for _ in range(10)]
    statuses += [freshdesk_sim.get("/api/v2/ticket_fields").status_code for _ in range(40)]

    limited = freshdesk_sim.get(f"/api/v2/tickets/{DEMO_TICKETS[0].id}")

    assert statuses == [401] * 10 + [200] * 40
    assert limited.status_code == 429
    assert limited.headers["X-RateLimit-Total"] == "50"
    assert limited.headers["X-RateLimit-Remaining"] == "0"


def test_a_fast_clock_keeps_per_minute_limits_but_shortens_the_wait(freshdesk_sim: FreshdeskSim) -> None:
    freshdesk_sim.configure(clock_speed=60)  # a simulated minute per real second
    for _ in range(20):
        freshdesk_sim.get("/api/v2/contacts")
    limited = freshdesk_sim.get("/api/v2/contacts")

    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "1"
    time.sleep(float(limited.headers["Retry-After"]) + 0.1)
    assert freshdesk_sim.get("/api/v2/contacts").status_code == 200


# Knobs


def test_an_outage_fails_every_api_call_but_not_the_control_api(freshdesk_sim: FreshdeskSim) -> None:
    freshdesk_sim.configure(outage=True)

    down = freshdesk_sim.get("/api/v2/contacts")
    health = freshdesk_sim.control("GET", "health")
    freshdesk_sim.configure(outage=False)

    assert down.status_code == 503
    assert down.headers["Content-Type"].startswith("text/html")
    assert "X-RateLimit-Total" not in down.headers
    assert health["status"] == "ok"
    assert freshdesk_sim.get("/api/v2/contacts").status_code == 200


@pytest.mark.parametrize(("status", "content_type"), [(500, "application/json"), (503, "text/html")])
def test_error_rate_injects_faults(freshdesk_sim: FreshdeskSim, status: int, content_type: str) -> None:
    freshdesk_sim.configure(error_rate=1.0, error_statuses=[status])

    response = freshdesk_sim.get("/api/v2/contacts")

    assert response.status_code == status
    assert response.headers["Content-Type"].startswith(content_type)
    if status == 500:
        assert response.json()["code"] == "internal_error"


def test_latency_applies_to_the_named_endpoint(freshdesk_sim: FreshdeskSim) -> None:
    knobs = freshdesk_sim.configure(latency_ms={"contacts.list": 2000})

    with pytest.raises(requests.ReadTimeout):
        freshdesk_sim.get("/api/v2/contacts", timeout=0.5)
    assert knobs["latency_ms"] == {"contacts.list": 2000}
    assert freshdesk_sim.get("/api/v2/ticket_fields", timeout=5).status_code == 200


def test_unknown_knobs_are_refused(freshdesk_sim: FreshdeskSim) -> None:
    with pytest.raises(requests.HTTPError) as refused:
        freshdesk_sim.configure(latency=5)

    assert refused.value.response.status_code == 400
    assert "unknown knob" in refused.value.response.json()["error"]


# Request log and control API


def test_the_request_log_records_api_calls_and_reads_incrementally(freshdesk_sim: FreshdeskSim) -> None:
    freshdesk_sim.get("/api/v2/tickets", params={"requester_id": DOZENS.id, "include": "requester"})
    freshdesk_sim.api("POST", "/api/v2/tickets", json=ticket_body(requester_id=DOZENS.id))
    freshdesk_sim.control("GET", "health")  # control calls are not logged
    first = freshdesk_sim.requests()

    freshdesk_sim.get("/api/v2/ticket_fields")
    later = freshdesk_sim.requests(since=first[-1]["seq"])
    freshdesk_sim.clear_requests()

    assert [(e["method"], e["path"], e["endpoint"], e["status"], e["credits"]) for e in first] == [
        ("GET", "/api/v2/tickets", "tickets.list", 200, 3),
        ("POST", "/api/v2/tickets", "tickets.create", 201, 1),
    ]
    assert first[0]["query"] == {"requester_id": [str(DOZENS.id)], "include": ["requester"]}
    assert first[1]["body"]["requester_id"] == DOZENS.id
    assert TIMESTAMP_RE.match(first[0]["at"])
    assert [entry["endpoint"] for entry in later] == ["ticket_fields.list"]
    assert freshdesk_sim.requests() == []


def test_control_calls_spend_no_credits(freshdesk_sim: FreshdeskSim) -> None:
    for _ in range(5):
        freshdesk_sim.control("GET", "config")

    assert freshdesk_sim.get("/api/v2/ticket_fields").headers["X-RateLimit-Remaining"] == "199"


def test_an_agent_change_bumps_updated_at(freshdesk_sim: FreshdeskSim) -> None:
    ticket = next(t for t in DEMO_TICKETS if t.key == "uk_national_direct_debit")
    before = freshdesk_sim.get(f"/api/v2/tickets/{ticket.id}").json()

    changed = freshdesk_sim.update_ticket(ticket.id, subject="Direct debit failed twice", status=3, priority=4)

    assert (changed["subject"], changed["status"], changed["priority"]) == ("Direct debit failed twice", 3, 4)
    assert changed["updated_at"] > before["updated_at"]
    assert freshdesk_sim.get(f"/api/v2/tickets/{ticket.id}").json()["updated_at"] == changed["updated_at"]
    with pytest.raises(requests.HTTPError):
        freshdesk_sim.update_ticket(ticket.id, status=1)


def test_control_creates_backdated_contacts_and_tickets(freshdesk_sim: FreshdeskSim) -> None:
    contact = freshdesk_sim.create_contact(
        name="Old Friend", phone="+1 201 555 0177", created_at="2020-05-01T10:00:00Z"
    )
    ticket = freshdesk_sim.create_ticket(
        requester_id=contact["id"], subject="Old issue", created_at="2020-05-02T10:00Z"
    )

    assert contact["created_at"] == "2020-05-01T10:00:00Z"
    assert ticket["created_at"] == "2020-05-02T10:00:00Z"
    assert search(freshdesk_sim, "contacts", "phone:'+1 201 555 0177'").json()["total"] == 1  # indexed long ago
    listed = freshdesk_sim.get("/api/v2/tickets", params={"requester_id": contact["id"]}).json()
    assert [t["subject"] for t in listed] == ["Old issue"]


def test_reset_restores_the_seed(freshdesk_sim: FreshdeskSim) -> None:
    ticket = next(t for t in DEMO_TICKETS if t.key == "us_dotted_wrong_size")
    freshdesk_sim.update_ticket(ticket.id, status=5)
    freshdesk_sim.configure(plan="trial", outage=True)

    freshdesk_sim.reset()

    assert freshdesk_sim.get(f"/api/v2/tickets/{ticket.id}").json()["status"] == ticket.status
    assert freshdesk_sim.control("GET", "config")["plan"] == "growth"
    assert freshdesk_sim.requests()[-1]["endpoint"] == "tickets.view"


# Webhooks ("Trigger webhook" automation)


class Receiver:
    """A webhook endpoint that records what it receives and answers with the statuses it is given."""

    def __init__(self, statuses: list[int]) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        statuses_left = list(statuses)
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                received.append((dict(self.headers), self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(statuses_left.pop(0) if statuses_left else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/freshdesk"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def wait_for(self, count: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.received) >= count, f"received {len(self.received)} of {count} webhooks"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    endpoint = Receiver([500])
    yield endpoint
    endpoint.server.shutdown()


def test_a_ticket_update_triggers_the_webhook_with_labels(freshdesk_sim: FreshdeskSim, receiver: Receiver) -> None:
    ticket = next(t for t in DEMO_TICKETS if t.key == "us_dotted_wrong_size")
    freshdesk_sim.configure(webhook={"url": receiver.url, "username": "hook-user", "password": "s3cret"})

    freshdesk_sim.update_ticket(ticket.id, status=6)
    receiver.wait_for(1)
    freshdesk_sim.advance_clock(301)  # the first attempt got a 500: Freshdesk retries 5 minutes later
    receiver.wait_for(2)

    headers, body = receiver.received[-1]
    assert headers["Authorization"] == "Basic " + base64.b64encode(b"hook-user:s3cret").decode()
    assert headers["User-Agent"] == "Freshdesk"
    payload = json.loads(body)["freshdesk_webhook"]
    assert payload["ticket_id"] == str(ticket.id)
    assert payload["ticket_status"] == "Waiting on Customer"
    assert payload["triggered_event"] == "{status:{from:2,to:6}}"
    assert payload["ticket_contact_phone"] == "555.019.9998"
    [delivery] = freshdesk_sim.webhook_deliveries()
    assert [attempt["status"] for attempt in delivery["attempts"]] == [500, 200]


def test_a_webhook_template_can_be_delivered_twice(freshdesk_sim: FreshdeskSim) -> None:
    endpoint = Receiver([])
    template = '{"id": {{ticket.id}}, "status": "{{ticket.status}}", "event": "{{triggered_event}}"}'
    freshdesk_sim.configure(
        webhook={"url": endpoint.url, "content": "advanced", "template": template, "duplicate_rate": 1.0}
    )

    created = freshdesk_sim.api("POST", "/api/v2/tickets", json=ticket_body(requester_id=DOZENS.id, status=3)).json()
    endpoint.wait_for(2)
    endpoint.server.shutdown()

    expected = {"id": created["id"], "status": "Pending", "event": "{ticket_action:created}"}
    assert [json.loads(body) for _, body in endpoint.received] == [expected, expected]


# The seed as importable data


def test_the_seed_table_matches_what_the_api_serves(freshdesk_sim: FreshdeskSim) -> None:
    freshdesk_sim.configure(plan="enterprise")  # 24 ticket lists: more than Growth's 20 a minute
    countries = {contact.country for contact in DEMO_CONTACTS}
    assert len(countries) >= 6
    assert sum(ticket.visible for ticket in DEMO_TICKETS if ticket.requester_key == "us_parenthesised") >= 40

    for contact in DEMO_CONTACTS:
        for stored, e164 in ((contact.phone, contact.phone_e164), (contact.mobile, contact.mobile_e164)):
            if stored:
                parsed = phonenumbers.parse(stored, contact.country)
                assert phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) == e164, contact.key
        served = freshdesk_sim.get(f"/api/v2/contacts/{contact.id}").json()
        assert (served["phone"], served["mobile"], served["name"]) == (contact.phone, contact.mobile, contact.name)
        tickets = freshdesk_sim.get("/api/v2/tickets", params={"requester_id": contact.id, "per_page": 100})
        assert len(tickets.json()) == demo_ticket_count(contact.key), contact.key


def test_autocomplete_matches_name_prefixes_and_refuses_a_missing_term(freshdesk_sim) -> None:
    contacts = freshdesk_sim.get("/api/v2/contacts/autocomplete", params={"term": "wil"})
    companies = freshdesk_sim.get("/api/v2/companies/autocomplete", params={"name": "glo"})
    missing = freshdesk_sim.get("/api/v2/companies/autocomplete")
    unknown = freshdesk_sim.get("/api/v2/contacts/autocomplete", params={"term": "wil", "email": "x"})

    assert [contact["name"] for contact in contacts.json()] == ["Charlotte Wilson", "Jack Wilson"]
    assert set(contacts.json()[0]) == {"id", "name"}
    assert companies.json() == {"companies": [{"id": 43000002002, "name": "Globex GmbH"}]}
    assert (missing.status_code, missing.json()["errors"][0]["field"]) == (400, "name")
    assert unknown.status_code == 400
