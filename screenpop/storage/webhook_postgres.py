"""The webhook's batches on PostgreSQL: the pops and the event log in ONE statement, run in autocommit.

One round trip where BEGIN, two INSERTs and COMMIT took four. Its two parameters are JSON (`columns.json_rows`),
so its text never depends on the batch's size and it is prepared once. It returns the pops it created (true) and
those its snapshot already held (false); a pop created by another transaction that committed while this one waited
on the unique index is read afterwards (`POPS_OF_KEYS_SQL`).

`AsyncRecorder` runs it from the event loop with its own psycopg `AsyncConnection`: in a database thread every wait
for PostgreSQL gives the GIL away and every answer has to win it back from the busy loop. `postgresql_record` runs
it through Django's connection of a database thread (batches with HMAC-signed requests: reading a signing tenant
decrypts its secret through the ORM).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from django.db import DEFAULT_DB_ALIAS, connections

from screenpop.models import EventLog, Pop
from screenpop.storage.columns import POSTGRESQL_VALUES, InsertShape, json_rows, quoted_table
from screenpop.storage.webhook_reads import STATEMENTS, answer, postgresql_in
from screenpop.text import json_text
from screenpop.webhook.batch import BatchPlan, Read, batch_plan, plan_run
from screenpop.webhook.event_log import event_values
from screenpop.webhook.intake import Submission
from screenpop.webhook.rules import CANDIDATE_OUTCOMES, Reply

POPS = InsertShape(Pop)
EVENTS = InsertShape(EventLog)

Keys = dict[tuple[int, str], int]


def _pops_of_keys_sql(parameter: str) -> str:
    """The pops of the (tenant, conversation) keys that begin the rows of the JSON parameter `parameter`, each key
    looked up through the unique index. `LIMIT 1` keeps the planner from flattening the subquery into a join, which
    a prepared statement's generic plan made a hash join over a sequential scan of every pop."""
    source, (tenant_id, conversation_id) = json_rows(parameter, "k", ("bigint", "varchar"))
    return (
        f"SELECT p.id, {tenant_id}, {conversation_id} FROM {source} "  # noqa: S608 (names are ours)
        f"CROSS JOIN LATERAL (SELECT id FROM {quoted_table(Pop)} "
        f"WHERE tenant_id = {tenant_id} AND conversation_id = {conversation_id} LIMIT 1) AS p"
    )


POPS_OF_KEYS_SQL = _pops_of_keys_sql("keys")


def _candidate(column: int) -> str:
    """The CASE giving a pop candidate's event row its outcome (`column` 0) or status (1) by whether the insert
    created its pop from this row (`rules.CANDIDATE_OUTCOMES`)."""
    created, duplicate = CANDIDATE_OUTCOMES[True][column], CANDIDATE_OUTCOMES[False][column]
    quoted = (lambda value: f"'{value}'") if column == 0 else str
    return f"CASE WHEN ins.id IS NULL THEN {quoted(duplicate)} ELSE {quoted(created)} END"


def _statement() -> str:
    pop_source, pop_values = json_rows("pops", "p", POPS.cast_types())
    event_source, event_values_sql = json_rows("events", "u", (*EVENTS.cast_types(), "boolean"), numbered=True)
    e = dict(zip((*EVENTS.names, "first"), event_values_sql, strict=True))
    event_select = ", ".join(
        f"COALESCE({e[name]}, {_candidate(0)})"
        if name == "outcome"
        else f"COALESCE({e[name]}, {_candidate(1)})"
        if name == "status_code"
        else e[name]
        for name in EVENTS.names
    )
    return (
        f"WITH ins AS (INSERT INTO {quoted_table(Pop)} ({', '.join(POPS.columns)}) "  # noqa: S608 (names are ours)
        f"SELECT {', '.join(pop_values)} FROM {pop_source} "
        "ON CONFLICT (tenant_id, conversation_id) DO NOTHING RETURNING id, tenant_id, conversation_id), "
        f"ev AS (INSERT INTO {quoted_table(EventLog)} ({', '.join(EVENTS.columns)}) "
        f"SELECT {event_select} FROM {event_source} "
        f"LEFT JOIN ins ON {e['first']} AND ins.tenant_id = {e['tenant_id']} "
        f"AND ins.conversation_id = {e['conversation_id']} ORDER BY u.n) "
        "SELECT id, tenant_id, conversation_id, true FROM ins "
        f"UNION ALL SELECT old.*, false FROM ({_pops_of_keys_sql('pops')}) AS old"
    )


_STATEMENT: list[str] = []


def postgresql_statement(plan: BatchPlan) -> tuple[str, dict[str, str]]:
    """(SQL, parameters) of a batch: the new pops and every submission's event row (with its `first` flag: the
    submission that creates its pop if it is new) as JSON."""
    if not _STATEMENT:
        _STATEMENT.append(_statement())
    decisions = plan.decisions
    triples = list(zip(plan.submissions, decisions.principals, decisions.replies, strict=True))
    converted: dict = {}
    events = EVENTS.rows(
        (event_values(submission, reply, principal.tenant_id) for submission, principal, reply in triples),
        **POSTGRESQL_VALUES,
        converted=converted,
    )
    for index, (row, (submission, principal, reply)) in enumerate(zip(events, triples, strict=True)):
        row.append(reply is None and decisions.creates(index, (principal.tenant_id, submission.event.conversation_id)))
    pops = POPS.rows(plan.new_pops, **POSTGRESQL_VALUES, converted=converted)
    return _STATEMENT[0], {"pops": json_text(pops), "events": json_text(events)}


def _pops_by_key(rows: Sequence[tuple]) -> Keys:
    return {(tenant_id, conversation_id): pop_id for pop_id, tenant_id, conversation_id in rows}


def postgresql_pops(rows: list[tuple]) -> tuple[Keys, Keys]:
    """(created, existing) pop ids from the batch statement's rows."""
    created: Keys = {}
    existing: Keys = {}
    for pop_id, tenant_id, conversation_id, new in rows:
        (created if new else existing)[(tenant_id, conversation_id)] = pop_id
    return created, existing


def postgresql_record(conn: Any, submissions: list[Submission], *, lease_owner: str, signers: dict) -> list[Reply]:
    """Record a batch through Django's connection `conn` of this thread (autocommit: the batch is one statement)."""
    conn.ensure_connection()

    def select_in(read: Read) -> dict[Any, Any]:
        sql, kind = STATEMENTS[read.kind]
        with psycopg.Cursor(conn.connection) as cursor:
            cursor.execute(postgresql_in(sql, kind), [read.keys], prepare=True)  # Django's connection never prepares
            return answer(read, cursor.fetchall())

    plan = plan_run(batch_plan(submissions, lease_owner=lease_owner, signers=signers), select_in)
    with psycopg.Cursor(conn.connection) as cursor:
        cursor.execute(*postgresql_statement(plan), prepare=True)
        created, existing = postgresql_pops(cursor.fetchall())
        unseen = plan.unseen(created, existing)
        if unseen:
            cursor.execute(POPS_OF_KEYS_SQL, {"keys": json_text(unseen)}, prepare=True)
            existing.update(_pops_by_key(cursor.fetchall()))
    return plan.replies(created, existing)


class AsyncRecorder:
    """One connection, one batch at a time (each of the committer's slots has its own)."""

    def __init__(self) -> None:
        self._connection: psycopg.AsyncConnection | None = None

    async def record(self, submissions: list[Submission], *, lease_owner: str) -> list[Reply]:
        connection = await self._connect()
        try:
            return await _record(connection, submissions, lease_owner)
        except BaseException:
            self.close()  # a broken or cancelled connection is not reused; the next batch opens a new one
            raise

    async def _connect(self) -> psycopg.AsyncConnection:
        if self._connection is None or self._connection.closed:
            params = connections[DEFAULT_DB_ALIAS].get_connection_params()
            for django_only in ("cursor_factory", "context"):
                params.pop(django_only, None)
            # Django turns psycopg's prepared statements off (for connection poolers); this connection runs the same
            # few statements every batch, and unprepared each would be parsed, analysed and planned every time.
            params["prepare_threshold"] = 0
            self._connection = await psycopg.AsyncConnection.connect(autocommit=True, **params)
        return self._connection

    def close(self) -> None:
        """Close at once, from any thread, loop running or not (libpq's own close)."""
        if self._connection is not None and not self._connection.closed:
            self._connection.pgconn.finish()
        self._connection = None


async def _record(connection: psycopg.AsyncConnection, submissions: list[Submission], lease_owner: str) -> list[Reply]:
    steps = batch_plan(submissions, lease_owner=lease_owner, signers={})
    try:
        read = next(steps)
        while True:
            sql, kind = STATEMENTS[read.kind]
            async with connection.cursor() as cursor:
                await cursor.execute(postgresql_in(sql, kind), [read.keys])
                rows = await cursor.fetchall()
            read = steps.send(answer(read, rows))
    except StopIteration as done:
        plan: BatchPlan = done.value
    async with connection.cursor() as cursor:
        await cursor.execute(*postgresql_statement(plan))
        created, existing = postgresql_pops(await cursor.fetchall())
        unseen = plan.unseen(created, existing)
        if unseen:
            await cursor.execute(POPS_OF_KEYS_SQL, {"keys": json_text(unseen)})
            existing.update(_pops_by_key(await cursor.fetchall()))
    return plan.replies(created, existing)
