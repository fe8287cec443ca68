"""`manage.py phone_index_sync`: refresh the phone index of one tenant or of every active tenant now."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from screenpop.freshdesk import FreshdeskError
from screenpop.freshdesk.accounts import freshdesk_client_for
from screenpop.lookup.phone_index import phone_index_sync
from screenpop.models import FreshdeskConnection, Tenant

# A command run by an operator may wait for the account's per-minute budget (a first sync of a large account
# needs many contacts-list calls); the lookups' short wait would make it fail half-way instead.
COMMAND_BUDGET_WAIT_SECONDS = 65.0


class Command(BaseCommand):
    help = "Read the Freshdesk contacts changed since the last sync into the phone index (E.164 -> contact)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org-id", help="Genesys organisation id of one tenant (default: every active tenant)")
        parser.add_argument(
            "--max-pages", type=int, default=10, help="Contact pages (100 contacts, one call each) per tenant"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["max_pages"] < 1:
            raise CommandError("--max-pages must be at least 1.")
        tenants = Tenant.objects.filter(freshdesk__isnull=False).select_related("freshdesk").order_by("pk")
        if options["org_id"]:
            tenants = tenants.filter(genesys_org_id=options["org_id"])
            if not tenants:
                raise CommandError(f"No tenant with organisation id {options['org_id']!r} has a Freshdesk connection.")
        else:
            tenants = tenants.filter(active=True)
        failures = 0
        for tenant in tenants:
            connection: FreshdeskConnection = tenant.freshdesk
            try:
                client = freshdesk_client_for(connection, budget_wait=COMMAND_BUDGET_WAIT_SECONDS)
                report = phone_index_sync(tenant=tenant, client=client, max_pages=options["max_pages"])
            except FreshdeskError as error:
                failures += 1
                self.stderr.write(f"{tenant}: failed: {error.detail}")
                continue
            more = "" if report.complete else " (more pages remain: run again or raise --max-pages)"
            self.stdout.write(
                f"{tenant}: {report.contacts_seen} contacts read, {report.added} entries added, "
                f"{report.updated} updated, {report.removed} removed, {report.freshdesk_calls} Freshdesk calls; "
                f"synced until {report.synced_until:%Y-%m-%dT%H:%M:%SZ}{more}"
            )
        if failures:
            raise CommandError(f"{failures} tenant(s) failed; the reason is on their Freshdesk connection.")
