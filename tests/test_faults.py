"""Self-healing in production (issue 18): a PostgreSQL restart, a Redis outage, a hung Freshdesk and a killed server
process delay pops by seconds, never forever. Each scenario runs the production configuration on services of its own
(`tests/fault_rig.py`) at a small scale: a few hundred events, seconds of outage.

Asserted, as the issue's acceptance criteria: every acknowledged event gets its pop (none left pending); the time
from recovery (or from the last acknowledgement, if later) to the last pop is at most 5 s; pops are "unavailable"
within 2 s of their event while Freshdesk hangs; panels reconnect without an error. These are the issue's bounds, not
what the code aims at (1-3 s after a restart, 1.2 s for a hang: `bench/faults.py` prints the figures), so they hold
on a loaded 2-core CI machine.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.fault_rig import (
    FaultRig,
    scenario_freshdesk_hang,
    scenario_killed_process,
    scenario_postgresql_restart,
    scenario_redis_outage,
    services_available,
)
from tests.fixtures.services import service_missing

pytestmark = [pytest.mark.slow, pytest.mark.timeout(110)]

RECOVERY_BOUND_SECONDS = 5.0  # the bound from recovery to the last pop
UNAVAILABLE_BOUND_SECONDS = 2.0  # the bound from an event to "unavailable" while Freshdesk hangs
BREAKER_COOLDOWN_SECONDS = 5.0  # settings.SCREENPOP_BREAKER_COOLDOWN's default
SETTLE_SECONDS = 30.0


@pytest.fixture
def rig(freshdesk_sim) -> Iterator[FaultRig]:
    missing = services_available()
    if missing:
        service_missing(missing)
    freshdesk_sim.configure(plan="addon_2000")
    with FaultRig(freshdesk_sim) as rig:
        yield rig


def assert_healed(figures: dict[str, Any]) -> None:
    print(figures)  # shown with -s
    assert figures["never_acknowledged"] == 0, figures
    assert figures["without_pop"] == 0, figures
    assert figures["pending"] == 0, figures
    assert figures["refusals_without_retry_after"] == 0, figures
    assert figures["recovery_to_last_pop_s"] is not None
    assert figures["recovery_to_last_pop_s"] <= RECOVERY_BOUND_SECONDS, figures


def test_a_postgresql_restart_delays_pops_by_seconds(rig: FaultRig) -> None:
    figures = scenario_postgresql_restart(rig, count=200, rate=40, at=1.5, settle=SETTLE_SECONDS)
    assert_healed(figures)
    assert figures["acknowledged"] == 200
    assert figures["readyz_after"] == 200, "the process recovered by itself: no replacement needed"


def test_a_redis_outage_delays_pops_by_seconds_and_panels_reconnect(rig: FaultRig) -> None:
    figures, panels, late_panels, outage = scenario_redis_outage(
        rig, count=200, rate=40, at=1.5, outage=3.0, panels=10, late_panels=20, settle=SETTLE_SECONDS
    )
    assert_healed(figures)
    for panel in panels:
        assert panel.closes, "the outage closed the panel's socket"
        assert set(panel.closes) <= {1013}, "closed with a frame the panel understands, not dropped"
        assert panel.live_at_stop, f"{panel.conversation_id} did not reconnect: {panel.closes} {panel.refusals}"
        assert panel.connections[-1] >= outage.started_at, "its socket is one opened since the outage"
        assert [refusal for at, refusal in panel.refusals if at > panel.connections[-1]] == []
    for panel in late_panels:
        assert panel.live_at_stop, f"{panel.conversation_id}: {panel.closes} {panel.refusals}"
    assert figures["panel_http_5xx"] == 0


def test_a_hung_freshdesk_is_unavailable_within_two_seconds_then_looked_up_again(rig: FaultRig) -> None:
    figures = scenario_freshdesk_hang(rig, count=40, rate=20, settle=SETTLE_SECONDS)
    print(figures)
    assert figures["told"] == figures["told_unavailable"] == 40, "every pop is told 'unavailable'"
    assert figures["event_to_unavailable_max_s"] <= UNAVAILABLE_BOUND_SECONDS, figures
    assert figures["looked_up_again"] == 40, "calls still live are looked up again once Freshdesk answers"
    assert figures["answering_to_last_lookup_s"] <= BREAKER_COOLDOWN_SECONDS + RECOVERY_BOUND_SECONDS, figures


def test_a_killed_process_pops_come_back_from_a_fresh_process(rig: FaultRig) -> None:
    """SIGKILL mid-load: its leased pops (some mid-lookup) are finished by a fresh process once their lease ends;
    repeated Freshdesk calls are bounded by the lookups it had in flight, and counted as take-overs."""
    figures = scenario_killed_process(rig, count=60, rate=40, latency_ms=100, settle=SETTLE_SECONDS)
    assert_healed(figures)
    assert figures["numbers_looked_up_twice"] <= figures["pops_taken_over"], figures
