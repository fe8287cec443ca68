"""Write transactions that do not stall each other on SQLite.

SQLite has one writer at a time. When two threads of a process both want it, the loser waits in SQLite's busy
handler, which sleeps in steps of up to 100 ms: with the webhook's writer thread and 32 lookup threads, acks waited
up to a second (bench/ack_storm, lookups running). Taking a process-wide lock before the transaction queues the
writers of a process without sleeping; between processes the busy timeout still applies. On PostgreSQL this is
just `transaction.atomic()`.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from django.db import connection, transaction

_sqlite_writer = threading.RLock()


@contextlib.contextmanager
def write_transaction() -> Iterator[None]:
    if connection.vendor == "sqlite":
        with _sqlite_writer, transaction.atomic():
            yield
    else:
        with transaction.atomic():
            yield
