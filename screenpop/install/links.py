"""Links from the install summary to each object the app made, in Genesys Cloud's admin UI (`https://apps.<env>`).

The paths of OAuth clients, roles and integrations are those the Premium App example links to; those of data
actions are the admin UI's as seen in public examples; the Architect workflow, the credential and the trigger paths
are our best reading of the admin UI and are uncertain (the UI can move them without notice). A simulator has no
admin UI: its links keep the same paths on the simulator's host.
"""

from __future__ import annotations

from screenpop.install import blueprint
from screenpop.validation import genesys_base_url, is_simulator_environment

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
