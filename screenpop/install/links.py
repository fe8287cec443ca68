"""Links from the install summary to each object the app made, in Genesys Cloud's admin UI (`https://apps.<env>`).

The paths of OAuth clients, roles and integrations are those the Premium App example links to; those of data
actions are the admin UI's as seen in public examples; the Architect workflow, the credential and the trigger paths
are our best reading of the admin UI and are uncertain (the UI can move them without notice). A simulator has no
admin UI: its links keep the same paths on the simulator's host.
"""

from __future__ import annotations

from typing import Any

from screenpop.install import blueprint
from screenpop.models import Tenant
from screenpop.validation import genesys_base_url, is_simulator_environment

OBJECT_LABELS = {
    "role": "Role",
    "sync_client": "Sync OAuth client",
    "panel_client": "Agents' panel OAuth client",
    "credential": "Webhook credential",
    "data_integration": "Web Services Data Actions integration",
    "auth_action": "Custom auth action",
    "data_action": "Data action",
    "widget": "Interaction Widget",
    "workflow": "Workflow",
    "trigger": "Trigger",
}

ADMIN_PATHS = {
    "role": "/directory/#/admin/directory/rolesV2/{id}",
    "sync_client": "/directory/#/admin/integrations/oauth/{id}",
    "panel_client": "/directory/#/admin/integrations/oauth/{id}",
    "credential": "/directory/#/admin/integrations/credentials",
    "data_integration": f"/directory/#/admin/integrations/apps/{blueprint.DATA_ACTIONS_TYPE}/{{id}}",
    "auth_action": "/directory/#/admin/integrations/actions/{id}/summary",
    "data_action": "/directory/#/admin/integrations/actions/{id}/summary",
    "widget": f"/directory/#/admin/integrations/apps/{blueprint.WIDGET_TYPE}/{{id}}",
    "workflow": "/architect/#/workflow/{id}/latest",
    "trigger": "/directory/#/admin/processautomation/triggers/{id}",
    "wrapup_data_action": "/directory/#/admin/integrations/actions/{id}/summary",
    "wrapup_workflow": "/architect/#/workflow/{id}/latest",
    "wrapup_trigger": "/directory/#/admin/processautomation/triggers/{id}",
}


def admin_ui_origin(environment: str) -> str:
    if is_simulator_environment(environment):
        return genesys_base_url(environment)
    return f"https://apps.{environment}"


def admin_url(environment: str, key: str, object_id: str) -> str:
    """The admin UI page of the object recorded under `key` (`role`, `widget`, ...), or "" when there is none."""
    path = ADMIN_PATHS.get(key)
    if not path or not object_id:
        return ""
    return admin_ui_origin(environment) + path.format(id=object_id)


def installed_objects(tenant: Tenant) -> list[dict[str, Any]]:
    """The objects the install recorded on `tenant`, in install order: kind, name, id, version and admin UI link."""
    objects = tenant.genesys_objects or {}
    rows = []
    for key, label in OBJECT_LABELS.items():
        item = objects.get(key)
        if item:
            object_id = str(item.get("id") or "")
            rows.append(
                {
                    "kind": label,
                    "name": item.get("name", ""),
                    "id": object_id,
                    "version": item.get("version") or item.get("config_version") or "",
                    "url": admin_url(tenant.region, key, object_id),
                }
            )
    return rows
