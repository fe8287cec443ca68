"""Provisioning: everything the app needs in the customer's org, made idempotently, in dependency order.

Each step finds its object (by the id recorded on the tenant, else by its exact name, which starts with
`blueprint.PREFIX`), creates it when missing, updates it when it differs from `blueprint`, and otherwise leaves it
alone: a re-run sends only reads. What exists is recorded in `Tenant.genesys_objects` as soon as it exists, so an
interrupted run is resumed by the next one and removed by the uninstall (`uninstall.py`).

Steps: the sync role → the sync OAuth client (client credentials; secret stored encrypted on the tenant) → the
agents' panel OAuth client (authorization code with PKCE; redirect URI = the panel) → our webhook OAuth client and
its Genesys credential (User Defined (OAuth), pointing at /oauth/token/) → the Web Services Data Actions integration
→ its custom auth action (found by its id, `customAuth_-_<integrationId>`) → the published data action → the
Interaction Widget → the Architect workflow, published through a publish job with the org's home division → the
trigger on acd.start targeting it, created only once the workflow is published → the same three for wrap-ups (a
data action posting CALL_WRAPUP, its workflow, the trigger on acw). No step needs the admin's hands.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from django.core.cache import cache
from django.utils import timezone

from screenpop import tenants
from screenpop.errors import ScreenpopError
from screenpop.genesys.api import GenesysApi, differs, wait_until
from screenpop.genesys.errors import GenesysNotFound
from screenpop.install import blueprint, workflow
from screenpop.install.errors import InstallNotPossible
from screenpop.install.services import queue_ids
from screenpop.models import FreshdeskConnection, Tenant, WebhookClient

ROLE_WAIT_SECONDS = 30.0
ROLE_POLL_SECONDS = 3.0
AUTH_ACTION_WAIT_SECONDS = 10.0
LOCK_SECONDS = 600


@dataclass
class StepResult:
    """One step's outcome: `created`, `updated`, `unchanged`, `failed`; for the
    uninstall `removed`, `absent` or `failed`."""

    step: str
    label: str
    status: str
    detail: str = ""
    object_id: str = ""


@dataclass
class RunReport:
    action: str
    steps: list[StepResult] = field(default_factory=list)
    at: str = field(default_factory=lambda: timezone.now().isoformat())

    @property
    def ok(self) -> bool:
        return not any(step.status == "failed" for step in self.steps)

    @property
    def changed(self) -> bool:
        return any(step.status in ("created", "updated", "removed") for step in self.steps)

    @property
    def error(self) -> str:
        return next((step.detail for step in self.steps if step.status == "failed"), "")

    def as_json(self) -> dict[str, Any]:
        return {"action": self.action, "at": self.at, "ok": self.ok, "steps": [asdict(step) for step in self.steps]}


def exact(items: list[dict[str, Any]], name: str, **where: Any) -> dict[str, Any] | None:
    """The first item named exactly `name` (Genesys name filters are partial or case-insensitive)."""
    for item in items:
        if item.get("name") == name and all(item.get(key) == value for key, value in where.items()):
            return item
    return None


class Provisioner:
    """Provision one tenant's objects with an admin's API (`admin_user_id` None for client credentials)."""

    def __init__(self, *, tenant: Tenant, api: GenesysApi, admin_user_id: str | None = None) -> None:
        self.tenant = tenant
        self.api = api
        self.admin_user_id = admin_user_id
        self.objects: dict[str, Any] = dict(tenant.genesys_objects or {})
        self._division: dict[str, Any] | None = None

    # -- bookkeeping ----------------------------------------------------------------------------------------------

    def _save(self, *extra_fields: str) -> None:
        self.tenant.genesys_objects = self.objects
        self.tenant.save(update_fields=["genesys_objects", "updated_at", *extra_fields])

    def _record(self, key: str, value: dict[str, Any] | None) -> None:
        if value is None:
            self.objects.pop(key, None)
        else:
            self.objects[key] = value
        self._save()

    def _recorded_id(self, key: str) -> str | None:
        return (self.objects.get(key) or {}).get("id")

    def _by_id(self, read: Callable[[str], dict[str, Any]], key: str) -> dict[str, Any] | None:
        object_id = self._recorded_id(key)
        if not object_id:
            return None
        try:
            return read(object_id)
        except GenesysNotFound:
            return None

    # -- the run --------------------------------------------------------------------------------------------------

    def run(self) -> RunReport:
        """Run every step in order; the first failure stops the run (later steps depend on earlier ones)."""
        report = RunReport(action="install")
        if not FreshdeskConnection.objects.filter(tenant=self.tenant).exists():
            report.steps.append(StepResult("freshdesk", "Freshdesk connection", "failed", "Connect Freshdesk first."))
            return self._finish(report)
        steps: list[tuple[str, str, Callable[[], StepResult]]] = [
            ("role", "Role of the sync client", self.role),
            ("sync_client", "Sync OAuth client (client credentials)", self.sync_client),
            ("panel_client", "Agents' panel OAuth client", self.panel_client),
            ("credential", "Webhook OAuth client and its Genesys credential", self.webhook_credential),
            ("data_integration", "Web Services Data Actions integration", self.data_integration),
            ("auth_action", "Its custom authentication action", self.auth_action),
            ("data_action", f"Data action “{blueprint.DATA_ACTION_NAME}”", self.data_action),
            ("widget", "Interaction Widget", self.widget),
            ("workflow", f"Architect workflow “{blueprint.WORKFLOW_NAME}” (published)", self.workflow),
            ("trigger", "Trigger on inbound calls (acd.start)", self.trigger),
            ("wrapup_data_action", f"Data action “{blueprint.WRAPUP_DATA_ACTION_NAME}”", self.wrapup_data_action),
            (
                "wrapup_workflow",
                f"Architect workflow “{blueprint.WRAPUP_WORKFLOW_NAME}” (published)",
                self.wrapup_workflow,
            ),
            ("wrapup_trigger", "Trigger on wrap-ups (acw)", self.wrapup_trigger),
        ]
        for step, label, run_step in steps:
            try:
                result = run_step()
            except ScreenpopError as error:
                report.steps.append(StepResult(step, label, "failed", error.detail))
                break
            result.step, result.label = step, label
            report.steps.append(result)
        return self._finish(report)

    def _finish(self, report: RunReport) -> RunReport:
        self.objects["last_run"] = report.as_json()
        fields = ["genesys_objects"]
        if report.ok:
            self.objects.setdefault("installed_at", report.at)
            self.objects["environment"] = self.tenant.region
            if not self.tenant.active:
                self.tenant.active = True
                fields.append("active")
            self.tenant.sync_state, self.tenant.sync_error = Tenant.SyncState.OK, ""
            fields += ["sync_state", "sync_error"]
        self._save(*fields[1:])
        return report

    # -- steps ----------------------------------------------------------------------------------------------------

    def role(self) -> StepResult:
        role = self._by_id(self.api.role, "role") or exact(
            self.api.roles(name=blueprint.ROLE_NAME), blueprint.ROLE_NAME
        )
        if role is None:
            role = self.api.role_create(blueprint.role_body())
            status = "created"
        elif set(role.get("permissions") or []) != blueprint.role_permissions():
            role = self.api.role_put(role["id"], blueprint.role_body())
            status = "updated"
        else:
            status = "unchanged"
        self._record("role", {"id": role["id"], "name": role["name"]})
        if self.admin_user_id:
            self._hold_role(role["id"])
        return StepResult("", "", status, f"Permissions: {', '.join(sorted(blueprint.role_permissions()))}", role["id"])

    def _hold_role(self, role_id: str) -> None:
        """Genesys lets an admin give a client only roles the admin holds (reference §9): add the admin to the role
        and wait until it shows in their authorization."""

        def held() -> bool:
            roles = (self.api.me().get("authorization") or {}).get("roles") or []
            return any(role.get("id") == role_id for role in roles)

        if held():
            return
        self.api.role_users_add(role_id, [self.admin_user_id or ""])
        if not wait_until(held, timeout=ROLE_WAIT_SECONDS, interval=ROLE_POLL_SECONDS):
            raise InstallNotPossible(
                f"The role {blueprint.ROLE_NAME!r} has not reached your account yet. Wait a minute and run the "
                "installation again."
            )

    def sync_client(self) -> StepResult:
        role_id = self._recorded_id("role") or ""
        wanted = blueprint.sync_client_body(role_id, division_id=self._home_division()["id"])
        client = self._by_id(self.api.oauth_client, "sync_client") or exact(
            self.api.oauth_clients(), blueprint.SYNC_CLIENT_NAME
        )
        if client is not None and not (
            self.tenant.genesys_sync_client_id == client["id"] and self.tenant.genesys_sync_client_secret
        ):
            # Genesys shows a secret only when the client is created: without it the client is of no use.
            self.api.oauth_client_delete(client["id"])
            client = None
        if client is None:
            client = self.api.oauth_client_create(wanted)
            self.tenant.genesys_sync_client_id = client["id"]
            self.tenant.genesys_sync_client_secret = client["secret"]
            self.tenant.save(update_fields=["genesys_sync_client_id", "genesys_sync_client_secret", "updated_at"])
            status = "created"
        elif differs(client, wanted):
            client = self.api.oauth_client_put(client["id"], wanted)
            status = "updated"
        else:
            status = "unchanged"
        self._record("sync_client", {"id": client["id"], "name": client["name"]})
        return StepResult("", "", status, "Secret stored encrypted.", client["id"])

    def panel_client(self) -> StepResult:
        wanted = blueprint.panel_client_body()
        client = self._by_id(self.api.oauth_client, "panel_client") or exact(
            self.api.oauth_clients(), blueprint.PANEL_CLIENT_NAME
        )
        replaced = client is not None and client.get("authorizedGrantType") != blueprint.PANEL_GRANT_TYPE
        if replaced:
            # An implicit-grant client of an earlier install: a client's grant type is not changed in place (whether
            # Genesys allows it is uncertain), so it is replaced; the widget URL then names the new one.
            self._retire_oauth_client(client)
            client = None
        if client is None:
            client = self.api.oauth_client_create(wanted)
            status = "updated" if replaced else "created"
        elif differs(client, wanted):
            client = self.api.oauth_client_put(client["id"], wanted)
            status = "updated"
        else:
            status = "unchanged"
        if self.tenant.panel_client_id != client["id"]:
            self.tenant.panel_client_id = client["id"]
            self.tenant.save(update_fields=["panel_client_id", "updated_at"])
        self._record("panel_client", {"id": client["id"], "name": client["name"]})
        return StepResult("", "", status, f"Redirect URI {blueprint.panel_redirect_uri()}", client["id"])

    def _retire_oauth_client(self, client: dict[str, Any]) -> None:
        """Deactivate, then delete, as the uninstall does (reference §9)."""
        self.api.oauth_client_put(client["id"], blueprint.oauth_client_inactive_body(client))
        self.api.oauth_client_delete(client["id"])

    def webhook_credential(self) -> StepResult:
        webhook_client = (
            WebhookClient.objects.select_related("application")
            .filter(tenant=self.tenant, pk=(self.objects.get("webhook_client") or {}).get("pk") or 0, active=True)
            .first()
        )
        credential = self._by_id(self.api.credential, "credential")
        if credential is None:
            listed = exact(self.api.credentials(), blueprint.CREDENTIAL_NAME)
            credential = self.api.credential(listed["id"]) if listed else None
        fields = (credential or {}).get("credentialFields") or {}
        current = (
            webhook_client is not None
            and credential is not None
            and fields.get("clientId") == webhook_client.application.client_id
            and fields.get("loginUrl") == blueprint.token_url()
            and ((credential.get("type") or {}).get("name") or credential.get("type")) == "userDefinedOAuth"
        )
        if current:
            self._record("credential", {"id": credential["id"], "name": credential["name"]})
            return StepResult("", "", "unchanged", f"Token URL {blueprint.token_url()}", credential["id"])
        # A new webhook client: its secret exists in clear only now, long enough to hand it to Genesys.
        issued = tenants.webhook_client_create(tenant=self.tenant, name=f"{blueprint.PREFIX} ({self.tenant.name})")
        body = blueprint.credential_body(client_id=issued.client_id, client_secret=issued.client_secret)
        try:
            if credential is None:
                credential = self.api.credential_create(body)
                status = "created"
            else:
                credential = self.api.credential_put(credential["id"], body)
                status = "updated"
        except ScreenpopError:
            tenants.webhook_client_revoke(webhook_client=issued.webhook_client)
            raise
        if webhook_client is not None:
            tenants.webhook_client_revoke(webhook_client=webhook_client)
        self._record("webhook_client", {"pk": issued.webhook_client.pk, "client_id": issued.client_id})
        self._record("credential", {"id": credential["id"], "name": credential["name"]})
        return StepResult("", "", status, f"Token URL {blueprint.token_url()}", credential["id"])

    def _integration(self, key: str, type_id: str, name: str) -> tuple[dict[str, Any], bool]:
        integration = self._by_id(self.api.integration, key) or exact(self.api.integrations(type_id=type_id), name)
        created = integration is None
        if integration is None:
            integration = self.api.integration_create(type_id=type_id, name=name)
        self._record(key, {**(self.objects.get(key) or {}), "id": integration["id"], "name": name})
        return integration, created

    def _enable(self, integration: dict[str, Any]) -> bool:
        if integration.get("intendedState") == "ENABLED":
            return False
        self.api.integration_set_state(integration["id"], "ENABLED")
        return True

    def data_integration(self) -> StepResult:
        integration, created = self._integration(
            "data_integration", blueprint.DATA_ACTIONS_TYPE, blueprint.DATA_INTEGRATION_NAME
        )
        credential_id = self._recorded_id("credential") or ""
        config, written = self.api.integration_config_update(
            integration["id"], lambda current: blueprint.data_integration_config(current, credential_id=credential_id)
        )
        enabled = self._enable(integration)
        self._record(
            "data_integration",
            {"id": integration["id"], "name": blueprint.DATA_INTEGRATION_NAME, "config_version": config["version"]},
        )
        status = "created" if created else "updated" if written or enabled else "unchanged"
        return StepResult("", "", status, f"Configuration version {config['version']}, enabled", integration["id"])

    def auth_action(self) -> StepResult:
        integration_id = self._recorded_id("data_integration") or ""

        action_id = blueprint.custom_auth_action_id(integration_id)
        found: dict[str, Any] = {}

        def located() -> bool:
            try:
                found["action"] = self.api.action(action_id)
            except GenesysNotFound:
                return False
            return True

        # Genesys makes it when the integration's configuration names the credential; it may take a moment. Its
        # name follows the integration's, so only its id is stable (reference §12).
        if not wait_until(located, timeout=AUTH_ACTION_WAIT_SECONDS, interval=1.0):
            raise InstallNotPossible(
                f"Genesys Cloud has not created the integration's authentication action ({action_id}) yet. Run the "
                "installation again in a minute."
            )
        action = found["action"]
        status = "unchanged"
        if differs(action.get("config") or {}, blueprint.AUTH_ACTION_CONFIG):
            draft = self.api.action_draft_open(action["id"])
            draft = self.api.action_draft_update(
                action["id"], {"version": draft["version"], "config": blueprint.AUTH_ACTION_CONFIG}
            )
            action = self.api.action_publish(action["id"], draft["version"])
            status = "updated"
        self._record("auth_action", {"id": action["id"], "name": action["name"], "version": action.get("version")})
        return StepResult("", "", status, "Requests a token from our /oauth/token/", action["id"])

    def data_action(self) -> StepResult:
        return self._data_action("data_action", blueprint.DATA_ACTION_NAME, blueprint.data_action_body)

    def wrapup_data_action(self) -> StepResult:
        return self._data_action(
            "wrapup_data_action", blueprint.WRAPUP_DATA_ACTION_NAME, blueprint.wrapup_data_action_body
        )

    def _data_action(self, key: str, name: str, body_of: Callable[..., dict[str, Any]]) -> StepResult:
        integration_id = self._recorded_id("data_integration") or ""
        wanted = body_of(integration_id=integration_id)
        editable = {key: value for key, value in wanted.items() if key != "integrationId"}
        published = self._by_id(self.api.action, key)
        if published is None:
            listed = exact(
                self.api.actions(name=name),
                name,
                integrationId=integration_id,
            )
            published = self.api.action(listed["id"]) if listed else None
        if published is None:
            # A draft an interrupted run left behind, else a new one.
            draft = exact(
                self.api.action_drafts(name=name),
                name,
                integrationId=integration_id,
            )
            if draft is None:
                draft = self.api.action_draft_create(wanted)
                self._record(key, {"id": draft["id"], "name": draft["name"]})
            else:
                draft = self.api.action_draft_update(draft["id"], {**editable, "version": draft["version"]})
            action, status = self.api.action_publish(draft["id"], draft["version"]), "created"
        elif differs(published, editable):
            draft = self.api.action_draft_open(published["id"])
            draft = self.api.action_draft_update(published["id"], {**editable, "version": draft["version"]})
            action, status = self.api.action_publish(published["id"], draft["version"]), "updated"
        else:
            action, status = published, "unchanged"
        self._record(key, {"id": action["id"], "name": action["name"], "version": action.get("version")})
        return StepResult("", "", status, f"Posts to {blueprint.webhook_url()}", action["id"])

    def widget(self) -> StepResult:
        integration, created = self._integration("widget", blueprint.WIDGET_TYPE, blueprint.WIDGET_NAME)
        queues = queue_ids(self.tenant)
        config, written = self.api.integration_config_update(
            integration["id"], lambda current: blueprint.widget_config(current, tenant=self.tenant, queue_ids=queues)
        )
        enabled = self._enable(integration)
        self._record(
            "widget", {"id": integration["id"], "name": blueprint.WIDGET_NAME, "config_version": config["version"]}
        )
        status = "created" if created else "updated" if written or enabled else "unchanged"
        scope = f"{len(queues)} queue(s)" if queues else "every queue"
        return StepResult(
            "", "", status, f"Calls in {scope}; URL {blueprint.widget_url_template(self.tenant)}", integration["id"]
        )

    def _home_division(self) -> dict[str, Any]:
        if self._division is None:
            self._division = self.api.home_division()
        return self._division

    def workflow(self) -> StepResult:
        return self._workflow("workflow", blueprint.WORKFLOW_NAME, workflow.WORKFLOW_FILE)

    def wrapup_workflow(self) -> StepResult:
        return self._workflow("wrapup_workflow", blueprint.WRAPUP_WORKFLOW_NAME, workflow.WRAPUP_WORKFLOW_FILE)

    def _workflow(self, key: str, name: str, file: Path) -> StepResult:
        """Publish a shipped workflow with the org's home division, through an Architect publish job, and wait
        until Genesys says it is published. Unchanged when the text published last time is the same and the flow
        is still published."""
        division = self._home_division()
        text = workflow.workflow_for_division(division["name"], file)
        digest = workflow.workflow_digest(text)
        recorded = self.objects.get(key) or {}
        flow = self._by_id(self.api.flow, key) or exact(self.api.workflows(name=name), name)
        existing = flow
        published = flow is not None and bool(flow.get("publishedVersion"))
        if published and recorded.get("digest") == digest and recorded.get("id") == flow["id"]:
            version = flow["publishedVersion"].get("id")
            return StepResult("", "", "unchanged", f"Published version {version} in {division['name']}", flow["id"])
        flow, messages = workflow.workflow_publish(api=self.api, text=text, name=name)
        version = (flow.get("publishedVersion") or {}).get("id")
        recorded = {"id": flow["id"], "name": flow["name"], "version": version, "digest": digest}
        self._record(key, {**recorded, "division": division["name"]})
        detail = f"Published version {version} in the division {division['name']}"
        if messages:
            detail += f" (Genesys noted: {'; '.join(messages)})"
        return StepResult("", "", "created" if existing is None else "updated", detail, flow["id"])

    def trigger(self) -> StepResult:
        return self._trigger(
            "trigger", "workflow", blueprint.TRIGGER_NAME, blueprint.WORKFLOW_NAME, blueprint.trigger_body
        )

    def wrapup_trigger(self) -> StepResult:
        return self._trigger(
            "wrapup_trigger",
            "wrapup_workflow",
            blueprint.WRAPUP_TRIGGER_NAME,
            blueprint.WRAPUP_WORKFLOW_NAME,
            blueprint.wrapup_trigger_body,
        )

    def _trigger(
        self, key: str, workflow_key: str, name: str, workflow_name: str, body_of: Callable[..., dict[str, Any]]
    ) -> StepResult:
        """A trigger, created only once the workflow it targets is published (Genesys refuses it otherwise)."""
        workflow_id = self._recorded_id(workflow_key) or ""
        flow = self.api.flow(workflow_id)
        if not flow.get("publishedVersion"):
            raise InstallNotPossible(
                f"The workflow “{workflow_name}” is not published, so no trigger can start it. Run the "
                "installation again."
            )
        queues = queue_ids(self.tenant)
        wanted = body_of(workflow_id=flow["id"], queue_ids=queues)
        trigger = self._by_id(self.api.trigger, key) or exact(self.api.triggers(), name)
        if trigger is None:
            trigger, status = self.api.trigger_create(wanted), "created"
        else:
            trigger, written = self.api.trigger_update(trigger["id"], lambda current: {**current, **wanted})
            status = "updated" if written else "unchanged"
        self._record(key, {"id": trigger["id"], "name": trigger["name"], "version": trigger["version"]})
        return StepResult("", "", status, f"Targets the workflow {flow['id']}", trigger["id"])


@contextmanager
def tenant_install_lock(tenant: Tenant) -> Iterator[None]:
    """One install or uninstall at a time per tenant, across processes (the cache is shared in production): two
    concurrent runs would both find nothing and both create. Raises `InstallNotPossible` when one is running."""
    key = f"screenpop:install-lock:{tenant.pk}"
    if not cache.add(key, "1", timeout=LOCK_SECONDS):
        raise InstallNotPossible(
            "An installation or uninstallation for this organization is already running. Wait for it to finish."
        )
    try:
        yield
    finally:
        cache.delete(key)


def provision(*, tenant: Tenant, api: GenesysApi, admin_user_id: str | None = None) -> RunReport:
    """Install or update everything for `tenant` in its org (see the module docstring). Never raises for a Genesys
    failure: the report says which step failed and why, and it is stored on the tenant. Raises `InstallNotPossible`
    while another run for the tenant is going on."""
    with tenant_install_lock(tenant):
        return Provisioner(tenant=tenant, api=api, admin_user_id=admin_user_id).run()
