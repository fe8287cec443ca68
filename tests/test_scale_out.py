"""Scale-out (issue 23): three server processes on one PostgreSQL and one Redis share a storm, and a rolling restart
(each in turn: SIGTERM, drain, a new process on its port) loses nothing: every accepted call gets exactly one
lookup and one pop, no Freshdesk call is made twice for a number, and every open panel ends with its pop whichever
process looked it up. Runs on services of its own (`tests/fault_rig.py`), so in both CI passes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fault_rig import FaultRig, scenario_rolling_restart, services_available
from tests.fixtures.services import service_missing

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


@pytest.fixture
def rig(freshdesk_sim) -> Iterator[FaultRig]:
    missing = services_available()
    if missing:
        service_missing(missing)
    with FaultRig(freshdesk_sim) as rig:
        yield rig


def test_a_rolling_restart_of_three_processes_loses_nothing_and_repeats_nothing(rig: FaultRig) -> None:
    # 75 new callers in 6 s, each two contact searches (a number's spellings fill two queries): within the Enterprise
    # plan's contacts budget (200 a minute, 180 with our margin), so every pop finishes during the test.
    figures = scenario_rolling_restart(rig, count=75, rate=12.5, latency_ms=150, processes=3, panels=6, settle=30)
    assert figures["acknowledged"] == figures["sent"], figures
    assert figures["without_pop"] == 0, figures
    assert figures["pending"] == 0, repr(figures)
    assert [restart["drained"] for restart in figures["restarts"]] == [True, True, True], figures["restarts"]
    assert figures["numbers_looked_up"] == figures["sent"], "one lookup per call (every number is new)"
    assert figures["numbers_looked_up_twice"] == 0, figures
    assert figures["panels_with_their_pop"] == figures["panels"], figures
    assert figures["panel_http_5xx"] == 0, figures
