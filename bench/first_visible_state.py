"""Issue 24, failures show fast: how soon the agent's panel shows something other than a skeleton when Freshdesk
fails, measured on the panel's socket from the moment the webhook is sent.

Three faults, each on a tenant of its own (so breakers and caches do not mix) and with calls one after another, each
from a number of its own:

- Freshdesk hangs (the simulator's `hang` knob: it accepts and never answers): the first visible state comes once
  the lookup's first-byte deadline (`SCREENPOP_FRESHDESK_READ_SECONDS`, 1.2 s) has passed, so "after the first
  failure" is the figure minus that deadline. The breaker is kept closed for this run (failures 10^6), so every
  call waits out the deadline: the worst case, not the usual one, where an open breaker answers at once;
- Freshdesk answers 503 (the `outage` knob): the first failure comes back at once;
- Freshdesk unreachable (a port nothing listens on): the connection is refused at once.

Printed: the first message on the socket that is not a plain "looking up" (`retrying`, or a final state), and the
state it carried; median and max over the calls.

    .venv/bin/python -m bench.first_visible_state [--quick] [--production | --both]
"""

from __future__ import annotations

import asyncio
import json
import statistics
import threading
import time
import uuid
from collections.abc import Sequence
from typing import Any

import requests
from websockets.asyncio.client import connect as ws_connect

from bench.common import (
    CONFIG_LABELS,
    WEBHOOK_PATH,
    Table,
    fiction_numbers,
    freshdesk_simulator,
    json_post_headers,
    log,
    machine_line,
    panel_subprotocols,
    panel_url,
    parse_args,
    screenpop_stack,
    tenant_install,
    webhook_body,
    write_results,
)
from tests.fixtures.processes import free_port

NAME = "first_visible_state"
CALLS = 10
QUICK_CALLS = 4
WAIT_SECONDS = 30.0
TARGET_AFTER_FAILURE_S = 1.0
READ_DEADLINE_S = 1.2  # SCREENPOP_FRESHDESK_READ_SECONDS's default, which the server here runs with


async def _first_visible(base_url: str, token: str, panel_token: str, conversation_id: str, body: bytes) -> tuple:
    """Seconds from sending the webhook to the first non-plain-pending state on the conversation's socket."""
    async with ws_connect(
        panel_url(base_url, conversation_id), subprotocols=panel_subprotocols(panel_token), origin=base_url
    ) as socket:
        await socket.recv()  # the state on connect: waiting for the call event
        sent = time.perf_counter()
        threading.Thread(
            target=requests.post,
            args=(f"{base_url}{WEBHOOK_PATH}",),
            kwargs={"data": body, "headers": json_post_headers(token), "timeout": 10},
            daemon=True,
        ).start()
        while True:
            remaining = WAIT_SECONDS - (time.perf_counter() - sent)
            message = json.loads(await asyncio.wait_for(socket.recv(), remaining))
            if message.get("type") != "pop.state":
                continue
            if message["state"] != "pending" or message.get("retrying"):
                shown = "retrying" if message.get("retrying") else message["state"]
                return time.perf_counter() - sent, shown


def _scenario(stack: Any, base_url: str, *, fault: str, org: str, calls: int, start: int) -> dict[str, Any]:
    with freshdesk_simulator() as simulator:
        tenant = tenant_install(stack, org_id=org, simulator=simulator)
        if fault == "hang":
            simulator.configure(hang=True)
        elif fault == "outage":
            simulator.configure(outage=True)
        else:  # unreachable: the tenant's Freshdesk moves to a port nothing listens on
            dead = f"http://127.0.0.1:{free_port()}"
            stack.server.manage(
                "shell",
                "-c",
                "from screenpop.models import FreshdeskConnection\n"
                f"c = FreshdeskConnection.objects.get(tenant__genesys_org_id={org!r}); c.domain = {dead!r}; c.save()",
            )
        token = tenant.token(base_url)
        figures, states = [], []
        for phone in fiction_numbers(calls, start=start):
            conversation_id = str(uuid.uuid4())
            panel_token = stack.server.panel_token(tenant_id=tenant.id, conversation_id=conversation_id)
            seconds, shown = asyncio.run(
                _first_visible(base_url, token, panel_token, conversation_id, webhook_body(conversation_id, phone))
            )
            figures.append(seconds)
            states.append(shown)
        if fault != "unreachable":
            simulator.configure(hang=False, outage=False)
    return {
        "fault": fault,
        "calls": calls,
        "seconds": figures,
        "median_s": statistics.median(figures),
        "max_s": max(figures),
        "states": sorted(set(states)),
    }


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(__doc__.splitlines()[0], argv)
    calls = QUICK_CALLS if args.quick else CALLS
    print(machine_line())
    results: dict[str, Any] = {"configs": {}}
    tables = []
    for config in args.configs:
        # The breaker stays closed: every hung call waits out the deadline (the worst case).
        with screenpop_stack(config, SCREENPOP_BREAKER_FAILURES=str(10**6)) as stack, stack.serve() as (_, base_url):
            table = Table(f"Time to the first visible state while Freshdesk fails, {CONFIG_LABELS[config]}")
            per_fault = {}
            for index, fault in enumerate(("hang", "outage", "unreachable")):
                log(f"{config}: {calls} calls with Freshdesk {fault}")
                figures = _scenario(
                    stack, base_url, fault=fault, org=f"bench-visible-{fault}", calls=calls, start=index * calls
                )
                per_fault[fault] = figures
                after_failure = figures["median_s"] - (READ_DEADLINE_S if fault == "hang" else 0.0)
                table.add(
                    f"Freshdesk {fault}: send -> first visible state (median / max)",
                    f"{figures['median_s']:.3f} s / {figures['max_s']:.3f} s",
                    f"≤ {TARGET_AFTER_FAILURE_S:g} s after the first failure",
                    f"{after_failure:.3f} s after the first failure (median); shown: {', '.join(figures['states'])}",
                )
            table.notes.append(
                f"{calls} calls per fault, one after another; a hang's first failure is the lookup's "
                f"{READ_DEADLINE_S:g}-s first-byte deadline; breaker kept closed (every hung call waits it out)."
            )
            results["configs"][config] = per_fault
            tables.append(table)
    write_results(NAME, results, tables, quick=args.quick)


if __name__ == "__main__":
    main()
