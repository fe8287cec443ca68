"""The background lookups of one server process: started within milliseconds of the webhook's commit, bounded in
concurrency, fair between tenants, and retried on schedule.

Everything here is asyncio on the server's event loop; the lookups themselves (sync: database and `requests`) run in
a bounded thread pool, and compute only while they hold one of the process's CPU slots (`screenpop.cpu`), so however
many run, the event loop that acknowledges Genesys competes for the GIL with one of them.

The durable state is the pop row and its lease, so this process can die at any moment: the
scheduler's sweep in any process leases pending pops whose lease expired and hands them to its runner.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict, deque
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import SyncToAsync
from django.conf import settings

from screenpop import metrics
from screenpop.cpu import computing
from screenpop.pops.services import RunOutcome, pop_lookup_run
from screenpop.storage.connections import database_work

logger = logging.getLogger("screenpop.lookup")


# A lookup that crashed (the database or the cache unreachable for a moment) is tried again soon, by this process,
# which still holds its lease: a Redis blip or a PostgreSQL restart delays a pop by about as long as it lasts. The
# delay doubles with each crash of the same pop, up to the last value.
CRASH_RETRY_SECONDS = (0.25, 0.5, 1.0, 2.0)
# After this many crashes in a row (about 40 s) the process lets the pop go: a lookup that fails every time (a bug,
# not an outage) is left to the sweep of its lease's expiry instead of taking a slot every 2 s for good.
CRASH_RETRY_LIMIT = 20


def _lookup(*, pop_id: int, owner: str) -> RunOutcome:
    """One lookup in a lookup thread, as one unit of database work (dead connections are dropped around it), computing
    only while it holds a CPU slot (`screenpop.cpu`)."""
    with computing(), database_work():
        return pop_lookup_run(pop_id=pop_id, owner=owner)


class LookupRunner:
    def __init__(self, *, owner: str, concurrency: int) -> None:
        self.owner = owner
        self.concurrency = concurrency
        self._queues: OrderedDict[int, deque[int]] = OrderedDict()  # tenant id -> pop ids, round-robin order
        self._queued: set[int] = set()
        self._tenant_of: dict[int, int] = {}  # every pop this process holds: queued, running or waiting to retry
        self._crashes: dict[int, int] = {}
        self._busy_since: float | None = None  # when lookups became due with none running or queued before
        self._last_progress = time.monotonic()  # when a lookup last ended without crashing
        self._wakeup = asyncio.Event()
        self._in_flight = 0
        self._slot_freed = asyncio.Event()
        self._executor = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="lookup")
        self._tasks: list[asyncio.Task] = []
        self._running: set[asyncio.Task] = set()
        self.loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._tasks = [self.loop.create_task(self._dispatch(), name="lookup-dispatch")]

    async def stop(self, *, drain_seconds: float = 0.0) -> None:
        """Dispatch no more lookups; wait up to `drain_seconds` for those running to finish (a server that stops
        finishes what it started), then let go. What is left is released by the caller (`pops_lease_release`)."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._running and drain_seconds > 0:
            await asyncio.wait(set(self._running), timeout=drain_seconds)
        self._executor.shutdown(wait=False, cancel_futures=True)

    def schedule(self, pops: list[tuple[int, int]]) -> None:
        """Queue (pop id, tenant id) pairs. Call on the runner's loop, or through `schedule_threadsafe`."""
        if pops and not self._queued and not self._in_flight:
            self._busy_since = time.monotonic()
        for pop_id, tenant_id in pops:
            if pop_id in self._queued:
                continue
            self._queued.add(pop_id)
            self._tenant_of[pop_id] = tenant_id
            self._queues.setdefault(tenant_id, deque()).append(pop_id)
        self._wakeup.set()

    def held(self) -> list[int]:
        """The pops this process holds the lease of and has not finished: queued, running or waiting to retry.
        Call on the runner's loop (the lease renewal takes its list there)."""
        return list(self._tenant_of)

    def stalled_for(self) -> float:
        """Seconds that due lookups (queued or running) have waited without any lookup ending; 0 when idle or moving.
        Readable from any thread (`/readyz`)."""
        if not self._queued and not self._in_flight:
            return 0.0
        since = max(self._last_progress, self._busy_since or 0.0)
        return max(0.0, time.monotonic() - since)

    def schedule_threadsafe(self, pops: list[tuple[int, int]]) -> None:
        if self.loop is not None:
            self.loop.call_soon_threadsafe(self.schedule, pops)

    def _next(self) -> int | None:
        # Round-robin over tenants: one pop of each tenant in turn, so a storm at one tenant does not starve others.
        while self._queues:
            tenant_id, queue = next(iter(self._queues.items()))
            self._queues.move_to_end(tenant_id)
            if queue:
                pop_id = queue.popleft()
                if not queue:
                    del self._queues[tenant_id]
                return pop_id
            del self._queues[tenant_id]
        return None

    async def _dispatch(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._queues:
                while self._in_flight >= self.concurrency:
                    self._slot_freed.clear()
                    await self._slot_freed.wait()
                pop_id = self._next()
                if pop_id is None:
                    break
                self._in_flight += 1
                task = asyncio.get_running_loop().create_task(self._run(pop_id))
                self._running.add(task)
                task.add_done_callback(self._running.discard)

    async def _run(self, pop_id: int) -> None:
        tenant_id = self._tenant_of.get(pop_id, 0)
        try:
            run = SyncToAsync(_lookup, thread_sensitive=False, executor=self._executor)
            outcome: RunOutcome = await run(pop_id=pop_id, owner=self.owner)
            self._crashes.pop(pop_id, None)
            self._last_progress = time.monotonic()
        except Exception as error:
            crashes = self._crashes[pop_id] = self._crashes.get(pop_id, 0) + 1
            delay = CRASH_RETRY_SECONDS[min(crashes, len(CRASH_RETRY_SECONDS)) - 1]
            logger.warning("Lookup of pop %s crashed (%s: %s); trying again in %.2fs", pop_id,
                           type(error).__name__, error, delay, exc_info=crashes == 1)  # fmt: skip
            metrics.lookup_crashes.inc()
            outcome = RunOutcome(state="crashed", retry_in=delay, tenant_id=tenant_id)
            if crashes >= CRASH_RETRY_LIMIT:
                logger.error("Lookup of pop %s crashed %d times in a row; leaving it to the sweep", pop_id, crashes)
                self._crashes.pop(pop_id, None)
                outcome = RunOutcome(state="crashed")
        finally:
            self._queued.discard(pop_id)
            self._in_flight -= 1
            self._slot_freed.set()
        if outcome.retry_in is None:
            self._tenant_of.pop(pop_id, None)
            return
        retry = [(pop_id, outcome.tenant_id or tenant_id)]
        asyncio.get_running_loop().call_later(outcome.retry_in, self.schedule, retry)


_runner: LookupRunner | None = None


def runner() -> LookupRunner | None:
    return _runner


def runner_start(owner: str) -> LookupRunner:
    """Start this process's runner on the running loop (idempotent)."""
    global _runner
    if _runner is not None and (_runner.loop is None or _runner.loop.is_closed()):
        _runner = None  # the loop it ran on is gone (tests run a loop per test)
    if _runner is None:
        _runner = LookupRunner(owner=owner, concurrency=settings.SCREENPOP_LOOKUP_CONCURRENCY)
        _runner.start()
    return _runner


async def runner_stop(*, drain_seconds: float = 0.0) -> None:
    global _runner
    if _runner is not None:
        await _runner.stop(drain_seconds=drain_seconds)
        _runner = None
