"""How the database takes the webhook's batches: from the event loop when it can (`WebhookWriters`), else from a
database thread through Django's connection of that thread (`events_record`).

The thread path takes batches with HMAC-signed requests (their tenants are read through the ORM, which decrypts the
signing secrets) and, on SQLite, those for which the event loop could not take the write lock at once; the demo
desktop and the DRF view record single requests with it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

import psycopg
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DataError, connection, connections

from screenpop.models import Tenant
from screenpop.storage.transactions import WalCheckpointer, no_autocheckpoint, write_transaction
from screenpop.storage.webhook_postgres import AsyncRecorder, postgresql_record
from screenpop.storage.webhook_sqlite import LoopRecorder, sqlite_plan, sqlite_write
from screenpop.webhook.intake import Submission
from screenpop.webhook.rules import Reply, signer_org_ids
from screenpop.webhook.wrapups import wrapups_record


def events_record(submissions: list[Submission], *, lease_owner: str) -> list[Reply]:
    """Decide and durably record a batch; returns one reply per submission, in order. Raises only on DB failure.
    Wrap-ups are recorded apart (`webhook.wrapups`), call starts as a batch."""
    if any(submission.wrapup is not None for submission in submissions):
        return replies_merged(
            submissions,
            lambda starts: events_record(starts, lease_owner=lease_owner),
            wrapups_record,
        )
    if not submissions:
        return []
    conn = connections[DEFAULT_DB_ALIAS]
    org_ids = signer_org_ids(submissions)
    signers = (
        {tenant.genesys_org_id: tenant for tenant in Tenant.objects.filter(genesys_org_id__in=org_ids)}
        if org_ids
        else {}
    )
    if conn.vendor == "postgresql":
        return postgresql_record(conn, submissions, lease_owner=lease_owner, signers=signers)
    with write_transaction():
        raw = conn.connection
        return sqlite_write(raw, sqlite_plan(raw, submissions, lease_owner=lease_owner, signers=signers))


def replies_merged(
    submissions: list[Submission],
    record_starts: Callable[[list[Submission]], list[Reply]],
    record_wrapups: Callable[[list[Submission]], list[Reply]],
) -> list[Reply]:
    """The replies of a batch whose call starts and wrap-ups are recorded by the two callables, in the batch's order."""
    replies: list[Reply | None] = [None] * len(submissions)
    for wanted, record in ((False, record_starts), (True, record_wrapups)):
        indexes = [index for index, item in enumerate(submissions) if (item.wrapup is not None) is wanted]
        if indexes:
            for index, reply in zip(indexes, record([submissions[index] for index in indexes]), strict=True):
                replies[index] = reply
    return replies  # type: ignore[return-value]


# What a database raises for one row's data (text it cannot store, say), as opposed to being unreachable.
DATA_ERRORS = (ValueError, sqlite3.DataError, psycopg.DataError, DataError)


class WebhookWriters:
    """How this process's database takes the webhook's batches, for the committer of one event loop.

    `slots` batches may be in flight: one on SQLite (one writer at a time), `SCREENPOP_WEBHOOK_WRITERS` on
    PostgreSQL. `on_loop` writes a batch from the event loop itself, or answers None when it cannot at once (SQLite's
    write lock is taken; a database in memory belongs to one connection); `in_thread` writes it from a database
    thread, which waits its turn.
    """

    def __init__(self, slots: int | None = None) -> None:
        vendor = connection.vendor
        if slots is None:
            slots = 1 if vendor == "sqlite" else settings.SCREENPOP_WEBHOOK_WRITERS
        self.slots = max(1, slots)
        self._postgres = vendor == "postgresql"
        database = str(connection.settings_dict["NAME"])
        on_disk = vendor == "sqlite" and ":memory:" not in database and "mode=memory" not in database
        # SQLite's checkpoints are taken out of the commits (`no_autocheckpoint`) and done by a thread beside them.
        self._checkpointer = WalCheckpointer(database).start() if on_disk else None
        self._loop_recorder = LoopRecorder() if on_disk else None
        self._async_recorders: list[AsyncRecorder] = []

    def slot_writer(self) -> AsyncRecorder | None:
        """A writer of one slot's own (a PostgreSQL connection of the event loop), or None."""
        if not self._postgres:
            return None
        recorder = AsyncRecorder()
        self._async_recorders.append(recorder)
        return recorder

    async def on_loop(
        self, slot_writer: AsyncRecorder | None, submissions: list[Submission], *, lease_owner: str
    ) -> list[Reply] | None:
        if slot_writer is not None:
            return await slot_writer.record(submissions, lease_owner=lease_owner)
        if self._loop_recorder is not None:
            return self._loop_recorder.record(submissions, lease_owner=lease_owner)
        return None

    def in_thread(self, submissions: list[Submission], *, lease_owner: str) -> list[Reply]:
        # The thread keeps its connection (closing it after every batch would cost SQLite a reconnect, its PRAGMAs
        # and a checkpoint each time). A broken connection is closed here and reopened by the next batch.
        try:
            if self._checkpointer is not None:
                connection.ensure_connection()
                no_autocheckpoint()
            return events_record(submissions, lease_owner=lease_owner)
        except Exception:
            connection.close()
            raise

    def wrapups_in_thread(self, submissions: list[Submission]) -> list[Reply]:
        """Record wrap-ups from a database thread (`webhook.wrapups`), on the thread's kept connection."""
        try:
            if self._checkpointer is not None:
                connection.ensure_connection()
                no_autocheckpoint()
            return wrapups_record(submissions)
        except Exception:
            connection.close()
            raise

    def close(self) -> None:
        """Close the event loop's connections and stop the checkpoints (the threads close their own)."""
        for recorder in self._async_recorders:
            recorder.close()
        if self._loop_recorder is not None:
            self._loop_recorder.close()
        if self._checkpointer is not None:
            self._checkpointer.stop()
