"""Issue 7.1, the ack under a storm: wrk against the webhook, beside the bare ASGI app on the same stack.

For each configuration (embedded; production = PostgreSQL + Redis), in one run:

1. the anchor: `bench.bare_asgi` on uvicorn (`UVICORN_FLAGS`), wrk with the same script;
2. the server, ack only (`SCREENPOP_RUN_WORKERS=0`): the webhook's own cost, nothing else on the loop;
3. the server as deployed (`SCREENPOP_RUN_WORKERS=1`): every accepted pop is also looked up in the same process,
   against the Freshdesk simulator on the Growth plan, so the lookups compete with the acks for the loop, the GIL
   and the database; all calls ring the same number, so after the first lookup the lookups are answered by the
   result cache (no Freshdesk budget to wait for) and each costs only its database writes and its publish.

wrk: 2 threads, 64 connections, 10 s (4 s with --quick), `--latency`, `bench/storm.lua` (a unique conversation per
request, the bearer token, statuses counted and every 202's pop_id kept). Afterwards every 202's pop_id is looked up
in the database: a 202 whose pop is missing would be a lost call. wrk is a closed loop (each connection waits for
its answer), so the latencies are those of a saturated server, not of a paced arrival rate.

4. the open loop, as Genesys sends: `OPEN_LOOP_RATE` events a second at fixed times, whatever the answers, each with
   a conversation of its own and a caller from `OPEN_LOOP_CALLERS` numbers (so the lookups run at the arrival rate,
   answered by the result cache after each number's first), with the workers off and on. Each latency counts from
   the moment the event was due, not from when it was sent, so a server that falls behind is charged for the wait
   (wrk's closed loop hides it: a stalled server simply gets fewer requests).

    .venv/bin/python -m bench.ack_storm [--quick] [--production | --both]
"""

from __future__ import annotations

import asyncio
import json
import resource
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import requests

from bench.common import (
    CONFIG_LABELS,
    METRICS_TOKEN,
    ROOT,
    WEBHOOK_PATH,
    HttpPool,
    Stack,
    Table,
    fiction_numbers,
    freshdesk_simulator,
    json_post_headers,
    log,
    machine_line,
    parse_args,
    percentile,
    screenpop_stack,
    tenant_install,
    uvicorn,
    webhook_body,
    write_results,
)
from bench.common import (
    cpu_seconds as process_cpu_seconds,
)

NAME = "ack_storm"
CONNECTIONS = 64
THREADS = 2
RATIO_TARGET = 0.30
P99_TARGET_MS = 25.0
OPEN_LOOP_RATE = 200  # events a second
OPEN_LOOP_CALLERS = 200
OPEN_LOOP_P99_TARGET_MS = 25.0
WRK = shutil.which("wrk") or "/usr/bin/wrk"
LUA = ROOT / "bench" / "storm.lua"


def wrk_run(base_url: str, *, token: str, seconds: int, pid: int) -> dict[str, Any]:
    """One wrk run; returns its figures, the 202s' pop ids, and the CPU both sides used."""
    run_id = "storm" + uuid.uuid4().hex[:10]
    with tempfile.NamedTemporaryFile(prefix="bench-pops-", suffix=".txt", delete=False) as handle:
        out_path = Path(handle.name)
    args = [WRK, f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    args += ["-s", str(LUA), base_url, "--", token, run_id, str(out_path)]
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_before = process_cpu_seconds(pid)
    started = time.monotonic()
    completed = subprocess.run(args, capture_output=True, text=True, timeout=seconds + 60, check=False)
    wall = time.monotonic() - started
    server_cpu = process_cpu_seconds(pid) - server_before
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    wrk_cpu = children_after.ru_utime - children_before.ru_utime + children_after.ru_stime - children_before.ru_stime
    line = next((row for row in completed.stdout.splitlines() if row.startswith("BENCH_JSON ")), None)
    if completed.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({completed.returncode}):\n{completed.stdout}\n{completed.stderr}")
    figures = json.loads(line.removeprefix("BENCH_JSON "))
    pop_ids = [int(value) for value in out_path.read_text().split() if value.isdigit()]
    malformed = sum(1 for value in out_path.read_text().split() if not value.isdigit())
    out_path.unlink()
    seconds_run = figures["duration_us"] / 1e6
    figures.update(
        run_id=run_id,
        requests_per_second=figures["requests"] / seconds_run,
        non_2xx=sum(count for status, count in figures["statuses"].items() if not status.startswith("2")),
        socket_errors=sum(figures["errors"][name] for name in ("connect", "read", "write", "timeout")),
        pop_ids_malformed=malformed,
        # Share of one core each side used over the run (2 cores in all): wrk well below 100% per thread means
        # the load generator was not the bottleneck.
        wrk_cpu_percent=100 * wrk_cpu / wall,
        server_cpu_percent=100 * server_cpu / wall,
        wrk_output=completed.stdout,
    )
    return figures | {"_pop_ids": pop_ids}


async def _open_loop(base_url: str, *, token: str, rate: float, seconds: float, run_id: str) -> dict[str, Any]:
    pool = HttpPool(base_url, size=64)
    headers = json_post_headers(token)
    callers = fiction_numbers(OPEN_LOOP_CALLERS)
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.1
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    pop_ids: list[int] = []

    async def send(index: int) -> None:
        due = start + index / rate
        await asyncio.sleep(max(0.0, due - loop.time()))
        body = webhook_body(f"{run_id}-{index}", callers[index % len(callers)])
        try:
            status, answer = await pool.post(WEBHOOK_PATH, body, headers)
        except OSError:
            status, answer = 0, b""
        latencies.append(loop.time() - due)
        statuses[str(status)] = statuses.get(str(status), 0) + 1
        if status == 202:
            pop_ids.append(json.loads(answer)["pop_id"])

    try:
        await asyncio.gather(*(send(index) for index in range(int(rate * seconds))))
    finally:
        await pool.close()
    ordered = sorted(latencies)
    latency_us = {name: 1e6 * (percentile(ordered, fraction) or 0.0) for name, fraction in
                  (("p50", 0.50), ("p90", 0.90), ("p99", 0.99), ("p999", 0.999))}  # fmt: skip
    latency_us["max"] = 1e6 * ordered[-1]
    non_2xx = sum(count for code, count in statuses.items() if not code.startswith("2"))
    return {"requests": len(latencies), "statuses": statuses, "latency_us": latency_us, "_pop_ids": pop_ids,
            "non_2xx": non_2xx, "run_id": run_id}  # fmt: skip


def open_loop_run(base_url: str, *, token: str, rate: float, seconds: float, pid: int) -> dict[str, Any]:
    """`rate` events a second for `seconds`, each due at its time; latencies count from when it was due."""
    run_id = "open" + uuid.uuid4().hex[:10]
    server_before = process_cpu_seconds(pid)
    started = time.monotonic()
    figures = asyncio.run(_open_loop(base_url, token=token, rate=rate, seconds=seconds, run_id=run_id))
    figures["server_cpu_percent"] = 100 * (process_cpu_seconds(pid) - server_before) / (time.monotonic() - started)
    return figures


def verify_pops(stack: Stack, run: dict[str, Any]) -> dict[str, Any]:
    """Every 202's pop_id must be a pop of this run; the event log must say accepted for each pop."""
    pattern = run["run_id"] + "-%"
    stored = {row[0] for row in stack.sql(f"SELECT id FROM screenpop_pop WHERE conversation_id LIKE '{pattern}'")}
    accepted_logged = stack.sql(
        f"SELECT COUNT(*) FROM screenpop_eventlog WHERE conversation_id LIKE '{pattern}' AND status_code = 202"
    )[0][0]
    answered = run.pop("_pop_ids")
    missing = sorted(set(answered) - stored)
    return {
        "answered_202": len(answered),
        "distinct_pop_ids": len(set(answered)),
        "pops_stored": len(stored),
        "event_log_202_rows": accepted_logged,
        "lost": len(missing),
        "lost_examples": missing[:10],
        # Requests still in flight when wrk stopped were recorded by the server but never read by wrk.
        "stored_without_answer_read": len(stored) - len(set(answered) & stored),
    }


def batch_sizes(base_url: str) -> dict[str, float]:
    """Mean submissions per group-commit transaction, from the server's /metrics."""
    headers = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    text = requests.get(f"{base_url}/metrics", headers=headers, timeout=10).text
    values = {}
    for line in text.splitlines():
        for name in ("screenpop_webhook_batch_size_sum", "screenpop_webhook_batch_size_count"):
            if line.startswith(name + " "):
                values[name] = float(line.split()[1])
    count = values.get("screenpop_webhook_batch_size_count", 0)
    return {"batches": count, "mean_batch": values.get("screenpop_webhook_batch_size_sum", 0) / count if count else 0}


def run_config(config: str, *, seconds: int, quick: bool) -> dict[str, Any]:
    results: dict[str, Any] = {"config": config, "seconds": seconds}
    with freshdesk_simulator(plan="growth") as simulator, screenpop_stack(config, workers=False) as stack:
        log(f"{config}: anchor (bare ASGI app), {seconds} s")
        with uvicorn("bench.bare_asgi:application", env={}) as (process, base_url):
            results["bare"] = wrk_run(base_url, token="", seconds=seconds, pid=process.pid)
            results["bare"].pop("_pop_ids")
        tenant = tenant_install(stack, org_id=f"org-storm-{config}", simulator=simulator)
        for label, workers in (("ack_only", "0"), ("with_lookups", "1")):
            log(f"{config}: server, {label.replace('_', ' ')}, {seconds} s")
            with stack.serve(SCREENPOP_RUN_WORKERS=workers) as (process, base_url):
                token = tenant.token(base_url)
                # One call first, so the first request does not pay for connecting to the database.
                requests.post(
                    f"{base_url}/api/v1/genesys/events",
                    data=json.dumps({"conversation_id": f"warm-{label}", "phone_number": "tel:+15550199999"}),
                    headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
                    timeout=10,
                )
                time.sleep(0.5)
                run = wrk_run(base_url, token=token, seconds=seconds, pid=process.pid)
                run["group_commit"] = batch_sizes(base_url)
                run["verification"] = verify_pops(stack, run)
                if workers == "1":
                    states = stack.sql(
                        f"SELECT state, COUNT(*) FROM screenpop_pop WHERE conversation_id LIKE '{run['run_id']}-%' "
                        "GROUP BY state"
                    )
                    run["pop_states_at_end"] = dict(states)
                results[label] = run
        for label, workers in (("open_ack_only", "0"), ("open_with_lookups", "1")):
            log(f"{config}: open loop, {OPEN_LOOP_RATE} events/s, {label}, {seconds} s")
            with stack.serve(SCREENPOP_RUN_WORKERS=workers) as (process, base_url):
                token = tenant.token(base_url)
                run = open_loop_run(base_url, token=token, rate=OPEN_LOOP_RATE, seconds=seconds, pid=process.pid)
                run["verification"] = verify_pops(stack, run)
                if workers == "1":
                    time.sleep(2.0)  # the last lookups finish
                    states = stack.sql(
                        f"SELECT state, COUNT(*) FROM screenpop_pop WHERE conversation_id LIKE '{run['run_id']}-%' "
                        "GROUP BY state"
                    )
                    run["pop_states_at_end"] = dict(states)
                results[label] = run
        if not quick:
            log(f"{config}: anchor again (noise check), {seconds} s")
            with uvicorn("bench.bare_asgi:application", env={}) as (process, base_url):
                results["bare_after"] = wrk_run(base_url, token="", seconds=seconds, pid=process.pid)
                results["bare_after"].pop("_pop_ids")
    return results


def _latency(run: dict[str, Any], name: str) -> str:
    return f"{run['latency_us'][name] / 1000:.1f} ms"


def table_for(results: dict[str, Any], label: str) -> Table:
    seconds = results["seconds"]
    table = Table(
        f"Ack under a storm: {label}; wrk -t{THREADS} -c{CONNECTIONS} -d{seconds}s, one uvicorn process",
    )
    bare = results["bare"]
    anchor_rps = bare["requests_per_second"]
    if "bare_after" in results:
        anchor_rps = (bare["requests_per_second"] + results["bare_after"]["requests_per_second"]) / 2
    table.add(
        "anchor: bare ASGI app, requests/s",
        f"{bare['requests_per_second']:,.0f}"
        + (f" / {results['bare_after']['requests_per_second']:,.0f} after" if "bare_after" in results else ""),
        "",
        f"p50 {_latency(bare, 'p50')}, p99 {_latency(bare, 'p99')}, max {_latency(bare, 'max')}; "
        f"wrk CPU {bare['wrk_cpu_percent']:.0f}%, app CPU {bare['server_cpu_percent']:.0f}%",
    )
    for key, title in (("ack_only", "server, ack only (workers off)"), ("with_lookups", "server, lookups running")):
        run = results.get(key)
        if run is None:
            continue
        verification = run["verification"]
        ratio = run["requests_per_second"] / anchor_rps
        table.add(f"{title}: requests/s", f"{run['requests_per_second']:,.0f}", "", f"{run['requests']:,} requests")
        table.add(f"{title}: ratio to the anchor", f"{ratio:.2f}", f"≥ {RATIO_TARGET:.2f}", "")
        table.add(f"{title}: p50 / p99 / max latency", " / ".join(
            _latency(run, name) for name in ("p50", "p99", "max")
        ), f"p99 ≤ {P99_TARGET_MS:.0f} ms", f"p90 {_latency(run, 'p90')}, p99.9 {_latency(run, 'p999')}")  # fmt: skip
        statuses = ", ".join(f"{status}: {count:,}" for status, count in sorted(run["statuses"].items()))
        table.add(
            f"{title}: errors",
            f"{run['non_2xx']} non-2xx, {run['socket_errors']} socket",
            "0",
            statuses,
        )
        table.add(
            f"{title}: 202s without their pop",
            str(verification["lost"]),
            "0 lost",
            f"{verification['answered_202']:,} 202s, {verification['pops_stored']:,} pops stored, "
            f"{verification['event_log_202_rows']:,} event-log rows",
        )
        group_commit = run["group_commit"]
        note = (
            f"wrk CPU {run['wrk_cpu_percent']:.0f}%, server CPU {run['server_cpu_percent']:.0f}%; "
            f"{group_commit['mean_batch']:.1f} requests per commit"
        )
        if key == "with_lookups":
            note += "; pops at the end: " + ", ".join(f"{k} {v:,}" for k, v in sorted(run["pop_states_at_end"].items()))
        table.add(f"{title}: where the CPU went", "", "", note)
    for key, title in (("open_ack_only", "open loop, ack only"), ("open_with_lookups", "open loop, lookups running")):
        run = results.get(key)
        if run is None:
            continue
        tail = f"p90 {_latency(run, 'p90')}, p99.9 {_latency(run, 'p999')}"
        table.add(f"{title}: p50 / p99 / max latency from when due", " / ".join(
            _latency(run, name) for name in ("p50", "p99", "max")
        ), f"p99 ≤ {OPEN_LOOP_P99_TARGET_MS:.0f} ms", f"{run['requests']:,} events at {OPEN_LOOP_RATE}/s; "
            f"{tail}; server CPU {run['server_cpu_percent']:.0f}%")  # fmt: skip
        note = f"{run['verification']['answered_202']:,} 202s"
        if "pop_states_at_end" in run:
            note += "; pops 2 s after the last event: " + ", ".join(
                f"{k} {v:,}" for k, v in sorted(run["pop_states_at_end"].items())
            )
        table.add(f"{title}: errors; 202s without their pop", f"{run['non_2xx']}; {run['verification']['lost']}",
                  "0; 0", note)  # fmt: skip
    table.notes.append(
        f"Open loop: {OPEN_LOOP_RATE} events a second at fixed times from {OPEN_LOOP_CALLERS} callers, as Genesys "
        "sends them; a latency counts from when the event was due, so a stalled server is charged for the wait."
    )
    table.notes.append(
        "CPU: share of one core over the run (2 cores in all, shared by wrk and the server); the ratio uses the "
        "mean of the anchor's runs when it ran twice."
    )
    table.notes.append(
        "wrk is a closed loop: 64 connections each waiting for its answer, so these are the latencies of a "
        "saturated server; Genesys sends far fewer requests at once."
    )
    return table


def summary(figures: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(figure, measured, target) rows for bench/results/latest.md."""
    rows = []
    for config in ("embedded", "production"):
        results = figures.get(config)
        if not results:
            continue
        bare = results["bare"]["requests_per_second"]
        if "bare_after" in results:
            bare = (bare + results["bare_after"]["requests_per_second"]) / 2
        for key, title in (("ack_only", "ack only"), ("with_lookups", "lookups running")):
            run = results[key]
            rows.append(
                (
                    f"ack storm, {config}, {title}: requests/s (ratio to bare)",
                    f"{run['requests_per_second']:,.0f} ({run['requests_per_second'] / bare:.2f})",
                    f"≥ {RATIO_TARGET:.2f}",
                )
            )
            rows.append(
                (
                    f"ack storm, {config}, {title}: p99 / max latency",
                    f"{run['latency_us']['p99'] / 1000:.1f} / {run['latency_us']['max'] / 1000:.1f} ms",
                    f"p99 ≤ {P99_TARGET_MS:.0f} ms",
                )
            )
            rows.append(
                (
                    f"ack storm, {config}, {title}: errors; 202s without a pop",
                    f"{run['non_2xx'] + run['socket_errors']}; {run['verification']['lost']} of "
                    f"{run['verification']['answered_202']:,}",
                    "0 lost",
                )
            )
        for key, title in (("open_ack_only", "ack only"), ("open_with_lookups", "lookups running")):
            run = results.get(key)
            if run is not None:
                rows.append((
                    f"ack, open loop {OPEN_LOOP_RATE}/s, {config}, {title}: p99 / max from when due",
                    f"{run['latency_us']['p99'] / 1000:.1f} / {run['latency_us']['max'] / 1000:.1f} ms",
                    f"p99 ≤ {OPEN_LOOP_P99_TARGET_MS:.0f} ms",
                ))  # fmt: skip
    return rows


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse_args(__doc__.splitlines()[0], argv)
    seconds = 4 if args.quick else 10
    print(f"{NAME}: {machine_line()}")
    figures: dict[str, Any] = {"targets": {"ratio_to_bare": RATIO_TARGET, "p99_ms": P99_TARGET_MS, "lost": 0}}
    tables = []
    for config in args.configs:
        results = run_config(config, seconds=seconds, quick=args.quick)
        for key in ("bare", "bare_after", "ack_only", "with_lookups", "open_ack_only", "open_with_lookups"):
            if key in results:
                results[key].pop("wrk_output", None)
        figures[config] = results
        tables.append(table_for(results, CONFIG_LABELS[config]))
    write_results(NAME, figures, tables, quick=args.quick)
    return figures


if __name__ == "__main__":
    main()
