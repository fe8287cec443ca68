"""Queue filters edited in the Django admin reach Genesys: the trigger's matchCriteria and the widget's
queueIdFilterList, through the tenant's own client-credentials client, with versions honoured and failures shown.

The tenant is installed with `genesys_provision` (the scripted install) against the Genesys simulator; the admin form
is posted as a browser would post it (every field the change page renders, plus the edit).
"""

from __future__ import annotations

import html
import io
import re
from html.parser import HTMLParser
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from screenpop.install import blueprint
from screenpop.models import QueueFilter, Tenant
from tests.fixtures.genesys_sim import ADMIN_CLIENT_ID, DEMO_ORG_ID
from tests.test_install import admin_get, last_seq, sim_environment

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


class FormFields(HTMLParser):
    """The fields a browser would submit from the admin's change form (`__prefix__` templates left out)."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: list[tuple[str, str]] = []
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {key: value or "" for key, value in attrs}
        name = attributes.get("name", "")
        if "__prefix__" in name:
            return
        if tag == "input" and name and attributes.get("type") not in ("submit", "button"):
            if attributes.get("type") in ("checkbox", "radio") and "checked" not in attributes:
                return
            self.fields.append((name, attributes.get("value", "on" if attributes.get("type") == "checkbox" else "")))
        elif tag == "select" and name:
            self._select = name
        elif tag == "option" and self._select and "selected" in attributes:
            self.fields.append((self._select, attributes.get("value", "")))
        elif tag == "textarea" and name:
            self._textarea = name
            self.fields.append((name, ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        if tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            name, value = self.fields.pop()
            self.fields.append((name, value + data))


def change_form(client: Any, tenant: Tenant) -> dict[str, Any]:
    page = client.get(f"/admin/screenpop/tenant/{tenant.pk}/change/")
    assert page.status_code == 200
    parser = FormFields()
    parser.feed(page.content.decode())
    data: dict[str, Any] = {"queues": []}
    for name, value in parser.fields:
        if name == "queues":  # the queue picker: a multiple select, one value per chosen queue
            data["queues"].append(value)
        else:
            data.setdefault(name, value)
    return data


def picker_options(client: Any, tenant: Tenant) -> dict[str, str]:
    """The queue picker's options, id → name, as the change page renders them."""
    page = client.get(f"/admin/screenpop/tenant/{tenant.pk}/change/").content.decode()
    select = re.search(r'<select name="queues"[^>]*>(.*?)</select>', page, re.S)
    assert select, "no queue picker on the page"
    return {
        value: html.unescape(name)
        for value, name in re.findall(r'<option value="([^"]+)"[^>]*>([^<]*)</option>', select.group(1))
    }


def add_queue(data: dict[str, Any], queue_id: str, name: str) -> None:
    data["queues"].append(queue_id)


def delete_queue(data: dict[str, Any], queue_id: str) -> None:
    data["queues"].remove(queue_id)


@pytest.fixture
def admin_client(client):
    client.force_login(get_user_model().objects.create_superuser("root", "root@example.com", "pw-for-tests-only"))
    return client


@pytest.fixture
def installed(genesys_sim, freshdesk_sim, genesys_sdk, settings, make_tenant) -> Tenant:
    """A tenant installed in the demo org with the Support queue, workflow published, trigger created."""
    settings.SCREENPOP_ALLOW_SIMULATORS = True
    tenant = make_tenant(
        org_id=DEMO_ORG_ID,
        name="Demo",
        region=sim_environment(genesys_sim),
        freshdesk_domain=freshdesk_sim.base_url,
        freshdesk_api_key=freshdesk_sim.api_key,
    )
    secret = genesys_sim.seed["clients"]["demo_admin"]["secret"]
    arguments = ["--org-id", DEMO_ORG_ID, "--client-id", ADMIN_CLIENT_ID, "--client-secret", secret]
    output = io.StringIO()
    call_command("genesys_provision", *arguments, "--queues", "Support", stdout=output)
    tenant.refresh_from_db()
    assert tenant.genesys_objects["trigger"]["version"] == 1
    return tenant


def trigger_queues(sim: Any, tenant: Tenant) -> list[str] | None:
    trigger = admin_get(sim, f"/api/v2/processautomation/triggers/{tenant.genesys_objects['trigger']['id']}")
    by_path = {criterion["jsonPath"]: criterion for criterion in trigger["matchCriteria"]}
    assert by_path["mediaType"]["value"] == "VOICE"
    assert by_path["direction"]["value"] == "INBOUND"
    return by_path["queueId"]["values"] if "queueId" in by_path else None


def widget_queues(sim: Any, tenant: Tenant) -> list[str]:
    config = admin_get(sim, f"/api/v2/integrations/{tenant.genesys_objects['widget']['id']}/config/current")
    return config["properties"]["queueIdFilterList"]


def test_a_queue_filter_edit_in_the_admin_reaches_the_trigger_and_the_widget(admin_client, installed, genesys_sim):
    support, billing = genesys_sim.queue_id("Support"), genesys_sim.queue_id("Billing")
    data = change_form(admin_client, installed)
    add_queue(data, billing, "Billing")

    saved = admin_client.post(f"/admin/screenpop/tenant/{installed.pk}/change/", data, follow=True)

    installed.refresh_from_db()
    assert saved.status_code == 200
    assert "Genesys Cloud updated: Trigger and widget follow 2 queue(s)." in saved.content.decode()
    assert (installed.sync_state, installed.sync_error) == (Tenant.SyncState.OK, "")
    assert trigger_queues(genesys_sim, installed) == sorted([support, billing])
    assert sorted(widget_queues(genesys_sim, installed)) == sorted([support, billing])
    assert installed.genesys_objects["trigger"]["version"] == 2


def test_removing_every_filter_sends_every_queue(admin_client, installed, genesys_sim):
    data = change_form(admin_client, installed)
    delete_queue(data, genesys_sim.queue_id("Support"))

    admin_client.post(f"/admin/screenpop/tenant/{installed.pk}/change/", data)

    installed.refresh_from_db()
    assert not QueueFilter.objects.filter(tenant=installed).exists()
    assert trigger_queues(genesys_sim, installed) is None  # no queue criterion: every queue
    assert widget_queues(genesys_sim, installed) == []
    assert installed.sync_state == Tenant.SyncState.OK


def test_saving_without_a_queue_change_does_not_call_genesys(admin_client, installed, genesys_sim):
    data = change_form(admin_client, installed)
    data["ticket_limit"] = "7"
    seq = last_seq(genesys_sim)

    admin_client.post(f"/admin/screenpop/tenant/{installed.pk}/change/", data)

    installed.refresh_from_db()
    assert installed.ticket_limit == 7
    # The form lists the org's queues again (a GET); nothing is written to the trigger or the widget.
    assert [
        e["path"] for e in genesys_sim.log(since=seq) if e["method"] != "GET" and e["path"].startswith("/api/")
    ] == []


def test_a_version_conflict_on_the_trigger_is_re_read_once(admin_client, installed, genesys_sim):
    trigger_path = f"/api/v2/processautomation/triggers/{installed.genesys_objects['trigger']['id']}"
    # Someone edits the trigger in Genesys (its version moves on), and once more while the sync is saving.
    token = genesys_sim.admin_token()
    current = genesys_sim.api("GET", trigger_path, token=token).json()
    edited = {key: value for key, value in current.items() if key not in ("id", "selfUri")}
    edited["description"] = "edited in Genesys"
    assert genesys_sim.api("PUT", trigger_path, token=token, json=edited).status_code == 200
    genesys_sim.configure(faults=[{"path": trigger_path, "method": "PUT", "count": 1, "status": 409}])
    data = change_form(admin_client, installed)
    add_queue(data, genesys_sim.queue_id("Sales"), "Sales")
    seq = last_seq(genesys_sim)

    admin_client.post(f"/admin/screenpop/tenant/{installed.pk}/change/", data)

    installed.refresh_from_db()
    calls = [
        (e["method"], e["status"]) for e in genesys_sim.log(since=seq, direction="in") if e["path"] == trigger_path
    ]
    trigger = admin_get(genesys_sim, trigger_path)
    assert calls == [("GET", 200), ("PUT", 409), ("GET", 200), ("PUT", 200)]
    assert installed.sync_state == Tenant.SyncState.OK
    assert trigger["description"] == "edited in Genesys"  # the other edit is kept
    assert trigger["version"] == installed.genesys_objects["trigger"]["version"] == 3


def test_repeated_conflicts_fail_visibly_and_the_retry_action_fixes_it(admin_client, installed, genesys_sim):
    widget_path = f"/api/v2/integrations/{installed.genesys_objects['widget']['id']}/config/current"
    genesys_sim.configure(faults=[{"path": widget_path, "method": "PUT", "count": 2, "status": 409}])
    data = change_form(admin_client, installed)
    add_queue(data, genesys_sim.queue_id("Billing"), "Billing")

    saved = admin_client.post(f"/admin/screenpop/tenant/{installed.pk}/change/", data, follow=True)
    installed.refresh_from_db()
    listing = admin_client.get("/admin/screenpop/tenant/").content.decode()
    change_page = admin_client.get(f"/admin/screenpop/tenant/{installed.pk}/change/").content.decode()

    assert installed.sync_state == Tenant.SyncState.FAILED
    assert "changed in Genesys Cloud while the app was saving it, twice" in installed.sync_error
    assert "Queue filters not sent to Genesys Cloud" in saved.content.decode()
    assert "Sync failed" in listing
    assert "twice in a row" in change_page
    assert len(widget_queues(genesys_sim, installed)) == 1

    retried = admin_client.post(
        "/admin/screenpop/tenant/",
        {"action": "retry_genesys_sync", "_selected_action": [installed.pk], "index": 0},
        follow=True,
    )

    installed.refresh_from_db()
    assert "Genesys Cloud updated" in retried.content.decode()
    assert (installed.sync_state, installed.sync_error) == (Tenant.SyncState.OK, "")
    assert len(widget_queues(genesys_sim, installed)) == 2


def test_a_persistent_429_during_the_sync_is_recorded_with_when_to_retry(admin_client, installed, genesys_sim):
    genesys_sim.configure(
        faults=[{"path": "/api/v2/processautomation/triggers/*", "count": 50, "status": 429, "retry_after": 45}]
    )
    data = change_form(admin_client, installed)
    add_queue(data, genesys_sim.queue_id("Billing"), "Billing")

    admin_client.post(f"/admin/screenpop/tenant/{installed.pk}/change/", data)

    installed.refresh_from_db()
    assert installed.sync_state == Tenant.SyncState.FAILED
    assert "(429)" in installed.sync_error
    assert "try again in 45 seconds" in installed.sync_error


def test_the_sync_uses_the_tenants_own_client(installed, genesys_sim):
    """The sync logs in with the client the install made (its role is limited), not with an admin's."""
    from screenpop.install.sync import queue_filters_sync

    genesys_sim.configure(faults=[{"path": "/oauth/token", "method": "POST", "count": 1, "status": 401}])
    failed = queue_filters_sync(tenant=installed)
    sync_token = genesys_sim.client_token(installed.genesys_sync_client_id, installed.genesys_sync_client_secret)
    info = genesys_sim.api("GET", "/api/v2/tokens/me", token=sync_token).json()

    assert failed.state == Tenant.SyncState.FAILED
    assert "refused the app's sync client (401)" in failed.detail
    assert info["OAuthClient"]["name"] == blueprint.SYNC_CLIENT_NAME
    assert queue_filters_sync(tenant=installed).state == Tenant.SyncState.OK


def test_a_tenant_without_its_sync_client_is_told_to_rerun_the_wizard(installed):
    from screenpop.install.sync import queue_filters_sync

    installed.genesys_sync_client_secret = ""
    installed.save()

    result = queue_filters_sync(tenant=installed)

    installed.refresh_from_db()
    assert installed.sync_state == Tenant.SyncState.FAILED
    assert "Run the install wizard again" in result.detail


def test_the_queue_picker_offers_the_orgs_queues_by_name_and_follows_a_rename(admin_client, installed, genesys_sim):
    support = genesys_sim.queue_id("Support")
    options = picker_options(admin_client, installed)
    renaming = genesys_sim.api(
        "PUT", f"/api/v2/routing/queues/{support}", token=genesys_sim.admin_token(), json={"name": "Customer Support"}
    )
    assert renaming.status_code == 200, renaming.text
    renamed = picker_options(admin_client, installed)
    data = change_form(admin_client, installed)

    assert len(options) == 30  # every queue of the demo org, not typed ids
    assert options[support] == "Support"
    assert renamed[support] == "Customer Support"
    assert QueueFilter.objects.get(tenant=installed, queue_id=support).name == "Customer Support"
    assert data["queues"] == [support]


def test_the_picker_refuses_a_typed_queue_id(admin_client, installed, genesys_sim):
    data = change_form(admin_client, installed)
    data["queues"].append("made-up-queue-id")

    refused = admin_client.post(f"/admin/screenpop/tenant/{installed.pk}/change/", data)

    assert refused.status_code == 200  # the form again, with the error
    assert "Select a valid choice. made-up-queue-id is not one of the available choices." in refused.content.decode()
    assert list(QueueFilter.objects.filter(tenant=installed).values_list("name", flat=True)) == ["Support"]


def test_without_genesys_the_picker_keeps_the_saved_filters_and_says_why(admin_client, installed, genesys_sim):
    installed.genesys_sync_client_secret = ""
    installed.save()

    options = picker_options(admin_client, installed)
    page = admin_client.get(f"/admin/screenpop/tenant/{installed.pk}/change/").content.decode()

    assert options == {genesys_sim.queue_id("Support"): "Support"}
    assert "could not be listed" in page
