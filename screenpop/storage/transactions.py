"""Write transactions that do not stall each other on SQLite.

SQLite has one writer at a time. When two threads of a process both want it, the loser waits in SQLite's busy
handler, which sleeps in steps of up to 100 ms: with the webhook's writer thread and dozens of lookup threads, acks
would wait up to a second. Taking a process-wide lock before the transaction queues the writers of a process without
sleeping; between processes the busy timeout still applies. On PostgreSQL this is just `transaction.atomic()`.

What a transaction does after its commit (`on_commit_unlocked`: a pop's publish, which waits for the event loop)
runs once the lock is released too, so the next writer (the webhook's batch among them) is not kept waiting for it.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator

from django.db import connection, transaction

logger = logging.getLogger("screenpop.storage")

# The process-wide queue of SQLite writers; `webhook_sqlite.LoopRecorder` tries it without waiting.
sqlite_writer = threading.RLock()


# This thread's write transactions in progress, and what is to run once the outermost one released the lock.
_this_thread = threading.local()


@contextlib.contextmanager
def write_transaction() -> Iterator[None]:
    if connection.vendor != "sqlite":
        with transaction.atomic():
            yield
        return
    depth = getattr(_this_thread, "depth", 0)
    if not depth:
        _this_thread.unlocked = []
    _this_thread.depth = depth + 1
    try:
        with sqlite_writer, transaction.atomic():
            yield
    finally:
        _this_thread.depth = depth
    if not depth:
        unlocked, _this_thread.unlocked = _this_thread.unlocked, []
        for function in unlocked:
            function()


def on_commit_unlocked(function: Callable[[], None]) -> None:
    """Run `function` once the current transaction commits (`transaction.on_commit`) and no longer holds SQLite's
    writer lock of this process."""

    def committed() -> None:
        if getattr(_this_thread, "depth", 0):
            _this_thread.unlocked.append(function)  # run by the outermost `write_transaction`, after the lock
        else:
            function()

    transaction.on_commit(committed)


class WalCheckpointer:
    """Copies SQLite's write-ahead log into the database file from a thread of its own, every `interval` seconds.

    SQLite runs a checkpoint inside the commit that takes the log past 1,000 pages: a copy and an fsync, tens of
    milliseconds added to whatever that commit was answering. The webhook's connections turn that off
    (`no_autocheckpoint`) and this thread does the work beside them (PASSIVE: it never blocks a writer).
    """

    def __init__(self, path: str, interval: float = 0.5) -> None:
        self._path = path
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="sqlite-checkpoint", daemon=True)

    def start(self) -> WalCheckpointer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        database = sqlite3.connect(self._path, timeout=5, check_same_thread=False)
        try:
            while not self._stop.wait(self._interval):
                try:
                    database.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error as error:  # the next round tries again; a locked database is not a failure
                    logger.debug("WAL checkpoint skipped: %s", error)
        finally:
            database.close()


_no_autocheckpoint = threading.local()


def no_autocheckpoint() -> None:
    """Stop this thread's SQLite connection from running checkpoints in its commits (a `WalCheckpointer` runs them)."""
    raw = connection.connection
    if raw is not None and getattr(_no_autocheckpoint, "raw", None) is not raw:
        raw.execute("PRAGMA wal_autocheckpoint=0")
        _no_autocheckpoint.raw = raw
