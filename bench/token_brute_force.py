"""Issue 19.2: `/oauth/token/` under a brute force, and what it costs the webhook and a legitimate client.

One server (uvicorn, ack only: `SCREENPOP_RUN_WORKERS=0`), two tenants: the legitimate one, whose data action
posts to the webhook at a paced rate (open loop: latencies count from the planned send time, so queueing shows)
and asks for a new token once a second; and a victim whose client id the attackers know. Attackers: 8 threads in
a process of their own, each from its own address (`X-Forwarded-For`, which uvicorn trusts from loopback, as from
the TLS proxy in production), half guessing the victim's secret, half trying made-up client ids. Phases:

1. `quiet`: no attack (the reference);
2. `attack`: the brute force against the victim and made-up ids, throttled as deployed;
3. `attack_unthrottled`: the same with limits too high to bite (what the keyed hash alone costs);
4. `attack_own_id`: the 8 threads guess the legitimate client's own secret: the per-client throttle then refuses
   that client too (429) until the window ends, the price of stopping guesses at its id;
5. `before`: as before issue 19, for comparison: the victim's secret hashed with PBKDF2 (as secrets made before
   are, until their next successful use) and no throttle, so every wrong guess costs a PBKDF2.

The full run gives each phase 60 s (`--quick`: 10 s). Figures only, never a verdict: the machine is shared.

    .venv/bin/python -m bench.token_brute_force [--quick] [--production | --both]
"""

from __future__ import annotations

import multiprocessing
import secrets
import threading
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from bench.common import (
    CONFIG_LABELS,
    WEBHOOK_PATH,
    Table,
    cpu_seconds,
    freshdesk_simulator,
    log,
    machine_line,
    parse_args,
    percentile,
    screenpop_stack,
    tenant_install,
    webhook_body,
    write_results,
)

NAME = "token_brute_force"
ATTACK_THREADS = 8
WEBHOOK_RATE = 20.0  # per second, paced
TOKEN_INTERVAL = 1.0  # the legitimate client asks for a token this often
LEGITIMATE_ADDRESS = "198.51.100.10"
PHASES = ("quiet", "attack", "attack_unthrottled", "attack_own_id", "before")
PBKDF2_VICTIM = """
from django.contrib.auth.hashers import make_password
from oauth2_provider.models import Application
Application.objects.filter(client_id={client_id!r}).update(client_secret=make_password("x", hasher="pbkdf2_sha256"))
"""


def _attacker(base_url: str, client_id: str, seconds: float, number: int, results: Any) -> None:
    """One attacking thread: wrong secrets for `client_id` (None: made-up ids), from its own address."""
    session = requests.Session()
    statuses: Counter = Counter()
    latencies: list[float] = []
    headers = {"X-Forwarded-For": f"203.0.113.{10 + number}"}
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        guessed_id = client_id or secrets.token_urlsafe(30)
        started = time.perf_counter()
        try:
            response = session.post(
                f"{base_url}/oauth/token/",
                data={"grant_type": "client_credentials"},
                auth=(guessed_id, secrets.token_urlsafe(36)),
                headers=headers,
                timeout=30,
            )
            statuses[response.status_code] += 1
            if response.status_code == 401:
                latencies.append(time.perf_counter() - started)
        except requests.RequestException:
            statuses["error"] += 1
    results.put({"kind": "victim" if client_id else "unknown", "statuses": dict(statuses), "latencies": latencies})


def _attack_process(base_url: str, client_id: str, seconds: float, results: Any, *, all_on_client: bool) -> None:
    threads = [
        threading.Thread(
            target=_attacker,
            args=(base_url, client_id if all_on_client or number % 2 == 0 else "", seconds, number, results),
        )
        for number in range(ATTACK_THREADS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _measure(base_url: str, tenant: Any, token: str, seconds: float) -> dict[str, Any]:
    """The legitimate side for `seconds`: paced webhook posts with `token`, and a new token asked for each second."""
    session = requests.Session()
    acks: list[float] = []
    ack_statuses: Counter = Counter()
    token_latencies: list[float] = []
    token_statuses: Counter = Counter()
    lock = threading.Lock()

    def post(planned: float) -> None:
        body = webhook_body(str(uuid.uuid4()), "+12025550100")
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        response = requests.post(f"{base_url}{WEBHOOK_PATH}", data=body, headers=headers, timeout=30)
        with lock:
            acks.append(time.monotonic() - planned)
            ack_statuses[response.status_code] += 1

    def tokens(deadline: float) -> None:
        while time.monotonic() < deadline:
            started = time.perf_counter()
            response = session.post(
                f"{base_url}/oauth/token/",
                data={"grant_type": "client_credentials"},
                auth=(tenant.client_id, tenant.client_secret),
                headers={"X-Forwarded-For": LEGITIMATE_ADDRESS},
                timeout=30,
            )
            token_statuses[response.status_code] += 1
            if response.status_code == 200:
                token_latencies.append(time.perf_counter() - started)
            time.sleep(max(0.0, TOKEN_INTERVAL - (time.perf_counter() - started)))

    start = time.monotonic()
    deadline = start + seconds
    token_thread = threading.Thread(target=tokens, args=(deadline,))
    token_thread.start()
    with ThreadPoolExecutor(max_workers=16) as pool:
        count = int(seconds * WEBHOOK_RATE)
        for index in range(count):
            planned = start + index / WEBHOOK_RATE
            time.sleep(max(0.0, planned - time.monotonic()))
            pool.submit(post, planned)
    token_thread.join()
    return {
        "webhook": {
            "sent": len(acks),
            "statuses": dict(ack_statuses),
            "p50_ms": _ms(percentile(acks, 0.5)),
            "p99_ms": _ms(percentile(acks, 0.99)),
            "max_ms": _ms(max(acks) if acks else None),
        },
        "token": {
            "statuses": dict(token_statuses),
            "p50_ms": _ms(percentile(token_latencies, 0.5)),
            "p99_ms": _ms(percentile(token_latencies, 0.99)),
            "max_ms": _ms(max(token_latencies) if token_latencies else None),
        },
    }


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 2)


def _phase(stack: Any, phase: str, seconds: float) -> dict[str, Any]:
    unthrottled = phase in ("attack_unthrottled", "before")
    env = {"SCREENPOP_TOKEN_FAILURES_PER_CLIENT": "1000000000", "SCREENPOP_TOKEN_FAILURES_PER_ADDRESS": "1000000000"}
    with stack.serve(**(env if unthrottled else {})) as (process, base_url):
        legitimate, victim = stack.tenants
        webhook_token = legitimate.token(base_url)  # before any attack: tokens already issued keep working
        attack = None
        results: Any = multiprocessing.get_context("spawn").Queue()
        if phase != "quiet":
            target = legitimate.client_id if phase == "attack_own_id" else victim.client_id
            attack = multiprocessing.get_context("spawn").Process(
                target=_attack_process,
                args=(base_url, target, seconds),
                kwargs={"results": results, "all_on_client": phase == "attack_own_id"},
            )
            attack.start()
            time.sleep(1.0)  # the attack is under way before the measurement starts
        cpu_before = cpu_seconds(process.pid)
        measured = _measure(base_url, legitimate, webhook_token, seconds - (1.0 if attack else 0.0))
        measured["server_cpu_share"] = round((cpu_seconds(process.pid) - cpu_before) / seconds, 2)
        if attack is not None:
            attack.join(timeout=seconds + 60)
            statuses: Counter = Counter()
            latencies: dict[str, list[float]] = {"victim": [], "unknown": []}
            for _ in range(ATTACK_THREADS):
                report = results.get(timeout=30)
                statuses.update(report["statuses"])
                latencies[report["kind"]] += report["latencies"]
            measured["attack"] = {
                "requests": sum(statuses.values()),
                "per_second": round(sum(statuses.values()) / seconds, 1),
                "statuses": {str(key): value for key, value in statuses.items()},
                "wrong_secret_401_p50_ms": _ms(percentile(latencies["victim"], 0.5)),
                "unknown_id_401_p50_ms": _ms(percentile(latencies["unknown"], 0.5)),
            }
    return measured


def run(config: str, seconds: float) -> dict[str, Any]:
    with freshdesk_simulator() as simulator, screenpop_stack(config, workers=False) as stack:
        stack.tenants = (  # type: ignore[attr-defined]
            tenant_install(stack, org_id="org-legitimate", simulator=simulator),
            tenant_install(stack, org_id="org-victim", simulator=simulator),
        )
        figures = {}
        for phase in PHASES:
            log(f"{config}: {phase} ({seconds:.0f} s)")
            if phase == "before":
                stack.server.manage("shell", "-c", PBKDF2_VICTIM.format(client_id=stack.tenants[1].client_id))
            figures[phase] = _phase(stack, phase, seconds)
        return figures


def _table(config: str, figures: dict[str, Any]) -> Table:
    table = Table(f"/oauth/token/ under a brute force, {CONFIG_LABELS[config]}")
    for phase in PHASES:
        phase_figures = figures[phase]
        webhook, token = phase_figures["webhook"], phase_figures["token"]
        table.add(
            f"{phase}: webhook ack p50 / p99 ({WEBHOOK_RATE:.0f}/s paced)",
            f"{webhook['p50_ms']} / {webhook['p99_ms']} ms",
            note=f"statuses {webhook['statuses']}",
        )
        table.add(
            f"{phase}: legitimate token p50 / p99 / max",
            f"{token['p50_ms']} / {token['p99_ms']} / {token['max_ms']} ms",
            note=f"statuses {token['statuses']}",
        )
        attack = phase_figures.get("attack")
        if attack:
            table.add(
                f"{phase}: attack ({ATTACK_THREADS} threads)",
                f"{attack['per_second']} requests/s",
                note=f"statuses {attack['statuses']}; 401 p50: wrong secret {attack['wrong_secret_401_p50_ms']} ms,"
                f" unknown id {attack['unknown_id_401_p50_ms']} ms",
            )
        table.add(f"{phase}: server CPU", f"{phase_figures['server_cpu_share']:.0%} of a core")
    return table


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse_args(__doc__.splitlines()[0], argv)
    seconds = 10.0 if args.quick else 60.0
    figures: dict[str, Any] = {"seconds_per_phase": seconds}
    tables = []
    for config in args.configs:
        figures[config] = run(config, seconds)
        tables.append(_table(config, figures[config]))
    tables[-1].notes.append(f"Machine: {machine_line()}; shared with other people's tests while it ran.")
    write_results(NAME, figures, tables, quick=args.quick)
    return figures


def summary(figures: dict[str, Any]) -> list[tuple[str, str, str]]:
    rows = []
    for config in ("embedded", "production"):
        if config in figures:
            attack = figures[config]["attack"]
            rows.append(
                (
                    f"legitimate token / webhook p99 during a brute force ({config})",
                    f"{attack['token']['p50_ms']} ms / {attack['webhook']['p99_ms']} ms",
                    "",
                )
            )
    return rows


if __name__ == "__main__":
    main()
