"""Self-healing in production (issue 18): a PostgreSQL restart, a Redis outage, a hung Freshdesk and a killed server
process delay pops by seconds, never forever. Each scenario runs the production configuration on services of its own
(`tests/fault_rig.py`) at a small scale: a few hundred events, seconds of outage.

Asserted, as the issue's acceptance criteria: every acknowledged event gets its pop (none left pending); the time
from recovery (or from the last acknowledgement, if later) to the last pop is at most 5 s; pops are "unavailable"
within 2 s of their event while Freshdesk hangs; panels reconnect without an error. These are the issue's bounds, not
what the code aims at (about 1-2 s after a restart, 1.2 s for a hang: see `bench/faults.py`), so they hold on a
loaded 2-core CI machine. `bench/faults.py` prints the same figures at a larger scale.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect as ws_connect

from tests.fault_rig import FaultRig, Sent, services_available, settled_figures
from tests.fixtures.services import service_missing

pytestmark = [pytest.mark.slow, pytest.mark.timeout(110)]

RECOVERY_BOUND_SECONDS = 5.0  # the bound from recovery to the last pop
UNAVAILABLE_BOUND_SECONDS = 2.0  # the bound from an event to "unavailable" while Freshdesk hangs
SETTLE_TIMEOUT_SECONDS = 30.0
# Seeded Freshdesk contacts (simulators/freshdesk/seed.py): their results are cached after the first lookup, so a run
# costs few Freshdesk calls and the rate budget never holds a lookup back; the faults are the database's and Redis's.
KNOWN_CALLERS = ["+15550199998", "+15550199999", "+81312345678", "+12015550123", "+12125550172"]


def callers(count: int) -> list[str]:
    return [KNOWN_CALLERS[index % len(KNOWN_CALLERS)] for index in range(count)]


def unknown_callers(count: int) -> list[str]:
    """Numbers no seeded contact has (646 is not an area code of the seed): each lookup calls Freshdesk."""
    return [f"+1646555{index:04d}" for index in range(count)]


@pytest.fixture
def rig(freshdesk_sim) -> Iterator[FaultRig]:
    missing = services_available()
    if missing:
        service_missing(missing)
    freshdesk_sim.configure(plan="addon_2000")
    with FaultRig(freshdesk_sim) as rig:
        yield rig


def assert_healed(figures: dict[str, Any]) -> None:
    print(figures)  # shown with -s, and beside a failure
    assert figures["never_acknowledged"] == 0, figures
    assert figures["without_pop"] == 0, figures
    assert figures["pending"] == 0, figures
    assert figures["refusals_without_retry_after"] == 0, figures
    assert figures["recovery_to_last_pop_s"] is not None
    assert figures["recovery_to_last_pop_s"] <= RECOVERY_BOUND_SECONDS, figures


class Fault:
    """Calls `inject` once, from the load's thread, when the load has run `at` seconds; records when it was over."""

    def __init__(self, at: float, inject: Any) -> None:
        self.at = at
        self.inject = inject
        self.started_at: float | None = None
        self.recovered_at: float | None = None

    def __call__(self, elapsed: float) -> None:
        if self.started_at is None and elapsed >= self.at:
            self.started_at = time.time()
            self.inject()
            self.recovered_at = time.time()


def test_a_postgresql_restart_delays_pops_by_seconds(rig: FaultRig) -> None:
    with rig.serve():
        restart = Fault(1.5, rig.postgres.restart)
        events = rig.send_open_loop(callers(200), rate=40, during=restart)
        assert restart.recovered_at is not None
        pops = rig.wait_until_settled([event.conversation_id for event in events], timeout=SETTLE_TIMEOUT_SECONDS)
        figures = settled_figures(events, pops, recovered_at=restart.recovered_at)
        ready = rig.readyz()
    assert_healed(figures)
    assert figures["acknowledged"] == 200
    assert ready == 200, "the process recovered by itself: no replacement needed"


class Panel(threading.Thread):
    """An agent's panel: connect, read the state, reconnect on a close the way `live.js` does (backoff with jitter
    from 0.5-1 s), until `stop`. Records every handshake refusal and every state received."""

    def __init__(self, rig: FaultRig, conversation_id: str) -> None:
        super().__init__(daemon=True)
        self.rig = rig
        self.conversation_id = conversation_id
        self.stop = threading.Event()
        self.connections: list[float] = []  # when each connection got its first state
        self.closes: list[int | None] = []
        self.refusals: list[tuple[float, str]] = []
        self.live_at_stop = False  # connected, with its state, when told to stop

    def run(self) -> None:
        backoff = [0.5, 1.0, 2.0]
        failures = 0
        while not self.stop.is_set():
            try:
                url, origin = self.rig.panel_url(self.conversation_id), self.rig.server.base_url
                with ws_connect(url, origin=origin, open_timeout=5) as socket:
                    failures = 0
                    first = True
                    while not self.stop.is_set():
                        try:
                            message = socket.recv(timeout=0.2)
                        except TimeoutError:
                            continue
                        if first and '"pop.state"' in message:
                            self.connections.append(time.time())
                            first = False
                    self.live_at_stop = not first
            except ConnectionClosed as closed:
                self.closes.append(closed.rcvd.code if closed.rcvd else None)
            except InvalidStatus as refused:
                self.refusals.append((time.time(), f"HTTP {refused.response.status_code}"))
            except (OSError, TimeoutError) as error:
                self.refusals.append((time.time(), type(error).__name__))
            if self.stop.is_set():
                return
            delay = backoff[min(failures, len(backoff) - 1)]
            failures += 1
            self.stop.wait(delay / 2 + delay / 2 * (hash((self.name, failures)) % 100) / 100)


def test_a_redis_outage_delays_pops_by_seconds_and_panels_reconnect(rig: FaultRig) -> None:
    outage_seconds = 3.0
    with rig.serve():
        panels = [Panel(rig, f"fault-panel-{number}") for number in range(10)]
        for panel in panels:
            panel.start()
        late_panels: list[Panel] = []

        def stop_redis() -> None:
            rig.redis.stop()

        def start_redis() -> None:
            rig.redis.start()
            # Panels opening in the first second after Redis is back (stale pooled connections are met here).
            late_panels.extend(Panel(rig, f"fault-late-{number}") for number in range(20))
            for panel in late_panels:
                panel.start()

        stop = Fault(1.5, stop_redis)
        start = Fault(1.5 + outage_seconds, start_redis)
        events = rig.send_open_loop(callers(200), rate=40, during=lambda elapsed: (stop(elapsed), start(elapsed)))
        assert start.recovered_at is not None
        pops = rig.wait_until_settled([event.conversation_id for event in events], timeout=SETTLE_TIMEOUT_SECONDS)
        figures = settled_figures(events, pops, recovered_at=start.recovered_at)
        time.sleep(3)  # the panels' backoff after the outage: 0.5 s to 2 s
        for panel in panels + late_panels:
            panel.stop.set()
        for panel in panels + late_panels:
            panel.join(timeout=10)
    print({panel.conversation_id: (panel.closes, panel.refusals) for panel in panels + late_panels})
    assert_healed(figures)
    for panel in panels:
        assert panel.closes, "the outage closed the panel's socket"
        assert set(panel.closes) <= {1013}, "closed with a frame the panel understands, not dropped"
        assert panel.live_at_stop, f"{panel.conversation_id} did not reconnect: {panel.closes} {panel.refusals}"
        assert panel.connections[-1] >= stop.started_at, "its socket is one opened since the outage"
        after_first_reconnect = [refusal for at, refusal in panel.refusals if at > panel.connections[-1]]
        assert after_first_reconnect == []
        assert all(code != 1011 for code in panel.closes), "closed as a server error"
    for panel in late_panels:
        assert panel.connections, f"{panel.conversation_id}: {panel.refusals}"
        assert not [refusal for _, refusal in panel.refusals if refusal.startswith("HTTP 5")], panel.refusals


def test_a_hung_freshdesk_is_unavailable_within_two_seconds_then_looked_up_again(rig: FaultRig) -> None:
    with rig.serve():
        rig.simulator.configure(hang=True)
        hung_at = time.time()
        events = rig.send_open_loop(unknown_callers(40), rate=20)
        pops = rig.wait_until_settled([event.conversation_id for event in events], timeout=SETTLE_TIMEOUT_SECONDS)
        told = unavailable_after(events, pops)
        rig.simulator.configure(hang=False)
        answered_at = time.time()
        # After the breaker's cool-down (5 s), one pop probes, then every "unavailable" one is looked up again.
        looked_up_again = rig.wait_until_looked_up_again([event.conversation_id for event in events], timeout=30)
    assert len(told) == 40, "every pop is told"
    assert all(state == "unavailable" for state, _ in told.values()), told
    slowest = max(seconds for _, seconds in told.values())
    assert slowest <= UNAVAILABLE_BOUND_SECONDS, f"{slowest:.2f} s after the event (hung at {hung_at})"
    assert len(looked_up_again) == 40, "unavailable pops of calls still live are looked up again once Freshdesk answers"
    assert max(looked_up_again.values()) - answered_at <= 5.0 + 5.0, "within the breaker's cool-down and a sweep"


def unavailable_after(events: list[Sent], pops: dict[str, tuple]) -> dict[str, tuple[str, float]]:
    """conversation -> (state, seconds from its acknowledgement to its pop finishing)."""
    return {
        event.conversation_id: (pops[event.conversation_id][0], pops[event.conversation_id][1] - event.acked_at)
        for event in events
        if event.acked_at is not None and event.conversation_id in pops and pops[event.conversation_id][1]
    }


def test_a_killed_process_pops_come_back_from_a_fresh_process(rig: FaultRig) -> None:
    """SIGKILL mid-load: its leased pops (some mid-lookup) are finished by a fresh process once their lease ends;
    repeated Freshdesk calls are bounded by the lookups it had in flight and counted."""
    rig.simulator.configure(latency_ms={"default": 100})
    phones = unknown_callers(60)
    with rig.serve() as doomed:
        events = rig.send_open_loop(phones, rate=40)
        rig.server.kill(doomed)
        killed_at = time.time()
    with rig.fresh_server():
        started_at = time.time()
        pops = rig.wait_until_settled([event.conversation_id for event in events], timeout=SETTLE_TIMEOUT_SECONDS)
        taken_over = rig.metric("screenpop_pops_taken_over_total")
    figures = settled_figures(events, pops, recovered_at=started_at)
    assert_healed(figures)
    calls = [call for call in rig.simulator.requests() if "search" in call["endpoint"]]
    per_number: dict[str, int] = {}
    for call in calls:
        per_number[call["raw_query"]] = per_number.get(call["raw_query"], 0) + 1
    repeated = sum(count - 1 for count in per_number.values() if count > 1)
    assert repeated <= taken_over, "every repeated lookup was counted as a take-over"
    assert started_at - killed_at < 30
