"""Run every benchmark of issue 7 and assemble `bench/results/latest.md` (the table the README shows).

    .venv/bin/python -m bench.run_all            # full runs, embedded and production configurations (~7 min)
    .venv/bin/python -m bench.run_all --quick    # short runs, embedded configuration only (~2 min)

Each benchmark also writes its own `bench/results/<name>.json` and `<name>.md`. A benchmark that fails is reported
in latest.md and the others still run. Nothing passes or fails on time: figures are printed beside their targets,
with the anchor measured in the same run, because the 2-core machine is shared with other people's tests.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
import traceback
from collections.abc import Sequence
from types import ModuleType

from bench import ack_storm, api_economy, memory_startup, mirror_economy, time_to_pop
from bench.common import RESULTS_DIR, machine, machine_line

# (module, arguments of a full run, arguments of a quick run)
BENCHMARKS: list[tuple[ModuleType, list[str], list[str]]] = [
    (ack_storm, ["--both"], ["--quick"]),
    (time_to_pop, ["--both"], ["--quick"]),
    (api_economy, [], ["--quick"]),
    (mirror_economy, [], ["--quick"]),
    (memory_startup, ["--both"], ["--quick"]),
]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs, embedded configuration only")
    args = parser.parse_args(argv)
    info = machine()
    started = time.monotonic()
    summary_rows: list[tuple[str, str, str]] = []
    failures: list[str] = []
    sections: list[str] = []
    for module, full, quick in BENCHMARKS:
        name = module.NAME
        print(f"\n=== {name} {' '.join(quick if args.quick else full)}", flush=True)
        try:
            figures = module.main(quick if args.quick else full)
            summary_rows += module.summary(figures)
            sections.append((RESULTS_DIR / f"{name}.md").read_text().split("\n", 1)[1])
        except Exception:
            failures.append(f"{name}: {traceback.format_exc().strip().splitlines()[-1]}")
            traceback.print_exc()
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    mode = "quick runs (`make bench-quick`)" if args.quick else "full runs (`make bench`)"
    lines = [
        "## Benchmarks (issue 7)",
        "",
        f"{stamp}, {mode}, {(time.monotonic() - started) / 60:.1f} minutes. Machine: {machine_line(info)}.",
        "Figures are printed beside their targets, never judged: the machine is shared, so compare each figure "
        "with its anchor (the bare ASGI app on the same uvicorn stack, measured in the same run).",
        "",
        "| figure | measured | target |",
        "|---|---|---|",
        *[f"| {what} | {measured} | {target} |" for what, measured, target in summary_rows],
        "",
    ]
    if failures:
        lines += ["Failed to run:", "", *[f"- {failure}" for failure in failures], ""]
    lines += ["<details><summary>Every figure</summary>", "", *sections, "</details>", ""]
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "latest.md").write_text("\n".join(lines))
    print(f"\nlatest table: {RESULTS_DIR / 'latest.md'}")
    if failures:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
