"""How many Freshdesk calls one caller lookup costs: phone-index hit vs miss, matched vs unknown.

Starts the Freshdesk simulator (demo seed), sets Django up on a throw-away SQLite file, creates a tenant pointing at
the simulator, and runs `caller_lookup` for each case, printing the calls the lookup counted and the calls the
simulator logged (they must agree). Run: `.venv/bin/python -m bench.lookup_calls`.

API calls, not time, are what a Freshdesk account runs out of (Growth: 200/min, ticket and contact lists 20/min
each), so this is the figure that says how many pops a minute an account can afford.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fixtures.processes import free_port, running_process  # noqa: E402


def _configure_django(directory: Path) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "genesys_app.settings")
    os.environ["SQLITE_PATH"] = str(directory / "bench.sqlite3")
    os.environ["SCREENPOP_LOCAL_DIR"] = str(directory / "local")
    os.environ["SCREENPOP_ALLOW_SIMULATORS"] = "1"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


class SimulatorLog:
    """Reads the simulator's request log from where the last read stopped."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.seq = requests.get(f"{base_url}/_sim/requests", timeout=5).json()["last_seq"]

    def read(self) -> list[dict[str, Any]]:
        body = requests.get(f"{self.base_url}/_sim/requests", params={"since": self.seq}, timeout=5).json()
        self.seq = body["last_seq"]
        return body["requests"]


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-lookup-") as directory:
        _configure_django(Path(directory))
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        with running_process(
            ["-m", "simulators.freshdesk", "--port", str(port), "--seed", "demo", "--plan", "enterprise"],
            ready_url=f"{base_url}/_sim/health",
        ):
            run(base_url)


def run(base_url: str) -> None:
    from screenpop import tenants
    from screenpop.freshdesk.accounts import freshdesk_client_for
    from screenpop.freshdesk.labels import ticket_labels
    from screenpop.lookup.phone_index import phone_index_sync
    from screenpop.lookup.service import caller_lookup
    from screenpop.models import PhoneIndexEntry
    from screenpop.phones import normalize_caller
    from simulators.freshdesk import DEFAULT_API_KEY

    tenant = tenants.tenant_create(
        org_id="bench-org",
        name="Bench",
        phone_region="US",
        freshdesk_domain=base_url,
        freshdesk_api_key=DEFAULT_API_KEY,
        freshdesk_plan="enterprise",
    )
    client = freshdesk_client_for(tenant.freshdesk)
    log = SimulatorLog(base_url)
    rows: list[tuple[str, str, int | str, int, str]] = []

    def record(case: str, source: str, counted: int | str) -> None:
        entries = log.read()
        endpoints = Counter(entry["endpoint"] for entry in entries)
        rows.append((case, source, counted, len(entries), ", ".join(f"{n}x {name}" for name, n in endpoints.items())))

    def lookup(case: str, number: str) -> None:
        caller = normalize_caller(number, default_region=tenant.phone_region)
        result = caller_lookup(tenant=tenant, caller=caller, client=client)
        record(f"{case} ({result.state}, {len(result.contacts)} contact(s))", result.source, result.freshdesk_calls)

    ticket_labels(client)
    record("ticket labels (once an hour per account)", "-", "-")
    lookup("index miss, found by search", "tel:+15550199999")
    PhoneIndexEntry.objects.all().delete()
    report = phone_index_sync(tenant=tenant, client=client)
    record(f"phone index sync ({report.contacts_seen} contacts, {report.added} entries)", "-", report.freshdesk_calls)
    lookup("index hit, one contact", "tel:+15550199999")
    lookup("index hit, number shared by two contacts", "tel:+61355504321")
    lookup("unknown number, first call", "tel:+12015550100")
    lookup("unknown number, repeated", "tel:+12015550100")

    print(f"Freshdesk calls per caller lookup (simulator {base_url}, labels cached after the first row)")
    header = ("case", "source", "lookup counted", "simulator logged", "endpoints")
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(value).ljust(width) for value, width in zip(row, widths, strict=True)).rstrip())


if __name__ == "__main__":
    main()
