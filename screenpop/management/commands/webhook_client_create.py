"""`manage.py webhook_client_create`: issue the OAuth client a tenant's Genesys data action authenticates with."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from screenpop import tenants
from screenpop.models import Tenant


class Command(BaseCommand):
    help = "Issue a webhook OAuth client (client credentials) for a tenant. The secret is printed once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org-id", required=True, help="Genesys organisation id of the tenant")
        parser.add_argument("--name", default="")
        parser.add_argument("--json", action="store_true", help='Print {"client_id": ..., "client_secret": ...}')

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(genesys_org_id=options["org_id"]).first()
        if tenant is None:
            raise CommandError(f"No tenant for organisation {options['org_id']}: create it with tenant_create first.")
        issued = tenants.webhook_client_create(tenant=tenant, name=options["name"])
        if options["json"]:
            self.stdout.write(json.dumps({"client_id": issued.client_id, "client_secret": issued.client_secret}))
        else:
            self.stdout.write(f"client_id:     {issued.client_id}\nclient_secret: {issued.client_secret}")
            self.stdout.write(self.style.WARNING("The secret is not stored in clear and will not be shown again."))
