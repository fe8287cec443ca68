"""The webhook's group committer: every request waiting at a moment is recorded as one batch, then answered.

Nothing is acknowledged that is not durable, and no Freshdesk call is made on the way: lookups start right after
the commit (`on_accepted`). Each of `slots` tasks takes everything pending when it is free and records it with its
own connection: on SQLite (one writer, one slot) on the event loop when the write lock is free at once
(`storage.webhook_sqlite.LoopRecorder`), else in a database thread that waits for it (`storage.webhook.events_record`);
on PostgreSQL on the event loop itself (`storage.webhook_postgres.AsyncRecorder`). Batches with HMAC-signed requests
take the thread path on both. A batch's wrap-ups (`webhook.wrapups`) are recorded in the database thread after its
call starts were answered.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from django.db import connections

from screenpop import metrics
from screenpop.process import process_identity
from screenpop.storage.webhook import DATA_ERRORS, WebhookWriters
from screenpop.storage.webhook_postgres import AsyncRecorder
from screenpop.webhook.intake import Submission
from screenpop.webhook.rules import Reply

logger = logging.getLogger("screenpop.webhook")

MAX_BATCH = 512

UNAVAILABLE = Reply(
    503, {"error": "unavailable", "detail": "The event could not be recorded; retry."}, headers={"retry-after": "1"}
)


class GroupCommitter:
    """Batches submissions into one recording per batch; one per event loop (`committer()`).

    PostgreSQL runs `SCREENPOP_WEBHOOK_WRITERS` batches in flight (one by default: its statement is prepared, so one
    larger batch at a time does as well as two, with less CPU; see docs/performance.md).
    """

    def __init__(
        self, *, on_accepted: Callable[[list[tuple[int, int]]], None] | None = None, slots: int | None = None
    ) -> None:
        self._writers = WebhookWriters(slots)
        self._slots = self._writers.slots
        self._pending: list[tuple[Submission, asyncio.Future[Reply]]] = []
        self._wakeup = asyncio.Event()
        self._executor = ThreadPoolExecutor(max_workers=self._slots, thread_name_prefix="webhook-db")
        self._tasks: list[asyncio.Task] = []
        self._running = 0
        self._owner = process_identity()
        self.on_accepted = on_accepted

    async def submit(self, submission: Submission) -> Reply:
        loop = asyncio.get_running_loop()
        if self._running < self._slots:  # the first request, or a slot's task ended (an error it did not catch)
            self._tasks = [task for task in self._tasks if not task.done()]
            for _ in range(self._slots - len(self._tasks)):
                task = loop.create_task(self._run(), name="webhook-group-commit")
                task.add_done_callback(self._ended)
                self._tasks.append(task)
            self._running = len(self._tasks)
        future: asyncio.Future[Reply] = loop.create_future()
        self._pending.append((submission, future))
        self._wakeup.set()
        return await future

    def _ended(self, _: asyncio.Task) -> None:
        self._running -= 1

    def close(self) -> None:
        """Close the database thread's connection and stop the thread (server shutdown, end of a test)."""
        # Each thread closes its own connection: one call per thread, held until all have started.
        barrier = threading.Barrier(self._slots)

        def close_mine() -> None:
            barrier.wait(timeout=10)
            connections.close_all()

        for done in [self._executor.submit(close_mine) for _ in range(self._slots)]:
            done.result(timeout=10)
        self._executor.shutdown(wait=True)
        self._writers.close()

    async def _wrapups_recorded(self, submissions: list[Submission]) -> list[Reply]:
        """Wrap-ups' replies: recorded in the database thread (`webhook.wrapups`); 503 when that fails."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, partial(self._writers.wrapups_in_thread, submissions))
        except Exception:
            logger.exception("Recording %d wrap-up events failed; answering 503 so Genesys retries", len(submissions))
            return [UNAVAILABLE] * len(submissions)

    async def _recorded(self, recorder: AsyncRecorder | None, submissions: list[Submission]) -> list[Reply]:
        """The batch's replies. A batch the database refuses for one submission's data is recorded again one
        submission at a time, so that submission fails alone, not the callers batched with it; any other failure
        (the database down) answers 503 to the whole batch, so Genesys retries."""
        try:
            if not any(submission.signed for submission in submissions):
                replies = await self._writers.on_loop(recorder, submissions, lease_owner=self._owner)
                if replies is not None:
                    _batches_on_loop.inc()
                    return replies
            _batches_in_thread.inc()
            loop = asyncio.get_running_loop()
            record = partial(self._writers.in_thread, submissions, lease_owner=self._owner)
            return await loop.run_in_executor(self._executor, record)
        except DATA_ERRORS:
            if len(submissions) > 1:
                logger.exception("The database refused a batch of %d webhook events; one at a time", len(submissions))
                return [reply for one in submissions for reply in await self._recorded(recorder, [one])]
            logger.exception("The database refused a webhook event; answering 503")
        except Exception:
            logger.exception("Recording %d webhook events failed; answering 503 so Genesys retries", len(submissions))
        return [UNAVAILABLE] * len(submissions)

    async def _run(self) -> None:
        recorder = self._writers.slot_writer()
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._pending:
                batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                # Call starts first, on their tuned path, answered at once; a batch's wrap-ups after them.
                starts = [item for item in batch if item[0].wrapup is None]
                wrapups = [item for item in batch if item[0].wrapup is not None]
                if starts:
                    replies = await self._recorded(recorder, [submission for submission, _ in starts])
                    metrics.webhook_batch_size.observe(len(starts))
                    self._answer(starts, replies)
                    accepted = [(r.new_pop_id, r.tenant_id) for r in replies if r.new_pop_id is not None]
                    if accepted and self.on_accepted is not None:
                        self.on_accepted(accepted)
                if wrapups:
                    self._answer(wrapups, await self._wrapups_recorded([submission for submission, _ in wrapups]))

    @staticmethod
    def _answer(batch: list[tuple[Submission, asyncio.Future[Reply]]], replies: list[Reply]) -> None:
        for (_, future), reply in zip(batch, replies, strict=True):
            if not future.done():
                future.set_result(reply)


_batches_on_loop = metrics.webhook_batches.labels(writer="event_loop")
_batches_in_thread = metrics.webhook_batches.labels(writer="thread")
_committers: dict[asyncio.AbstractEventLoop, GroupCommitter] = {}


def committers_close() -> None:
    """Close every event loop's committer (their threads hold database connections)."""
    while _committers:
        _, closing = _committers.popitem()
        closing.close()


def committer() -> GroupCommitter:
    """This event loop's committer (a server has one loop; tests start a loop per test)."""
    loop = asyncio.get_running_loop()
    if loop not in _committers:
        for old_loop in [old for old in _committers if old.is_closed()]:
            _committers.pop(old_loop).close()
        _committers[loop] = GroupCommitter()
    return _committers[loop]
