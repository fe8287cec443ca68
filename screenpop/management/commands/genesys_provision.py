"""`manage.py genesys_provision`: the install wizard's provisioning from a script, for an existing tenant.

    python manage.py genesys_provision --org-id ORG --client-id ID --client-secret SECRET [--queues Support Billing]
    python manage.py genesys_provision --org-id ORG --client-id ID --client-secret SECRET --uninstall

The OAuth client is an admin's client-credentials client of that org (a role with the permissions the wizard checks,
e.g. Master Admin). Create the tenant and its Freshdesk connection first (`tenant_create`). Running it again updates
what exists and creates only what is missing. The Architect workflow is published through the API with the org's home
division, then the trigger is created: nothing is left to do by hand.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from screenpop.errors import ScreenpopError
from screenpop.genesys.api import GenesysApi, login_with_client_credentials
from screenpop.install import checks, provisioning, uninstall
from screenpop.models import QueueFilter, Tenant


class Command(BaseCommand):
    help = "Provision (or --uninstall) the app's Genesys Cloud objects for a tenant, with an admin OAuth client."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org-id", required=True, help="Genesys organisation id of the tenant")
        parser.add_argument("--client-id", required=True, help="an admin client-credentials OAuth client of the org")
        parser.add_argument("--client-secret", required=True)
        parser.add_argument(
            "--queues",
            nargs="*",
            metavar="QUEUE",
            help="queue names or ids to pop for (replaces the tenant's filters; give none for every queue)",
        )
        parser.add_argument("--uninstall", action="store_true", help="remove everything instead")
        parser.add_argument("--json", action="store_true", help="print the report as JSON (last line)")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(genesys_org_id=options["org_id"]).first()
        if tenant is None:
            raise CommandError(f"No tenant for organisation {options['org_id']}: create it with tenant_create first.")
        try:
            api = login_with_client_credentials(
                environment=tenant.region, client_id=options["client_id"], client_secret=options["client_secret"]
            ).api
            org_id = (api.token_info().get("organization") or {}).get("id")
            if org_id != tenant.genesys_org_id:
                raise CommandError(f"That OAuth client belongs to organisation {org_id}, not {tenant.genesys_org_id}.")
            if options["uninstall"]:
                report = uninstall.uninstall(tenant=tenant, api=api)
            else:
                if not checks.product_available(api):
                    raise CommandError(
                        f"The app is not available to this organisation: its integration type "
                        f"{checks.premium_type_id()!r} is not listed. Get it from Genesys AppFoundry first."
                    )
                if options["queues"] is not None:
                    self._set_queues(tenant, api, options["queues"])
                report = provisioning.provision(tenant=tenant, api=api)
        except ScreenpopError as error:
            raise CommandError(error.detail) from error
        for step in report.steps:
            self.stdout.write(f"{step.status:>9}  {step.label}: {step.detail}")
        if options["json"]:
            self.stdout.write(json.dumps(report.as_json()))
        if not report.ok:
            raise CommandError(f"{report.action} stopped: {report.error}")

    def _set_queues(self, tenant: Tenant, api: GenesysApi, wanted: list[str]) -> None:
        queues = api.queues()
        by_key = {queue["id"]: queue for queue in queues} | {queue["name"].lower(): queue for queue in queues}
        unknown = [name for name in wanted if name not in by_key and name.lower() not in by_key]
        if unknown:
            raise CommandError(f"No such queue in the organisation: {', '.join(unknown)}")
        chosen = {queue["id"]: queue["name"] for name in wanted for queue in [by_key.get(name) or by_key[name.lower()]]}
        QueueFilter.objects.filter(tenant=tenant).exclude(queue_id__in=chosen).delete()
        for queue_id, name in chosen.items():
            QueueFilter.objects.update_or_create(tenant=tenant, queue_id=queue_id, defaults={"name": name[:200]})
