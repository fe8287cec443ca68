"""The webhook's batches on PostgreSQL, recorded from the event loop itself.

In a database thread, every wait for PostgreSQL gives the GIL away and every answer has to win it back from the
event loop, which is busy answering the previous batch: under a storm the thread spent most of its time waiting for
the GIL while PostgreSQL sat idle ("ClientRead"). Here the batch is a coroutine on the loop, with its own psycopg
`AsyncConnection` (autocommit: the batch is one statement, `recorder.postgresql_statement`), so waiting for the
database costs the loop nothing and there is no hand-off at all. The decisions are `recorder`'s, unchanged.

Batches with HMAC-signed requests go through the thread path (`recorder.events_record`): reading a signing tenant
decrypts its secret through the ORM.
"""

from __future__ import annotations

from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections

from screenpop.webhook import callers
from screenpop.webhook.recorder import (
    POPS_OF_KEYS_SQL,
    QUEUE_FILTERS_SQL,
    TOKENS_SQL,
    Reply,
    Submission,
    _checksums,
    _filtered_tenants,
    _final_replies,
    _plan,
    _pops_by_key,
    _queue_filters_of,
    _resolve_principals,
    _tokens_of,
    _unseen,
    pops_of_keys_params,
    postgresql_in,
    postgresql_pops,
    postgresql_statement,
)


class AsyncRecorder:
    """One connection, one batch at a time (each of the committer's slots has its own)."""

    def __init__(self) -> None:
        self._connection: Any = None

    async def record(self, submissions: list[Submission], *, lease_owner: str) -> list[Reply]:
        connection = await self._connect()
        try:
            return await _record(connection, submissions, lease_owner)
        except BaseException:
            self.close()  # a broken or cancelled connection is not reused; the next batch opens a new one
            raise

    async def _connect(self) -> Any:
        import psycopg

        if self._connection is None or self._connection.closed:
            params = connections[DEFAULT_DB_ALIAS].get_connection_params()
            for django_only in ("cursor_factory", "context"):
                params.pop(django_only, None)
            # Django turns psycopg's prepared statements off (for connection poolers); this connection runs the same
            # few statements every batch, and unprepared each was parsed, analysed and planned again: ~280 µs of
            # PostgreSQL's CPU a batch (log_parser/planner_stats), about as much as executing it.
            params["prepare_threshold"] = 0
            self._connection = await psycopg.AsyncConnection.connect(autocommit=True, **params)
        return self._connection

    def close(self) -> None:
        """Close at once, from any thread, loop running or not (libpq's own close)."""
        if self._connection is not None and not self._connection.closed:
            self._connection.pgconn.finish()
        self._connection = None


async def _select_in(connection: Any, sql: str, kind: str, values: list[Any]) -> list[tuple]:
    async with connection.cursor() as cursor:
        await cursor.execute(postgresql_in(sql, kind), [values])
        return await cursor.fetchall()


async def _record(connection: Any, submissions: list[Submission], lease_owner: str) -> list[Reply]:
    now = submissions[0].received_at
    checksum_of = _checksums(submissions)
    tokens, missing = callers.tokens.known(sorted(set(checksum_of.values())))
    if missing:
        tokens.update(callers.tokens.remember(_tokens_of(await _select_in(connection, TOKENS_SQL, "text", missing))))
    principals = _resolve_principals(submissions, now, checksum_of, tokens, signers={})
    filters, missing_tenants = callers.queue_filters.known(_filtered_tenants(principals))
    if missing_tenants:
        rows = await _select_in(connection, QUEUE_FILTERS_SQL, "bigint", missing_tenants)
        filters.update(callers.queue_filters.remember(_queue_filters_of(missing_tenants, rows)))
    plan = _plan(submissions, now, lease_owner, "postgresql", principals, filters)
    async with connection.cursor() as cursor:
        await cursor.execute(*postgresql_statement(plan, submissions))
        created, existing = postgresql_pops(await cursor.fetchall())
        unseen = _unseen(plan, created, existing)
        if unseen:
            await cursor.execute(POPS_OF_KEYS_SQL, pops_of_keys_params(unseen))
            existing.update(_pops_by_key(await cursor.fetchall()))
    return _final_replies(plan, submissions, created, existing)
