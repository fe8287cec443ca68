"""The webhook's batches on SQLite: the pops and event rows written through the driver's own connection.

A batch is written by a few single-step statements inside an IMMEDIATE transaction. The driver's own cursor with
`?` placeholders is used, not Django's (which rewrites `%s` with a regular expression over the whole statement,
microseconds a row), and the driver caches each prepared statement by its text.

`LoopRecorder` writes from the event loop itself whenever the write lock is free at once: in a database thread every
SQLite call gives the GIL away and has to win it back from the loop, which is busy answering the previous batch.
It never waits for a lock there: when another writer of this process holds `transactions.sqlite_writer` (a lookup
saving its result) or another process holds SQLite's write lock, `record` answers None at once and the batch goes
to the database thread (`storage.webhook.events_record`), which waits its turn. Batches with HMAC-signed requests
take the thread path too: reading a signing tenant decrypts its secret through the ORM.
"""

from __future__ import annotations

import sqlite3
from functools import partial
from typing import Any

import orjson
from django.db import DEFAULT_DB_ALIAS, connections

from screenpop.models import EventLog, Pop
from screenpop.storage.columns import SQLITE_VALUES, InsertShape, quoted_table
from screenpop.storage.transactions import sqlite_writer
from screenpop.storage.webhook_reads import read_with
from screenpop.webhook.batch import BatchPlan, batch_plan, plan_run
from screenpop.webhook.event_log import event_values
from screenpop.webhook.intake import Submission
from screenpop.webhook.rules import Reply

POPS = InsertShape(Pop)
EVENTS = InsertShape(EventLog)
_POP_TABLE = quoted_table(Pop)


def sqlite_select_in(raw: Any, sql: str, kind: str, values: list[Any]) -> list[tuple]:
    """A read whose `{values}` is the list an IN compares with, through the driver's connection `raw` (`kind` is
    PostgreSQL's type; SQLite needs none)."""
    cursor = raw.cursor()
    try:
        cursor.execute(sql.format(values="(" + ", ".join("?" * len(values)) + ")"), list(values))
        return cursor.fetchall()
    finally:
        cursor.close()


def sqlite_plan(raw: Any, submissions: list[Submission], *, lease_owner: str, signers: dict) -> BatchPlan:
    steps = batch_plan(submissions, lease_owner=lease_owner, signers=signers)
    return plan_run(steps, partial(read_with, partial(sqlite_select_in, raw)))


def _insert_many(raw: Any, table: str, columns: tuple[str, ...], rows: list[list[Any]], suffix: str = "") -> Any:
    placeholders = ", ".join(["(" + ", ".join("?" * len(columns)) + ")"] * len(rows))
    cursor = raw.cursor()
    try:
        cursor.execute(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES {placeholders}{suffix}",  # noqa: S608 (names are ours)
            [value for row in rows for value in row],
        )
        return cursor.rowcount, cursor.lastrowid or 0
    finally:
        cursor.close()


def _insert_pops(
    raw: Any, plan: BatchPlan, converted: dict
) -> tuple[dict[tuple[int, str], int], dict[tuple[int, str], int]]:
    """Insert the pops no one has yet. Returns (created, existing): (tenant, conversation) -> pop id of those this
    batch created, and of those that were there."""
    if not plan.new_pops:
        return {}, {}
    rows = POPS.rows(plan.new_pops, **SQLITE_VALUES, converted=converted)
    # Python's driver releases the GIL around every step, so a RETURNING of N rows is N hand-offs of the GIL with the
    # event loop. Instead two statements of one step each: the insert, then every pop of these keys as ONE row (a
    # JSON array). The transaction began IMMEDIATE, so the write lock is ours: the ids the insert took are
    # consecutive (AUTOINCREMENT) and end at `lastrowid`, which tells the pops this batch created from the others.
    inserted, last_id = _insert_many(
        raw, _POP_TABLE, POPS.columns, rows, " ON CONFLICT (tenant_id, conversation_id) DO NOTHING"
    )
    created: dict[tuple[int, str], int] = {}
    existing: dict[tuple[int, str], int] = {}
    keys = [(values["tenant_id"], values["conversation_id"]) for values in plan.new_pops]
    for key, pop_id in _pop_ids(raw, keys).items():
        (created if last_id - inserted < pop_id <= last_id else existing)[key] = pop_id
    return created, existing


def _pop_ids(raw: Any, keys: list[tuple[int, str]]) -> dict[tuple[int, str], int]:
    """(tenant, conversation) -> pop id for the keys that have a pop, read as ONE row (a JSON array)."""
    values = ", ".join(["(?, ?)"] * len(keys))
    sql = (
        "SELECT json_group_array(json_array(p.id, p.tenant_id, p.conversation_id)) "  # noqa: S608 (names are ours)
        f"FROM (VALUES {values}) AS k CROSS JOIN {_POP_TABLE} p "
        "ON p.tenant_id = k.column1 AND p.conversation_id = k.column2"
    )
    cursor = raw.cursor()
    try:
        cursor.execute(sql, [value for key in keys for value in key])
        (found,) = cursor.fetchone()
    finally:
        cursor.close()
    return {(tenant_id, conversation_id): pop_id for pop_id, tenant_id, conversation_id in orjson.loads(found)}


def sqlite_write(raw: Any, plan: BatchPlan) -> list[Reply]:
    """The batch's pops and event-log rows, written inside the write transaction the caller holds and commits;
    returns one reply per submission, in order."""
    converted: dict = {}
    replies = plan.replies(*_insert_pops(raw, plan, converted))
    rows = EVENTS.rows(
        (
            event_values(submission, reply, reply.tenant_id)
            for submission, reply in zip(plan.submissions, replies, strict=True)
        ),
        **SQLITE_VALUES,
        converted=converted,
    )
    _insert_many(raw, quoted_table(EventLog), EVENTS.columns, rows)
    return replies


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
                plan = sqlite_plan(connection, submissions, lease_owner=lease_owner, signers={})
                replies = sqlite_write(connection, plan)
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
