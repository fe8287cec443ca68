"""`manage.py purge_old_records`: delete event-log rows and pops past the retention period now (the server does it
hourly when its workers run)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from screenpop.retention import purge_old_records


class Command(BaseCommand):
    help = "Delete event-log rows and pops older than SCREENPOP_RETENTION_DAYS, and expired OAuth tokens."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help=f"Keep this many days instead of SCREENPOP_RETENTION_DAYS ({settings.SCREENPOP_RETENTION_DAYS})",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        days = options["days"]
        if days is not None and days < 1:
            raise CommandError("--days must be at least 1 (SCREENPOP_RETENTION_DAYS=0 is how retention is turned off).")
        report = purge_old_records(days=days)
        if report.cutoff is None:
            self.stdout.write("Retention is off (SCREENPOP_RETENTION_DAYS=0): nothing deleted.")
            return
        self.stdout.write(
            f"Deleted {report.events} event-log rows and {report.pops} pops received before "
            f"{report.cutoff.isoformat(timespec='seconds')}; expired OAuth tokens cleared."
        )
