"""Uninstall: remove everything the install made, in reverse order, then revoke the tenant's webhook tokens and mark
the tenant inactive.

Each kind of object is removed by the id recorded on the tenant and, to catch what an interrupted run left behind, by
its name prefix (`blueprint.PREFIX`). OAuth clients are set inactive before they are deleted (their tokens stop at
once, even if the delete then fails). A step that fails does not stop the others: its objects stay recorded, the
report names it, and running the uninstall again retries exactly what is left. Something already gone counts as
removed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.utils import timezone
from oauth2_provider.models import AccessToken

from screenpop import tenants
from screenpop.errors import ScreenpopError
from screenpop.genesys.api import GenesysApi
from screenpop.genesys.errors import GenesysNotFound
from screenpop.install import blueprint
from screenpop.install.errors import InstallNotPossible
from screenpop.install.provisioning import RunReport, StepResult, tenant_install_lock
from screenpop.models import Tenant, WebhookClient


def _ours(item: dict[str, Any]) -> bool:
    return str(item.get("name") or "").startswith(blueprint.PREFIX)


def _ids(recorded: dict[str, Any] | None, listed: list[dict[str, Any]]) -> list[str]:
    ids = [recorded["id"]] if recorded and recorded.get("id") else []
    return list(dict.fromkeys(ids + [item["id"] for item in listed if _ours(item)]))


class Uninstaller:
    def __init__(self, *, tenant: Tenant, api: GenesysApi) -> None:
        self.tenant = tenant
        self.api = api
        self.objects: dict[str, Any] = dict(tenant.genesys_objects or {})

    def _forget(self, *keys: str) -> None:
        for key in keys:
            self.objects.pop(key, None)
        self.tenant.genesys_objects = self.objects
        self.tenant.save(update_fields=["genesys_objects", "updated_at"])

    def _remove_each(self, ids: list[str], remove: Callable[[str], None]) -> int:
        removed = 0
        for object_id in ids:
            try:
                remove(object_id)
                removed += 1
            except GenesysNotFound:
                pass
        return removed

    def run(self) -> RunReport:
        report = RunReport(action="uninstall")
        steps: list[tuple[str, str, tuple[str, ...], Callable[[], int]]] = [
            ("trigger", "Trigger", ("trigger", "wrapup_trigger"), self.triggers),
            ("workflow", "Workflow", ("workflow", "wrapup_workflow"), self.workflows),
            ("widget", "Interaction Widget", ("widget",), lambda: self.integrations("widget", blueprint.WIDGET_TYPE)),
            ("data_action", "Data action", ("data_action", "auth_action", "wrapup_data_action"), self.data_actions),
            (
                "data_integration",
                "Web Services Data Actions integration",
                ("data_integration",),
                lambda: self.integrations("data_integration", blueprint.DATA_ACTIONS_TYPE),
            ),
            ("credential", "Genesys credential", ("credential",), self.credentials),
            (
                "panel_client",
                "Agents' panel OAuth client",
                ("panel_client",),
                lambda: self.oauth_clients("panel_client"),
            ),
            ("sync_client", "Sync OAuth client", ("sync_client",), lambda: self.oauth_clients("sync_client")),
            ("role", "Role of the sync client", ("role",), self.roles),
        ]
        for step, label, keys, remove in steps:
            try:
                count = remove()
            except ScreenpopError as error:
                report.steps.append(StepResult(step, label, "failed", error.detail))
                continue
            report.steps.append(StepResult(step, label, "removed" if count else "absent", f"{count} removed"))
            self._forget(*keys)
            if step == "panel_client":
                self.tenant.panel_client_id = ""
                self.tenant.save(update_fields=["panel_client_id", "updated_at"])
            if step == "sync_client":
                self.tenant.genesys_sync_client_id = self.tenant.genesys_sync_client_secret = ""
                self.tenant.save(update_fields=["genesys_sync_client_id", "genesys_sync_client_secret", "updated_at"])
        report.steps.append(self.webhook_clients())
        self.objects["last_run"] = report.as_json()
        if report.ok:
            for key in ("installed_at", "environment", "webhook_client"):
                self.objects.pop(key, None)
            self.objects["uninstalled_at"] = report.at
        self.tenant.genesys_objects = self.objects
        self.tenant.active = False
        self.tenant.save(update_fields=["genesys_objects", "active", "updated_at"])
        return report

    def triggers(self) -> int:
        ids = _ids(self.objects.get("trigger"), self.api.triggers())
        return self._remove_each(ids, self.api.trigger_delete)

    def workflows(self) -> int:
        """Our workflows: the recorded one and every workflow named with the prefix, found on the full list (a
        `name` wildcard on flows is unconfirmed in Genesys, and a search that matched nothing would report the workflow
        "absent" and leave it in the org). A delete answered 404 counts as gone only if the flow is no longer listed
        (a 404 from a route that does not exist, as the simulator once gave, left the workflow in place reported
        "absent"): one still listed fails the step."""
        removed = self._remove_each(_ids(self.objects.get("workflow"), self.api.workflows()), self.api.workflow_delete)
        left = [str(item.get("name")) for item in self.api.workflows() if _ours(item)]
        if left:
            raise InstallNotPossible(
                f"Genesys Cloud still lists the workflow “{'”, “'.join(left)}” after deleting it. Retry the "
                "uninstall; if it stays, delete it in Admin → Architect (someone may have it open for editing)."
            )
        return removed

    def integrations(self, key: str, type_id: str) -> int:
        ids = _ids(self.objects.get(key), self.api.integrations(type_id=type_id))
        return self._remove_each(ids, self.api.integration_delete)

    def data_actions(self) -> int:
        published = self.api.actions(name=blueprint.PREFIX)
        drafts = self.api.action_drafts(name=blueprint.PREFIX)
        removed = self._remove_each(_ids(self.objects.get("data_action"), published), self.api.action_delete)
        draft_only = [d["id"] for d in drafts if _ours(d) and d["id"] not in {p["id"] for p in published}]
        return removed + self._remove_each(draft_only, self.api.action_draft_delete)

    def credentials(self) -> int:
        ids = _ids(self.objects.get("credential"), self.api.credentials())
        return self._remove_each(ids, self.api.credential_delete)

    def oauth_clients(self, key: str) -> int:
        clients = self.api.oauth_clients()
        wanted_name = blueprint.PANEL_CLIENT_NAME if key == "panel_client" else blueprint.SYNC_CLIENT_NAME
        others = [c for c in clients if c.get("name") == wanted_name or (_ours(c) and key == "sync_client")]
        by_id = {client["id"]: client for client in clients}

        def deactivate_then_delete(client_id: str) -> None:
            client = by_id.get(client_id) or self.api.oauth_client(client_id)
            if client.get("state") != "inactive":
                body = blueprint.oauth_client_inactive_body(client)
                self.api.oauth_client_put(client_id, body)
            self.api.oauth_client_delete(client_id)

        return self._remove_each(_ids(self.objects.get(key), others), deactivate_then_delete)

    def roles(self) -> int:
        ids = _ids(self.objects.get("role"), self.api.roles(name=f"{blueprint.PREFIX}*"))
        return self._remove_each(ids, self.api.role_delete)

    @transaction.atomic
    def webhook_clients(self) -> StepResult:
        """Revoke every webhook client of the tenant and delete their tokens: the webhook refuses them from now on."""
        clients = list(WebhookClient.objects.filter(tenant=self.tenant, active=True))
        for webhook_client in clients:
            tenants.webhook_client_revoke(webhook_client=webhook_client)
        tokens, _ = AccessToken.objects.filter(application__webhook_client__tenant=self.tenant).delete()
        return StepResult(
            "webhook_clients",
            "Webhook OAuth clients (this app)",
            "removed" if clients else "absent",
            f"{len(clients)} revoked, {tokens} token(s) deleted; tenant marked inactive at {timezone.now():%H:%M:%S}",
        )


def uninstall(*, tenant: Tenant, api: GenesysApi) -> RunReport:
    """Remove the tenant's objects from its org (see the module docstring); the report is stored on the tenant.
    Raises `InstallNotPossible` while another run for the tenant is going on."""
    with tenant_install_lock(tenant):
        return Uninstaller(tenant=tenant, api=api).run()
