"""Issue 18, self-healing: the faults of `tests/test_faults.py` at full scale, figures beside the issue's targets.

Each scenario runs the production configuration on services of its own (`tests/fault_rig.py`: a PostgreSQL cluster
made with initdb, a redis-server, a real screenpop server process, a Freshdesk simulator on the 2000/min plan) under
an open-loop load (events at a fixed rate, each refused one retried after its `Retry-After`, as Genesys would):

- PostgreSQL restart (`pg_ctl restart -m fast`) in the middle of 2,000 events;
- Redis stopped for 3 s in the middle of 2,000 events, with 100 panels open and 100 opening as it comes back;
- Freshdesk hanging (accepts, never answers) while 300 calls arrive, then answering again;
- the server process SIGKILLed after 1,200 events with Freshdesk at 200 ms, and a fresh process started.

Takes about 3 minutes (`--quick`: the test's scale, about 1 minute); not part of `make bench`'s default list.

    .venv/bin/python -m bench.faults [--quick]
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from bench.common import Table, freshdesk_simulator, log, machine_line, write_results
from tests.fault_rig import (
    FaultRig,
    scenario_freshdesk_hang,
    scenario_killed_process,
    scenario_postgresql_restart,
    scenario_redis_outage,
    services_available,
)

NAME = "faults"
SETTLE_SECONDS = 60.0

FULL = {
    "postgresql": {"count": 2000, "rate": 100, "at": 5.0},
    "redis": {"count": 2000, "rate": 100, "at": 5.0, "outage": 3.0, "panels": 100, "late_panels": 100},
    "hang": {"count": 300, "rate": 50},
    "kill": {"count": 1200, "rate": 100, "latency_ms": 200},
}
QUICK = {
    "postgresql": {"count": 200, "rate": 40, "at": 1.5},
    "redis": {"count": 200, "rate": 40, "at": 1.5, "outage": 3.0, "panels": 10, "late_panels": 20},
    "hang": {"count": 40, "rate": 20},
    "kill": {"count": 60, "rate": 40, "latency_ms": 100},
}


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f} s"


def _healed_rows(table: Table, name: str, figures: dict[str, Any]) -> None:
    table.add(f"{name}: events acknowledged / sent", f"{figures['acknowledged']} / {figures['sent']}", "all")
    table.add(f"{name}: refused, then retried after Retry-After", str(figures["refused_then_retried"]), "",
              f"503s without Retry-After: {figures['refusals_without_retry_after']}")  # fmt: skip
    table.add(f"{name}: acknowledged without a pop, or still pending",
              f"{figures['without_pop']}, {figures['pending']}", "0, 0")  # fmt: skip
    table.add(f"{name}: recovery to the last pop", _seconds(figures["recovery_to_last_pop_s"]), "≤ 5 s",
              "from the later of recovery and the last acknowledgement")  # fmt: skip
    table.add(f"{name}: webhook round trip (open loop), p50 / p99",
              f"{_seconds(figures['ack_p50_s'])} / {_seconds(figures['ack_p99_s'])}", "p99 ≤ 0.2 s",
              "the request that was acknowledged; a refused one's retry starts a new round trip")  # fmt: skip
    table.add(f"{name}: acknowledgement to pop, median / max",
              f"{_seconds(figures['ack_to_pop_p50_s'])} / {_seconds(figures['ack_to_pop_max_s'])}", "seconds",
              "the delay an agent saw; the max is an event acknowledged just before the fault")  # fmt: skip


def run(scale: dict[str, dict[str, Any]]) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    with freshdesk_simulator(plan="addon_2000") as simulator:

        def rig() -> FaultRig:
            simulator.reset()
            simulator.configure(plan="addon_2000")
            return FaultRig(simulator)

        log("PostgreSQL restart")
        with rig() as fault_rig:
            figures["postgresql"] = scenario_postgresql_restart(fault_rig, settle=SETTLE_SECONDS, **scale["postgresql"])
        log("Redis outage")
        with rig() as fault_rig:
            redis, *_ = scenario_redis_outage(fault_rig, settle=SETTLE_SECONDS, **scale["redis"])
            figures["redis"] = redis
        log("Freshdesk hang")
        with rig() as fault_rig:
            figures["hang"] = scenario_freshdesk_hang(fault_rig, settle=SETTLE_SECONDS, **scale["hang"])
        log("process killed")
        with rig() as fault_rig:
            figures["kill"] = scenario_killed_process(fault_rig, settle=SETTLE_SECONDS, **scale["kill"])
    return figures


def tables(figures: dict[str, Any], scale: dict[str, dict[str, Any]]) -> list[Table]:
    table = Table("Faults (issue 18): production configuration, open-loop load")
    postgresql, redis, hang, kill = figures["postgresql"], figures["redis"], figures["hang"], figures["kill"]
    _healed_rows(table, "PostgreSQL restart", postgresql)
    table.add("PostgreSQL restart: pg_ctl restart -m fast took", _seconds(postgresql["restart_s"]))
    table.add("PostgreSQL restart: /readyz afterwards", str(postgresql["readyz_after"]), "200")
    _healed_rows(table, "Redis outage (3 s)", redis)
    table.add("Redis outage: panels open with their state at the end", f"{redis['panels_live_at_end']} / "
              f"{redis['panels']}", "all", f"closes by code: {redis['panel_closes_by_code']}")  # fmt: skip
    table.add("Redis outage: panel handshakes answered 5xx", str(redis["panel_http_5xx"]), "0")
    table.add("Freshdesk hang: pops told 'unavailable'", f"{hang['told_unavailable']} / {hang['sent']}", "all")
    table.add("Freshdesk hang: event to 'unavailable', median / max",
              f"{_seconds(hang['event_to_unavailable_p50_s'])} / {_seconds(hang['event_to_unavailable_max_s'])}",
              "≤ 2 s")  # fmt: skip
    table.add("Freshdesk back: looked up again / last one after", f"{hang['looked_up_again']} / "
              f"{_seconds(hang['answering_to_last_lookup_s'])}", "all", "breaker cool-down 5 s + a sweep")  # fmt: skip
    _healed_rows(table, "Process killed", kill)
    table.add("Process killed: numbers looked up twice / pops taken over",
              f"{kill['numbers_looked_up_twice']} / {kill['pops_taken_over']:.0f}", "twice ≤ taken over",
              "screenpop_pops_taken_over_total counts them")  # fmt: skip
    table.notes.append(
        "Scale: "
        + "; ".join(f"{name} {', '.join(f'{k}={v}' for k, v in values.items())}" for name, values in scale.items())
    )
    table.notes.append(f"Machine: {machine_line()}.")
    return [table]


def summary(figures: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [
        (
            "PostgreSQL restart: recovery to last pop",
            _seconds(figures["postgresql"]["recovery_to_last_pop_s"]),
            "≤ 5 s",
        ),
        ("Redis outage: recovery to last pop", _seconds(figures["redis"]["recovery_to_last_pop_s"]), "≤ 5 s"),
        ("Freshdesk hang: to 'unavailable' (max)", _seconds(figures["hang"]["event_to_unavailable_max_s"]), "≤ 2 s"),
        ("Process killed: recovery to last pop", _seconds(figures["kill"]["recovery_to_last_pop_s"]), "≤ 5 s"),
    ]


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the test's scale (about 1 minute)")
    args = parser.parse_args(argv)
    missing = services_available()
    if missing:
        raise SystemExit(f"bench.faults needs {missing}")
    scale = QUICK if args.quick else FULL
    figures = run(scale)
    write_results(NAME, {"scale": scale, **figures}, tables(figures, scale), quick=args.quick)
    return figures


if __name__ == "__main__":
    main()
