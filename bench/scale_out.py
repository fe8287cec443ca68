"""Scale-out (issue 23): the webhook's ack throughput with 1, 2 and 3 server processes on one PostgreSQL and one
Redis, and a rolling restart of three processes under load (each in turn: SIGTERM, drain, a new process).

    .venv/bin/python -m bench.scale_out            # about 2 minutes
    .venv/bin/python -m bench.scale_out --quick    # about 1 minute

Runs on services of its own (`tests/fault_rig.py`: a PostgreSQL cluster and a Redis on free ports). wrk drives each
process with its own 64 connections at once (a load balancer's share); the figures are on the same 2 cores as
PostgreSQL, Redis and wrk, so more processes mostly share the same CPU: read the throughput as "does not collapse",
not as what more machines would give.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg

from bench.ack_storm import wrk_run
from bench.common import Table, freshdesk_simulator, log, machine_line, write_results
from genesys_app.serving import uvicorn_args
from tests.fault_rig import FaultRig, scenario_rolling_restart, services_available
from tests.fixtures.processes import free_port, running_process

NAME = "scale_out"


def ack_throughput(rig: FaultRig, processes: int, seconds: int) -> dict[str, Any]:
    """Requests/s summed over `processes` servers (lookups off: the ack alone), each under its own wrk."""
    ports = [free_port() for _ in range(processes)]
    with contextlib.ExitStack() as stack:
        served = [
            stack.enter_context(
                running_process(
                    uvicorn_args(host="127.0.0.1", port=port),
                    ready_url=f"http://127.0.0.1:{port}/healthz",
                    env={**rig.server.env, "SCREENPOP_RUN_WORKERS": "0"},
                    timeout=30,
                )
            )
            for port in ports
        ]
        rig.targets = [f"http://127.0.0.1:{port}" for port in ports]
        token = rig.token()
        with ThreadPoolExecutor(max_workers=processes) as pool:
            runs = list(
                pool.map(
                    lambda pair: wrk_run(pair[0], token=token, seconds=seconds, pid=pair[1].pid),
                    zip(rig.targets, served, strict=True),
                )
            )
        rig.targets = []
    accepted = {pop_id for run in runs for pop_id in run["_pop_ids"]}
    with psycopg.connect(rig.postgres.url(rig.database_name)) as connection:
        stored = {pop_id for (pop_id,) in connection.execute("SELECT id FROM screenpop_pop").fetchall()}
    return {
        "processes": processes,
        "requests_per_second": sum(run["requests_per_second"] for run in runs),
        "p99_ms": max(run["latency_us"]["p99"] for run in runs) / 1000,
        "errors": sum(run["non_2xx"] + run["socket_errors"] for run in runs),
        "accepted": len(accepted),
        "pops_stored": len(stored),
        "lost": len(accepted - stored),  # 202s whose pop id is not in the database
    }


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs")
    args = parser.parse_args(argv)
    missing = services_available()
    if missing:
        raise SystemExit(f"bench.scale_out needs {missing}")
    seconds = 4 if args.quick else 8
    figures: dict[str, Any] = {"throughput": []}
    with freshdesk_simulator(plan="addon_2000") as simulator:
        for processes in (1, 2, 3):
            log(f"ack throughput, {processes} process(es), {seconds} s")
            with FaultRig(simulator) as rig:
                figures["throughput"].append(ack_throughput(rig, processes, seconds))
        log("rolling restart of 3 processes under load")
        simulator.reset()
        simulator.configure(plan="addon_2000")
        with FaultRig(simulator) as rig:
            count, rate = (150, 25) if args.quick else (400, 40)
            figures["rolling"] = scenario_rolling_restart(
                rig, count=count, rate=rate, latency_ms=150, processes=3, panels=12, settle=30
            )
    table = Table("Scale-out (issue 23): PostgreSQL + Redis, several server processes")
    for run in figures["throughput"]:
        note = f"errors {run['errors']}; 202s {run['accepted']:,}, pops stored {run['pops_stored']:,}"
        note += f", lost {run['lost']}"
        table.add(f"ack throughput, {run['processes']} process(es): requests/s (p99)",
                  f"{run['requests_per_second']:,.0f} ({run['p99_ms']:.1f} ms)", "", note)  # fmt: skip
    rolling = figures["rolling"]
    table.add("rolling restart: acknowledged / sent", f"{rolling['acknowledged']} / {rolling['sent']}", "all")
    table.add("rolling restart: without a pop, still pending", f"{rolling['without_pop']}, {rolling['pending']}",
              "0, 0")  # fmt: skip
    table.add("rolling restart: numbers looked up twice", str(rolling["numbers_looked_up_twice"]), "0")
    table.add("rolling restart: processes that drained (SIGTERM to ready again)",
              f"{sum(r['drained'] for r in rolling['restarts'])} / {len(rolling['restarts'])}", "all",
              ", ".join(f"{r['stop_to_ready_s']:.1f} s" for r in rolling["restarts"]))  # fmt: skip
    table.add("rolling restart: panels ending with their pop", f"{rolling['panels_with_their_pop']} / "
              f"{rolling['panels']}", "all", f"closes by code: {rolling['panel_closes_by_code']}")  # fmt: skip
    table.add("rolling restart: webhook round trip p50 / p99 (open loop)",
              f"{rolling['ack_p50_s'] * 1000:.1f} / {rolling['ack_p99_s'] * 1000:.1f} ms", "",
              f"refused then retried on another process: {rolling['refused_then_retried']}")  # fmt: skip
    table.notes.append(f"Machine: {machine_line()}.")
    write_results(NAME, figures, [table], quick=args.quick)
    return figures


if __name__ == "__main__":
    main()
