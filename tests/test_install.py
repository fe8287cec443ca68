"""The install wizard through its views (Django's test client), against the Genesys and Freshdesk simulators.

The admin's login really goes through the simulator's /oauth/authorize (PKCE; the simulator signs in the user named
by `login_hint`), and the data action really calls this app: the test runs a live server (`live_server`) that
PUBLIC_BASE_URL points at, so the test call goes Genesys → our /oauth/token/ → our webhook.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from django.db import connection
from django.test import Client
from oauth2_provider.models import AccessToken

from screenpop.genesys.transport import pkce_challenge
from screenpop.install import blueprint
from screenpop.install.call_check import answer_sentences
from screenpop.install.provisioning import tenant_install_lock
from screenpop.models import FreshdeskConnection, QueueFilter, Tenant, WebhookClient
from tests.fixtures.genesys_sim import CODE_CLIENT_ID, DEMO_ORG_ID, USERS, GenesysSim

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

PREFIX = blueprint.PREFIX


# -- helpers (also used by test_queue_sync and test_install_browser) ----------------------------------------------


def sim_environment(sim: GenesysSim) -> str:
    return urlsplit(sim.base_url).netloc


def admin_get(sim: GenesysSim, path: str, token: str | None = None) -> Any:
    response = sim.api("GET", path, token=token or sim.admin_token())
    assert response.status_code == 200, response.text
    return response.json()


def prefixed_objects(sim: GenesysSim) -> dict[str, list[Any]]:
    """Everything in the demo org whose name starts with the prefix (and the custom auth actions of our
    integrations), with what a change would bump: versions, states, configurations."""
    token = sim.admin_token()
    ours = lambda items: [item for item in items if item["name"].startswith(PREFIX)]  # noqa: E731
    integrations = ours(admin_get(sim, "/api/v2/integrations?pageSize=100&expand=config.current", token)["entities"])
    integration_ids = {item["id"] for item in integrations}
    actions = admin_get(sim, "/api/v2/integrations/actions?pageSize=100&includeAuthActions=true", token)["entities"]
    return {
        "oauth_clients": sorted(
            (c["id"], c["name"], c["state"], c.get("dateModified", ""))
            for c in ours(admin_get(sim, "/api/v2/oauth/clients?pageSize=100", token)["entities"])
        ),
        "roles": sorted(
            (r["id"], r["name"], tuple(sorted(r["permissions"])))
            for r in admin_get(sim, f"/api/v2/authorization/roles?pageSize=100&name={PREFIX}*", token)["entities"]
        ),
        "integrations": sorted(
            (i["id"], i["name"], i["integrationType"]["id"], i["intendedState"], i["config"]["current"]["version"])
            for i in integrations
        ),
        "credentials": sorted(
            (c["id"], c["name"], c["modifiedDate"])
            for c in ours(admin_get(sim, "/api/v2/integrations/credentials/listing?pageSize=100", token)["entities"])
        ),
        "actions": sorted(
            (a["id"], a["name"], a["version"])
            for a in actions
            if a["name"].startswith(PREFIX) or a.get("integrationId") in integration_ids
        ),
        "drafts": sorted(
            (d["id"], d["name"])
            for d in ours(admin_get(sim, "/api/v2/integrations/actions/drafts?pageSize=100", token)["entities"])
        ),
        "triggers": sorted(
            (t["id"], t["name"], t["version"])
            for t in ours(admin_get(sim, "/api/v2/processautomation/triggers?pageSize=100", token)["entities"])
        ),
    }


def writes_since(sim: GenesysSim, seq: int) -> list[tuple[str, str]]:
    return [(e["method"], e["path"]) for e in sim.log(since=seq, direction="in") if e["method"] != "GET"]


KINDS = (
    "processautomation/triggers",
    "flows",
    "integrations/actions",
    "integrations/credentials",
    "integrations",
    "oauth/clients",
    "authorization/roles",
)


def kind_of(path: str) -> str:
    return next(kind for kind in KINDS if path.startswith(f"/api/v2/{kind}"))


def last_seq(sim: GenesysSim) -> int:
    entries = sim.log()
    return entries[-1]["seq"] if entries else 0


@dataclass
class WizardDriver:
    """Drives the wizard's pages like the admin's browser would, through Django's test client."""

    client: Client
    sim: GenesysSim
    freshdesk: Any

    def login(self, user: str = "avery") -> Any:
        started = self.client.post("/install/login/", {"environment": sim_environment(self.sim)})
        assert started.status_code == 302, started.content
        authorize = started["Location"]
        assert authorize.startswith(f"{self.sim.base_url}/oauth/authorize?"), authorize
        query = parse_qs(urlsplit(authorize).query)
        assert query["code_challenge_method"] == ["S256"]
        assert query["response_type"] == ["code"]
        answer = requests.get(
            f"{authorize}&{urlencode({'login_hint': USERS.get(user, user)})}", allow_redirects=False, timeout=10
        )
        assert answer.status_code == 302, answer.text
        back = urlsplit(answer.headers["Location"])
        assert back.path == "/install/callback/"
        return self.client.get(f"{back.path}?{back.query}")

    def connect_freshdesk(self, *, domain: str | None = None, api_key: str | None = None) -> Any:
        return self.client.post(
            "/install/freshdesk/",
            {
                "domain": domain or self.freshdesk.base_url,
                "api_key": self.freshdesk.api_key if api_key is None else api_key,
            },
        )

    def choose_queues(self, *names: str) -> None:
        for name in names:
            page = self.client.get("/install/queues/", {"q": name})
            assert page.status_code == 200
            rows = page.context["rows"]
            data = {"q": name, "page": 1, "shown": [row["id"] for row in rows], "queue": []}
            for row in rows:
                data[f"name-{row['id']}"] = row["name"]
                if row["name"] == name or row["selected"]:
                    data["queue"].append(row["id"])
            assert self.client.post("/install/queues/", data).status_code == 302

    def provision(self) -> Any:
        return self.client.post("/install/provision/", follow=True)

    def install(self, *queues: str) -> Any:
        assert self.login().status_code == 302
        assert self.connect_freshdesk().status_code == 302
        self.choose_queues(*queues)
        done = self.provision()
        assert "Installed." in done.content.decode()
        return done


@pytest.fixture
def wizard_settings(settings, genesys_sim, live_server):
    """The wizard's deployment settings, with PUBLIC_BASE_URL at the live server Genesys calls back."""
    settings.SCREENPOP_ALLOW_SIMULATORS = True
    settings.SCREENPOP_INSTALL_CLIENT_ID = CODE_CLIENT_ID
    settings.SCREENPOP_RUN_WORKERS = False
    settings.PUBLIC_BASE_URL = live_server.url
    genesys_sim.configure(redirect_uris=[f"{live_server.url}/install/callback/"])
    return settings


@pytest.fixture
def wizard(client, genesys_sim, freshdesk_sim, genesys_sdk, wizard_settings) -> WizardDriver:
    return WizardDriver(client, genesys_sim, freshdesk_sim)


def step_statuses(tenant: Tenant) -> dict[str, str]:
    return {step["step"]: step["status"] for step in tenant.genesys_objects["last_run"]["steps"]}


# -- the full install ---------------------------------------------------------------------------------------------


def test_full_install_through_the_wizard(wizard, genesys_sim, live_server) -> None:
    support = genesys_sim.queue_id("Support")

    logged_in = wizard.login()
    assert logged_in["Location"] == "/install/freshdesk/"
    tenant = Tenant.objects.get(genesys_org_id=DEMO_ORG_ID)
    assert (tenant.name, tenant.region) == ("Demo Org", sim_environment(genesys_sim))

    connected = wizard.connect_freshdesk()
    assert connected["Location"] == "/install/queues/"
    fd = FreshdeskConnection.objects.get(tenant=tenant)
    assert (fd.rate_limit_per_minute, fd.plan, fd.verified_at is not None) == (200, "growth", True)

    queues_page = wizard.client.get("/install/queues/")
    assert queues_page.context["total"] == 30
    assert len(queues_page.context["rows"]) == 25
    assert queues_page.context["next_url"] == "?page=2"
    wizard.choose_queues("Support")
    assert list(QueueFilter.objects.filter(tenant=tenant).values_list("queue_id", "name")) == [(support, "Support")]

    done = wizard.provision()
    tenant.refresh_from_db()
    statuses = step_statuses(tenant)
    assert done.status_code == 200
    assert "Installed." in done.content.decode()
    # The install ends with a test call through Genesys's data action test endpoint, which reached our webhook.
    assert re.search(r"The webhook accepted the call and recorded screen pop \d+\.", done.content.decode())
    assert "&#x27;status&#x27;" not in done.content.decode()  # sentences, not a Python dict
    tested = [e for e in genesys_sim.log(direction="in") if e["path"].endswith("/test")]
    assert [(e["method"], e["status"]) for e in tested] == [("POST", 200)]
    assert tested[0]["path"] == f"/api/v2/integrations/actions/{tenant.genesys_objects['data_action']['id']}/test"
    assert tested[0]["body"]["eventTime"].isdigit()
    assert list(statuses) == [
        "role",
        "sync_client",
        "panel_client",
        "credential",
        "data_integration",
        "auth_action",
        "data_action",
        "widget",
        "workflow",
        "trigger",
        "wrapup_data_action",
        "wrapup_workflow",
        "wrapup_trigger",
    ]
    assert set(statuses.values()) <= {"created", "unchanged"}  # the auth action Genesys made already fits
    assert (statuses["workflow"], statuses["trigger"]) == ("created", "created")
    assert tenant.active
    assert tenant.sync_state == Tenant.SyncState.OK

    # What Genesys now holds, as its admin sees it.
    objects = tenant.genesys_objects
    token = genesys_sim.admin_token()
    clients = {c["name"]: c for c in admin_get(genesys_sim, "/api/v2/oauth/clients", token)["entities"]}
    panel, sync = clients[blueprint.PANEL_CLIENT_NAME], clients[blueprint.SYNC_CLIENT_NAME]
    assert (panel["authorizedGrantType"], panel["registeredRedirectUri"]) == ("CODE", [f"{live_server.url}/widget/"])
    assert tenant.panel_client_id == panel["id"] == objects["panel_client"]["id"]
    role = admin_get(genesys_sim, f"/api/v2/authorization/roles/{objects['role']['id']}", token)
    assert sync["authorizedGrantType"] == "CLIENT-CREDENTIALS"
    assert [division["roleId"] for division in sync["roleDivisions"]] == [role["id"]]
    assert sorted(role["permissions"]) == [
        "analytics:conversationDetail:view",
        "conversation:communication:view",
        "integrations:integration:edit",
        "integrations:integration:view",
        "processautomation:trigger:edit",
        "processautomation:trigger:view",
        "routing:queue:view",
        "routing:wrapupCode:view",
    ]
    assert tenant.genesys_sync_client_id == sync["id"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT genesys_sync_client_secret FROM screenpop_tenant WHERE id = %s", [tenant.pk])
        assert cursor.fetchone()[0].startswith("fernet:")
    assert genesys_sim.client_token(sync["id"], tenant.genesys_sync_client_secret)

    credential = admin_get(genesys_sim, f"/api/v2/integrations/credentials/{objects['credential']['id']}", token)
    webhook_client = WebhookClient.objects.get(tenant=tenant, active=True)
    assert credential["type"]["name"] == "userDefinedOAuth"
    assert credential["credentialFields"] == {
        "loginUrl": f"{live_server.url}/oauth/token/",
        "clientId": webhook_client.application.client_id,
        "clientSecret": "********",
    }
    data = admin_get(genesys_sim, f"/api/v2/integrations/{objects['data_integration']['id']}?expand=config.current")
    assert (data["name"], data["intendedState"]) == (blueprint.DATA_INTEGRATION_NAME, "ENABLED")
    assert data["config"]["current"]["credentials"]["basicAuth"]["id"] == credential["id"]
    action = admin_get(
        genesys_sim,
        f"/api/v2/integrations/actions/{objects['data_action']['id']}?includeConfig=true&expand=contract",
        token,
    )
    assert (action["name"], action["integrationId"]) == ("Freshdesk screen pop", data["id"])
    assert action["config"]["request"]["requestUrlTemplate"] == f"{live_server.url}/api/v1/genesys/events"
    assert action["contract"]["input"]["inputSchema"]["required"] == ["conversationId", "ani"]
    widget = admin_get(genesys_sim, f"/api/v2/integrations/{objects['widget']['id']}?expand=config.current", token)
    assert (widget["integrationType"]["id"], widget["intendedState"]) == (
        "embedded-client-app-interaction-widget",
        "ENABLED",
    )
    properties = widget["config"]["current"]["properties"]
    assert properties["url"] == (
        f"{live_server.url}/widget/?gcConversationId={{{{gcConversationId}}}}&gcHostOrigin={{{{gcHostOrigin}}}}"
        f"&gcTargetEnv={{{{gcTargetEnv}}}}&gcLangTag={{{{gcLangTag}}}}&clientId={panel['id']}&grant=pkce"
    )
    assert (properties["communicationTypeFilter"], properties["queueIdFilterList"]) == ("call", [support])
    # Ticket links open as normal tabs; permissions as Genesys's Premium App example sets them.
    assert "allow-popups-to-escape-sandbox" in properties["sandbox"].split(",")
    assert {"allow-popups", "allow-scripts", "allow-same-origin"} <= set(properties["sandbox"].split(","))
    assert properties["permissions"] == "camera,microphone,geolocation"
    trigger = admin_get(genesys_sim, f"/api/v2/processautomation/triggers/{objects['trigger']['id']}", token)
    (flow,) = [f for f in genesys_sim.control("GET", "flows")["entities"] if f["name"] == blueprint.WORKFLOW_NAME]
    assert (trigger["topicName"], trigger["enabled"], trigger["target"]["id"]) == (
        "v2.detail.events.conversation.{id}.acd.start",
        True,
        flow["id"],
    )
    assert trigger["matchCriteria"] == [
        {"jsonPath": "mediaType", "operator": "Equal", "value": "VOICE"},
        {"jsonPath": "direction", "operator": "Equal", "value": "INBOUND"},
        {"jsonPath": "queueId", "operator": "In", "values": [support]},
    ]
    # The shipped workflow, published through a job: the simulator holds the YAML it runs.
    assert (flow["name"], flow["published"], flow["division"]["name"]) == (blueprint.WORKFLOW_NAME, True, "Home")
    assert objects["workflow"]["id"] == flow["id"]
    call_data = flow["definition"]["workflow"]["states"][0]["state"]["actions"][0]["callData"]
    assert call_data["category"][blueprint.DATA_INTEGRATION_NAME]["dataAction"][blueprint.DATA_ACTION_NAME]["inputs"][
        "eventTime"
    ] == {"exp": "ToString(Flow.eventTime)"}
    calls = [(e["method"], e["path"].rsplit("/", 1)[0]) for e in genesys_sim.log(direction="in")]
    job = calls.index(("POST", "/api/v2/flows"))  # POST /api/v2/flows/jobs
    assert calls[job + 1 : job + 4] == [
        ("PUT", "/_sim/flow-uploads"),
        ("GET", "/api/v2/flows/jobs"),  # Started
        ("GET", "/api/v2/flows/jobs"),  # Success
    ]
    assert calls.index(("POST", "/api/v2/processautomation")) > job + 3  # the trigger, once the flow is published

    # The summary page shows ids and versions, and the test call shows the webhook's answer.
    summary = wizard.client.get("/install/summary/").content.decode()
    for key in ("trigger", "widget", "data_action", "panel_client", "sync_client", "role", "credential"):
        assert objects[key]["id"] in summary
    tested = wizard.client.post("/install/test-call/", {"phone": "+15550199999"}, follow=True)
    page = tested.content.decode()
    assert "The webhook accepted the call and recorded screen pop" in page, page
    assert "What Genesys Cloud did:" in page
    outgoing = [e for e in genesys_sim.log(direction="out")]
    assert [(e["purpose"], e["status"]) for e in outgoing[-2:]] == [("auth", 200), ("action", 202)]
    assert outgoing[-2]["url"] == f"{live_server.url}/oauth/token/"


def test_an_org_whose_home_division_is_renamed_installs(wizard, genesys_sim) -> None:
    genesys_sim.rename_home_division("Head Office")

    wizard.install("Support")

    tenant = Tenant.objects.get(genesys_org_id=DEMO_ORG_ID)
    (flow,) = [f for f in genesys_sim.control("GET", "flows")["entities"] if f["name"] == blueprint.WORKFLOW_NAME]
    assert (flow["published"], flow["division"]["name"]) == (True, "Head Office")
    assert flow["definition"]["workflow"]["division"] == "Head Office"
    assert tenant.genesys_objects["workflow"]["division"] == "Head Office"
    assert step_statuses(tenant)["trigger"] == "created"


def test_a_workflow_genesys_refuses_stops_the_install_before_the_trigger(wizard, genesys_sim, monkeypatch) -> None:
    wizard.login()
    wizard.connect_freshdesk()
    # The data action gets another name than the one the shipped workflow calls: Architect refuses the workflow.
    monkeypatch.setattr(blueprint, "DATA_ACTION_NAME", "Freshdesk screen pop (renamed)")

    refused = wizard.provision()

    tenant = Tenant.objects.get(genesys_org_id=DEMO_ORG_ID)
    statuses = step_statuses(tenant)
    page = refused.content.decode()
    assert statuses["workflow"] == "failed"
    assert "trigger" not in statuses
    assert "refused to publish the workflow" in page
    assert "Unable to find a published data action" in page
    assert prefixed_objects(genesys_sim)["triggers"] == []


def test_an_install_after_the_implicit_grant_cutoff_replaces_an_implicit_panel_client(wizard, genesys_sim) -> None:
    # An earlier install, before the retirement, left an implicit-grant panel client.
    genesys_sim.configure(implicit_grant_new_clients_until=None, implicit_grant_until=None)
    old = genesys_sim.api(
        "POST",
        "/api/v2/oauth/clients",
        token=genesys_sim.admin_token(),
        json={
            "name": blueprint.PANEL_CLIENT_NAME,
            "authorizedGrantType": "TOKEN",
            "registeredRedirectUri": [blueprint.panel_redirect_uri()],
        },
    ).json()
    genesys_sim.configure(implicit_grant_new_clients_until="2026-03-01", implicit_grant_until="2000-01-01")

    wizard.install("Support")

    tenant = Tenant.objects.get(genesys_org_id=DEMO_ORG_ID)
    clients = admin_get(genesys_sim, "/api/v2/oauth/clients")["entities"]
    (panel,) = [client for client in clients if client["name"] == blueprint.PANEL_CLIENT_NAME]
    assert panel["authorizedGrantType"] == "CODE"
    assert panel["id"] != old["id"]
    assert tenant.panel_client_id == panel["id"]
    assert step_statuses(tenant)["panel_client"] == "updated"
    # Agents sign in with it: authorization code with PKCE, no client secret.
    verifier = "v" * 64
    answer = requests.get(
        f"{genesys_sim.base_url}/oauth/authorize",
        params={
            "client_id": panel["id"],
            "redirect_uri": blueprint.panel_redirect_uri(),
            "response_type": "code",
            "code_challenge": pkce_challenge(verifier),
            "code_challenge_method": "S256",
            "login_hint": USERS["alex"],
            "state": "s",
        },
        allow_redirects=False,
        timeout=10,
    )
    code = parse_qs(urlsplit(answer.headers["Location"]).query)["code"][0]
    token = requests.post(
        f"{genesys_sim.base_url}/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": verifier,
            "client_id": panel["id"],
            "redirect_uri": blueprint.panel_redirect_uri(),
        },
        timeout=10,
    )
    assert token.status_code == 200, token.text


def test_the_admins_token_stays_on_the_server(wizard, genesys_sim) -> None:
    wizard.login()
    session_token = wizard.client.session["screenpop_install"]["access_token"]
    page = wizard.client.get("/install/freshdesk/")

    assert session_token
    assert session_token not in page.content.decode()
    assert all(session_token not in morsel.value for morsel in wizard.client.cookies.values())
    assert set(wizard.client.cookies) >= {"sessionid"}


def test_rerun_changes_nothing_and_duplicates_nothing(wizard, genesys_sim) -> None:
    wizard.install("Support", "Billing")
    before = prefixed_objects(genesys_sim)
    seq = last_seq(genesys_sim)

    again = wizard.provision()

    tenant = Tenant.objects.get(genesys_org_id=DEMO_ORG_ID)
    assert "Everything was already installed." in again.content.decode()
    assert set(step_statuses(tenant).values()) == {"unchanged"}
    assert writes_since(genesys_sim, seq) == []  # reads only: nothing created, updated or deleted
    assert prefixed_objects(genesys_sim) == before
    assert len(genesys_sim.control("GET", "flows")["entities"]) == 2  # the inbound call's and the wrap-up's
    assert [len(before[kind]) for kind in ("oauth_clients", "roles", "integrations", "credentials", "triggers")] == [
        2,
        1,
        2,
        1,
        2,  # the inbound call's and the wrap-up's
    ]
    assert WebhookClient.objects.filter(tenant=tenant, active=True).count() == 1


def test_rerun_repairs_what_was_changed_or_deleted_in_genesys(wizard, genesys_sim) -> None:
    wizard.install("Support")
    tenant = Tenant.objects.get(genesys_org_id=DEMO_ORG_ID)
    token = genesys_sim.admin_token()
    widget_id, trigger_id = tenant.genesys_objects["widget"]["id"], tenant.genesys_objects["trigger"]["id"]
    genesys_sim.api("DELETE", f"/api/v2/processautomation/triggers/{trigger_id}", token=token)
    genesys_sim.api("PATCH", f"/api/v2/integrations/{widget_id}", token=token, json={"intendedState": "DISABLED"})

    wizard.provision()

    tenant.refresh_from_db()
    statuses = step_statuses(tenant)
    assert (statuses["trigger"], statuses["widget"], statuses["data_action"]) == ("created", "updated", "unchanged")
    assert admin_get(genesys_sim, f"/api/v2/integrations/{widget_id}")["intendedState"] == "ENABLED"
    assert len(prefixed_objects(genesys_sim)["triggers"]) == 2  # the inbound call's and the wrap-up's


def test_uninstall_leaves_nothing_with_the_prefix(wizard, genesys_sim) -> None:
    wizard.install("Support")
    tenant = Tenant.objects.get(genesys_org_id=DEMO_ORG_ID)
    webhook_client = WebhookClient.objects.get(tenant=tenant, active=True)
    wizard.client.post("/install/test-call/", {"phone": "+15550199999"})  # Genesys now holds webhook tokens
    assert AccessToken.objects.filter(application=webhook_client.application).count() == 2  # the install's and this
    seq = last_seq(genesys_sim)

    confirm = wizard.client.get("/install/uninstall/")
    done = wizard.client.post("/install/uninstall/")

    assert confirm.status_code == 200
    assert "Uninstall from Demo Org?" in confirm.content.decode()
    assert done.status_code == 200, done.content.decode()
    assert "Uninstalled" in done.content.decode()
    assert prefixed_objects(genesys_sim) == {kind: [] for kind in prefixed_objects(genesys_sim)}
    writes = writes_since(genesys_sim, seq)
    # Reverse order of creation; OAuth clients made inactive before they are deleted.
    kinds = [kind_of(path) for _, path in writes if path.startswith("/api/v2/")]
    assert list(dict.fromkeys(kinds)) == [
        "processautomation/triggers",
        "flows",
        "integrations",  # the widget
        "integrations/actions",
        "integrations/credentials",
        "oauth/clients",
        "authorization/roles",
    ]
    assert kinds.count("integrations") == 2  # the widget, then (after the data action) the data-actions integration
    assert kinds.index("integrations/credentials") > len(kinds) - 1 - kinds[::-1].index("integrations")
    client_writes = [(method, path) for method, path in writes if path.startswith("/api/v2/oauth/clients/")]
    assert [method for method, _ in client_writes] == ["PUT", "DELETE", "PUT", "DELETE"]
    tenant.refresh_from_db()
    webhook_client.refresh_from_db()
    assert (tenant.active, webhook_client.active, tenant.panel_client_id, tenant.genesys_sync_client_id) == (
        False,
        False,
        "",
        "",
    )
    assert not AccessToken.objects.filter(application=webhook_client.application).exists()
    assert "trigger" not in tenant.genesys_objects
    assert "uninstalled_at" in tenant.genesys_objects
    assert genesys_sim.control("GET", "flows")["entities"] == []


def test_uninstall_finds_and_removes_the_workflow_even_when_its_record_is_lost(wizard, genesys_sim) -> None:
    wizard.install("Support")
    tenant = Tenant.objects.get(genesys_org_id=DEMO_ORG_ID)
    tenant.genesys_objects = {k: v for k, v in tenant.genesys_objects.items() if k != "workflow"}
    tenant.save()
    (flow,) = [f for f in genesys_sim.control("GET", "flows")["entities"] if f["name"] == blueprint.WORKFLOW_NAME]
    seq = last_seq(genesys_sim)

    done = wizard.client.post("/install/uninstall/")

    tenant.refresh_from_db()
    assert done.status_code == 200
    assert step_statuses(tenant)["workflow"] == "removed"
    assert ("DELETE", f"/api/v2/flows/{flow['id']}") in writes_since(genesys_sim, seq)
    assert genesys_sim.control("GET", "flows")["entities"] == []


def test_a_workflow_still_listed_after_its_delete_fails_the_step_and_a_retry_removes_it(wizard, genesys_sim) -> None:
    wizard.install("Support")
    # Genesys answers the delete as if the flow were gone, but keeps it.
    genesys_sim.configure(faults=[{"path": "/api/v2/flows/*", "method": "DELETE", "count": 1, "status": 404}])

    partial = wizard.client.post("/install/uninstall/")
    tenant = Tenant.objects.get(genesys_org_id=DEMO_ORG_ID)
    first = step_statuses(tenant)
    left = genesys_sim.control("GET", "flows")["entities"]
    retried = wizard.client.post("/install/uninstall/")

    assert partial.status_code == 502
    assert first["workflow"] == "failed"
    assert "still lists the workflow" in partial.content.decode()
    assert [flow["name"] for flow in left] == [blueprint.WORKFLOW_NAME]
    assert retried.status_code == 200
    assert genesys_sim.control("GET", "flows")["entities"] == []


def test_a_partial_uninstall_is_reported_and_can_be_retried(wizard, genesys_sim) -> None:
    wizard.install("Support")
    genesys_sim.configure(
        faults=[{"path": "/api/v2/authorization/roles/*", "method": "DELETE", "count": 1, "status": 500}]
    )

    partial = wizard.client.post("/install/uninstall/")
    tenant = Tenant.objects.get(genesys_org_id=DEMO_ORG_ID)
    left = prefixed_objects(genesys_sim)
    retried = wizard.client.post("/install/uninstall/")

    assert partial.status_code == 502
    assert "Uninstall incomplete" in partial.content.decode()
    assert "Retry the uninstall" in partial.content.decode()
    assert [name for _, name, _ in left["roles"]] == [blueprint.ROLE_NAME]
    assert left["triggers"] == left["integrations"] == left["oauth_clients"] == []
    assert "role" in tenant.genesys_objects
    assert not tenant.active
    assert retried.status_code == 200
    assert prefixed_objects(genesys_sim)["roles"] == []


# -- clear outcomes -------------------------------------------------------------------------------------------------


def test_product_not_available(wizard, genesys_sim) -> None:
    genesys_sim.configure(premium_type_id=None)

    answer = wizard.login()
    page = wizard.client.get("/install/check/").content.decode()

    assert answer["Location"] == "/install/check/"
    assert "The app is not available to Demo Org" in page
    assert "premium-widget-example" in page
    assert "AppFoundry" in page
    assert not Tenant.objects.exists()
    assert wizard.client.get("/install/provision/")["Location"] == "/install/check/"


def test_missing_permissions_are_listed_by_name_with_what_to_do(wizard, genesys_sim) -> None:
    answer = wizard.login("alex")  # an agent: employee + User roles
    page = wizard.client.get("/install/check/").content.decode()

    assert answer["Location"] == "/install/check/"
    assert "permissions missing" in page
    for permission in ("oauth:client:add", "integrations:integration:add", "processautomation:trigger:add"):
        assert f"<code>{permission}</code>" in page
    assert "routing:queue:view" not in page  # the User role has it
    assert "What to do:" in page
    assert "Master Admin" in page
    assert not Tenant.objects.exists()
    genesys_sim.configure(enforce_permissions=False)  # no effect on the check: it reads the user's permissions
    assert wizard.client.post("/install/check/")["Location"] == "/install/check/"


def test_bad_freshdesk_key_and_domain_get_precise_messages(wizard, freshdesk_sim, settings) -> None:
    wizard.login()

    wrong_key = wizard.connect_freshdesk(api_key="not-the-key")
    not_freshdesk = wizard.connect_freshdesk(domain="acme.zendesk.com")
    settings.SCREENPOP_ALLOW_SIMULATORS = False
    simulator_refused = wizard.connect_freshdesk()

    assert wrong_key.status_code == 400
    assert "Freshdesk refused this API key (401)" in wrong_key.content.decode()
    assert "View API key" in wrong_key.content.decode()
    assert "is not a Freshdesk domain" in not_freshdesk.content.decode()
    assert "SCREENPOP_ALLOW_SIMULATORS" in simulator_refused.content.decode()
    assert not FreshdeskConnection.objects.exists()
    assert [call["status"] for call in freshdesk_sim.requests()] == [401]  # the bad domains were never called


def test_a_persistent_429_stops_with_a_clear_message_and_a_rerun_resumes(wizard, genesys_sim) -> None:
    wizard.login()
    wizard.connect_freshdesk()
    genesys_sim.configure(
        faults=[{"path": "/api/v2/integrations/credentials*", "count": 100, "status": 429, "retry_after": 30}]
    )
    seq = last_seq(genesys_sim)

    stopped = wizard.provision()

    tenant = Tenant.objects.get(genesys_org_id=DEMO_ORG_ID)
    page = stopped.content.decode()
    assert "The installation stopped" in page
    assert "limiting this app&#x27;s requests (429)" in page
    assert "try again in 30 seconds" in page
    statuses = step_statuses(tenant)
    assert (statuses["panel_client"], statuses["credential"]) == ("created", "failed")
    # A Retry-After longer than the wizard may wait is not retried in a loop: one request, one clear answer.
    assert [e["status"] for e in genesys_sim.log(since=seq, direction="in") if "credentials" in e["path"]] == [429]

    genesys_sim.configure(faults=[])
    resumed = wizard.provision()
    tenant.refresh_from_db()
    assert "Installed." in resumed.content.decode()
    assert step_statuses(tenant)["role"] == "unchanged"
    assert step_statuses(tenant)["credential"] == "created"
    assert len(prefixed_objects(genesys_sim)["oauth_clients"]) == 2


def test_short_429s_are_retried_transparently(wizard, genesys_sim) -> None:
    wizard.login()
    wizard.connect_freshdesk()
    genesys_sim.configure(faults=[{"path": "/api/v2/oauth/clients", "count": 2, "status": 429, "retry_after": 1}])
    seq = last_seq(genesys_sim)

    wizard.provision()

    tenant = Tenant.objects.get(genesys_org_id=DEMO_ORG_ID)
    assert step_statuses(tenant)["sync_client"] == "created"
    statuses = [e["status"] for e in genesys_sim.log(since=seq, direction="in") if e["path"] == "/api/v2/oauth/clients"]
    assert statuses[:3] == [429, 429, 200]


def test_a_version_conflict_on_the_widget_is_re_read_and_retried_once(wizard, genesys_sim) -> None:
    wizard.install("Support")
    tenant = Tenant.objects.get(genesys_org_id=DEMO_ORG_ID)
    widget_id = tenant.genesys_objects["widget"]["id"]
    path = f"/api/v2/integrations/{widget_id}/config/current"
    genesys_sim.configure(faults=[{"path": path, "method": "PUT", "count": 1, "status": 409}])
    seq = last_seq(genesys_sim)

    wizard.choose_queues("Billing")

    tenant.refresh_from_db()
    assert tenant.sync_state == Tenant.SyncState.OK
    calls = [(e["method"], e["status"]) for e in genesys_sim.log(since=seq, direction="in") if e["path"] == path]
    assert calls == [("GET", 200), ("PUT", 409), ("GET", 200), ("PUT", 200)]
    properties = admin_get(genesys_sim, path)["properties"]
    assert sorted(properties["queueIdFilterList"]) == sorted(
        [genesys_sim.queue_id("Support"), genesys_sim.queue_id("Billing")]
    )


def test_two_runs_at_once_are_refused(wizard, genesys_sim) -> None:
    wizard.login()
    wizard.connect_freshdesk()
    tenant = Tenant.objects.get(genesys_org_id=DEMO_ORG_ID)

    with tenant_install_lock(tenant):
        busy = wizard.client.post("/install/provision/")

    assert busy.status_code == 409
    assert "already running" in busy.content.decode()
    assert prefixed_objects(genesys_sim)["roles"] == []


def test_login_answers_that_do_not_match_the_login_started_are_refused(wizard, genesys_sim) -> None:
    started = wizard.client.post("/install/login/", {"environment": sim_environment(genesys_sim)})
    code_answer = requests.get(
        f"{started['Location']}&login_hint={USERS['avery']}", allow_redirects=False, timeout=10
    ).headers["Location"]
    forged = re.sub(r"state=[^&]+", "state=forged", urlsplit(code_answer).query)

    refused = wizard.client.get(f"/install/callback/?{forged}", follow=True)

    assert "did not match the login this page started" in refused.content.decode()
    assert "screenpop_install" not in wizard.client.session


def test_an_unlisted_region_is_refused_before_any_redirect(wizard) -> None:
    refused = wizard.client.post("/install/login/", {"environment": "evil.example.com"})

    assert refused.status_code == 400
    assert "Select a valid choice" in refused.content.decode()


def test_every_post_needs_the_csrf_token(genesys_sim, wizard_settings) -> None:
    strict = Client(enforce_csrf_checks=True)
    page = strict.get("/install/")

    refused = strict.post("/install/login/", {"environment": sim_environment(genesys_sim)})
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)
    accepted = strict.post(
        "/install/login/", {"environment": sim_environment(genesys_sim), "csrfmiddlewaretoken": token}
    )

    assert refused.status_code == 403
    assert accepted.status_code == 302


def test_the_start_page_takes_the_region_from_the_url(wizard_settings, client) -> None:
    page = client.get("/install/", {"gcHostOrigin": "https://apps.mypurecloud.ie"})

    assert page.context["form"].initial["environment"] == "mypurecloud.ie"
    assert "<script" not in page.content.decode()


@pytest.mark.parametrize(
    ("who", "lands_on"), [("Avery Admin", "/install/freshdesk/"), ("Alex Agent", "/install/check/")]
)
def test_the_demo_lets_the_newcomer_sign_in_as_the_admin_or_an_agent(wizard, genesys_sim, who, lands_on) -> None:
    environment = sim_environment(genesys_sim)
    page = wizard.client.get("/install/", {"environment": environment})
    choices = dict((label.split(",")[0], login) for login, label in page.context["form"].fields["sign_in_as"].choices)

    started = wizard.client.post("/install/login/", {"environment": environment, "sign_in_as": choices[who]})
    answer = requests.get(
        started["Location"], allow_redirects=False, timeout=10
    )  # the simulator signs in, no hint added
    back = urlsplit(answer.headers["Location"])
    landed = wizard.client.get(f"{back.path}?{back.query}")
    check = wizard.client.get("/install/check/").content.decode()

    assert list(choices) == ["Avery Admin", "Alex Agent"]
    assert "Sign in to the simulated organisation as" in page.content.decode()
    assert landed["Location"] == lands_on
    if who == "Alex Agent":
        assert "permissions missing" in check
        assert "sign in as the admin" in check


def test_a_real_region_offers_no_simulated_users_and_sends_no_login_hint(wizard, genesys_sim) -> None:
    refused = wizard.client.post("/install/login/", {"environment": "mypurecloud.ie", "sign_in_as": "x@y.example"})

    assert refused.status_code == 302
    assert refused["Location"].startswith("https://login.mypurecloud.ie/oauth/authorize?")
    assert "login_hint" not in refused["Location"]


def test_a_sign_in_choice_the_simulator_does_not_know_is_refused(wizard, genesys_sim) -> None:
    refused = wizard.client.post(
        "/install/login/", {"environment": sim_environment(genesys_sim), "sign_in_as": "mallory@evil.example"}
    )

    assert refused.status_code == 400
    assert "Select a valid choice" in refused.content.decode()


def test_freshdesks_rate_limit_is_shown_only_once_known(wizard, genesys_sim) -> None:
    wizard.login()
    connected = wizard.connect_freshdesk()
    known = wizard.client.get("/install/freshdesk/").content.decode()
    FreshdeskConnection.objects.update(rate_limit_per_minute=None)
    unknown = wizard.client.get("/install/freshdesk/").content.decode()

    assert connected.status_code == 302
    assert "API calls a minute" in known
    assert "Connected to" in unknown
    assert "calls a minute" not in unknown
    assert "?" not in unknown.split("Connected to", 1)[1].split("</p>", 1)[0]


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ({"status": "accepted", "pop_id": 7}, "The webhook accepted the call and recorded screen pop 7."),
        ({"status": "duplicate", "pop_id": 7}, "The webhook already had screen pop 7 for this conversation"),
        (
            {"status": "ignored", "reason": "queue q1 is not among this tenant's queue filters"},
            "will not pop it: queue q1 is not among this tenant's queue filters.",
        ),
        (
            {"error": "invalid", "field": "phone_number", "detail": "No digits."},
            "refused the call (field phone_number)",
        ),
        ("<html>", "not with the JSON this app sends"),
    ],
)
def test_the_test_calls_answer_is_told_in_sentences(answer, expected) -> None:
    sentences = answer_sentences(answer)

    assert any(expected in sentence for sentence in sentences), sentences
    assert all(sentence.endswith(".") and ".." not in sentence for sentence in sentences)


def test_the_workflow_file_is_served(client) -> None:
    response = client.get("/install/workflow.yaml")

    text = response.content.decode()
    assert response["Content-Disposition"] == 'attachment; filename="freshdesk-screen-pop.yaml"'
    assert f"name: {blueprint.WORKFLOW_NAME}" in text
    assert f"{blueprint.DATA_INTEGRATION_NAME}:" in text
    assert f"{blueprint.DATA_ACTION_NAME}:" in text
