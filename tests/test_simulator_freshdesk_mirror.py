"""The Freshdesk simulator's parts the mirror relies on: the "changed since" spellings, the companies list, and
contact changes and merges made as an agent would."""

from __future__ import annotations

import pytest

from simulators.freshdesk.seed import DEMO_COMPANIES, DEMO_TICKETS, demo_contact
from tests.fixtures.freshdesk_sim import FreshdeskSim


@pytest.mark.parametrize("honoured", ["updated_since", "_updated_since"])
@pytest.mark.parametrize("path", ["/api/v2/contacts", "/api/v2/tickets"])
def test_an_account_honouring_one_spelling_refuses_the_other(freshdesk_sim: FreshdeskSim, honoured, path) -> None:
    freshdesk_sim.configure(since_parameter=honoured)
    other = "_updated_since" if honoured == "updated_since" else "updated_since"

    accepted = freshdesk_sim.get(path, params={honoured: "2000-01-01T00:00:00Z"})
    refused = freshdesk_sim.get(path, params={other: "2000-01-01T00:00:00Z"})

    assert accepted.status_code == 200
    assert refused.status_code == 400
    assert refused.json()["errors"] == [
        {"field": other, "message": "Unexpected/invalid field in request", "code": "invalid_field"}
    ]


def test_by_default_both_spellings_filter_the_ticket_list(freshdesk_sim: FreshdeskSim) -> None:
    since = "2099-01-01T00:00:00Z"
    for name in ("updated_since", "_updated_since"):
        response = freshdesk_sim.get("/api/v2/tickets", params={name: since})
        assert (response.status_code, response.json()) == (200, [])


def test_the_companies_list_pages_every_company(freshdesk_sim: FreshdeskSim) -> None:
    first = freshdesk_sim.get("/api/v2/companies", params={"per_page": 2})
    second = freshdesk_sim.get("/api/v2/companies", params={"per_page": 2, "page": 2})

    listed = first.json() + second.json()
    assert [(company["id"], company["name"]) for company in listed] == [(c.id, c.name) for c in DEMO_COMPANIES]
    assert 'rel="next"' in first.headers["Link"]
    assert "Link" not in second.headers
    assert all(company["updated_at"].endswith("Z") and company["custom_fields"] == {} for company in listed)
    assert freshdesk_sim.get("/api/v2/companies", params={"per_page": 101}).status_code == 400


def test_a_contact_change_bumps_updated_at_and_a_merge_removes_the_contact(freshdesk_sim: FreshdeskSim) -> None:
    dana, priya = demo_contact("us_parenthesised"), demo_contact("us_extension")
    before = freshdesk_sim.get(f"/api/v2/contacts/{dana.id}").json()

    changed = freshdesk_sim.update_contact(dana.id, mobile="+1 202 555 0100")
    assert changed["mobile"] == "+1 202 555 0100"
    assert changed["updated_at"] > before["updated_at"]

    freshdesk_sim.update_contact(dana.id, merged_into=priya.id)
    assert freshdesk_sim.get(f"/api/v2/contacts/{dana.id}").status_code == 404
    deleted = freshdesk_sim.get("/api/v2/contacts", params={"state": "deleted", "per_page": 100}).json()
    assert dana.id not in {contact["id"] for contact in deleted}
    moved = [ticket.id for ticket in DEMO_TICKETS if ticket.requester_key == "us_parenthesised" and ticket.visible]
    assert {freshdesk_sim.get(f"/api/v2/tickets/{ticket_id}").json()["requester_id"] for ticket_id in moved} == {
        priya.id
    }
