"""The phone index and its incremental contacts sync, against the Freshdesk simulator over real HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from screenpop.freshdesk import FreshdeskTransientError
from screenpop.lookup.phone_index import phone_index_apply, phone_index_sync, phone_index_sync_due
from screenpop.models import FreshdeskConnection, PhoneIndexEntry, Tenant
from simulators.freshdesk.seed import DEMO_CONTACTS, demo_contact


def index_of(tenant: Tenant) -> dict[tuple[int, str], str]:
    return {
        (contact_id, field): e164
        for contact_id, field, e164 in PhoneIndexEntry.objects.filter(tenant=tenant).values_list(
            "contact_id", "field", "e164"
        )
    }


def test_a_first_sync_indexes_every_readable_number(sim_tenant, freshdesk_sim):
    tenant = sim_tenant("GB")

    report = phone_index_sync(tenant=tenant)

    listed = [contact for contact in DEMO_CONTACTS if not contact.deleted and not contact.blocked]
    assert report.contacts_seen == len(listed)
    assert (report.freshdesk_calls, report.updated, report.removed, report.complete) == (1, 0, 0, True)
    index = index_of(tenant)
    assert report.added == len(index)
    # National UK spellings read in the tenant's region; other countries' numbers carried their country code.
    assert index[(demo_contact("uk_national").id, "phone")] == "+442079460958"
    assert index[(demo_contact("uk_trunk_zero").id, "phone")] == "+442079460958"
    assert index[(demo_contact("uk_double_zero").id, "phone")] == "+442079460123"
    assert index[(demo_contact("uk_mobile").id, "mobile")] == "+447700900123"
    assert index[(demo_contact("us_extension").id, "phone")] == "+15550199997"
    assert index[(demo_contact("au_shared_line_a").id, "phone")] == "+61355504321"
    assert index[(demo_contact("de_double_zero").id, "phone")] == "+496990009111"
    # Numbers without a country code are read as the tenant's: a UK tenant's "(555) 019-9999" is not a US number.
    assert index[(demo_contact("us_parenthesised").id, "phone")] != "+15550199999"
    # Deleted and blocked contacts are not listed.
    assert not {demo_contact("us_dotted_deleted").id, demo_contact("us_blocked").id} & {cid for cid, _ in index}

    [call] = freshdesk_sim.requests()
    assert call["endpoint"] == "contacts.list"
    assert call["query"]["_updated_since"] == ["1970-01-01T00:00:00Z"]
    assert call["query"]["per_page"] == ["100"]
    connection = FreshdeskConnection.objects.get(tenant=tenant)
    assert connection.index_synced_at is not None
    newest = max(datetime.fromisoformat(c["updated_at"]) for c in freshdesk_sim.get("/api/v2/contacts").json())
    assert connection.index_synced_until == report.synced_until == newest


def test_a_second_sync_asks_only_for_what_changed_since(sim_tenant, freshdesk_sim):
    tenant = sim_tenant("US")
    first = phone_index_sync(tenant=tenant)
    freshdesk_sim.clear_requests()

    second = phone_index_sync(tenant=tenant)

    [call] = freshdesk_sim.requests()
    assert call["query"]["_updated_since"] == [first.synced_until.strftime("%Y-%m-%dT%H:%M:%SZ")]
    # Only the contact(s) updated in the watermark's own second come back, unchanged.
    assert second.contacts_seen < first.contacts_seen
    assert (second.added, second.updated, second.removed, second.freshdesk_calls) == (0, 0, 0, 1)

    freshdesk_sim.advance_clock(5)
    newcomer = freshdesk_sim.create_contact(name="Nina Fresh", phone="201-555-0177", mobile="+1 201 555 0178")
    third = phone_index_sync(tenant=tenant)
    assert third.added == 2
    assert index_of(tenant)[(newcomer["id"], "mobile")] == "+12015550178"
    assert third.synced_until == datetime.fromisoformat(newcomer["updated_at"])


def test_a_changed_number_replaces_the_entry_and_a_cleared_one_removes_it(sim_tenant, freshdesk_sim):
    """The simulator has no contact update, so the changed contact is Freshdesk's own JSON with new values."""
    tenant = sim_tenant("FR")
    phone_index_sync(tenant=tenant)
    camille = freshdesk_sim.get(f"/api/v2/contacts/{demo_contact('fr_national').id}").json()
    assert index_of(tenant)[(camille["id"], "phone")] == "+33199001234"
    assert index_of(tenant)[(camille["id"], "mobile")] == "+33639981234"
    later = (datetime.fromisoformat(camille["updated_at"]) + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")

    changes = phone_index_apply(
        tenant=tenant, contacts=[{**camille, "phone": "01 99 00 99 99", "mobile": None, "updated_at": later}],
        fields=["phone", "mobile"],
    )  # fmt: skip

    # An entry is one (field, number): a new number in the phone field is a new entry, and its old one goes.
    assert (changes.added, changes.updated, changes.removed) == (1, 0, 2)
    assert {field: e164 for (cid, field), e164 in index_of(tenant).items() if cid == camille["id"]} == {
        "phone": "+33199009999"
    }
    # An older copy (search lags behind) does not undo the newer one.
    stale = phone_index_apply(tenant=tenant, contacts=[camille], fields=["phone", "mobile"])
    assert (stale.added, stale.updated, stale.removed) == (0, 0, 0)
    assert index_of(tenant)[(camille["id"], "phone")] == "+33199009999"


def test_a_failed_sync_is_recorded_on_the_connection_and_cleared_by_the_next(sim_tenant, freshdesk_sim):
    tenant = sim_tenant("US")
    freshdesk_sim.configure(outage=True)

    with pytest.raises(FreshdeskTransientError):
        phone_index_sync(tenant=tenant)

    connection = FreshdeskConnection.objects.get(tenant=tenant)
    assert connection.last_error.startswith("Phone index sync failed: Freshdesk answered 503")
    assert connection.last_error_at is not None
    assert (connection.index_synced_until, connection.index_synced_at) == (None, None)
    assert not PhoneIndexEntry.objects.filter(tenant=tenant).exists()

    freshdesk_sim.configure(outage=False)
    phone_index_sync(tenant=tenant)
    connection.refresh_from_db()
    assert (connection.last_error, connection.last_error_at) == ("", None)
    assert PhoneIndexEntry.objects.filter(tenant=tenant).exists()


def test_a_bounded_sync_does_not_skip_contacts_it_has_not_read(sim_tenant, freshdesk_sim):
    """The contacts list is not in update order, so after the page bound the watermark may not move."""
    tenant = sim_tenant("US")
    for number in range(100):
        freshdesk_sim.create_contact(name=f"Bulk {number:03d}", phone=f"+1 201 555 {1000 + number}")

    partial = phone_index_sync(tenant=tenant, max_pages=1)
    assert (partial.contacts_seen, partial.freshdesk_calls, partial.complete) == (100, 1, False)
    assert partial.synced_until == datetime(1970, 1, 1, tzinfo=UTC)

    full = phone_index_sync(tenant=tenant, max_pages=2)
    assert (full.freshdesk_calls, full.complete) == (2, True)
    assert PhoneIndexEntry.objects.filter(tenant=tenant, contact_id__gte=DEMO_CONTACTS[-1].id + 1).count() == 100


def test_sync_due_lists_tenants_not_synced_within_the_interval(sim_tenant, freshdesk_sim, settings):
    settings.SCREENPOP_INDEX_SYNC_SECONDS = 300
    synced, never, failing = sim_tenant("US"), sim_tenant("US"), sim_tenant("US")
    inactive = sim_tenant("US")
    Tenant.objects.filter(pk=inactive.pk).update(active=False)
    phone_index_sync(tenant=synced)
    now = datetime.now(UTC)
    FreshdeskConnection.objects.filter(tenant=failing).update(last_error="down", last_error_at=now)

    assert phone_index_sync_due(now) == [never]
    later = now + timedelta(seconds=301)
    assert set(phone_index_sync_due(later)) == {synced, never, failing}


def test_the_command_syncs_one_tenant_and_prints_what_it_did(sim_tenant, freshdesk_sim):
    tenant = sim_tenant("US")
    out = StringIO()

    call_command("phone_index_sync", "--org-id", tenant.genesys_org_id, stdout=out)

    entries = PhoneIndexEntry.objects.filter(tenant=tenant).count()
    assert f"{entries} entries added, 0 updated, 0 removed, 1 Freshdesk calls" in out.getvalue()
    with pytest.raises(CommandError, match="No tenant"):
        call_command("phone_index_sync", "--org-id", "no-such-org", stdout=out)
    freshdesk_sim.configure(outage=True)
    with pytest.raises(CommandError, match="1 tenant"):
        call_command("phone_index_sync", stdout=out, stderr=StringIO())


def test_the_servers_periodic_refresh_syncs_each_due_tenant_once_across_processes(sim_tenant, freshdesk_sim):
    from screenpop.lookup.phone_index import phone_index_refresh_due

    tenant = sim_tenant("US")
    reports = phone_index_refresh_due(owner="process-a")
    assert [report.tenant_id for report in reports] == [tenant.pk]
    assert PhoneIndexEntry.objects.filter(tenant=tenant).exists()
    # Another process in the same interval finds the tenant taken (the lock is in the shared cache).
    FreshdeskConnection.objects.filter(tenant=tenant).update(index_synced_at=None)
    assert phone_index_refresh_due(owner="process-b") == []
