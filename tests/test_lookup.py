"""The caller lookup (`screenpop.lookup.service.caller_lookup`) over real HTTP against the Freshdesk simulator.

Every test counts Freshdesk calls twice: as the lookup reports them (`LookupResult.freshdesk_calls`) and as the
simulator logged them. The seed (`simulators.freshdesk.seed`) stores phones the ways people type them.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import caches

from screenpop.freshdesk import FreshdeskTransientError
from screenpop.freshdesk.accounts import LOOKUP_BUDGET_WAIT_SECONDS, freshdesk_client_for
from screenpop.freshdesk.labels import ticket_labels
from screenpop.lookup.phone_index import phone_index_sync
from screenpop.lookup.service import LookupResult, caller_lookup
from screenpop.models import PhoneIndexEntry, Tenant
from screenpop.phones import normalize_caller
from simulators.freshdesk.catalog import PRIORITIES, STATUSES
from simulators.freshdesk.seed import DEMO_TICKETS, demo_contact, demo_ticket_count

TICKET_KEYS = {"id", "subject", "status", "status_label", "priority", "priority_label", "updated_at", "url"}
CONTACT_KEYS = {"id", "name", "email", "phone", "mobile", "url", "tickets", "ticket_count", "tickets_beyond"}


def lookup(tenant: Tenant, number: str) -> LookupResult:
    caller = normalize_caller(number, default_region=tenant.phone_region)
    return caller_lookup(tenant=tenant, caller=caller)


def logged(freshdesk_sim: Any) -> list[str]:
    """The endpoints the simulator answered since the last call, and forget them."""
    endpoints = [entry["endpoint"] for entry in freshdesk_sim.requests()]
    freshdesk_sim.clear_requests()
    return endpoints


def warm_labels(tenant: Tenant, freshdesk_sim: Any) -> None:
    """Fetch the account's ticket labels (cached for an hour) so that call counts show only the lookup's own."""
    ticket_labels(freshdesk_client_for(tenant.freshdesk))
    assert logged(freshdesk_sim) == ["ticket_fields.list"]


def seed_ranking(key: str) -> list[int]:
    """The seeded tickets of contact `key` in the order the panel must show them."""
    visible = [ticket for ticket in DEMO_TICKETS if ticket.requester_key == key and ticket.visible]
    ranked = sorted(visible, key=lambda t: (t.status in (4, 5), t.updated_days_ago, -t.id))
    return [ticket.id for ticket in ranked]


# -- matches ------------------------------------------------------------------------------------------------------


def test_matches_a_us_contact_stored_in_a_local_format(sim_tenant, freshdesk_sim):
    tenant = sim_tenant("US")
    dana = demo_contact("us_parenthesised")  # stored as "(555) 019-9999"

    result = lookup(tenant, "tel:+15550199999")

    assert result.state == "matched"
    assert result.source == "search"
    assert result.phone_e164 == "+15550199999"
    assert result.phone_display == "+1 555-019-9999"
    assert set(result.contact) == CONTACT_KEYS
    assert result.contact == {
        "id": dana.id,
        "name": "Dana Whitfield",
        "email": "dana.whitfield@example.com",
        "phone": "(555) 019-9999",
        "mobile": None,
        "url": f"{freshdesk_sim.base_url}/a/contacts/{dana.id}",
        "tickets": result.tickets,
        "ticket_count": demo_ticket_count("us_parenthesised"),
        "tickets_beyond": False,
    }
    assert result.contacts == [result.contact]
    assert len(result.tickets) == tenant.ticket_limit == 5
    for ticket in result.tickets:
        assert set(ticket) == TICKET_KEYS
        assert ticket["url"] == f"{freshdesk_sim.base_url}/a/tickets/{ticket['id']}"
    assert result.freshdesk_calls == 4  # the spellings take two searches: none is dropped
    assert logged(freshdesk_sim) == ["contacts.search", "contacts.search", "tickets.list", "ticket_fields.list"]
    # Found by search, so written into the index for the next call.
    entry = PhoneIndexEntry.objects.get(tenant=tenant, contact_id=dana.id)
    assert (entry.e164, entry.field, entry.stored_value) == ("+15550199999", "phone", "(555) 019-9999")


def test_matches_a_uk_mobile_stored_nationally(sim_tenant, freshdesk_sim):
    tenant = sim_tenant("GB")
    amelia = demo_contact("uk_mobile")  # phone "0161 496 0753", mobile "07700 900123"

    result = lookup(tenant, "+44 7700 900123")

    assert result.state == "matched"
    assert [contact["id"] for contact in result.contacts] == [amelia.id]
    assert (result.contact["phone"], result.contact["mobile"]) == ("0161 496 0753", "07700 900123")
    assert [ticket["subject"] for ticket in result.tickets] == ["Porting my number"]


def test_a_number_shared_by_two_contacts_stored_differently_matches_both(sim_tenant, freshdesk_sim):
    """+44 20 7946 0958 is stored as "020 7946 0958" (Oliver) and "+44 (0)20 7946 0958" (Olivia)."""
    tenant = sim_tenant("GB")
    warm_labels(tenant, freshdesk_sim)
    oliver, olivia = demo_contact("uk_national"), demo_contact("uk_trunk_zero")

    result = lookup(tenant, "tel:+442079460958")

    assert result.state == "matched"
    # Most recently updated first: Olivia's record is the newer one.
    assert [contact["id"] for contact in result.contacts] == [olivia.id, oliver.id]
    assert result.contact["phone"] == "+44 (0)20 7946 0958"
    assert [t["subject"] for t in result.contacts[0]["tickets"]] == ["Duplicate account created"]
    assert [t["subject"] for t in result.contacts[1]["tickets"]] == [
        "Direct debit failed",
        "Update company registration number",
    ]
    assert result.tickets == result.contacts[0]["tickets"]
    # Two searches (every spelling), then one ticket list per contact.
    assert result.freshdesk_calls == 4
    assert logged(freshdesk_sim) == ["contacts.search", "contacts.search", "tickets.list", "tickets.list"]


def test_a_shared_office_line_fetches_tickets_for_each_contact(sim_tenant, freshdesk_sim):
    tenant = sim_tenant("AU")
    jack, charlotte = demo_contact("au_shared_line_a"), demo_contact("au_shared_line_b")

    result = lookup(tenant, "+61 3 5550 4321")

    assert {contact["id"] for contact in result.contacts} == {jack.id, charlotte.id}
    tickets = {contact["name"]: [t["subject"] for t in contact["tickets"]] for contact in result.contacts}
    assert tickets == {
        "Jack Wilson": ["Shared office line: invoice query", "Onboarding call"],
        "Charlotte Wilson": ["Shared office line: password reset"],
    }


# -- no match, and what costs nothing -------------------------------------------------------------------------------


def test_an_unknown_number_is_no_match_and_a_repeat_costs_no_call(sim_tenant, freshdesk_sim):
    tenant = sim_tenant("US")

    first = lookup(tenant, "tel:+12015550100")
    assert (first.state, first.source, first.freshdesk_calls) == ("no_match", "search", 2)
    assert (first.contact, first.contacts, first.tickets) == (None, [], [])
    assert logged(freshdesk_sim) == ["contacts.search", "contacts.search"]

    again = lookup(tenant, "tel:+12015550100")
    assert (again.state, again.source, again.freshdesk_calls) == ("no_match", "cache-miss", 0)
    assert logged(freshdesk_sim) == []


def test_a_number_with_the_same_national_digits_in_another_country_does_not_match(sim_tenant, freshdesk_sim):
    """+1 207-946-0958 and +44 20 7946 0958 share ten digits; a suffix comparison would pop the wrong person."""
    tenant = sim_tenant("GB")
    # A UK contact typed without the trunk zero: search finds this exact string among the US number's spellings.
    lookalike = freshdesk_sim.create_contact(name="Ivy Lookalike", phone="2079460958")
    freshdesk_sim.advance_clock(600)  # past the search index lag

    result = lookup(tenant, "tel:+12079460958")

    assert result.state == "no_match"
    assert result.freshdesk_calls == 2
    assert logged(freshdesk_sim) == ["contacts.search", "contacts.search"]
    # The index holds the contact under the UK number it really is, and still does not match the US caller.
    phone_index_sync(tenant=tenant)
    assert PhoneIndexEntry.objects.get(tenant=tenant, contact_id=lookalike["id"]).e164 == "+442079460958"
    caches["default"].clear()  # forget the miss
    assert lookup(tenant, "tel:+12079460958").state == "no_match"


@pytest.mark.parametrize("number", ["anonymous", "tel:withheld", "1234", ""])
def test_a_caller_without_a_usable_number_costs_no_call(sim_tenant, freshdesk_sim, number):
    tenant = sim_tenant("US")

    result = lookup(tenant, number)

    assert (result.state, result.freshdesk_calls, result.source) == ("no_match", 0, "none")
    assert logged(freshdesk_sim) == []


def test_freshdesk_down_raises_the_transient_error(sim_tenant, freshdesk_sim):
    tenant = sim_tenant("US")
    freshdesk_sim.configure(outage=True)

    with pytest.raises(FreshdeskTransientError) as raised:
        lookup(tenant, "tel:+15550199999")

    assert raised.value.freshdesk_calls == 1
    assert [(entry["endpoint"], entry["status"]) for entry in freshdesk_sim.requests()] == [("contacts.search", 503)]
    # A failed lookup is not remembered as a miss.
    freshdesk_sim.configure(outage=False)
    assert lookup(tenant, "tel:+15550199999").state == "matched"


# -- the phone index --------------------------------------------------------------------------------------------------


def test_an_index_hit_costs_fewer_calls_than_a_miss(sim_tenant, freshdesk_sim):
    tenant = sim_tenant("US")
    warm_labels(tenant, freshdesk_sim)

    miss = lookup(tenant, "tel:+15550199999")
    assert (miss.source, miss.freshdesk_calls) == ("search", 3)
    assert logged(freshdesk_sim) == ["contacts.search", "contacts.search", "tickets.list"]

    hit = lookup(tenant, "tel:+15550199999")
    assert (hit.source, hit.freshdesk_calls) == ("index", 1)
    assert logged(freshdesk_sim) == ["tickets.list"]
    assert [t["id"] for t in hit.tickets] == [t["id"] for t in miss.tickets]
    assert (hit.contact["name"], hit.contact["phone"]) == ("Dana Whitfield", "(555) 019-9999")
    assert hit.contact["email"] is None  # the index does not keep e-mail addresses


def test_a_number_search_cannot_spell_is_found_through_the_synced_index(sim_tenant, freshdesk_sim):
    """Priya's phone is "+1 555-019-9997 x12": no search variant carries the extension, the index reads it."""
    tenant = sim_tenant("US")
    warm_labels(tenant, freshdesk_sim)

    assert lookup(tenant, "tel:+15550199997").state == "no_match"
    assert logged(freshdesk_sim) == ["contacts.search", "contacts.search"]
    caches["default"].clear()  # forget the miss (and the labels: warm them again)
    warm_labels(tenant, freshdesk_sim)
    phone_index_sync(tenant=tenant)
    assert logged(freshdesk_sim) == ["contacts.list"]

    result = lookup(tenant, "tel:+15550199997")
    assert (result.state, result.source, result.freshdesk_calls) == ("matched", "index", 1)
    assert result.contact["name"] == "Priya Raman"
    assert logged(freshdesk_sim) == ["tickets.list"]


def test_a_contact_created_just_now_is_found_after_the_next_index_sync(sim_tenant, freshdesk_sim):
    """Search lags behind (index lag 120 s), so the first lookup misses and the miss is remembered; the contacts
    list does not lag, so the next index sync finds the contact, and the index is asked before the miss cache."""
    tenant = sim_tenant("US")
    phone_index_sync(tenant=tenant)
    newcomer = freshdesk_sim.create_contact(name="Nina Fresh", phone="+12015550177")
    freshdesk_sim.clear_requests()

    assert lookup(tenant, "tel:+12015550177").state == "no_match"
    assert lookup(tenant, "tel:+12015550177").source == "cache-miss"

    report = phone_index_sync(tenant=tenant)
    assert report.added == 1
    result = lookup(tenant, "tel:+12015550177")
    assert (result.state, result.source) == ("matched", "index")
    assert result.contact["id"] == newcomer["id"]


def test_a_contact_created_just_now_is_found_by_search_once_indexed(sim_tenant, freshdesk_sim):
    tenant = sim_tenant("US")
    newcomer = freshdesk_sim.create_contact(name="Nina Fresh", mobile="(201) 555-0177")

    assert lookup(tenant, "tel:+12015550177").state == "no_match"
    freshdesk_sim.advance_clock(121)
    caches["default"].clear()  # as if SCREENPOP_MISS_CACHE_SECONDS had passed

    result = lookup(tenant, "tel:+12015550177")
    assert (result.state, result.source) == ("matched", "search")
    assert (result.contact["id"], result.contact["mobile"]) == (newcomer["id"], "(201) 555-0177")
    assert PhoneIndexEntry.objects.filter(tenant=tenant, e164="+12015550177", field="mobile").exists()


# -- tickets ----------------------------------------------------------------------------------------------------------


def test_tickets_are_ranked_unresolved_first_then_newest_and_capped(sim_tenant, freshdesk_sim):
    tenant = sim_tenant("US")

    result = lookup(tenant, "tel:+15550199999")

    expected = seed_ranking("us_parenthesised")
    assert [ticket["id"] for ticket in result.tickets] == expected[:5]
    Tenant.objects.filter(pk=tenant.pk).update(ticket_limit=50)
    tenant.refresh_from_db()
    caches["default"].clear()
    everything = lookup(tenant, "tel:+15550199999")
    assert [ticket["id"] for ticket in everything.tickets] == expected  # spam and deleted ones left out
    resolved = [ticket["status"] in (4, 5) for ticket in everything.tickets]
    assert resolved == sorted(resolved)


@pytest.mark.parametrize("thirty_day_window_always", [False, True])
def test_an_open_ticket_older_than_30_days_is_shown(sim_tenant, freshdesk_sim, thirty_day_window_always):
    """Without `updated_since` Freshdesk may list only tickets created in the last 30 days."""
    freshdesk_sim.configure(thirty_day_window_always=thirty_day_window_always)
    tenant = sim_tenant("US")
    Tenant.objects.filter(pk=tenant.pk).update(ticket_limit=50)
    tenant.refresh_from_db()
    old_open = [
        ticket.id
        for ticket in DEMO_TICKETS
        if ticket.requester_key == "us_parenthesised" and ticket.visible and ticket.status not in (4, 5)
        and ticket.created_days_ago > 30
    ]  # fmt: skip
    assert old_open

    result = lookup(tenant, "tel:+15550199999")

    assert set(old_open) <= {ticket["id"] for ticket in result.tickets}
    listing = next(entry for entry in freshdesk_sim.requests() if entry["endpoint"] == "tickets.list")
    assert listing["query"]["requester_id"] == [str(demo_contact("us_parenthesised").id)]
    assert listing["query"]["updated_since"] == ["2000-01-01T00:00:00Z"]
    assert listing["query"]["order_by"] == ["updated_at"]
    assert listing["query"]["per_page"] == ["100"]


def test_labels_come_from_ticket_fields_including_custom_statuses(sim_tenant, freshdesk_sim):
    tenant = sim_tenant("US")
    Tenant.objects.filter(pk=tenant.pk).update(ticket_limit=50)
    tenant.refresh_from_db()

    tickets = lookup(tenant, "tel:+15550199999").tickets

    labels = {(t["status"], t["status_label"]) for t in tickets}
    assert {(6, "Waiting on Customer"), (7, "Waiting on Third Party")} <= labels
    for ticket in tickets:
        assert ticket["status_label"] == STATUSES[ticket["status"]][0]
        assert ticket["priority_label"] == PRIORITIES[ticket["priority"]]
    # Cached per account: the next lookup does not ask again.
    freshdesk_sim.clear_requests()
    lookup(tenant, "tel:+12015550123")
    assert "ticket_fields.list" not in logged(freshdesk_sim)


def test_one_pooled_client_per_account_with_a_short_budget_wait(sim_tenant):
    first, second = sim_tenant("US"), sim_tenant("GB")

    client = freshdesk_client_for(first.freshdesk)

    assert freshdesk_client_for(second.freshdesk) is client  # same account, same key, same plan
    assert client.budget is not None
    assert client.budget_wait == LOOKUP_BUDGET_WAIT_SECONDS <= 2


def test_text_no_database_can_store_is_cleaned_from_freshdesk_answers(sim_tenant, freshdesk_sim):
    """A contact or ticket typed by anyone may hold a NUL (JSON's \\u0000): kept as
    U+FFFD, so the pop's result saves on PostgreSQL (which refuses NUL in jsonb) and SQLite alike."""
    from django.utils import timezone

    from screenpop.models import Pop

    tenant = sim_tenant("US")
    contact = freshdesk_sim.create_contact(
        name="Zed\u0000Null", phone="+12015550177", created_at="2026-01-05T10:00:00Z"
    )  # backdated: search lags new contacts
    freshdesk_sim.create_ticket(requester_id=contact["id"], subject="Broken \u0000 subject")

    result = lookup(tenant, "tel:+12015550177")

    assert result.contact["name"] == "Zed\ufffdNull"
    assert [ticket["subject"] for ticket in result.tickets] == ["Broken \ufffd subject"]
    pop = Pop.objects.create(
        tenant=tenant, conversation_id="clean-1", phone_raw="tel:+12015550177", received_at=timezone.now(),
        result={"contact": result.contact},
    )  # fmt: skip
    pop.refresh_from_db()
    assert pop.result["contact"]["tickets"][0]["subject"] == "Broken \ufffd subject"


def test_a_connection_changed_in_this_process_is_used_by_the_next_lookup_at_once(sim_tenant, freshdesk_sim):
    """Lookups remember each tenant with its Freshdesk connection for a moment (`callers.tenants`); a change saved
    in this process (the admin, the wizard) is seen by the very next lookup, not a second later."""
    from datetime import timedelta

    from django.utils import timezone

    from screenpop import tenants
    from screenpop.models import Pop
    from screenpop.pops.services import pop_lookup_run

    tenant = sim_tenant("US")

    def looked_up(conversation_id: str, number: str) -> Pop:
        now = timezone.now()
        pop = Pop.objects.create(
            tenant=tenant, conversation_id=conversation_id, phone_raw=f"tel:{number}", received_at=now,
            lease_owner="test", lease_expires_at=now + timedelta(minutes=1),
        )  # fmt: skip
        pop_lookup_run(pop_id=pop.pk, owner="test")
        pop.refresh_from_db()
        return pop

    assert looked_up("conn-before", "+15550199998").state == "matched"
    tenants.freshdesk_connection_set(
        tenant=tenant, domain=freshdesk_sim.base_url, api_key="a-key-freshdesk-refuses", plan="growth"
    )
    after = looked_up("conn-after", "+15550199990")
    assert after.state == "error", "the old key would have been used"
    assert "key" in after.detail.lower()


def test_a_lookup_writes_nothing_once_its_lease_passed_to_another_process(sim_tenant, freshdesk_sim, monkeypatch):
    """Every write of a lookup is guarded by its lease: a process that does not hold it does not start, and one whose
    lease passed to another process during the Freshdesk call stores nothing (no result, no shown tickets); the
    process that holds the lease then finishes the pop."""
    from datetime import timedelta

    from django.utils import timezone

    from screenpop.models import Pop, PopContact, PopTicket
    from screenpop.pops import services
    from screenpop.pops.services import pop_lookup_run

    now = timezone.now()
    pop = Pop.objects.create(
        tenant=sim_tenant("US"), conversation_id="lease-moves", phone_raw="tel:+15550199998", received_at=now,
        lease_owner="first", lease_expires_at=now + timedelta(minutes=1),
    )  # fmt: skip
    assert pop_lookup_run(pop_id=pop.pk, owner="second").state == "not_ours"

    looked_up = services.caller_lookup

    def taken_over_during_the_call(**kwargs: Any) -> LookupResult:
        Pop.objects.filter(pk=pop.pk).update(lease_owner="second")
        return looked_up(**kwargs)

    monkeypatch.setattr(services, "caller_lookup", taken_over_during_the_call)
    assert pop_lookup_run(pop_id=pop.pk, owner="first").state == "lost_lease"
    pop.refresh_from_db()
    assert (pop.state, pop.lease_owner, pop.result, pop.completed_at) == ("pending", "second", {}, None)
    assert not PopTicket.objects.filter(pop=pop).exists()
    assert not PopContact.objects.filter(pop=pop).exists()

    monkeypatch.setattr(services, "caller_lookup", looked_up)
    assert pop_lookup_run(pop_id=pop.pk, owner="second").state == "matched"
    pop.refresh_from_db()
    assert pop.state == "matched"
    assert pop.completed_at is not None
    assert pop.result["contacts"]
    shown = {ticket["id"] for contact in pop.result["contacts"] for ticket in contact["tickets"]}
    assert set(PopTicket.objects.filter(pop=pop).values_list("ticket_id", flat=True)) == shown
    assert PopContact.objects.filter(pop=pop).count() == len(pop.result["contacts"])
