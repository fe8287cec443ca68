"""Before installing: is the premium app available to the org, and does the admin hold what the install needs?

Both are answered from Genesys itself (`integrations/types` lists a purchased premium type; `users/me` with
`expand=authorization` lists the user's permissions), and every problem comes with what to do about it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from screenpop.genesys.api import GenesysApi
from screenpop.install.config import premium_type_id

# Each permission the install, the test call or the uninstall uses (reference §4), and why.
REQUIRED_PERMISSIONS: dict[str, str] = {
    "integrations:integration:view": "find the app's integrations and credentials",
    "integrations:integration:add": "create the Web Services Data Actions and Interaction Widget integrations",
    "integrations:integration:edit": "configure them (credentials, widget URL, queues) and enable them",
    "integrations:integration:delete": "remove them on uninstall",
    "integrations:action:view": "find the data action",
    "integrations:action:add": "create the data action",
    "integrations:action:edit": "update it and its authentication action",
    "integrations:action:delete": "remove it on uninstall",
    "integrations:action:execute": "run the test call",
    "oauth:client:view": "find the app's OAuth clients",
    "oauth:client:add": "create the agents' login client and the sync client",
    "oauth:client:edit": "update them, and deactivate them on uninstall",
    "oauth:client:delete": "remove them on uninstall",
    "authorization:role:view": "find the sync client's role",
    "authorization:role:add": "create that role",
    "authorization:role:edit": "keep its permissions to the minimum",
    "authorization:role:delete": "remove it on uninstall",
    "authorization:grant:add": "hold the role yourself, which Genesys requires to give it to a client",
    "processautomation:trigger:view": "find the trigger",
    "processautomation:trigger:add": "create the trigger on inbound calls",
    "processautomation:trigger:edit": "keep its queues in sync",
    "processautomation:trigger:delete": "remove it on uninstall",
    "architect:flow:view": "find the workflow and follow its publish job",
    "architect:flow:add": "publish the app's workflow (an Architect publish job)",
    "architect:flow:edit": "publish a new version of it when the app's workflow changes",
    "architect:flow:delete": "remove the workflow on uninstall",
    "routing:queue:view": "list your queues",
}


@dataclass(frozen=True)
class MissingPermission:
    permission: str
    needed_to: str


@dataclass
class InstallCheck:
    """The outcome of the checks. `ok` when the app may be installed by this admin."""

    org_id: str
    org_name: str
    user_id: str
    user_name: str
    product_type_id: str
    product_available: bool
    missing_permissions: list[MissingPermission] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.product_available and not self.missing_permissions

    def as_session(self) -> dict[str, Any]:
        return {
            "product_type_id": self.product_type_id,
            "product_available": self.product_available,
            "missing_permissions": [[m.permission, m.needed_to] for m in self.missing_permissions],
        }


def permission_granted(granted: list[str], needed: str) -> bool:
    """Whether a permission string like `integrations:*:*` or `*:*:*` covers `needed`."""
    for have in granted:
        parts = have.split(":")
        if len(parts) == 3 and all(h in ("*", n) for h, n in zip(parts, needed.split(":"), strict=True)):
            return True
    return False


def install_check(api: GenesysApi) -> InstallCheck:
    """Run both checks with the admin's token (a user token: `users/me` refuses client credentials)."""
    me = api.me()
    granted = list((me.get("authorization") or {}).get("permissions") or [])
    missing = [
        MissingPermission(permission, needed_to)
        for permission, needed_to in REQUIRED_PERMISSIONS.items()
        if not permission_granted(granted, permission)
    ]
    organization = me.get("organization") or {}
    return InstallCheck(
        org_id=organization.get("id", ""),
        org_name=organization.get("name") or organization.get("thirdPartyOrgName") or "",
        user_id=me.get("id", ""),
        user_name=me.get("name") or me.get("email") or "",
        product_type_id=premium_type_id(),
        product_available=product_available(api),
        missing_permissions=missing,
    )


def product_available(api: GenesysApi) -> bool:
    """The premium app's integration type is listed: the org bought it (reference §4 "Integrations")."""
    wanted = premium_type_id()
    return any(item.get("id") == wanted for item in api.integration_types())
