"""The one place a server process starts its background work, and stops it on shutdown.

- the lookups (`lookup.runner`), fed by the webhook's commits;
- the sweep: pending pops nobody holds (their process died, or a retry is due) are leased and handed to the runner,
  at once when the process starts, then every `SCREENPOP_SWEEP_SECONDS`; recent "unavailable" pops go back to the
  runner once their Freshdesk answers again;
- the lease renewal: one UPDATE every `SCREENPOP_LEASE_SECONDS / 4` extends this process's lease on every pop its
  runner holds, so leases can be short (a dead process's pops come back within a lease and a sweep) and a slow
  lookup still keeps its pop;
- the tenants' mirrors of callers and open tickets (`mirror.sync`): a round of each tenant's sync every
  `SCREENPOP_MIRROR_TICK_SECONDS`, each tenant by one process at a time (a lease on its `MirrorSync` row);
- the retention purge (`retention`), first a minute after start (a server that starts answers webhooks first);
- the wrap-up write-back (`writeback.services`): due wrap-ups leased one at a time, their notes written on Freshdesk.

Each periodic job runs in a small thread pool of its own, every `interval` seconds, as one unit of database work
(`storage.connections.database_work`: a connection that died with its server is dropped); a failure is logged and
the next round tries again. Jobs that must run once per deployment take a lock in the shared cache themselves.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from asgiref.sync import SyncToAsync
from django.conf import settings

from screenpop.cpu import computing
from screenpop.lookup.runner import LookupRunner, runner_start, runner_stop
from screenpop.mirror.sync import RoundReport, mirror_sync_due
from screenpop.pops.services import pop_leases_release, pop_leases_renew, pop_sweep
from screenpop.retention import PURGE_INTERVAL_SECONDS, purge_due
from screenpop.storage.connections import database_work
from screenpop.writeback.services import writeback_release, writeback_round

logger = logging.getLogger("screenpop.scheduler")

PURGE_FIRST_DELAY_SECONDS = 60.0


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    work: Callable[..., Any]  # called as work(owner=...) in a thread
    interval: float
    failure: str  # logged when a round fails
    first_delay: float = 0.0
    then: Callable[[Any], None] | None = None  # called on the loop with the round's result
    arguments: Callable[[], dict[str, Any]] | None = None  # called on the loop: more keyword arguments of the round
    # Bulk work (a mirror's pages, the purge's chunks) computes in a CPU slot with the lookups (`screenpop.cpu`), so
    # the ack's event loop never competes with it too. The sweep and lease renewal do not wait behind the lookups.
    bulk: bool = False


def _as_database_work(work: Callable[..., Any], **kwargs: Any) -> Any:
    with database_work():
        return work(**kwargs)


def _as_bulk_work(work: Callable[..., Any], **kwargs: Any) -> Any:
    with computing(), database_work():
        return work(**kwargs)


async def _every(job: PeriodicJob, owner: str, executor: ThreadPoolExecutor, succeeded: dict[str, float]) -> None:
    call = SyncToAsync(_as_bulk_work if job.bulk else _as_database_work, thread_sensitive=False, executor=executor)
    await asyncio.sleep(job.first_delay)
    while True:
        try:
            extra = job.arguments() if job.arguments is not None else {}
            result = await call(job.work, owner=owner, **extra)
            if job.then is not None:
                job.then(result)
            succeeded[job.name] = time.monotonic()
        except Exception:
            logger.exception(job.failure)
        await asyncio.sleep(job.interval)


def _log_mirror_rounds(reports: list[RoundReport]) -> None:
    for report in reports:
        if report.freshdesk_calls or report.error:
            logger.info(
                "Mirror of tenant %s (%s): %d call(s), %d contact(s), %d ticket(s) read%s",
                report.tenant_id, report.phase, report.freshdesk_calls, report.contacts, report.tickets,
                f"; stopped: {report.error}" if report.error else "",
            )  # fmt: skip


def _jobs(runner: LookupRunner) -> list[PeriodicJob]:
    def swept(due: list[tuple[int, int]]) -> None:
        if due:
            logger.info("Sweep leased %d pending pop(s)", len(due))
            runner.schedule(due)

    jobs = [
        PeriodicJob(
            "sweep", pop_sweep, settings.SCREENPOP_SWEEP_SECONDS, "Sweeping for pending pops failed", then=swept
        ),
        PeriodicJob(
            "lease-renewal",
            pop_leases_renew,
            settings.SCREENPOP_LEASE_SECONDS / 4,
            "Renewing this process's leases failed; trying again",
            arguments=lambda: {"pop_ids": runner.held()},
        ),
        PeriodicJob(
            "mirror-sync",
            mirror_sync_due,
            settings.SCREENPOP_MIRROR_TICK_SECONDS,
            "A round of the mirrors' sync failed; trying again",
            then=_log_mirror_rounds,
            bulk=True,
        ),
        PeriodicJob(
            "writeback",
            writeback_round,
            settings.SCREENPOP_WRITEBACK_POLL_SECONDS,
            "Writing wrap-up notes failed; trying again",
        ),
        PeriodicJob(
            "retention-purge",
            purge_due,
            PURGE_INTERVAL_SECONDS,
            "Purging old event-log rows and pops failed; trying again in an hour",
            first_delay=PURGE_FIRST_DELAY_SECONDS,
            bulk=True,
        ),
    ]
    # 0 switches the mirror off: every pop then asks Freshdesk, through the phone index as before.
    return [job for job in jobs if job.name != "mirror-sync" or job.interval > 0]


class Scheduler:
    def __init__(self, owner: str, runner: LookupRunner) -> None:
        self.owner = owner
        self.runner = runner
        self.loop = asyncio.get_running_loop()
        jobs = _jobs(runner)
        self._executor = ThreadPoolExecutor(max_workers=len(jobs), thread_name_prefix="scheduled")
        self.started = time.monotonic()
        self.succeeded: dict[str, float] = {}  # job name -> when a round last succeeded
        self._tasks = [
            self.loop.create_task(_every(job, owner, self._executor, self.succeeded), name=job.name) for job in jobs
        ]

    def stuck(self, seconds: float) -> str | None:
        """Why this process's background work has made no progress for `seconds`, or None when it has."""
        now = time.monotonic()
        sweep = self.succeeded.get("sweep", self.started)
        if now - sweep > seconds:
            return f"the sweep has not succeeded for {now - sweep:.0f} s"
        stalled = self.runner.stalled_for()
        if stalled > seconds:
            return f"due lookups have not progressed for {stalled:.0f} s"
        return None

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._executor.shutdown(wait=False, cancel_futures=True)


_scheduler: Scheduler | None = None


def scheduler_start(owner: str) -> LookupRunner:
    """Start this process's lookups and periodic jobs on the running loop (idempotent); returns the lookup runner."""
    global _scheduler
    runner = runner_start(owner)
    if _scheduler is not None and (_scheduler.loop.is_closed() or _scheduler.runner is not runner):
        _scheduler = None  # the loop it ran on is gone (tests run a loop per test)
    if _scheduler is None:
        _scheduler = Scheduler(owner, runner)
    return runner


def background_stuck() -> str | None:
    """Why this process's background work is stuck (`SCREENPOP_STUCK_SECONDS` without progress on due work), or
    None: it moves, or this process runs none."""
    scheduler = _scheduler
    if scheduler is None or scheduler.loop.is_closed():
        return None
    return scheduler.stuck(settings.SCREENPOP_STUCK_SECONDS)


async def scheduler_stop(*, drain_seconds: float = 0.0) -> None:
    """Stop the periodic jobs and the lookups. With `drain_seconds` (a server shutting down), the lookups running are
    given that long to finish, then every pop this process still holds is released for another process to take at
    once (queued, waiting to retry, or still running: its writes are guarded by the lease)."""
    global _scheduler
    owner = _scheduler.owner if _scheduler is not None else None
    if _scheduler is not None:
        await _scheduler.stop()
        _scheduler = None
    await runner_stop(drain_seconds=drain_seconds)
    if owner is not None and drain_seconds > 0:
        released = await asyncio.to_thread(_release, owner)
        logger.info("Shutting down: released %d pending pop(s) for the other processes", released)


def _release(owner: str) -> int:
    with database_work():
        writeback_release(owner=owner)
        return pop_leases_release(owner=owner)
