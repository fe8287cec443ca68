"""The webhook's batches on SQLite, recorded from the event loop itself whenever the write lock is free at once.

In the database thread every SQLite call gives the GIL away and has to win it back from the event loop, which is
busy answering the previous batch: under a storm the two threads mostly took turns instead of overlapping (the
thread's batch took ~60 µs of wall time a request for ~38 µs of CPU, under `bench.ack_storm`'s wrk). A batch is
~22 µs a request of work (half a millisecond for the usual 25, ~11 ms for the largest, 512), so the loop does it
itself (~8% more requests a second, p99 8 ms instead of 9-11 ms) — but it never waits for a lock there: when
another writer of this process holds `db.sqlite_writer` (a lookup saving its result) or another process holds
SQLite's write lock, `record` answers None at once and the batch goes to the database thread, which waits its turn.
The decisions and the statements are `recorder`'s, the same as the thread's.

Batches with HMAC-signed requests go through the thread path (reading a signing tenant decrypts its secret through
the ORM), as on PostgreSQL.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections

from screenpop.db import sqlite_writer
from screenpop.webhook.recorder import Reply, Submission, sqlite_plan, sqlite_write


class LoopRecorder:
    """One connection of the driver's own, used by the event loop only."""

    def __init__(self) -> None:
        self._connection: sqlite3.Connection | None = None

    def record(self, submissions: list[Submission], *, lease_owner: str) -> list[Reply] | None:
        """The batch's replies, committed; None when the write lock is taken (nothing was written)."""
        if not sqlite_writer.acquire(blocking=False):
            return None
        try:
            try:
                connection = self._connect()
                connection.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as error:
                if error.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:  # BUSY, or an extended BUSY_* code
                    raise
                return None  # another process writes: the thread waits for it instead of the loop
            try:
                replies = sqlite_write(
                    connection, sqlite_plan(connection, submissions, lease_owner=lease_owner), submissions
                )
                connection.execute("COMMIT")
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise
            return replies
        except sqlite3.Error as error:
            if not isinstance(error, sqlite3.DataError | sqlite3.IntegrityError):
                self.close()  # the next batch opens a new connection
            raise
        finally:
            sqlite_writer.release()

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            # Django's own parameters (the file, its type converters: a DATETIME column reads as a datetime), in
            # autocommit so BEGIN and COMMIT are ours; no busy wait: a taken lock is answered by the thread path.
            params: dict[str, Any] = connections[DEFAULT_DB_ALIAS].get_connection_params()
            params.update(isolation_level=None, timeout=0, check_same_thread=False)
            connection = sqlite3.connect(**params)
            try:
                for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "wal_autocheckpoint=0"):
                    connection.execute(f"PRAGMA {pragma}").fetchall()
            except BaseException:
                connection.close()
                raise
            self._connection = connection
        return self._connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
        self._connection = None
