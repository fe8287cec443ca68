"""The lookup runner's concurrency: every slot outside a storm, `STORM_CONCURRENCY` while the webhook is in one."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from screenpop.lookup import runner as lookup_runner
from screenpop.pops.services import RunOutcome

pytestmark = [pytest.mark.django_db(transaction=True)]


class Lookups:
    """Stands in for `pop_lookup_run` (the lookups' own behaviour is tested elsewhere): counts how many run at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.running = 0
        self.most_at_once = 0
        self.done: list[int] = []

    def __call__(self, *, pop_id: int, owner: str) -> RunOutcome:
        with self._lock:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        time.sleep(0.2)  # long enough for every dispatched lookup to overlap the others
        with self._lock:
            self.running -= 1
            self.done.append(pop_id)
        return RunOutcome(state="matched")


async def _run_all(monkeypatch, *, storm: bool, pops: int) -> Lookups:
    lookups = Lookups()
    monkeypatch.setattr(lookup_runner, "pop_lookup_run", lookups)
    runner = lookup_runner.LookupRunner(owner="test-process", concurrency=8, storm=lambda: storm)
    runner.start()
    try:
        runner.schedule([(pop_id, 1 + pop_id % 2) for pop_id in range(1, pops + 1)])
        for _ in range(300):
            if len(lookups.done) == pops:
                break
            await asyncio.sleep(0.02)
    finally:
        await runner.stop()
    return lookups


async def test_every_slot_runs_outside_a_storm(monkeypatch) -> None:
    lookups = await _run_all(monkeypatch, storm=False, pops=6)
    assert sorted(lookups.done) == [1, 2, 3, 4, 5, 6]
    assert lookups.most_at_once == 6


async def test_a_storm_holds_the_lookups_to_their_storm_concurrency(monkeypatch) -> None:
    lookups = await _run_all(monkeypatch, storm=True, pops=6)
    assert sorted(lookups.done) == [1, 2, 3, 4, 5, 6]  # none is dropped, they wait their turn
    assert lookups.most_at_once == lookup_runner.STORM_CONCURRENCY
