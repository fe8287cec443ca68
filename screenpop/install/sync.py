"""Queue filters → Genesys: the trigger's `matchCriteria` and the widget's `queueIdFilterList` follow the tenant's
queue filters whenever an admin changes them (Django admin or wizard).

The sync logs in with the tenant's own client-credentials client (made by the install, its role limited to what
this needs), updates each object with optimistic concurrency (read, change only the queues, write with the version
read, re-read once on a 409) and records the outcome on the tenant: `sync_state` ok or failed, and `sync_error`
saying what went wrong and what to do, shown in the admin with a retry action.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction

from screenpop.errors import ScreenpopError
from screenpop.genesys.api import login_with_client_credentials
from screenpop.genesys.errors import GenesysAuthError
from screenpop.install import blueprint
from screenpop.install.errors import InstallNotPossible
from screenpop.install.provisioning import tenant_install_lock
from screenpop.install.services import queue_ids
from screenpop.models import QueueFilter, Tenant

logger = logging.getLogger("screenpop.install.sync")


@dataclass(frozen=True)
class SyncResult:
    tenant_id: int
    state: str
    detail: str
    trigger_changed: bool = False
    widget_changed: bool = False


def needs_sync(tenant: Tenant) -> bool:
    """Whether the install made something that carries the queue filters."""
    objects = tenant.genesys_objects or {}
    return bool(objects.get("trigger") or objects.get("widget"))


def queue_filters_sync(*, tenant: Tenant) -> SyncResult:
    """Send the tenant's queue filters to its trigger and widget. Never raises for a Genesys failure: the outcome
    is recorded on the tenant (`sync_state`, `sync_error`) and returned. Waits for no install: while one runs for
    the tenant, the sync is recorded as failed, to be retried."""
    try:
        with tenant_install_lock(tenant):
            tenant.refresh_from_db()
            return _sync(tenant)
    except InstallNotPossible as error:
        return _record(tenant, Tenant.SyncState.FAILED, f"Queue filters not sent yet: {error.detail} Then retry.")


def _sync(tenant: Tenant) -> SyncResult:
    if not needs_sync(tenant):
        return _record(tenant, Tenant.SyncState.OK, "", "Nothing installed in Genesys Cloud yet: nothing to sync.")
    if not (tenant.genesys_sync_client_id and tenant.genesys_sync_client_secret):
        return _record(
            tenant,
            Tenant.SyncState.FAILED,
            "The tenant has no Genesys sync client. Run the install wizard again (/install/) to recreate it.",
        )
    _record(tenant, Tenant.SyncState.PENDING, "")
    queues = queue_ids(tenant)
    objects = dict(tenant.genesys_objects)
    trigger_changed = widget_changed = False
    try:
        api = login_with_client_credentials(
            environment=tenant.region,
            client_id=tenant.genesys_sync_client_id,
            client_secret=tenant.genesys_sync_client_secret,
        ).api
        if objects.get("trigger"):
            trigger, trigger_changed = api.trigger_update(
                objects["trigger"]["id"], lambda current: blueprint.trigger_with_queues(current, queues)
            )
            objects["trigger"] = {**objects["trigger"], "version": trigger["version"]}
        if objects.get("wrapup_trigger"):
            trigger, wrapup_changed = api.trigger_update(
                objects["wrapup_trigger"]["id"], lambda current: blueprint.trigger_with_queues(current, queues)
            )
            objects["wrapup_trigger"] = {**objects["wrapup_trigger"], "version": trigger["version"]}
            trigger_changed = trigger_changed or wrapup_changed
        if objects.get("widget"):
            config, widget_changed = api.integration_config_update(
                objects["widget"]["id"],
                lambda current: {
                    **current,
                    "properties": {**(current.get("properties") or {}), "queueIdFilterList": list(queues)},
                },
            )
            objects["widget"] = {**objects["widget"], "config_version": config["version"]}
    except ScreenpopError as error:
        logger.warning("queue filter sync of tenant %s failed: %s", tenant.pk, error.detail)
        tenant.genesys_objects = objects  # what did get through (e.g. the trigger's new version)
        tenant.save(update_fields=["genesys_objects", "updated_at"])
        if isinstance(error, GenesysAuthError):
            # Not an admin's session: the tenant's own client was refused (deleted or deactivated in Genesys Cloud).
            message = (
                f"Genesys Cloud refused the app's sync client ({error.status}): it may have been deleted or "
                "deactivated. Run the install wizard again (/install/) to recreate it, then retry the sync."
            )
        else:
            message = f"Queue filters not sent to Genesys Cloud: {error.detail}"
        return _record(tenant, Tenant.SyncState.FAILED, message)
    tenant.genesys_objects = objects
    tenant.save(update_fields=["genesys_objects", "updated_at"])
    scope = f"{len(queues)} queue(s)" if queues else "every queue"
    detail = f"Trigger and widget follow {scope}."
    return _record(tenant, Tenant.SyncState.OK, "", detail, trigger_changed, widget_changed)


def _record(
    tenant: Tenant,
    state: str,
    error: str,
    detail: str = "",
    trigger_changed: bool = False,
    widget_changed: bool = False,
) -> SyncResult:
    tenant.sync_state, tenant.sync_error = state, error
    tenant.save(update_fields=["sync_state", "sync_error", "updated_at"])
    return SyncResult(tenant.pk, state, error or detail, trigger_changed, widget_changed)


def org_queues(*, tenant: Tenant) -> list[dict[str, str]]:
    """The org's queues `[{"id", "name"}]`, by name, read with the tenant's own sync client (its role holds
    `routing:queue:view`); the tenant's queue filters take the names Genesys has now (a queue renamed in Genesys is
    renamed here). Raises `InstallNotPossible` without a sync client, a `GenesysError` when Genesys refuses."""
    if not (tenant.genesys_sync_client_id and tenant.genesys_sync_client_secret):
        raise InstallNotPossible(
            "The tenant has no Genesys sync client yet: install the app with the wizard (/install/) first."
        )
    api = login_with_client_credentials(
        environment=tenant.region,
        client_id=tenant.genesys_sync_client_id,
        client_secret=tenant.genesys_sync_client_secret,
    ).api
    queues = [{"id": str(queue["id"]), "name": str(queue.get("name") or queue["id"])} for queue in api.queues()]
    queues.sort(key=lambda queue: queue["name"].lower())
    names = {queue["id"]: queue["name"][:200] for queue in queues}
    for queue_filter in QueueFilter.objects.filter(tenant=tenant):
        if queue_filter.queue_id in names and queue_filter.name != names[queue_filter.queue_id]:
            queue_filter.name = names[queue_filter.queue_id]
            queue_filter.save(update_fields=["name"])
    return queues


def queue_filters_sync_on_commit(*, tenant_id: int, done: Callable[[SyncResult], None] | None = None) -> None:
    """Sync after the current transaction commits (the admin's save), in this thread: the admin sees the outcome on
    the page it lands on. `done(result)` is called with the `SyncResult` when given."""

    def run() -> None:
        tenant = Tenant.objects.filter(pk=tenant_id).first()
        if tenant is None:
            return
        result = queue_filters_sync(tenant=tenant)
        if done is not None:
            done(result)

    transaction.on_commit(run)
