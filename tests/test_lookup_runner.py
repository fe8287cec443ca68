"""The lookup runner's concurrency: every lookup slot runs at once while the lookups wait, and only the CPU slots'
worth of them compute at a time (`screenpop.cpu`), so the event loop that acknowledges Genesys competes with few."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from screenpop import cpu
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
        with cpu.waiting():  # as a lookup waits for Freshdesk's answer
            time.sleep(0.2)  # long enough for every dispatched lookup to overlap the others
        with self._lock:
            self.running -= 1
            self.done.append(pop_id)
        return RunOutcome(state="matched")


async def _run_all(monkeypatch, *, pops: int, lookups: Lookups | None = None) -> Lookups:
    lookups = lookups or Lookups()
    monkeypatch.setattr(lookup_runner, "pop_lookup_run", lookups)
    runner = lookup_runner.LookupRunner(owner="test-process", concurrency=8)
    runner.start()
    try:
        runner.schedule([(pop_id, 1 + pop_id % 2) for pop_id in range(1, pops + 1)])
        for _ in range(1000):  # up to 20 s on a busy machine
            if len(lookups.done) == pops:
                break
            await asyncio.sleep(0.02)
    finally:
        await runner.stop()
    return lookups


async def test_lookups_that_wait_all_run_at_once(monkeypatch) -> None:
    lookups = await _run_all(monkeypatch, pops=6)
    assert sorted(lookups.done) == [1, 2, 3, 4, 5, 6]
    assert lookups.most_at_once == 6


class ComputingLookups(Lookups):
    """Lookups that compute (hold the CPU) for a while, then wait on the network, then compute again."""

    def __init__(self, *, overlap: int = 1) -> None:
        super().__init__()
        self.overlap = overlap
        self.computing = 0
        self.most_computing = 0

    def _compute(self) -> None:
        with self._lock:
            self.computing += 1
            self.most_computing = max(self.most_computing, self.computing)
        started = time.monotonic()
        # Busy, as a lookup's Python work is: 30 ms, and beyond until `overlap` lookups compute together (up to 1 s),
        # so a machine slow to start threads cannot hide the overlap the CPU slots allow.
        while (elapsed := time.monotonic() - started) < 0.03 or (self.computing < self.overlap and elapsed < 1.0):
            pass
        with self._lock:
            self.computing -= 1

    def __call__(self, *, pop_id: int, owner: str) -> RunOutcome:
        with self._lock:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        self._compute()
        with cpu.waiting():  # as the Freshdesk client waits for its answer; longer than all six first computations
            time.sleep(0.6)
        self._compute()
        with self._lock:
            self.running -= 1
            self.done.append(pop_id)
        return RunOutcome(state="matched")


async def test_only_the_cpu_slots_compute_at_once_while_the_others_wait(monkeypatch, settings) -> None:
    settings.SCREENPOP_BACKGROUND_CPU_SLOTS = 1
    monkeypatch.setattr(cpu, "_slots", None)  # made again from the setting
    lookups = await _run_all(monkeypatch, pops=6, lookups=ComputingLookups())
    assert sorted(lookups.done) == [1, 2, 3, 4, 5, 6]
    assert lookups.most_computing == 1  # the event loop competes with one thread
    assert lookups.most_at_once == 6  # while all six were in flight, their waits overlapping


async def test_more_cpu_slots_let_more_lookups_compute(monkeypatch, settings) -> None:
    settings.SCREENPOP_BACKGROUND_CPU_SLOTS = 3
    monkeypatch.setattr(cpu, "_slots", None)
    lookups = await _run_all(monkeypatch, pops=6, lookups=ComputingLookups(overlap=3))
    assert sorted(lookups.done) == [1, 2, 3, 4, 5, 6]
    assert lookups.most_computing == 3


def test_a_thread_waiting_for_a_lock_lets_the_lock_holder_compute(monkeypatch, settings) -> None:
    """The deadlock `lock_acquire` prevents: thread A holds a lock and needs the CPU slot back after a wait; thread B
    holds the slot and wants A's lock (two lookups of the same caller in `flight.shared_lookup`)."""
    settings.SCREENPOP_BACKGROUND_CPU_SLOTS = 1
    monkeypatch.setattr(cpu, "_slots", None)
    lock = threading.Lock()
    a_has_lock = threading.Event()
    finished: list[str] = []

    def a() -> None:
        with cpu.computing():
            cpu.lock_acquire(lock)
            a_has_lock.set()
            with cpu.waiting():
                time.sleep(0.2)  # B takes the slot meanwhile, then waits for the lock
            lock.release()
            finished.append("a")

    def b() -> None:
        a_has_lock.wait(5)
        with cpu.computing():
            cpu.lock_acquire(lock)
            lock.release()
            finished.append("b")

    threads = [threading.Thread(target=a), threading.Thread(target=b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert sorted(finished) == ["a", "b"]


def test_waiting_outside_a_slot_changes_nothing(monkeypatch, settings) -> None:
    settings.SCREENPOP_BACKGROUND_CPU_SLOTS = 1
    monkeypatch.setattr(cpu, "_slots", None)
    assert not cpu.holds_slot()
    with cpu.waiting():  # the event loop's thread, a request's thread
        assert not cpu.holds_slot()
    with cpu.computing():
        assert cpu.holds_slot()
        with cpu.computing():  # reentrant
            assert cpu.holds_slot()
        with cpu.waiting():
            assert not cpu.holds_slot()
        assert cpu.holds_slot()
    assert not cpu.holds_slot()
