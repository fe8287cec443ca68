"""Issue 7.4, memory and start-up: RSS of one server process idle and with 1,000 open panel sockets; time from
start to ready.

- Start-up: spawn `uvicorn genesys_app.asgi:application` (lookups on, as deployed) on a migrated database, then
  poll `GET /readyz` every 10 ms (database, cache and channel layer checked) until the first 200; three starts
  (two with --quick), median and worst. Anchor: `bench.bare_asgi` on the same stack, to its first 200.
- Memory: VmRSS of the uvicorn process itself (/proc/<pid>/status; uvicorn runs without a reloader or workers, so
  the pid spawned is the server), once ready and idle, then with 1,000 panel sockets open (websockets clients in
  this process, each authenticated with its panel token, joined to its group and sent its state). Also VmHWM, the
  peak. Anchor: the bare app, idle and with the same 1,000 sockets.

    .venv/bin/python -m bench.memory_startup [--quick] [--production | --both]
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from typing import Any

import requests
from websockets.asyncio.client import connect as ws_connect

from bench.common import (
    CONFIG_LABELS,
    ROOT,
    UVICORN_FLAGS,
    Stack,
    Table,
    free_port,
    log,
    machine_line,
    panel_subprotocols,
    panel_url,
    parse_args,
    rss_kib,
    screenpop_stack,
    uvicorn,
    write_results,
)

NAME = "memory_startup"
SOCKETS = 1000
RSS_TARGET_MB = 150
STARTUP_TARGET_S = 2.0
CONNECT_CONCURRENCY = 50
SETTLE_SECONDS = 2.0


def _raise_fd_limit(needed: int) -> None:
    """1,000 client sockets here and 1,000 in the server (which inherits this limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(needed, hard), hard))


def time_to_ready(app: str, env: dict[str, str], ready_path: str) -> float:
    """Seconds from spawning uvicorn to the first 200 from `ready_path` (polled every 10 ms)."""
    port = free_port()
    args = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port), "--lifespan", "on"]
    log_path = ROOT / "test-output" / "logs" / f"bench-startup-{os.getpid()}-{time.time_ns()}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    session = requests.Session()
    with open(log_path, "wb") as output:
        started = time.perf_counter()
        process = subprocess.Popen(
            [*args, *UVICORN_FLAGS],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = started + 30
            while time.perf_counter() < deadline:
                if process.poll() is not None:
                    raise RuntimeError(f"{app} exited with {process.returncode}; see {log_path}")
                with contextlib.suppress(requests.RequestException):
                    if session.get(f"http://127.0.0.1:{port}{ready_path}", timeout=1).status_code == 200:
                        return time.perf_counter() - started
                time.sleep(0.01)
            raise RuntimeError(f"{app} was not ready within 30 s; see {log_path}")
        finally:
            session.close()
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def _hold_sockets(base_url: str, tokens: list[tuple[str, str | None]], measure: Any) -> dict[str, Any]:
    """Open one socket per (conversation, token), wait for each first message, then call `measure()`."""
    semaphore = asyncio.Semaphore(CONNECT_CONCURRENCY)
    sockets: list[Any] = []
    failures = 0

    async def open_one(conversation: str, token: str | None) -> None:
        nonlocal failures
        async with semaphore:
            try:
                socket = await ws_connect(
                    panel_url(base_url, conversation),
                    subprotocols=panel_subprotocols(token),
                    origin=base_url,
                    open_timeout=30,
                )
                await asyncio.wait_for(socket.recv(), 30)
                sockets.append(socket)
            except Exception:
                failures += 1

    started = time.perf_counter()
    await asyncio.gather(*(open_one(conversation, token) for conversation, token in tokens))
    connect_seconds = time.perf_counter() - started
    await asyncio.sleep(SETTLE_SECONDS)
    figures = measure()
    # Close a few at a time: a burst of 1,000 disconnects is not what this measures.
    for index in range(0, len(sockets), CONNECT_CONCURRENCY):
        await asyncio.gather(*(socket.close() for socket in sockets[index : index + CONNECT_CONCURRENCY]))
    return {"open": len(sockets), "failed": failures, "connect_seconds": connect_seconds, **figures}


def _mb(kib: int) -> float:
    return kib / 1024


def measure_memory(app: str, env: dict[str, str], tokens: list[tuple[str, str | None]]) -> dict[str, Any]:
    with uvicorn(app, env=env) as (process, base_url):
        if app.startswith("genesys_app"):
            requests.get(f"{base_url}/readyz", timeout=10).raise_for_status()
        time.sleep(SETTLE_SECONDS)
        idle = rss_kib(process.pid)
        loaded = asyncio.run(_hold_sockets(base_url, tokens, lambda: rss_kib(process.pid)))
        return {
            "idle_rss_mb": _mb(idle["VmRSS"]),
            "sockets_rss_mb": _mb(loaded.pop("VmRSS")),
            "peak_rss_mb": _mb(loaded.pop("VmHWM")),
            **loaded,
        }


def run_config(config: str, *, starts: int, sockets: int) -> dict[str, Any]:
    results: dict[str, Any] = {"config": config, "sockets": sockets, "starts": starts}
    _raise_fd_limit(4 * sockets + 1024)
    with screenpop_stack(config) as stack:
        env = stack.server.env
        log(f"{config}: start-up x{starts} (server, then the bare app)")
        server_times = [time_to_ready("genesys_app.asgi:application", env, "/readyz") for _ in range(starts)]
        bare_times = [time_to_ready("bench.bare_asgi:application", {}, "/readyz") for _ in range(starts)]
        for key, times in (("startup_s", server_times), ("bare_startup_s", bare_times)):
            results[key] = {"all": times, "median": statistics.median(times), "max": max(times)}

        log(f"{config}: memory, bare app idle and with {sockets} sockets")
        bare_tokens = [(f"bare-{index}", None) for index in range(sockets)]
        results["bare_memory"] = measure_memory("bench.bare_asgi:application", {}, bare_tokens)

        log(f"{config}: memory, server idle and with {sockets} panel sockets")
        tenant = _tenant_without_freshdesk(stack)
        tokens = []
        for index in range(sockets):
            conversation = f"mem-{uuid.uuid4().hex[:12]}-{index}"
            tokens.append((conversation, stack.server.panel_token(tenant_id=tenant, conversation_id=conversation)))
        results["server_memory"] = measure_memory("genesys_app.asgi:application", env, tokens)
    for key in ("bare_memory", "server_memory"):
        figures = results[key]
        figures["per_socket_kb"] = (
            (figures["sockets_rss_mb"] - figures["idle_rss_mb"]) * 1024 / figures["open"] if figures["open"] else None
        )
    return results


def _tenant_without_freshdesk(stack: Stack) -> int:
    """Panels only need a tenant id their token names; no pop exists, so each socket shows `pending`."""
    return stack.server.manage_json("tenant_create", "--org-id", "org-memory", "--name", "Memory")["id"]


def table_for(results: dict[str, Any], label: str) -> Table:
    sockets = results["sockets"]
    table = Table(f"Memory and start-up: {label}; one uvicorn process")
    startup, bare_startup = results["startup_s"], results["bare_startup_s"]
    table.add(
        "anchor: bare ASGI app, start -> first 200",
        f"{bare_startup['median']:.2f} s",
        "",
        f"worst of {results['starts']}: {bare_startup['max']:.2f} s",
    )
    table.add(
        "server: start -> first 200 from /readyz",
        f"{startup['median']:.2f} s",
        f"≤ {STARTUP_TARGET_S:.0f} s",
        f"median of {results['starts']} starts, worst {startup['max']:.2f} s",
    )
    bare, server = results["bare_memory"], results["server_memory"]
    table.add(
        "anchor: bare ASGI app RSS, idle / with sockets",
        f"{bare['idle_rss_mb']:.0f} MB / {bare['sockets_rss_mb']:.0f} MB",
        "",
        f"{bare['open']} sockets, {bare['per_socket_kb']:.0f} KB each",
    )
    table.add("server RSS, idle", f"{server['idle_rss_mb']:.0f} MB", "", "lookup runner started, nothing to do")
    table.add(
        f"server RSS, {sockets:,} panel sockets open",
        f"{server['sockets_rss_mb']:.0f} MB",
        f"≤ {RSS_TARGET_MB} MB",
        f"{server['open']} open, {server['failed']} failed, connected in {server['connect_seconds']:.1f} s; "
        f"{server['per_socket_kb']:.0f} KB a socket; peak (VmHWM) {server['peak_rss_mb']:.0f} MB",
    )
    return table


def summary(figures: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(figure, measured, target) rows for bench/results/latest.md."""
    rows = []
    for config in ("embedded", "production"):
        results = figures.get(config)
        if not results:
            continue
        server, bare = results["server_memory"], results["bare_memory"]
        rows.append(
            (
                f"memory, {config}: RSS idle / with {results['sockets']:,} sockets (bare app)",
                f"{server['idle_rss_mb']:.0f} / {server['sockets_rss_mb']:.0f} MB "
                f"({bare['idle_rss_mb']:.0f} / {bare['sockets_rss_mb']:.0f} MB)",
                f"≤ {RSS_TARGET_MB} MB with sockets",
            )
        )
        rows.append(
            (
                f"start-up, {config}: start -> ready, median (bare app)",
                f"{results['startup_s']['median']:.2f} s ({results['bare_startup_s']['median']:.2f} s)",
                f"≤ {STARTUP_TARGET_S:.0f} s",
            )
        )
    return rows


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse_args(__doc__.splitlines()[0], argv)
    print(f"{NAME}: {machine_line()}")
    figures: dict[str, Any] = {"targets": {"rss_mb": RSS_TARGET_MB, "startup_s": STARTUP_TARGET_S}}
    tables = []
    for config in args.configs:
        results = run_config(config, starts=2 if args.quick else 3, sockets=SOCKETS)
        figures[config] = results
        tables.append(table_for(results, CONFIG_LABELS[config]))
    write_results(NAME, figures, tables, quick=args.quick)
    return figures


if __name__ == "__main__":
    main()
