"""Database connections of background threads (lookups, scheduled jobs): dropped when they are dead.

Django closes unusable connections around each HTTP request (`close_old_connections` on the request signals); a
thread of our own gets no such signal, so a connection that died with its server (a PostgreSQL restart) would stay
in the thread for good, and every later unit of work would fail with "the connection is closed". Worse, when the
error is raised inside `atomic().__enter__` (BEGIN on a dead connection), Django's own bookkeeping never runs.

`database_work()` wraps one unit of work (one lookup, one sweep): unusable or obsolete connections are closed before
and after it, and any error that says the database is unreachable closes this thread's connections at once, so the
next unit connects afresh.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from typing import Any

from django.db import DatabaseError, DataError, IntegrityError, InterfaceError, OperationalError, connections

from screenpop.cpu import waiting

logger = logging.getLogger("screenpop.storage")


def connections_drop_unusable() -> None:
    """Close this thread's connections that are broken (after an error) or past `CONN_MAX_AGE`."""
    for connection in connections.all(initialized_only=True):
        connection.close_if_unusable_or_obsolete()


def is_unreachable(error: BaseException) -> bool:
    """Does `error` say the database (or the connection to it) failed, as opposed to the data or the SQL?"""
    if isinstance(error, OperationalError | InterfaceError):
        return True
    # psycopg's own errors, raised where Django did not wrap them (its pool, a raw connection)
    module = type(error).__module__
    return module.startswith("psycopg") and type(error).__name__ in ("OperationalError", "InterfaceError")


def _may_have_broken_the_connection(error: BaseException) -> bool:
    # Wider than `is_unreachable`: SQLite reports a closed database as a ProgrammingError. Closing a connection that
    # was fine costs a reconnect; keeping a broken one costs every later unit of work.
    if isinstance(error, DataError | IntegrityError):
        return False
    return is_unreachable(error) or isinstance(error, DatabaseError) or isinstance(error.__cause__, DatabaseError)


def connections_close_all() -> None:
    """Close this thread's connections, whatever their state (closing a dead one never raises here)."""
    for connection in connections.all(initialized_only=True):
        try:
            connection.close()
        except Exception as error:  # a dead connection may refuse even to close; it is dropped anyway
            logger.debug("Closing a broken database connection: %s", error)
            connection.connection = None


def _query_waiting(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
    with waiting():
        return execute(sql, params, many, context)


@contextlib.contextmanager
def database_work() -> Iterator[None]:
    """One unit of background work: starts and ends with usable connections (see the module's docstring).

    On a database server, the thread gives its CPU slot back while a query waits for the server's answer
    (`screenpop.cpu`). On SQLite queries keep it: inside a write transaction the thread holds the process's writer
    lock, which a thread holding the slot may be waiting for, and SQLite's work is this process's CPU anyway.
    """
    connections_drop_unusable()
    connection = connections["default"]
    waits = connection.execute_wrapper(_query_waiting) if connection.vendor != "sqlite" else contextlib.nullcontext()
    try:
        with waits:
            yield
    except Exception as error:
        if _may_have_broken_the_connection(error):
            logger.warning("Database connection dropped after %s: %s", type(error).__name__, error)
            connections_close_all()
        raise
    finally:
        connections_drop_unusable()
