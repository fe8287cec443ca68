"""Issue 7.2, time to pop: from sending the webhook to the panel's socket receiving `matched`.

Panels (200; 100 with --quick) connect over WebSockets with panel tokens, one conversation each, and receive their
`pending` state; then the calls are placed through the webhook at a steady 50/s, each caller a distinct Freshdesk
contact (created in the simulator with a messy stored number and tickets, indexed by `phone_index_sync` first, so
each lookup is an index hit plus one ticket-list call and no result cache helps). Measured per conversation:
send -> `matched` on its socket. Run with the simulator answering at once (0 ms) and at 150 ms, each on a simulator
(account) of its own on the 2000/min add-on plan, so the rate budget never holds a lookup back: this figure is
latency, `api_economy` is budget. The Freshdesk calls of each pop are read from the pop row; the overhead is
latency - calls x simulator latency.

Anchor, in the same run: `bench.bare_asgi` on the same uvicorn stack, the same sockets and rate, pushing `matched`
as soon as it has answered the POST (the least a webhook -> socket round trip costs here).

    .venv/bin/python -m bench.time_to_pop [--quick] [--production | --both]
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import requests
from websockets.asyncio.client import connect as ws_connect

from bench.common import (
    CONFIG_LABELS,
    WEBHOOK_PATH,
    HttpPool,
    Stack,
    Table,
    Tenant,
    contacts_create,
    cpu_seconds,
    fiction_numbers,
    freshdesk_simulator,
    json_post_headers,
    log,
    machine_line,
    ms,
    panel_subprotocols,
    panel_url,
    parse_args,
    percentile,
    screenpop_stack,
    simulator_log,
    tenant_install,
    uvicorn,
    webhook_body,
    write_results,
)
from simulators.freshdesk.seed import demo_contact

NAME = "time_to_pop"
RATE_PER_SECOND = 50
OVERHEAD_P99_TARGET_MS = 50.0
LATENCIES_MS = (0, 150)
FINAL_STATES = {"matched", "no_match", "unavailable", "error"}
WAIT_AFTER_LAST_SECONDS = 30.0
CONNECT_CONCURRENCY = 25


@dataclass
class Call:
    conversation_id: str
    phone: str
    sent: float = 0.0
    sent_wall: float = 0.0
    final_wall: float | None = None
    acked: float | None = None
    ack_status: int | None = None
    final: float | None = None
    state: str | None = None
    messages: list[str] = field(default_factory=list)


async def _watch(socket: Any, call: Call, connected: asyncio.Event) -> None:
    """Read the socket until a final state: the first message is the state on connect."""
    try:
        async for raw in socket:
            message = json.loads(raw)
            state = message.get("state")
            call.messages.append(state)
            if not connected.is_set():
                connected.set()
                continue
            if state in FINAL_STATES:
                call.final, call.final_wall, call.state = time.perf_counter(), time.time(), state
                return
    except Exception as error:  # a closed socket ends the watch; the call stays without a final state
        call.messages.append(f"socket error: {error}")
    finally:
        connected.set()


async def _storm(
    base_url: str, calls: list[Call], *, socket_token: Any, webhook_token: str | None, rate: float
) -> dict[str, Any]:
    """Connect one socket per call, then POST the calls at `rate`/s; returns the timings."""
    semaphore = asyncio.Semaphore(CONNECT_CONCURRENCY)
    sockets: list[Any] = []
    watchers: list[asyncio.Task] = []

    async def open_one(call: Call) -> None:
        async with semaphore:
            socket = await ws_connect(
                panel_url(base_url, call.conversation_id),
                subprotocols=panel_subprotocols(socket_token(call.conversation_id)),
                origin=base_url,
                open_timeout=20,
                max_queue=64,
            )
            sockets.append(socket)
            connected = asyncio.Event()
            watchers.append(asyncio.create_task(_watch(socket, call, connected)))
            await asyncio.wait_for(connected.wait(), 20)

    connect_started = time.perf_counter()
    await asyncio.gather(*(open_one(call) for call in calls))
    connect_seconds = time.perf_counter() - connect_started
    pool = HttpPool(base_url, size=8)
    headers = json_post_headers(webhook_token)

    async def send(call: Call) -> None:
        call.sent, call.sent_wall = time.perf_counter(), time.time()
        status, _ = await pool.post(WEBHOOK_PATH, webhook_body(call.conversation_id, call.phone), headers)
        call.acked, call.ack_status = time.perf_counter(), status

    senders = []
    started = time.perf_counter()
    for index, call in enumerate(calls):
        delay = started + index / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        senders.append(asyncio.create_task(send(call)))
    await asyncio.gather(*senders)
    send_seconds = time.perf_counter() - started
    _, pending = await asyncio.wait(watchers, timeout=WAIT_AFTER_LAST_SECONDS)
    for task in pending:
        task.cancel()
    await pool.close()
    await asyncio.gather(*(socket.close() for socket in sockets), return_exceptions=True)
    return {"connect_seconds": connect_seconds, "send_seconds": send_seconds, "timed_out": len(pending)}


def _stages(calls: list[Call], pop_times: dict[str, tuple[float, float | None]]) -> dict[str, Any]:
    """Where the time went, from the pop row's own timestamps (same host clock): sent -> received_at (HTTP,
    parsing), received_at -> completed_at (commit, queue, lookup, result stored), completed_at -> socket."""
    to_server, in_server, to_panel = [], [], []
    for call in calls:
        received, completed = pop_times.get(call.conversation_id, (None, None))
        if received is None or completed is None or call.final_wall is None:
            continue
        to_server.append(received - call.sent_wall)
        in_server.append(completed - received)
        to_panel.append(call.final_wall - completed)
    return {
        name: {"p50": percentile(values, 0.5), "p99": percentile(values, 0.99)}
        for name, values in (
            ("sent_to_received", to_server),
            ("received_to_stored", in_server),
            ("stored_to_panel", to_panel),
        )
    }


def _summary(calls: list[Call], *, calls_per_pop: dict[str, int], latency_ms: float) -> dict[str, Any]:
    done = [call for call in calls if call.final is not None]
    latencies = [call.final - call.sent for call in done]
    overheads = [
        call.final - call.sent - calls_per_pop.get(call.conversation_id, 0) * latency_ms / 1000 for call in done
    ]
    acks = [call.acked - call.sent for call in calls if call.acked is not None]
    states: dict[str, int] = {}
    for call in calls:
        states[call.state or "no final state"] = states.get(call.state or "no final state", 0) + 1
    freshdesk_calls = [calls_per_pop.get(call.conversation_id, 0) for call in calls]
    return {
        "calls": len(calls),
        "states": states,
        "ack_statuses": sorted({call.ack_status for call in calls if call.ack_status is not None}),
        "latency_s": {"p50": percentile(latencies, 0.5), "p99": percentile(latencies, 0.99), "max": max(latencies)}
        if latencies
        else {},
        "overhead_s": {"p50": percentile(overheads, 0.5), "p99": percentile(overheads, 0.99), "max": max(overheads)}
        if overheads
        else {},
        "ack_s": {"p50": percentile(acks, 0.5), "p99": percentile(acks, 0.99)} if acks else {},
        # Per call, in send order: seconds from the first send, ack, final state (None: none), Freshdesk calls.
        "samples": [
            [
                round(call.sent - calls[0].sent, 4),
                round(call.acked - call.sent, 4) if call.acked is not None else None,
                round(call.final - call.sent, 4) if call.final is not None else None,
                calls_per_pop.get(call.conversation_id, 0),
            ]
            for call in calls
        ],
        "freshdesk_calls_per_pop": {
            "mean": sum(freshdesk_calls) / len(freshdesk_calls) if freshdesk_calls else 0,
            "max": max(freshdesk_calls, default=0),
        },
    }


def _epoch(value: str | None) -> float | None:
    """Epoch seconds of a timestamp as `server.sql` prints it (str() of a datetime; naive means UTC)."""
    if not value:
        return None
    parsed = dt.datetime.fromisoformat(value)
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)).timestamp()


def _warm_up(stack: Stack, base_url: str, tenant: Tenant, token: str) -> None:
    """One call per tenant first: the ticket labels (cached an hour) and the connections are then warm."""
    conversation = f"warm-{uuid.uuid4().hex[:12]}"
    phone = demo_contact("us_parenthesised").e164
    response = requests.post(
        f"{base_url}{WEBHOOK_PATH}",
        data=webhook_body(conversation, phone),
        headers=json_post_headers(token),
        timeout=10,
    )
    response.raise_for_status()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        rows = stack.sql(f"SELECT state FROM screenpop_pop WHERE conversation_id = '{conversation}'")
        if rows and rows[0][0] != "pending":
            return
        time.sleep(0.2)
    raise RuntimeError(f"the warm-up call of {tenant.org_id} never finished")


def run_config(config: str, *, count: int, concurrency: int | None) -> dict[str, Any]:
    results: dict[str, Any] = {
        "config": config,
        "panels": count,
        "rate_per_second": RATE_PER_SECOND,
        "lookup_concurrency": concurrency or "server default (SCREENPOP_LOOKUP_CONCURRENCY)",
    }
    server_env = {"SCREENPOP_LOOKUP_CONCURRENCY": str(concurrency)} if concurrency else {}
    with (
        freshdesk_simulator(plan="addon_2000") as fast,
        freshdesk_simulator(plan="addon_2000") as slow,
        screenpop_stack(config) as stack,
    ):
        simulators = {0: fast, 150: slow}
        numbers = {latency: fiction_numbers(count, start=index * count) for index, latency in enumerate(LATENCIES_MS)}
        tenants: dict[int, Tenant] = {}
        for latency, simulator in simulators.items():
            log(f"{config}: {count} contacts with tickets in the simulator for {latency} ms")
            contacts_create(simulator, numbers[latency], tickets_per_contact=(1, 2, 3))
            # "enterprise": the closest plan the admin can pick; the budget adopts the account's real total
            # (X-RateLimit-Total: 2000) from the first answer.
            tenants[latency] = tenant_install(
                stack, org_id=f"org-ttp-{latency}", simulator=simulator, plan="enterprise"
            )
        stack.server.manage("phone_index_sync")

        log(f"{config}: anchor (bare ASGI app), {count} sockets, {RATE_PER_SECOND}/s")
        with uvicorn("bench.bare_asgi:application", env={}) as (_, base_url):
            calls = [Call(f"bare-{uuid.uuid4().hex[:16]}", "+15550199999") for _ in range(count)]
            run = asyncio.run(
                _storm(base_url, calls, socket_token=lambda _: None, webhook_token=None, rate=RATE_PER_SECOND)
            )
            results["bare"] = {**run, **_summary(calls, calls_per_pop={}, latency_ms=0)}

        with stack.serve(**server_env) as (server_process, base_url):
            for latency, simulator in simulators.items():
                tenant = tenants[latency]
                token = tenant.token(base_url)
                _warm_up(stack, base_url, tenant, token)
                simulator.configure(latency_ms={"default": latency})
                _, since = simulator_log(simulator)
                log(f"{config}: server, simulator at {latency} ms, {count} sockets, {RATE_PER_SECOND}/s")
                calls = [Call(f"ttp{latency}-{uuid.uuid4().hex[:16]}", number) for number in numbers[latency]]
                cpu_before, wall_before = cpu_seconds(server_process.pid), time.perf_counter()
                run = asyncio.run(
                    _storm(
                        base_url,
                        calls,
                        socket_token=lambda conversation, tenant=tenant: stack.server.panel_token(
                            tenant_id=tenant.id, conversation_id=conversation
                        ),
                        webhook_token=token,
                        rate=RATE_PER_SECOND,
                    )
                )
                run["server_cpu_percent"] = (
                    100 * (cpu_seconds(server_process.pid) - cpu_before) / (time.perf_counter() - wall_before)
                )
                rows = stack.sql(
                    "SELECT conversation_id, freshdesk_calls, received_at, completed_at FROM screenpop_pop "
                    f"WHERE tenant_id = {tenant.id}"
                )
                calls_per_pop = {row[0]: row[1] for row in rows}
                pop_times = {row[0]: (_epoch(row[2]), _epoch(row[3])) for row in rows}
                entries, _ = simulator_log(simulator, since)
                endpoints: dict[str, int] = {}
                for entry in entries:
                    endpoints[entry["endpoint"]] = endpoints.get(entry["endpoint"], 0) + 1
                summary = _summary(calls, calls_per_pop=calls_per_pop, latency_ms=latency)
                summary["stages_s"] = _stages(calls, pop_times)
                summary["simulator_calls"] = endpoints
                summary["simulator_429s"] = sum(1 for entry in entries if entry["status"] == 429)
                results[f"server_{latency}ms"] = {**run, **summary}
    return results


def table_for(results: dict[str, Any], label: str) -> Table:
    count, rate = results["panels"], results["rate_per_second"]
    table = Table(
        f"Time to pop: {label}; {count} panels on WebSockets, calls at {rate}/s, "
        f"lookup concurrency {results['lookup_concurrency']}"
    )
    bare = results["bare"]
    table.add(
        "anchor: bare ASGI app, POST -> push on the socket, p50 / p99",
        f"{ms(bare['latency_s'].get('p50'))} / {ms(bare['latency_s'].get('p99'))}",
        "",
        f"max {ms(bare['latency_s'].get('max'))}; states {bare['states']}",
    )
    for latency in LATENCIES_MS:
        run = results.get(f"server_{latency}ms")
        if run is None:
            continue
        where = f"simulator at {latency} ms"
        latency_s, overhead_s = run["latency_s"], run["overhead_s"]
        table.add(
            f"{where}: webhook -> `matched`, p50 / p99",
            f"{ms(latency_s.get('p50'))} / {ms(latency_s.get('p99'))}",
            "",
            f"max {ms(latency_s.get('max'))}; states {run['states']}",
        )
        table.add(
            f"{where}: overhead beyond Freshdesk, p50 / p99",
            f"{ms(overhead_s.get('p50'))} / {ms(overhead_s.get('p99'))}",
            f"p99 ≤ {OVERHEAD_P99_TARGET_MS:.0f} ms",
            f"{run['freshdesk_calls_per_pop']['mean']:.2f} Freshdesk calls per pop "
            f"({', '.join(f'{n} {name}' for name, n in sorted(run['simulator_calls'].items()))}), "
            f"{run['simulator_429s']} 429s",
        )
        stages = run["stages_s"]
        table.add(
            f"{where}: where the time went, p50 (p99)",
            "",
            "",
            "; ".join(
                f"{title} {ms(stages[key]['p50'])} ({ms(stages[key]['p99'])})"
                for key, title in (
                    ("sent_to_received", "sent → received"),
                    ("received_to_stored", "received → result stored"),
                    ("stored_to_panel", "stored → on the socket"),
                )
            ),
        )
        table.add(
            f"{where}: the webhook's ack at {rate}/s, p50 / p99",
            f"{ms(run['ack_s'].get('p50'))} / {ms(run['ack_s'].get('p99'))}",
            "",
            f"statuses {run['ack_statuses']}; {run['timed_out']} sockets without a final state; "
            f"server CPU {run['server_cpu_percent']:.0f}% of a core over the phase",
        )
    table.notes.append(
        "Overhead = (socket receives `matched`) - (webhook sent) - (Freshdesk calls of the pop x simulator "
        "latency): the time spent in screenpop, its queue and its database, not waiting for Freshdesk."
    )
    table.notes.append(
        "Each caller is a distinct contact found through the phone index (1 ticket-list call); the ticket labels "
        "were fetched by a warm-up call before the run (an hourly cost)."
    )
    return table


def summary(figures: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(figure, measured, target) rows for bench/results/latest.md."""
    rows = []
    for config in ("embedded", "production"):
        results = figures.get(config)
        if not results:
            continue
        bare = results["bare"]["latency_s"]
        rows.append((f"time to pop, {config}: anchor (bare app) p50 / p99", f"{ms(bare.get('p50'))} / "
                     f"{ms(bare.get('p99'))}", ""))  # fmt: skip
        for latency in LATENCIES_MS:
            run = results[f"server_{latency}ms"]
            rows.append(
                (
                    f"time to pop, {config}, Freshdesk at {latency} ms: p50 / p99 (overhead p50 / p99)",
                    f"{ms(run['latency_s'].get('p50'))} / {ms(run['latency_s'].get('p99'))} "
                    f"({ms(run['overhead_s'].get('p50'))} / {ms(run['overhead_s'].get('p99'))})",
                    f"overhead p99 ≤ {OVERHEAD_P99_TARGET_MS:.0f} ms",
                )
            )
    return rows


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    import argparse

    extra = argparse.ArgumentParser(add_help=False)
    extra.add_argument("--lookup-concurrency", type=int, default=None, help="SCREENPOP_LOOKUP_CONCURRENCY to run with")
    own, rest = extra.parse_known_args(argv)
    args = parse_args(__doc__.splitlines()[0], rest)
    count = 100 if args.quick else 200
    print(f"{NAME}: {machine_line()}")
    figures: dict[str, Any] = {"targets": {"overhead_p99_ms": OVERHEAD_P99_TARGET_MS}}
    tables = []
    for config in args.configs:
        results = run_config(config, count=count, concurrency=own.lookup_concurrency)
        figures[config] = results
        tables.append(table_for(results, CONFIG_LABELS[config]))
    write_results(NAME, figures, tables, quick=args.quick)
    return figures


if __name__ == "__main__":
    main()
