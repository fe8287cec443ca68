"""Issue 22, point 6: pops from the tenant's mirror, in a call storm on the Growth, Pro and Enterprise plans at once.

Three accounts (three Freshdesk simulators, one per plan), each with its tenant on one screenpop server whose mirror
is on, run the same storm at the same time: 600 calls in 60 s each (100 in 20 s with --quick). The callers:

- long-known (65% of the calls, some calling twice): contacts a day old, stored in messy spellings, each with 0-2
  tickets; the mirror copied them in its first sync, before the storm;
- created in the last minute (15%): each contact is created in Freshdesk 10-50 s before its one call, during the
  storm, so only the mirror's catch-up (or its periodic sync) can know it;
- unknown (20%): numbers Freshdesk does not have.

Figures per plan, beside the issue's targets: the share of known callers' calls (long-known and new) matched within
1 s and within 2 s of the webhook (`completed_at - received_at`), Freshdesk calls per pop (every call the simulator
answered during the storm and its settling, the mirror's own syncs included), 429s, and the mirror's staleness at
pop time (`completed_at` minus the moment up to which the mirror was complete, `as_of`, for pops it answered).

Real time, as in bench/api_economy: the rate budget, caches and leases count wall-clock seconds.

    .venv/bin/python -m bench.mirror_economy [--quick] [--production | --both]
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import random
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bench.api_economy import StormCall, _epoch, _send_storm, _wait_settled
from bench.common import (
    CONFIG_LABELS,
    UNKNOWN_AREA_CODES,
    Table,
    contacts_create,
    fiction_numbers,
    freshdesk_simulator,
    log,
    machine_line,
    messy,
    parse_args,
    percentile,
    screenpop_stack,
    simulator_log,
    tenant_install,
    write_results,
)

NAME = "mirror_economy"
PLANS = ("growth", "pro", "enterprise")
LONG_KNOWN_SHARE, NEW_SHARE = 0.65, 0.15  # the rest are unknown numbers
REPEAT_SHARE_OF_KNOWN = 0.25
NEW_CONTACT_LEAD = (10.0, 50.0)  # seconds between a new contact's creation and its call
TARGETS = {"within_1s": 0.99, "calls_per_pop": 0.05, "freshdesk_429s": 0}
MIRROR_ENV = {"SCREENPOP_MIRROR_TICK_SECONDS": "1"}


@dataclass(frozen=True)
class NewContact:
    create_at: float  # seconds after the storm's start
    phone: str
    index: int


def storm_plan(calls: int, seconds: float, *, seed: int = 22) -> tuple[list[StormCall], list[str], list[NewContact]]:
    """The calls, the long-known callers' numbers (made before the storm) and the contacts made during it."""
    rng = random.Random(seed)
    new = round(calls * NEW_SHARE)
    long_calls = round(calls * LONG_KNOWN_SHARE)
    unknown = calls - new - long_calls
    distinct_long = long_calls - round(long_calls * REPEAT_SHARE_OF_KNOWN)
    long_numbers = fiction_numbers(distinct_long)
    new_numbers = fiction_numbers(new, start=distinct_long)
    unknown_numbers = fiction_numbers(unknown, area_codes=UNKNOWN_AREA_CODES)
    callers = (
        [(number, "long") for number in long_numbers]
        + [(rng.choice(long_numbers), "long") for _ in range(long_calls - distinct_long)]
        + [(number, "unknown") for number in unknown_numbers]
    )
    rng.shuffle(callers)
    # New callers ring once their contact is old enough: never in the storm's first NEW_CONTACT_LEAD[0] seconds.
    slots = [index * seconds / calls for index in range(calls)]
    lead_range = (NEW_CONTACT_LEAD[0], min(NEW_CONTACT_LEAD[1], seconds * 5 / 6))
    late = [slot for slot in slots if slot >= lead_range[0]]
    new_slots = set(rng.sample(late, new))
    plan: list[StormCall] = []
    contacts: list[NewContact] = []
    new_iter, other_iter = iter(new_numbers), iter(callers)
    for at in slots:
        if at in new_slots:
            phone = next(new_iter)
            lead = min(at, rng.uniform(*lead_range))
            contacts.append(NewContact(at - lead, phone, len(contacts)))
            plan.append(StormCall(at, phone, "new", True))
        else:
            phone, kind = next(other_iter)
            plan.append(StormCall(at, phone, kind, kind == "long"))
    return plan, long_numbers, sorted(contacts, key=lambda contact: contact.create_at)


async def _create_during_storm(simulator: Any, contacts: list[NewContact]) -> None:
    started = time.perf_counter()
    for contact in contacts:
        delay = started + contact.create_at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        await asyncio.to_thread(
            simulator.create_contact, name=f"New Caller {contact.index}", phone=messy(contact.phone, contact.index)
        )


def _wait_live(stack: Any, tenant_ids: list[int], *, seconds: float) -> float:
    started = time.monotonic()
    ids = ", ".join(str(tenant_id) for tenant_id in tenant_ids)
    while time.monotonic() - started < seconds:
        rows = stack.sql(f"SELECT COUNT(*) FROM screenpop_mirrorsync WHERE tenant_id IN ({ids}) AND phase = 'live'")
        if rows[0][0] == len(tenant_ids):
            return time.monotonic() - started
        time.sleep(1.0)
    raise RuntimeError(f"the mirrors were not live within {seconds:.0f} s")


def _account_figures(stack: Any, tenant_id: int, simulator: Any, since: int, plan: list[StormCall]) -> dict[str, Any]:
    entries, _ = simulator_log(simulator, since)
    statuses = Counter(entry["status"] for entry in entries)
    rows = stack.sql(
        "SELECT conversation_id, state, received_at, completed_at, result FROM screenpop_pop "
        f"WHERE tenant_id = {tenant_id} AND conversation_id LIKE 'storm-%'"
    )
    kinds = {f"{index:04d}": call.kind for index, call in enumerate(plan)}
    within = {1.0: 0, 2.0: 0}
    missed: Counter[str] = Counter()  # known callers' calls not matched within 1 s, by kind
    staleness: list[float] = []
    sources: Counter[str] = Counter()
    for conversation, state, received, completed, result in rows:
        kind = kinds.get(conversation.rsplit("-", 1)[-1], "?")
        data = json.loads(result) if isinstance(result, str) else (result or {})
        sources[data.get("source") or "-"] += 1
        delay = _epoch(completed) - _epoch(received) if completed is not None else None
        if state == "matched" and kind in ("long", "new") and delay is not None:
            for limit in within:
                within[limit] += delay <= limit
        if kind in ("long", "new") and not (state == "matched" and delay is not None and delay <= 1.0):
            missed[f"{kind}: {state}"] += 1
        as_of = _epoch(data.get("as_of"))
        if as_of is not None and completed is not None:
            staleness.append(_epoch(completed) - as_of)
    known = sum(1 for call in plan if call.known)
    pops = len(rows)
    return {
        "pops": pops,
        "states": dict(Counter(row[1] for row in rows)),
        "sources": dict(sources),
        "known_calls": known,
        "within_1s": within[1.0] / known if known else None,
        "within_2s": within[2.0] / known if known else None,
        "missed_within_1s": dict(missed),
        "freshdesk_calls": len(entries),
        "freshdesk_calls_by_endpoint": dict(Counter(entry["endpoint"] for entry in entries)),
        "calls_per_pop": len(entries) / pops if pops else None,
        "freshdesk_429s": statuses.get(429, 0),
        "staleness_median_s": percentile(staleness, 0.5),
        "staleness_max_s": max(staleness) if staleness else None,
    }


def run_config(config: str, *, calls: int, seconds: float, drain: float) -> dict[str, Any]:
    plan, long_numbers, new_contacts = storm_plan(calls, seconds)
    results: dict[str, Any] = {"config": config, "calls": calls, "seconds": seconds}
    results["mix"] = dict(Counter(call.kind for call in plan))
    with (
        freshdesk_simulator(plan="growth") as growth,
        freshdesk_simulator(plan="pro") as pro,
        freshdesk_simulator(plan="enterprise") as enterprise,
        screenpop_stack(config, **MIRROR_ENV) as stack,
    ):
        accounts = {"growth": growth, "pro": pro, "enterprise": enterprise}
        tenants = {}
        for name, simulator in accounts.items():
            log(f"{config}: {len(long_numbers)} long-known contacts in the {name} account")
            contacts_create(simulator, long_numbers, tickets_per_contact=(1, 0, 2))
            tenants[name] = tenant_install(stack, org_id=f"org-mirror-{name}", simulator=simulator, plan=name)
        with stack.serve() as (_, base_url):
            results["first_sync_seconds"] = _wait_live(stack, [t.id for t in tenants.values()], seconds=240)
            log(f"{config}: mirrors live after {results['first_sync_seconds']:.0f} s; storm of {calls} calls each")
            tokens = {name: tenant.token(base_url) for name, tenant in tenants.items()}
            since = {name: simulator_log(simulator)[1] for name, simulator in accounts.items()}

            async def storm() -> None:
                prefix = f"storm-{uuid.uuid4().hex[:6]}"
                await asyncio.gather(
                    *(_send_storm(base_url, tokens[name], plan, f"{prefix}{name[0]}") for name in accounts),
                    *(_create_during_storm(simulator, new_contacts) for simulator in accounts.values()),
                )

            started = time.monotonic()
            asyncio.run(storm())
            results["storm_seconds"] = time.monotonic() - started
            results["settle_seconds"] = _wait_settled(stack, [t.id for t in tenants.values()], seconds=drain)
            for name, simulator in accounts.items():
                results[name] = _account_figures(stack, tenants[name].id, simulator, since[name], plan)
    return results


def _fraction(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} s"


def table_for(results: dict[str, Any], label: str) -> Table:
    mix = results["mix"]
    table = Table(
        f"Pops from the mirror: {label}; {results['calls']} calls in {results['seconds']:.0f} s on each of Growth, "
        f"Pro and Enterprise at once ({mix.get('long', 0)} from long-known callers, {mix.get('new', 0)} from "
        f"contacts created 10-50 s before their call (10-17 s with --quick), {mix.get('unknown', 0)} unknown)"
    )
    for plan in PLANS:
        account = results[plan]
        table.add(
            f"{plan}: known callers matched within 1 s / 2 s",
            f"{_fraction(account['within_1s'])} / {_fraction(account['within_2s'])}",
            ">= 99% within 1 s",
            f"of {account['known_calls']} calls; answered by: {account['sources']}; not within 1 s: "
            f"{account['missed_within_1s'] or 'none'}",
        )
        table.add(
            f"{plan}: Freshdesk calls per pop; 429s",
            f"{account['calls_per_pop']:.3f}; {account['freshdesk_429s']}",
            "<= 0.05; 0",
            ", ".join(f"{n} {name}" for name, n in sorted(account["freshdesk_calls_by_endpoint"].items())),
        )
        table.add(
            f"{plan}: mirror staleness at pop time, median / max",
            f"{_seconds(account['staleness_median_s'])} / {_seconds(account['staleness_max_s'])}",
            "",
            "completed_at minus the moment up to which the mirror was complete",
        )
    table.notes.append(
        f"The first sync of the three accounts took {results['first_sync_seconds']:.0f} s before the storm; the storm "
        f"took {results['storm_seconds']:.0f} s, and pops still pending were given {results['settle_seconds']:.0f} s."
    )
    return table


def summary(figures: dict[str, Any]) -> list[tuple[str, str, str]]:
    rows = []
    for config in ("embedded", "production"):
        results = figures.get(config)
        if not results:
            continue
        storm = f"{results['calls']} calls in {results['seconds']:.0f} s"
        for plan in PLANS:
            account = results[plan]
            rows.append(
                (
                    f"Mirror, {config}, {storm}, {plan}: known matched within 1 s; calls per pop; 429s",
                    f"{_fraction(account['within_1s'])}; {account['calls_per_pop']:.3f}; {account['freshdesk_429s']}",
                    ">= 99%; <= 0.05; 0",
                )
            )
    return rows


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse_args(__doc__.splitlines()[0], argv)
    # Quick: a sixth of the calls over a third of the time, so that a new contact is still 10 s old or more.
    calls, seconds, drain = (100, 20.0, 10.0) if args.quick else (600, 60.0, 40.0)
    print(f"{NAME}: {machine_line()}")
    figures: dict[str, Any] = {"targets": TARGETS, "date": dt.datetime.now(dt.UTC).isoformat()}
    tables = []
    for config in args.configs:
        results = run_config(config, calls=calls, seconds=seconds, drain=drain)
        figures[config] = results
        tables.append(table_for(results, CONFIG_LABELS[config]))
    write_results(NAME, figures, tables, quick=args.quick)
    for table in tables:
        print(table.markdown())
    return figures


if __name__ == "__main__":
    main()
