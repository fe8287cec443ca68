"""Issue 22, point 5: the mirror's size per record, and how long a large tenant's first sync takes within its plan.

1. **Bytes per row** on SQLite and PostgreSQL: a fresh, migrated database of each kind takes 20,000 contacts (each with
   a work phone and a mobile, so two phone-index entries) and 5,000 open tickets through the product's own writers
   (`phone_index_apply`, `mirror_tickets_write`); then each table's size on disk, indexes included, per row
   (`storage.mirror.mirror_bytes_per_row`), and per contact (its contact row and its two index entries).
2. **A scaled-down first sync, measured**: a Freshdesk simulator on the Growth plan (the tightest pacing: 9 list
   pages a minute of each kind) holding 2,000 more contacts and 500 more tickets than its seed (500 and 125 with
   --quick, which fits one round); a server with the mirror on; the time from start to a live mirror, the list
   calls it made, and so the contact pages it read a minute.
3. **A 1,000,000-contact, 200,000-open-ticket tenant, computed** from the pacing: one list call reads 100 records,
   and the first sync spends at most (1 - `SCREENPOP_MIRROR_BUDGET_RESERVE`) of each per-minute list limit (after
   the budget's 10% margin), so its time is pages / that rate, per plan. Ticket pages count open tickets only: an
   account's closed tickets updated since 2000 are listed too, and add their own pages at the same rate.

    .venv/bin/python -m bench.mirror_scale [--quick]
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from typing import Any

from bench.common import (
    CONFIG_LABELS,
    Table,
    fiction_numbers,
    freshdesk_simulator,
    log,
    machine_line,
    parse_args,
    screenpop_stack,
    simulator_log,
    tenant_install,
    write_results,
)
from screenpop.freshdesk.budget import PLANS

NAME = "mirror_scale"
BIG_CONTACTS, BIG_TICKETS = 1_000_000, 200_000
BUDGET_MARGIN = 0.10  # the rate budget's safety margin
RESERVE = 0.5  # SCREENPOP_MIRROR_BUDGET_RESERVE's default

_FILL = """
import json, datetime as dt
from screenpop.models import Tenant, FreshdeskConnection
from screenpop.lookup.phone_index import phone_index_apply
from screenpop.mirror.records import mirror_tickets_write
from screenpop.storage.mirror import mirror_bytes_per_row
tenant = Tenant.objects.create(name="Scale", genesys_org_id="org-scale")
FreshdeskConnection.objects.create(tenant=tenant, domain="scale.freshdesk.com", api_key="k")
at = "2026-11-01T10:00:00Z"
for start in range(0, {contacts}, 500):
    page = [
        dict(id=43000000000 + n, name=f"Customer number {{n}}", email=f"customer{{n}}@example.com",
             phone=f"(202) 555-{{n % 10000:04d}}", mobile=f"+1 415 555 {{n % 10000:04d}}", company_id=43000002001,
             updated_at=at, other_emails=[])
        for n in range(start, min(start + 500, {contacts}))
    ]
    phone_index_apply(tenant=tenant, contacts=page, fields=["phone", "mobile"])
for start in range(0, {tickets}, 500):
    page = [
        dict(id=1000 + n, subject=f"Order {{n}}: the parcel has not arrived yet", status=2 + n % 2, priority=1 + n % 4,
             requester_id=43000000000 + n % {contacts}, company_id=43000002001, group_id=43000003001,
             responder_id=43000004001, updated_at=at, due_by="2026-11-04T10:00:00Z")
        for n in range(start, min(start + 500, {tickets}))
    ]
    mirror_tickets_write(tenant=tenant, tickets=page)
print("SIZES " + json.dumps(mirror_bytes_per_row()))
"""


def bytes_per_row(config: str, *, contacts: int, tickets: int) -> dict[str, Any]:
    with screenpop_stack(config) as stack:
        started = time.monotonic()
        output = stack.server.manage("shell", "-c", _FILL.format(contacts=contacts, tickets=tickets))
        seconds = time.monotonic() - started
    sizes = json.loads(next(line for line in output.splitlines() if line.startswith("SIZES "))[6:])
    contact = sizes["screenpop_mirrorcontact"] + 2 * sizes["screenpop_phoneindexentry"]
    return {"tables": sizes, "per_contact": contact, "per_ticket": sizes["screenpop_mirrorticket"], "seconds": seconds}


def scaled_sync(*, contacts: int, tickets: int) -> dict[str, Any]:
    with (
        freshdesk_simulator(plan="growth") as simulator,
        screenpop_stack("embedded", SCREENPOP_MIRROR_TICK_SECONDS="1") as stack,
    ):
        log(f"scaled sync: {contacts} contacts and {tickets} tickets into the simulator")
        numbers = fiction_numbers(min(contacts, 1200))
        made = []
        for index in range(contacts):
            number = numbers[index % len(numbers)]
            made.append(
                simulator.create_contact(name=f"Scale {index}", phone=number, created_at="2026-01-01T00:00:00Z")
            )
        for index in range(tickets):
            simulator.create_ticket(requester_id=made[index % len(made)]["id"], subject=f"Scale ticket {index}")
        tenant = tenant_install(stack, org_id="org-scale", simulator=simulator, plan="growth")
        since = simulator_log(simulator)[1]
        with stack.serve():
            started = time.monotonic()
            while time.monotonic() - started < 600:
                phase = stack.sql(f"SELECT phase FROM screenpop_mirrorsync WHERE tenant_id = {tenant.id}")
                if phase and phase[0][0] == "live":
                    break
                time.sleep(0.5)
            seconds = time.monotonic() - started
            entries, _ = simulator_log(simulator, since)
            counted = stack.sql(
                f"SELECT COUNT(*) FROM screenpop_mirrorcontact WHERE tenant_id = {tenant.id} AND deleted = 0"
            )[0][0]
            open_tickets = stack.sql(f"SELECT COUNT(*) FROM screenpop_mirrorticket WHERE tenant_id = {tenant.id}")[0][0]
    calls: dict[str, int] = {}
    for entry in entries:
        calls[entry["endpoint"]] = calls.get(entry["endpoint"], 0) + 1
    return {
        "contacts": contacts,
        "tickets": tickets,
        "seconds_to_live": seconds,
        "calls": calls,
        "statuses": sorted({entry["status"] for entry in entries}),
        "mirrored_contacts": counted,
        "mirrored_open_tickets": open_tickets,
    }


def big_tenant_hours() -> dict[str, dict[str, float]]:
    """Hours of a first sync of BIG_CONTACTS contacts and BIG_TICKETS open tickets per plan, from the pacing."""
    hours = {}
    for name in ("growth", "pro", "enterprise"):
        plan = PLANS[name]
        per_minute = {
            kind: math.floor(limit * (1 - BUDGET_MARGIN)) * (1 - RESERVE)
            for kind, limit in (("contacts", plan.contacts_list), ("tickets", plan.tickets_list))
        }
        contact_minutes = math.ceil(BIG_CONTACTS / 100) / per_minute["contacts"]
        ticket_minutes = math.ceil(BIG_TICKETS / 100) / per_minute["tickets"]
        hours[name] = {
            "contact_pages_per_minute": per_minute["contacts"],
            "ticket_pages_per_minute": per_minute["tickets"],
            "contacts_hours": contact_minutes / 60,
            "tickets_hours": ticket_minutes / 60,
            "total_hours": (contact_minutes + ticket_minutes) / 60,
        }
    return hours


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse_args(__doc__.splitlines()[0], argv)
    print(f"{NAME}: {machine_line()}")
    rows, tickets = (5_000, 1_250) if args.quick else (10_000, 2_500)
    figures: dict[str, Any] = {"bytes": {}, "computed": big_tenant_hours()}
    for config in ("embedded", "production"):
        log(f"{config}: {rows} contacts and {tickets} tickets through the mirror's writers")
        try:
            figures["bytes"][config] = bytes_per_row(config, contacts=rows, tickets=tickets)
        except RuntimeError as error:
            figures["bytes"][config] = {"error": str(error)}
    figures["scaled"] = scaled_sync(contacts=500 if args.quick else 2_000, tickets=125 if args.quick else 500)

    table = Table(f"The mirror's size and a large tenant's first sync ({rows} contacts, {tickets} tickets written)")
    for config, measured in figures["bytes"].items():
        if "error" in measured:
            table.add(f"{CONFIG_LABELS[config]}: bytes per row", "-", "", measured["error"])
            continue
        table.add(
            f"{config}: bytes per contact (its row and 2 phone-index entries, indexes included); per open ticket",
            f"{measured['per_contact']:.0f}; {measured['per_ticket']:.0f}",
            "",
            "per table: " + ", ".join(f"{name} {size:.0f}" for name, size in measured["tables"].items() if size),
        )
        table.add(
            f"{config}: a 1,000,000-contact, 200,000-ticket mirror on disk",
            f"{(BIG_CONTACTS * measured['per_contact'] + BIG_TICKETS * measured['per_ticket']) / 2**30:.2f} GiB",
            "",
            "",
        )
    scaled = figures["scaled"]
    pages_per_minute = scaled["calls"].get("contacts.list", 0) / max(scaled["seconds_to_live"] / 60, 1)
    table.add(
        f"measured: first sync of {scaled['contacts']} + seed contacts, {scaled['tickets']} + seed tickets "
        "(Growth), start to live",
        f"{scaled['seconds_to_live']:.0f} s",
        "",
        f"{pages_per_minute:.1f} contact pages a minute; calls {scaled['calls']}; statuses {scaled['statuses']}; "
        f"mirrored {scaled['mirrored_contacts']} contacts, "
        f"{scaled['mirrored_open_tickets']} tickets not closed",
    )
    for name, computed in figures["computed"].items():
        table.add(
            f"computed: first sync of 1,000,000 contacts + 200,000 open tickets on {name}",
            f"{computed['total_hours']:.1f} h",
            "",
            f"{computed['contact_pages_per_minute']:.0f} contact pages and {computed['ticket_pages_per_minute']:.0f} "
            f"ticket pages a minute (half the limits after the 10% margin): contacts {computed['contacts_hours']:.1f} "
            f"h, tickets {computed['tickets_hours']:.1f} h",
        )
    write_results(NAME, figures, [table], quick=args.quick)
    print(table.markdown())
    return figures


def summary(figures: dict[str, Any]) -> list[tuple[str, str, str]]:
    rows = []
    for config, measured in figures["bytes"].items():
        if "error" not in measured:
            rows.append((f"Mirror, {config}: bytes per contact; per open ticket", f"{measured['per_contact']:.0f}; "
                         f"{measured['per_ticket']:.0f}", ""))  # fmt: skip
    return rows


if __name__ == "__main__":
    main()
