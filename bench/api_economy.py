"""Issue 7.3, Freshdesk API economy: a storm of calls against an account on the Growth plan, with and without the
phone index.

The storm: 600 calls in 60 s (100 in 10 s with --quick, a sixth of the storm: its per-minute figures are not the
full storm's), 30% from callers who already called in the storm, 10% from numbers Freshdesk does not know, the rest from
distinct known callers whose numbers are stored in messy spellings (`(202) 555-0147`, `202.555.0147`,
`+1 202-555-0147 x12`, mobiles...), each with 0-2 tickets. Two accounts (two simulators on the Growth plan: 200
calls a minute, tickets list and contacts list 20 each) run the same storm at the same time against one server:

- "index": the phone index was synced after the contacts were made (the sync's contacts-list calls fall in the
  minute before the storm and are not counted);
- "no index": the index was synced before they existed, so it does not know them; every first lookup asks
  Freshdesk search. (There is no switch to turn the index off: a contact found by search is still written to the
  index as the product does, and the periodic refresh is held off with SCREENPOP_INDEX_SYNC_SECONDS.)

Real time, not the simulator's fast clock: the product's rate budget, its 60 s result cache, its 30 s miss cache,
its retries and leases all count wall-clock seconds; a simulator minute N times shorter would refill the account N
times faster than the budget believes (so no 429 could ever happen) and the caches would span N simulated minutes.

Figures per account: Freshdesk calls (from the simulator's log) per pop, 429s received, pops by final state,
matched within 2 s of the webhook (`completed_at - received_at`), and the least the storm could cost (anchor).

    .venv/bin/python -m bench.api_economy [--quick] [--production | --both]
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bench.common import (
    CONFIG_LABELS,
    UNKNOWN_AREA_CODES,
    WEBHOOK_PATH,
    HttpPool,
    Stack,
    Table,
    Tenant,
    contacts_create,
    fiction_numbers,
    freshdesk_simulator,
    json_post_headers,
    log,
    machine_line,
    parse_args,
    screenpop_stack,
    simulator_log,
    tenant_install,
    webhook_body,
    write_results,
)
from tests.fixtures.freshdesk_sim import FreshdeskSim

NAME = "api_economy"
REPEAT_SHARE = 0.30
UNKNOWN_SHARE = 0.10
MATCH_WITHIN_SECONDS = 2.0
GROWTH_TICKETS_LIST_PER_MINUTE = 20
BUDGET_MARGIN = 0.10  # screenpop.freshdesk.budget's default safety margin


@dataclass(frozen=True)
class StormCall:
    at: float  # seconds after the start
    phone: str
    kind: str  # "first" (a known caller's first call), "repeat", "unknown"
    known: bool


def storm_plan(calls: int, seconds: float, *, seed: int = 7) -> tuple[list[StormCall], list[str]]:
    """The calls of the storm, evenly spaced, and the known callers' numbers (the contacts to create)."""
    rng = random.Random(seed)
    repeats = round(calls * REPEAT_SHARE)
    unknown = round(calls * UNKNOWN_SHARE)
    first = calls - repeats - unknown
    known_numbers = fiction_numbers(first)
    unknown_numbers = fiction_numbers(unknown, area_codes=UNKNOWN_AREA_CODES)
    # Kinds in a random order; a repeat needs somebody to have called before it.
    kinds = ["first"] * first + ["unknown"] * unknown + ["repeat"] * repeats
    rng.shuffle(kinds)
    while kinds[0] == "repeat":
        rng.shuffle(kinds)
    plan: list[StormCall] = []
    earlier: list[tuple[str, bool]] = []
    known_iter, unknown_iter = iter(known_numbers), iter(unknown_numbers)
    for index, kind in enumerate(kinds):
        at = index * seconds / calls
        if kind == "first":
            phone, known = next(known_iter), True
        elif kind == "unknown":
            phone, known = next(unknown_iter), False
        else:
            phone, known = rng.choice(earlier)
        earlier.append((phone, known))
        plan.append(StormCall(at, phone, kind, known))
    return plan, known_numbers


async def _send_storm(base_url: str, token: str, plan: list[StormCall], prefix: str) -> list[tuple[str, int]]:
    """POST the plan's calls at their times; returns (conversation id, status) per call."""
    pool = HttpPool(base_url, size=4)
    headers = json_post_headers(token)
    results: list[tuple[str, int]] = []

    async def send(index: int, call: StormCall) -> None:
        conversation = f"{prefix}-{index:04d}"
        status, _ = await pool.post(WEBHOOK_PATH, webhook_body(conversation, call.phone), headers)
        results.append((conversation, status))

    started = time.perf_counter()
    tasks = []
    for index, call in enumerate(plan):
        delay = started + call.at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(send(index, call)))
    await asyncio.gather(*tasks)
    await pool.close()
    return results


async def _send_both(base_url: str, storms: dict[str, tuple[str, list[StormCall], str]]) -> dict[str, Any]:
    names = list(storms)
    outcomes = await asyncio.gather(*(_send_storm(base_url, *storms[name]) for name in names))
    return dict(zip(names, outcomes, strict=True))


def _wait_settled(stack: Stack, tenant_ids: list[int], *, seconds: float) -> float:
    """Wait until no pop of these tenants is pending, at most `seconds`; returns the seconds waited."""
    started = time.monotonic()
    ids = ", ".join(str(tenant_id) for tenant_id in tenant_ids)
    while time.monotonic() - started < seconds:
        pending = stack.sql(f"SELECT COUNT(*) FROM screenpop_pop WHERE tenant_id IN ({ids}) AND state = 'pending'")
        if pending[0][0] == 0:
            break
        time.sleep(1.0)
    return time.monotonic() - started


def _epoch(value: str | None) -> float | None:
    if not value:
        return None
    parsed = dt.datetime.fromisoformat(value)
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)).timestamp()


def _account_figures(
    stack: Stack, tenant: Tenant, simulator: FreshdeskSim, since: int, plan: list[StormCall], sent: list[tuple]
) -> dict[str, Any]:
    entries, _ = simulator_log(simulator, since)
    by_endpoint = Counter(entry["endpoint"] for entry in entries)
    statuses = Counter(entry["status"] for entry in entries)
    rows = stack.sql(
        "SELECT conversation_id, state, received_at, completed_at, freshdesk_calls, attempts FROM screenpop_pop "
        f"WHERE tenant_id = {tenant.id} AND conversation_id LIKE 'storm-%'"
    )
    states = Counter(row[1] for row in rows)
    matched_fast = 0
    for _, state, received, completed, _, _ in rows:
        delay = _epoch(completed) - _epoch(received) if completed is not None else None
        if state == "matched" and delay is not None and delay <= MATCH_WITHIN_SECONDS:
            matched_fast += 1
    expected_matches = sum(1 for call in plan if call.known)
    distinct_known = len({call.phone for call in plan if call.known})
    distinct_unknown = len({call.phone for call in plan if not call.known})
    pops = len(rows)
    return {
        "calls_placed": len(plan),
        "acks": dict(Counter(status for _, status in sent)),
        "pops": pops,
        "states": dict(states),
        "freshdesk_calls": len(entries),
        "freshdesk_calls_by_endpoint": dict(by_endpoint),
        "freshdesk_statuses": {str(key): value for key, value in statuses.items()},
        "freshdesk_429s": statuses.get(429, 0),
        "calls_per_pop": len(entries) / pops if pops else None,
        "expected_matches": expected_matches,
        "matched": states.get("matched", 0),
        "matched_within_2s": matched_fast,
        "distinct_known_callers": distinct_known,
        "distinct_unknown_numbers": distinct_unknown,
        "pops_counted_calls": sum(row[4] for row in rows),
    }


def run_config(config: str, *, calls: int, seconds: float, drain: float) -> dict[str, Any]:
    plan, known_numbers = storm_plan(calls, seconds)
    results: dict[str, Any] = {
        "config": config,
        "calls": calls,
        "seconds": seconds,
        "mix": dict(Counter(call.kind for call in plan)),
    }
    with (
        freshdesk_simulator(plan="growth") as indexed_sim,
        freshdesk_simulator(plan="growth") as unindexed_sim,
        screenpop_stack(config) as stack,
    ):
        accounts = {"index": indexed_sim, "no_index": unindexed_sim}
        tenants = {
            name: tenant_install(stack, org_id=f"org-economy-{name}", simulator=simulator, plan="growth")
            for name, simulator in accounts.items()
        }
        # "no index": synced while the account held only the seed, so the callers are unknown to the index.
        stack.server.manage("phone_index_sync", "--org-id", tenants["no_index"].org_id)
        for name, simulator in accounts.items():
            log(f"{config}: {len(known_numbers)} contacts in the '{name}' account")
            contacts_create(simulator, known_numbers, tickets_per_contact=(1, 0, 2))
        stack.server.manage("phone_index_sync", "--org-id", tenants["index"].org_id)
        results["index_entries"] = {
            name: stack.sql(f"SELECT COUNT(*) FROM screenpop_phoneindexentry WHERE tenant_id = {tenant.id}")[0][0]
            for name, tenant in tenants.items()
        }
        with stack.serve() as (_, base_url):
            tokens = {name: tenant.token(base_url) for name, tenant in tenants.items()}
            since = {name: simulator_log(simulator)[1] for name, simulator in accounts.items()}
            log(f"{config}: storm of {calls} calls in {seconds:.0f} s on both accounts at once")
            started = time.monotonic()
            sent = asyncio.run(
                _send_both(base_url, {name: (tokens[name], plan, f"storm-{uuid.uuid4().hex[:6]}") for name in accounts})
            )
            storm_seconds = time.monotonic() - started
            log(f"{config}: waiting up to {drain:.0f} s for pending pops (retries) to finish")
            waited = _wait_settled(stack, [tenant.id for tenant in tenants.values()], seconds=drain)
            results["storm_seconds"] = storm_seconds
            results["settle_seconds"] = waited
            for name, simulator in accounts.items():
                results[name] = _account_figures(stack, tenants[name], simulator, since[name], plan, sent[name])
    return results


def table_for(results: dict[str, Any], label: str) -> Table:
    calls, seconds = results["calls"], results["seconds"]
    mix = results["mix"]
    table = Table(
        f"Freshdesk API economy: {label}; {calls} calls in {seconds:.0f} s on the Growth plan "
        f"({mix.get('first', 0)} first calls of known callers, {mix.get('repeat', 0)} repeats, "
        f"{mix.get('unknown', 0)} unknown numbers)"
    )
    index, no_index = results["index"], results["no_index"]
    tickets_budget = int(GROWTH_TICKETS_LIST_PER_MINUTE * (1 - BUDGET_MARGIN))
    minutes = max(1.0, (results["storm_seconds"] + results["settle_seconds"]) / 60)
    table.add(
        "anchor: the least this storm can cost",
        f"{index['distinct_known_callers'] + index['distinct_unknown_numbers']} calls with the index, "
        f"{2 * index['distinct_known_callers'] + index['distinct_unknown_numbers']} without",
        "",
        f"one ticket list per distinct known caller (+ one search without the index), one search per unknown "
        f"number; the Growth ticket-list limit lets {tickets_budget} through a minute with the budget's 10% margin",
    )

    def both(key: str, fmt: str = "{}") -> str:
        return f"{fmt.format(index[key])} / {fmt.format(no_index[key])}"

    table.add("Freshdesk calls, index / no index", both("freshdesk_calls"), "", "")
    table.add(
        "Freshdesk calls per pop, index / no index",
        f"{index['calls_per_pop']:.2f} / {no_index['calls_per_pop']:.2f}",
        "",
        "index: "
        + ", ".join(f"{n} {name}" for name, n in sorted(index["freshdesk_calls_by_endpoint"].items()))
        + "; no index: "
        + ", ".join(f"{n} {name}" for name, n in sorted(no_index["freshdesk_calls_by_endpoint"].items())),
    )
    table.add("429s received, index / no index", both("freshdesk_429s"), "0", "")
    table.add(
        "pops matched, index / no index",
        both("matched"),
        "",
        f"of {index['expected_matches']} calls from known callers; final states: index {index['states']}, "
        f"no index {no_index['states']}",
    )
    table.add(
        f"matched within {MATCH_WITHIN_SECONDS:.0f} s, index / no index",
        f"{index['matched_within_2s']} ({index['matched_within_2s'] / index['expected_matches']:.0%}) / "
        f"{no_index['matched_within_2s']} ({no_index['matched_within_2s'] / no_index['expected_matches']:.0%})",
        "",
        "share of the calls from known callers; the time is the pop's completed_at - received_at",
    )
    table.notes.append(
        f"The storm took {results['storm_seconds']:.0f} s; pops still retrying were given "
        f"{results['settle_seconds']:.0f} s more (the figures count calls over {minutes:.1f} minutes)."
    )
    table.notes.append(
        "Real time: the product's rate budget, caches, retries and leases count wall-clock seconds, so a fast "
        "simulator clock would not keep the per-minute semantics on the product's side."
    )
    return table


def summary(figures: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(figure, measured, target) rows for bench/results/latest.md."""
    rows = []
    for config in ("embedded", "production"):
        results = figures.get(config)
        if not results:
            continue
        storm = f"{results['calls']} calls in {results['seconds']:.0f} s"
        for name, title in (("index", "index"), ("no_index", "no index")):
            account = results[name]
            rows.append(
                (
                    f"API economy, {config}, {storm}, {title}: Freshdesk calls per pop; 429s",
                    f"{account['calls_per_pop']:.2f}; {account['freshdesk_429s']}",
                    "429s: 0",
                )
            )
            rows.append(
                (
                    f"API economy, {config}, {storm}, {title}: matched (within 2 s) of calls from known callers",
                    f"{account['matched']} ({account['matched_within_2s']}) of {account['expected_matches']}",
                    "",
                )
            )
    return rows


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse_args(__doc__.splitlines()[0], argv)
    calls, seconds, drain = (100, 10.0, 4.0) if args.quick else (600, 60.0, 40.0)
    print(f"{NAME}: {machine_line()}")
    figures: dict[str, Any] = {"targets": {"freshdesk_429s": 0}}
    tables = []
    for config in args.configs:
        results = run_config(config, calls=calls, seconds=seconds, drain=drain)
        figures[config] = results
        tables.append(table_for(results, CONFIG_LABELS[config]))
    write_results(NAME, figures, tables, quick=args.quick)
    return figures


if __name__ == "__main__":
    main()
