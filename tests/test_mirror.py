"""The tenant's mirror of callers and open tickets (`screenpop.mirror`), against the Freshdesk simulator over HTTP.

Every test reads the simulator's request log: the mirror's point is the calls a pop does not make.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from screenpop.freshdesk.accounts import freshdesk_client_for
from screenpop.lookup.service import LookupResult, caller_lookup
from screenpop.mirror import sync as mirror_sync
from screenpop.mirror.reads import mirror_match
from screenpop.mirror.refresh import mirror_refresh_after_pop
from screenpop.mirror.sync import mirror_sync_due, mirror_sync_round, sync_progress
from screenpop.models import (
    FreshdeskConnection,
    MirrorCompany,
    MirrorContact,
    MirrorSync,
    MirrorTicket,
    PhoneIndexEntry,
    Pop,
    Tenant,
)
from screenpop.phones import normalize_caller
from screenpop.pops.result import PopResult
from screenpop.pops.services import pop_shown_save
from screenpop.ticket_updates import ticket_update_apply
from simulators.freshdesk.seed import DEMO_COMPANIES, DEMO_CONTACTS, DEMO_TICKETS, demo_contact

OPEN_STATUSES_SHOWN = {2, 3, 4, 6, 7}


def endpoints(freshdesk_sim: Any) -> list[str]:
    """The endpoints the simulator answered since the last call, and forget them."""
    found = [entry["endpoint"] for entry in freshdesk_sim.requests()]
    freshdesk_sim.clear_requests()
    return found


def sync_until_live(tenant: Tenant, *, owner: str = "process-a", rounds: int = 20) -> MirrorSync:
    for _ in range(rounds):
        report = mirror_sync_round(tenant=tenant, owner=owner)
        assert report is not None, "another process holds the sync"
        assert not report.error, report
        state = MirrorSync.objects.get(tenant=tenant)
        if state.phase == MirrorSync.Phase.LIVE:
            return state
    raise AssertionError(f"not live after {rounds} rounds: {state.phase}")


def lookup(tenant: Tenant, number: str) -> LookupResult:
    tenant = Tenant.objects.select_related("freshdesk").get(pk=tenant.pk)
    return caller_lookup(tenant=tenant, caller=normalize_caller(number, default_region=tenant.phone_region))


@pytest.fixture
def live_tenant(sim_tenant, freshdesk_sim, settings):
    settings.SCREENPOP_MIRROR_MISS_SYNC_SECONDS = 0
    tenant = sim_tenant("US")
    sync_until_live(tenant)
    freshdesk_sim.clear_requests()
    return tenant


def shown_tickets(requester_key: str) -> set[int]:
    return {
        ticket.id
        for ticket in DEMO_TICKETS
        if ticket.requester_key == requester_key and ticket.visible and ticket.status != 5
    }


def seed_ranking(requester_key: str) -> list[int]:
    """The seeded tickets not closed of a contact, in the order the panel shows them (unresolved first, newest)."""
    kept = [t for t in DEMO_TICKETS if t.requester_key == requester_key and t.visible and t.status != 5]
    return [t.id for t in sorted(kept, key=lambda t: (t.status == 4, t.updated_days_ago, -t.id))]


# -- the first sync ---------------------------------------------------------------------------------------------------


def test_a_first_sync_copies_usable_contacts_and_tickets_not_closed_then_goes_live(sim_tenant, freshdesk_sim):
    tenant = sim_tenant("US")

    state = sync_until_live(tenant)

    usable = [contact for contact in DEMO_CONTACTS if not contact.deleted and not contact.blocked]
    assert MirrorContact.objects.filter(tenant=tenant, deleted=False).count() == len(usable)
    dana = MirrorContact.objects.get(tenant=tenant, contact_id=demo_contact("us_parenthesised").id)
    assert (dana.phone, dana.name) == ("(555) 019-9999", demo_contact("us_parenthesised").name)
    open_tickets = {ticket.id for ticket in DEMO_TICKETS if ticket.visible and ticket.status != 5}
    assert set(MirrorTicket.objects.filter(tenant=tenant).values_list("ticket_id", flat=True)) == open_tickets
    companies = dict(MirrorCompany.objects.filter(tenant=tenant).values_list("company_id", "name"))
    assert companies == {company.id: company.name for company in DEMO_COMPANIES}
    assert state.labels["status"]["2"] == "Open"
    assert state.labels["priority"]["4"] == "Urgent"
    assert state.contacts_estimate == len(usable)
    assert state.tickets_seen >= len(open_tickets)
    assert sync_progress(state) == (1.0, None)
    log = freshdesk_sim.requests()
    calls = [entry["endpoint"] for entry in log]
    assert calls.count("contacts.list") == 1
    assert calls.count("tickets.list") == 1
    [walk] = [entry["query"] for entry in log if entry["endpoint"] == "tickets.list"]
    # Oldest change first from 2000 (no 30-day window), one page of 100.
    assert (walk["updated_since"], walk["order_by"], walk["order_type"]) == (
        ["2000-01-01T00:00:00Z"],
        ["updated_at"],
        ["asc"],
    )
    assert "contacts.search" in calls
    assert "tickets.search" in calls
    assert FreshdeskConnection.objects.get(tenant=tenant).index_synced_until is not None


def test_a_first_sync_resumes_where_a_crashed_process_left_it(sim_tenant, freshdesk_sim, monkeypatch, settings):
    monkeypatch.setattr(mirror_sync, "PER_PAGE", 5)
    settings.SCREENPOP_MIRROR_LEASE_SECONDS = 30
    settings.SCREENPOP_MIRROR_BUDGET_RESERVE = 0  # small pages: more list calls than half a Growth minute allows
    tenant = sim_tenant("US")
    pages = 0
    real_apply = mirror_sync.phone_index_apply

    def crash_on_third_page(**kwargs: Any) -> Any:
        nonlocal pages
        pages += 1
        if pages == 3:
            raise RuntimeError("the process died")
        return real_apply(**kwargs)

    monkeypatch.setattr(mirror_sync, "phone_index_apply", crash_on_third_page)
    with pytest.raises(RuntimeError):
        mirror_sync_round(tenant=tenant, owner="process-a")
    state = MirrorSync.objects.get(tenant=tenant)
    assert (state.contacts_page, state.contacts_seen, state.lease_owner) == (3, 10, "process-a")
    # Another process cannot take it while the dead one's lease runs; it can once it has expired.
    assert mirror_sync_round(tenant=tenant, owner="process-b") is None
    MirrorSync.objects.filter(tenant=tenant).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    freshdesk_sim.clear_requests()
    monkeypatch.setattr(mirror_sync, "phone_index_apply", real_apply)

    sync_until_live(tenant, owner="process-b")

    contact_pages = [
        entry["query"]["page"][0] for entry in freshdesk_sim.requests() if entry["endpoint"] == "contacts.list"
    ]
    assert contact_pages[0] == "3"  # resumed, not started over
    usable = [contact for contact in DEMO_CONTACTS if not contact.deleted and not contact.blocked]
    assert MirrorContact.objects.filter(tenant=tenant, deleted=False).count() == len(usable)


def test_the_first_sync_leaves_the_pops_their_share_of_the_budget(sim_tenant, freshdesk_sim, settings):
    tenant = sim_tenant("US")
    client = freshdesk_client_for(FreshdeskConnection.objects.get(tenant=tenant))
    limit = client.budget.limit("contacts_list")
    client.budget.acquire("contacts_list", limit - limit // 2)  # the pops have spent half of the minute's lists
    freshdesk_sim.clear_requests()

    report = mirror_sync_round(tenant=tenant, owner="process-a")

    assert report is not None
    assert report.contacts == 0
    assert "contacts.list" not in endpoints(freshdesk_sim)
    assert MirrorSync.objects.get(tenant=tenant).phase == MirrorSync.Phase.CONTACTS


# -- pops from the mirror ---------------------------------------------------------------------------------------------


def test_a_known_caller_pops_from_the_mirror_with_no_freshdesk_call(live_tenant, freshdesk_sim):
    dana = demo_contact("us_parenthesised")

    result = lookup(live_tenant, "tel:+15550199999")

    assert (result.state, result.source, result.freshdesk_calls) == ("matched", "mirror", 0)
    assert endpoints(freshdesk_sim) == []
    assert result.contact["id"] == dana.id
    assert result.contact["phone"] == "(555) 019-9999"
    assert [ticket["id"] for ticket in result.tickets] == seed_ranking("us_parenthesised")[: live_tenant.ticket_limit]
    assert all(ticket["status_label"] for ticket in result.tickets)
    assert result.result.as_of.endswith("Z")


def test_the_match_is_one_query_on_the_indexes(live_tenant):
    with CaptureQueriesContext(connection) as queries:
        found = mirror_match(tenant=live_tenant, e164="+15550199999", fields=["phone", "mobile"])
    assert [row.contact_id for row in found] == [demo_contact("us_parenthesised").id]
    assert len(queries.captured_queries) == 1
    sql = queries.captured_queries[0]["sql"]
    with connection.cursor() as cursor:
        explain = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN "
        cursor.execute(explain + sql)
        plan = " ".join(str(row) for row in cursor.fetchall())
    if connection.vendor == "sqlite":
        # Both tables are searched on an index's leading columns, none is scanned.
        assert "SEARCH screenpop_mirrorcontact USING INDEX" in plan
        assert "(tenant_id=? AND contact_id=?)" in plan
        assert "USING COVERING INDEX sqlite_autoindex_screenpop_phoneindexentry_1 (tenant_id=? AND e164=?)" in plan
        assert "SCAN" not in plan
    else:
        with connection.cursor() as cursor:
            cursor.execute("SET enable_seqscan = off")  # a young table's plan says nothing: ask what the indexes allow
            cursor.execute(explain + sql)
            plan = " ".join(str(row) for row in cursor.fetchall())
            cursor.execute("SET enable_seqscan = on")
        # No table is read whole. Which of the two indexes a join of a few rows takes depends on the statistics
        # earlier tests left behind (the full suite once took the contact's); SQLite's plan above pins the index.
        assert "Seq Scan" not in plan


def test_a_contact_created_a_minute_ago_is_found_after_one_contacts_call(live_tenant, freshdesk_sim):
    freshdesk_sim.advance_clock(60)
    nina = freshdesk_sim.create_contact(name="Nina Fresh", phone="201.555.0177", mobile="+1 (201) 555-0178")

    by_mobile = lookup(live_tenant, "+12015550178")

    assert (by_mobile.state, by_mobile.source, by_mobile.contact["id"]) == ("matched", "mirror", nina["id"])
    assert endpoints(freshdesk_sim) == ["contacts.list"]
    # Both its spellings are in the mirror now: its other number costs nothing.
    by_phone = lookup(live_tenant, "+12015550177")
    assert (by_phone.state, by_phone.contact["id"], by_phone.freshdesk_calls) == ("matched", nina["id"], 0)


def test_an_unknown_number_is_answered_by_the_up_to_date_mirror_without_search(live_tenant, freshdesk_sim):
    result = lookup(live_tenant, "+14155550100")

    assert (result.state, result.source) == ("no_match", "mirror")
    assert endpoints(freshdesk_sim) == ["contacts.list"]
    again = lookup(live_tenant, "+14155550100")
    assert (again.state, again.freshdesk_calls) == ("no_match", 0)


def test_when_the_catch_up_cannot_run_the_lookup_asks_search(live_tenant, freshdesk_sim):
    client = freshdesk_client_for(FreshdeskConnection.objects.get(tenant=live_tenant))
    client.budget.acquire("contacts_list", client.budget.remaining("contacts_list"))  # the minute's lists are spent
    freshdesk_sim.clear_requests()

    result = lookup(live_tenant, "+14155550100")

    assert (result.state, result.source) == ("no_match", "search")
    assert endpoints(freshdesk_sim) == ["contacts.search", "contacts.search"]


# -- freshness --------------------------------------------------------------------------------------------------------


def test_a_ticket_webhook_reaches_the_mirror_and_an_older_copy_never_wins(live_tenant, freshdesk_sim):
    ticket_id = seed_ranking("us_parenthesised")[0]
    freshdesk_sim.advance_clock(5)
    freshdesk_sim.update_ticket(ticket_id, subject="Router replaced", priority=4)

    ticket_update_apply(tenant=live_tenant, ticket_id=ticket_id)

    row = MirrorTicket.objects.get(tenant=live_tenant, ticket_id=ticket_id)
    assert (row.subject, row.priority) == ("Router replaced", 4)
    newer_at = row.updated_at
    stale = freshdesk_sim.get(f"/api/v2/tickets/{ticket_id}").json()
    stale.update(subject="An older copy", updated_at=(newer_at - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ"))
    from screenpop.mirror.records import mirror_tickets_write

    assert mirror_tickets_write(tenant=live_tenant, tickets=[stale]) == []
    assert MirrorTicket.objects.get(tenant=live_tenant, ticket_id=ticket_id).subject == "Router replaced"

    freshdesk_sim.advance_clock(5)
    freshdesk_sim.update_ticket(ticket_id, status=5)
    ticket_update_apply(tenant=live_tenant, ticket_id=ticket_id)
    result = lookup(live_tenant, "+15550199999")
    assert ticket_id not in {ticket["id"] for ticket in result.tickets}


@pytest.mark.parametrize("honoured", ["updated_since", "_updated_since"])
def test_the_incremental_sync_works_with_either_spelling_of_updated_since(
    live_tenant, freshdesk_sim, settings, monkeypatch, honoured
):
    settings.SCREENPOP_MIRROR_SYNC_SECONDS = 0
    freshdesk_sim.configure(since_parameter=honoured)
    # The process's pooled client of this account learns the spelling; other tests must start from the default.
    client = freshdesk_client_for(FreshdeskConnection.objects.get(tenant=live_tenant))
    monkeypatch.setattr(client, "since_parameters", dict(client.since_parameters))
    [ticket_id, *_] = sorted(shown_tickets("us_parenthesised"))
    freshdesk_sim.advance_clock(5)
    freshdesk_sim.update_ticket(ticket_id, subject="Changed while we were away")
    nina = freshdesk_sim.create_contact(name="Nina Fresh", phone="201.555.0177")
    freshdesk_sim.clear_requests()

    for owner in ("process-a", "process-a"):
        report = mirror_sync_round(tenant=live_tenant, owner=owner)
        assert report is not None
        assert report.error == ""

    assert MirrorTicket.objects.get(tenant=live_tenant, ticket_id=ticket_id).subject == "Changed while we were away"
    assert MirrorContact.objects.filter(tenant=live_tenant, contact_id=nina["id"]).exists()
    lists = [entry for entry in freshdesk_sim.requests() if entry["endpoint"] in ("contacts.list", "tickets.list")]
    refused = [entry for entry in lists if entry["status"] == 400]
    assert len(refused) <= 2  # at most once per list, then the account's spelling is kept
    assert all(honoured in entry["query"] for entry in lists[len(refused) + 1 :] if entry["status"] == 200)


def test_reconciliation_removes_contacts_merged_away_or_deleted(live_tenant, freshdesk_sim, settings):
    settings.SCREENPOP_MIRROR_RECONCILE_SECONDS = 0
    settings.SCREENPOP_MIRROR_SYNC_SECONDS = 3600
    secondary = demo_contact("us_parenthesised")
    primary = demo_contact("us_extension")
    gone = demo_contact("us_dotted")
    freshdesk_sim.advance_clock(5)
    freshdesk_sim.update_contact(secondary.id, merged_into=primary.id)
    freshdesk_sim.update_contact(gone.id, deleted=True)
    MirrorSync.objects.filter(tenant=live_tenant).update(reconciled_at=timezone.now() - timedelta(days=2))

    for _ in range(5):
        mirror_sync_round(tenant=live_tenant, owner="process-a")
        if MirrorSync.objects.get(tenant=live_tenant).contacts_pass_started_at is None:
            break

    rows = {row.contact_id: row for row in MirrorContact.objects.filter(tenant=live_tenant)}
    assert rows[secondary.id].deleted
    assert rows[gone.id].deleted
    assert not PhoneIndexEntry.objects.filter(tenant=live_tenant, contact_id__in=[secondary.id, gone.id]).exists()
    # The merged contact's tickets now belong to the contact it was merged into.
    moved = shown_tickets("us_parenthesised")
    assert set(
        MirrorTicket.objects.filter(tenant=live_tenant, ticket_id__in=moved).values_list("requester_id", flat=True)
    ) <= {primary.id}
    assert lookup(live_tenant, "+15550199999").state == "no_match"


def test_the_mirror_of_an_uninstalled_tenant_is_purged(live_tenant, sim_tenant):
    other = sim_tenant("GB")
    sync_until_live(other)
    Tenant.objects.filter(pk=live_tenant.pk).update(active=False)

    mirror_sync_due(owner="process-a")

    for model in (MirrorContact, MirrorTicket, PhoneIndexEntry, MirrorSync):
        assert not model.objects.filter(tenant=live_tenant).exists()
        assert model.objects.filter(tenant=other).exists()


# -- the refresh after a pop ------------------------------------------------------------------------------------------


def test_a_pop_from_an_old_mirror_is_refreshed_with_one_call_and_its_panel_updated(live_tenant, freshdesk_sim):
    result = lookup(live_tenant, "tel:+15550199999")
    now = timezone.now()
    pop = Pop.objects.create(
        tenant=live_tenant,
        conversation_id="conv-refresh",
        phone_raw="+15550199999",
        phone_e164="+15550199999",
        state=Pop.State.MATCHED,
        result=result.result.to_json(),
        received_at=now,
        completed_at=now,
    )
    pop_shown_save(pop.pk, result.result, now=now)
    ticket_id = result.tickets[0]["id"]
    freshdesk_sim.advance_clock(5)
    freshdesk_sim.update_ticket(ticket_id, subject="Engineer on the way")
    MirrorSync.objects.filter(tenant=live_tenant).update(tickets_current_at=now - timedelta(minutes=5))
    freshdesk_sim.clear_requests()
    client = freshdesk_client_for(FreshdeskConnection.objects.get(tenant=live_tenant))

    panels = mirror_refresh_after_pop(tenant=live_tenant, client=client, owner="process-a")

    assert panels == 1
    assert endpoints(freshdesk_sim) == ["tickets.list"]
    shown = PopResult.from_json(Pop.objects.get(pk=pop.pk).result)
    assert {ticket["id"]: ticket["subject"] for ticket in shown.tickets}[ticket_id] == "Engineer on the way"
    # A mirror refreshed seconds ago is not asked again.
    assert mirror_refresh_after_pop(tenant=live_tenant, client=client, owner="process-a") == 0
    assert endpoints(freshdesk_sim) == []


def test_the_admin_shows_the_first_sync_with_a_bar_and_the_time_left(
    sim_tenant, freshdesk_sim, monkeypatch, client, django_user_model
):
    monkeypatch.setattr(mirror_sync, "PER_PAGE", 5)
    tenant = sim_tenant("US")
    mirror_sync_round(tenant=tenant, owner="process-a", max_pages=2)
    MirrorSync.objects.filter(tenant=tenant).update(started_at=timezone.now() - timedelta(minutes=3))
    state = MirrorSync.objects.get(tenant=tenant)
    fraction, left = sync_progress(state)
    assert state.contacts_seen == 10
    assert fraction == pytest.approx(10 / (state.contacts_estimate + (state.tickets_estimate or 0)))
    assert left is not None
    assert left > timedelta(0)
    client.force_login(django_user_model.objects.create_superuser("root", "root@example.com", "pw"))

    page = client.get("/admin/screenpop/mirrorsync/").content.decode()

    assert f'<progress max="100" value="{round(fraction * 100)}"' in page
    assert "about 0 h" in page or "about 1 h" in page
    assert client.get(f"/admin/screenpop/mirrorsync/{state.pk}/change/").status_code == 200


def test_the_scheduler_runs_the_mirror_unless_it_is_switched_off(settings):
    from screenpop.scheduler import _jobs

    class Runner:
        def held(self) -> list[int]:
            return []

    settings.SCREENPOP_MIRROR_TICK_SECONDS = 5
    [mirror_job] = [job for job in _jobs(Runner()) if job.name == "mirror-sync"]
    assert (mirror_job.work, mirror_job.interval) == (mirror_sync_due, 5)
    settings.SCREENPOP_MIRROR_TICK_SECONDS = 0
    assert "mirror-sync" not in {job.name for job in _jobs(Runner())}
