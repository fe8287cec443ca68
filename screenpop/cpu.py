"""The CPU a process's background work may take beside the event loop that acknowledges Genesys.

Python runs one thread at a time (the GIL). When dozens of lookup threads compute at once, the event loop waits
behind them for its turn, up to a switch interval (5 ms) per thread ahead of it: lookups that are fast (a caller in
the cache, a Freshdesk that answers at once) put 100-300 ms into the ack's tail at 200 calls a second, while the ack
alone takes 2 ms (bench/ack_storm, open loop; docs/performance.md). So background work computes in at most
`SCREENPOP_BACKGROUND_CPU_SLOTS` threads at once (one by default: the loop then waits for at most one other thread),
and gives its slot back whenever it waits: for Freshdesk, for the rate budget, for another lookup of the same caller,
for SQLite's writer lock, for the event loop to publish. Dozens of lookups can wait on a slow Freshdesk at once while
one computes, and no admission rule has to guess from the arrival rate whether the ack is under pressure.

Every blocking wait of a thread that holds a slot goes through `waiting()` (or `lock_acquire`): a thread holding a
slot while it waits for something only another slot holder can finish would deadlock the two.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Protocol

from django.conf import settings

_held = threading.local()
_slots: threading.Semaphore | None = None
_slots_guard = threading.Lock()


class _Lock(Protocol):
    def acquire(self, blocking: bool = ..., timeout: float = ...) -> bool: ...


def _semaphore() -> threading.Semaphore:
    global _slots
    if _slots is None:
        with _slots_guard:
            if _slots is None:
                _slots = threading.Semaphore(max(1, settings.SCREENPOP_BACKGROUND_CPU_SLOTS))
    return _slots


def holds_slot() -> bool:
    return getattr(_held, "slot", False)


@contextlib.contextmanager
def computing() -> Iterator[None]:
    """Run the block holding a CPU slot (waiting for one first); in a thread that holds one already, just run it."""
    if holds_slot():
        yield
        return
    slots = _semaphore()
    slots.acquire()
    _held.slot = True
    try:
        yield
    finally:
        _held.slot = False
        slots.release()


@contextlib.contextmanager
def waiting() -> Iterator[None]:
    """Give this thread's slot back for the block, which waits (network, sleep, lock) rather than computes; take a
    slot again after it. Outside `computing()` (the event loop, a request's thread) it does nothing."""
    if not holds_slot():
        yield
        return
    slots = _semaphore()
    _held.slot = False
    slots.release()
    try:
        yield
    finally:
        slots.acquire()
        _held.slot = True


def lock_acquire(lock: _Lock) -> None:
    """Acquire `lock`; while another thread holds it, without holding a CPU slot."""
    if not lock.acquire(blocking=False):
        with waiting():
            lock.acquire()
