"""The background lookups of one server process: started within milliseconds of the webhook's commit, bounded in
concurrency, fair between tenants, retried on schedule, and recovering pops whose process died.

Everything here is asyncio on the server's event loop; the lookups themselves (sync: database and `requests`) run in
a bounded thread pool. The durable state is the pop row and its lease, so this process can die at any moment: the
sweeper of any process leases pending pops whose lease expired and finishes them, exactly once.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict, deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import SyncToAsync
from django.conf import settings

from screenpop.phone_index import phone_index_refresh_due
from screenpop.pops import RunOutcome, pop_claim_due, pop_lookup_run
from screenpop.retention import PURGE_INTERVAL_SECONDS, purge_due

logger = logging.getLogger("screenpop.lookup")


# While the webhook is in a storm, one lookup at a time: the ack comes first. Lookup threads that are busy on the CPU
# (cache hits, the ORM's reads and writes) take the GIL from the event loop that acknowledges Genesys, and on SQLite
# each lookup's write takes the write lock between the webhook's batches. bench/ack_storm, lookups running
# (64 connections), embedded / production:
#   at once   acks/s                   ack p99            lookups finished/s
#   4         3,200 / 5,100            28 / 23 ms         ~320 / ~105
#   2         5,700-6,700 / ~6,000     19-27 / 19-20 ms   ~190 / ~70
#   1         10,300-11,400 / 8,400    13-15 / 14 ms      ~110 / ~45
# A storm (batches of several: from ~1,000 webhooks/s here) outruns the lookups whatever their number; once it is
# over they run at full concurrency and catch up.
STORM_CONCURRENCY = 1
# Not at start-up: a server that starts answers webhooks first.
PURGE_FIRST_DELAY_SECONDS = 60.0


class LookupRunner:
    def __init__(
        self, *, owner: str, concurrency: int, sweep_seconds: float = 2.0, storm: Callable[[], bool] | None = None
    ) -> None:
        self.owner = owner
        self.concurrency = concurrency
        self.sweep_seconds = sweep_seconds
        self.storm = storm or (lambda: False)
        self._queues: OrderedDict[int, deque[int]] = OrderedDict()  # tenant id -> pop ids, round-robin order
        self._queued: set[int] = set()
        self._wakeup = asyncio.Event()
        self._in_flight = 0
        self._slot_freed = asyncio.Event()
        # Three more threads than lookup slots, for the sweeper, the phone-index refresh and the retention purge.
        self._executor = ThreadPoolExecutor(max_workers=concurrency + 3, thread_name_prefix="lookup")
        self._tasks: list[asyncio.Task] = []
        self._running: set[asyncio.Task] = set()
        self.loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._tasks = [
            self.loop.create_task(self._dispatch(), name="lookup-dispatch"),
            self.loop.create_task(self._sweep(), name="lookup-sweep"),
            self.loop.create_task(self._refresh_phone_index(), name="phone-index-refresh"),
            self.loop.create_task(self._purge(), name="retention-purge"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._executor.shutdown(wait=False, cancel_futures=True)

    def schedule(self, pops: list[tuple[int, int]]) -> None:
        """Queue (pop id, tenant id) pairs. Call on the runner's loop, or through `schedule_threadsafe`."""
        for pop_id, tenant_id in pops:
            if pop_id in self._queued:
                continue
            self._queued.add(pop_id)
            self._queues.setdefault(tenant_id, deque()).append(pop_id)
        self._wakeup.set()

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
                while self._in_flight >= (
                    min(STORM_CONCURRENCY, self.concurrency) if self.storm() else self.concurrency
                ):
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
        try:
            run = SyncToAsync(pop_lookup_run, thread_sensitive=False, executor=self._executor)
            outcome: RunOutcome = await run(pop_id=pop_id, owner=self.owner)
        except Exception:
            logger.exception("Lookup of pop %s failed unexpectedly; the sweeper will take it up again", pop_id)
            outcome = RunOutcome(state="crashed")
        finally:
            self._queued.discard(pop_id)
            self._in_flight -= 1
            self._slot_freed.set()
        if outcome.retry_in is not None:
            asyncio.get_running_loop().call_later(outcome.retry_in, self.schedule, [(pop_id, outcome.tenant_id or 0)])

    async def _periodically(
        self,
        work: Callable[..., Any],
        interval: float,
        failure: str,
        *,
        first_delay: float = 0.0,
        then: Callable[[Any], None] | None = None,
    ) -> None:
        """`work(owner=...)` in a lookup thread every `interval` seconds (after `first_delay`), its result to `then`;
        a failure is logged with `failure` and the next round tries again."""
        call = SyncToAsync(work, thread_sensitive=False, executor=self._executor)
        await asyncio.sleep(first_delay)
        while True:
            try:
                result = await call(owner=self.owner)
                if then is not None:
                    then(result)
            except Exception:
                logger.exception(failure)
            await asyncio.sleep(interval)

    def _swept(self, due: list[tuple[int, int]]) -> None:
        if due:
            logger.info("Sweeper leased %d pending pop(s)", len(due))
            self.schedule(due)

    async def _sweep(self) -> None:
        await self._periodically(
            pop_claim_due, self.sweep_seconds, "Sweeping for pending pops failed; trying again", then=self._swept
        )

    async def _refresh_phone_index(self) -> None:
        """The periodic contacts sync of every tenant (one process per tenant and interval does it)."""
        await self._periodically(
            phone_index_refresh_due,
            min(60.0, max(1.0, settings.SCREENPOP_INDEX_SYNC_SECONDS / 5)),
            "Phone index refresh failed; trying again",
            then=_log_index_syncs,
        )

    async def _purge(self) -> None:
        """Old event-log rows and pops deleted (`retention`), first a minute after start, then hourly."""
        await self._periodically(
            purge_due,
            PURGE_INTERVAL_SECONDS,
            "Purging old event-log rows and pops failed; trying again in an hour",
            first_delay=PURGE_FIRST_DELAY_SECONDS,
        )


def _log_index_syncs(reports: list[Any]) -> None:
    for report in reports:
        logger.info("Phone index of tenant %s synced: %s", report.tenant_id, report)


_runner: LookupRunner | None = None


def runner() -> LookupRunner | None:
    return _runner


def runner_start(owner: str, *, storm: Callable[[], bool] | None = None) -> LookupRunner:
    """Start this process's runner on the running loop (idempotent)."""
    global _runner
    if _runner is not None and (_runner.loop is None or _runner.loop.is_closed()):
        _runner = None  # the loop it ran on is gone (tests run a loop per test)
    if _runner is None:
        _runner = LookupRunner(
            owner=owner,
            concurrency=settings.SCREENPOP_LOOKUP_CONCURRENCY,
            sweep_seconds=settings.SCREENPOP_SWEEP_SECONDS,
            storm=storm,
        )
        _runner.start()
    return _runner


async def runner_stop() -> None:
    global _runner
    if _runner is not None:
        await _runner.stop()
        _runner = None
