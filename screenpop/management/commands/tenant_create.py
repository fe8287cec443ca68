"""`manage.py tenant_create`: create a tenant (and its Freshdesk connection) from a script, as the admin would."""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from screenpop import tenants
from screenpop.models import FreshdeskConnection


def validation_message(error: ValidationError) -> str:
    if hasattr(error, "message_dict"):
        return "; ".join(f"{field}: {' '.join(messages)}" for field, messages in error.message_dict.items())
    return " ".join(error.messages)


class Command(BaseCommand):
    help = "Create a tenant for a Genesys Cloud organisation, optionally with its Freshdesk connection."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org-id", required=True, help="Genesys organisation id")
        parser.add_argument("--name", required=True)
        parser.add_argument("--region", default="mypurecloud.com", help="Genesys environment, e.g. mypurecloud.ie")
        parser.add_argument("--phone-region", default="US", help="Default country of callers' numbers (ISO code)")
        parser.add_argument("--freshdesk-domain", help="e.g. acme.freshdesk.com")
        parser.add_argument(
            "--freshdesk-url", help="Base URL of a Freshdesk simulator (only with SCREENPOP_ALLOW_SIMULATORS=1)"
        )
        parser.add_argument("--freshdesk-api-key")
        parser.add_argument(
            "--freshdesk-plan", default="growth", choices=[c for c, _ in FreshdeskConnection.Plan.choices]
        )
        parser.add_argument("--json", action="store_true", help="Print the result as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        domain = options["freshdesk_url"] or options["freshdesk_domain"]
        if domain and not options["freshdesk_api_key"]:
            raise CommandError("--freshdesk-api-key is required with --freshdesk-domain or --freshdesk-url.")
        try:
            tenant = tenants.tenant_create(
                org_id=options["org_id"],
                name=options["name"],
                region=options["region"],
                phone_region=options["phone_region"],
                freshdesk_domain=domain,
                freshdesk_api_key=options["freshdesk_api_key"],
                freshdesk_plan=options["freshdesk_plan"],
            )
        except ValidationError as error:
            raise CommandError(validation_message(error)) from error
        result = {
            "id": tenant.pk,
            "org_id": tenant.genesys_org_id,
            "name": tenant.name,
            "region": tenant.region,
            "phone_region": tenant.phone_region,
            "freshdesk_domain": domain,
        }
        if options["json"]:
            self.stdout.write(json.dumps(result))
        else:
            self.stdout.write(self.style.SUCCESS(f"Tenant {tenant} created."))
