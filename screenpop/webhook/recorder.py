"""Record a batch of webhook submissions in one transaction and decide each one's reply.

This is the one place webhook rules live, whichever entry point received the request (the ASGI fast path batches
many requests into one call; the DRF view calls it with one). For each submission, in order:
authenticate (bearer token by checksum, or HMAC signature) -> 401/403; validation error -> 422; not an inbound
voice call start, or a queue outside the tenant's filters -> 200 ignored; a pop for (tenant, conversation)
already there -> 200 duplicate; else a new pop -> 202. Every submission leaves an event-log row with its outcome.
The new pops are leased to this process so its lookup workers start on them as soon as the transaction commits.

The decisions are pure steps (`_resolve_principals`, `_plan`, `_final_replies`) over what was read; the reads and
writes differ by database: SQLite, one IMMEDIATE transaction of a few single-step statements (`events_record`);
PostgreSQL, one statement (`postgresql_statement`), from a database thread here or from the event loop
(`webhook/postgres.py`).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import orjson
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.utils import timezone
from oauth2_provider.models import AccessToken

from screenpop.db import write_transaction
from screenpop.errors import ValidationFailed
from screenpop.models import EventLog, Pop, QueueFilter, Tenant, WebhookClient
from screenpop.text import json_text, logged_text, storable
from screenpop.webhook import callers
from screenpop.webhook.events import GenesysEvent
from screenpop.webhook.signing import SignedRequest, signature_problem

MAX_LOGGED_BODY = 8 * 1024


@dataclass(slots=True)
class Submission:
    """One webhook request as received: credentials, raw body, and the parsed event or why it did not parse."""

    received_at: datetime
    body: bytes
    bearer: str | None = None
    signed: SignedRequest | None = None
    event: GenesysEvent | None = None
    error: ValidationFailed | None = None


@dataclass
class Reply:
    status: int
    body: dict[str, Any]
    new_pop_id: int | None = None
    tenant_id: int | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class _Principal:
    tenant_id: int | None = None
    problem: Reply | None = None


def _unauthorized(detail: str) -> Reply:
    return Reply(
        401,
        {"error": "not_authenticated", "detail": detail},
        headers={"www-authenticate": 'Bearer realm="screenpop", error="invalid_token"'},
    )


def _forbidden(detail: str, tenant_id: int | None) -> Reply:
    return Reply(403, {"error": "permission_denied", "detail": detail}, tenant_id=tenant_id)


def _checksum(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _checksums(submissions: list[Submission]) -> dict[str, str]:
    """Bearer token -> its checksum (tokens are stored as checksums); a batch's requests mostly share one token."""
    return {bearer: _checksum(bearer) for bearer in {s.bearer for s in submissions if s.bearer}}


def _signer_org_ids(submissions: list[Submission]) -> set[str]:
    return {s.signed.org_id for s in submissions if s.signed and not s.bearer}


def _resolve_principals(
    submissions: list[Submission],
    now: datetime,
    checksum_of: dict[str, str],
    tokens: dict[str, tuple],
    signers: dict[str, Tenant],
) -> list[_Principal]:
    """Who sent each submission, from the tokens (`_tokens_load`) and signing tenants already read."""
    principals = []
    wall_clock = time.time()
    for submission in submissions:
        if submission.bearer:
            row = tokens.get(checksum_of[submission.bearer])
            if row is None or row[1] is None:
                principals.append(_Principal(problem=_unauthorized("The bearer token is not valid.")))
            elif not row[0] > now:
                principals.append(_Principal(problem=_unauthorized("The bearer token has expired; get a new one.")))
            else:
                _, tenant_id, client_active, tenant_active = row
                if not client_active:
                    problem = _forbidden("This webhook client was revoked. Issue a new one in the admin.", tenant_id)
                elif not tenant_active:
                    problem = _forbidden("This tenant is inactive.", tenant_id)
                else:
                    problem = None
                principals.append(_Principal(tenant_id=tenant_id, problem=problem))
        elif submission.signed:
            tenant = signers.get(submission.signed.org_id)
            if tenant is None or not tenant.webhook_signing_secret:
                principals.append(_Principal(problem=_unauthorized("No signing key for this organisation.")))
                continue
            problem = signature_problem(
                submission.signed, key=tenant.webhook_signing_secret, body=submission.body, now=wall_clock
            )
            if problem:
                principals.append(_Principal(problem=_unauthorized(problem)))
            elif not tenant.active:
                principals.append(
                    _Principal(tenant_id=tenant.pk, problem=_forbidden("This tenant is inactive.", tenant.pk))
                )
            else:
                principals.append(_Principal(tenant_id=tenant.pk))
        else:
            principals.append(
                _Principal(problem=_unauthorized("Send 'Authorization: Bearer <token>' from /oauth/token/."))
            )
    return principals


# `{values}`: the list the IN compares with (`_select_in`). Table names are Django's defaults for these models.
TOKENS_SQL = (
    "SELECT t.token_checksum, t.expires, w.tenant_id, w.active, te.active "  # noqa: S608 (names are ours)
    f'FROM "{AccessToken._meta.db_table}" t '
    f'LEFT JOIN "{WebhookClient._meta.db_table}" w ON w.application_id = t.application_id '
    f'LEFT JOIN "{Tenant._meta.db_table}" te ON te.id = w.tenant_id '
    "WHERE t.token_checksum IN {values}"
)
QUEUE_FILTERS_SQL = f'SELECT tenant_id, queue_id FROM "{QueueFilter._meta.db_table}" WHERE tenant_id IN {{values}}'  # noqa: S608


def _tokens_of(rows: list[tuple]) -> dict[str, tuple]:
    """Token checksum -> (expires, tenant id, client active, tenant active), for the tokens that exist."""
    return {
        checksum: (_aware(expires), tenant_id, bool(client_active), bool(tenant_active))
        for checksum, expires, tenant_id, client_active, tenant_active in rows
    }


def _aware(value: datetime) -> datetime:
    """A datetime from the database as an aware one (SQLite's driver gives the naive UTC time Django stored)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _queue_filters_of(tenant_ids: list[int], rows: list[tuple]) -> dict[int, frozenset[str]]:
    """Tenant id -> the queue ids its pops are limited to (empty: every queue). Every tenant asked for gets an entry,
    so all are remembered."""
    filters: dict[int, set[str]] = {tenant_id: set() for tenant_id in tenant_ids}
    for tenant_id, queue_id in rows:
        filters[tenant_id].add(queue_id)
    return {tenant_id: frozenset(queues) for tenant_id, queues in filters.items()}


def postgresql_in(sql: str, kind: str) -> str:
    """`sql` with its `{values}` as one array parameter of `kind` values, for psycopg's server-side binding."""
    return sql.format(values=f"(SELECT unnest(%b::{kind}[]))")


def _select_in(conn: Any, sql: str, kind: str, values: list[Any]) -> list[tuple]:
    """Run `sql`, whose `{values}` is the list an IN compares with, natively:
    on PostgreSQL one array parameter (`IN (SELECT unnest(...))`), so the text never changes and psycopg prepares
    the statement once
    (Django's cursor binds on the client side: PostgreSQL would parse and plan the three-table join every batch);
    on SQLite the driver's cursor with `?` placeholders (`_sqlite_select_in`)."""
    if conn.vendor == "postgresql":
        import psycopg

        with psycopg.Cursor(conn.connection) as cursor:
            cursor.execute(postgresql_in(sql, kind), [values], prepare=True)  # Django's connection never prepares
            return cursor.fetchall()
    return _sqlite_select_in(conn.connection, sql, kind, values)


def _sqlite_select_in(raw: Any, sql: str, kind: str, values: list[Any]) -> list[tuple]:
    """`_select_in` on a driver's own SQLite connection (`kind` is PostgreSQL's; SQLite needs none)."""
    cursor = raw.cursor()
    try:
        cursor.execute(sql.format(values="(" + ", ".join("?" * len(values)) + ")"), list(values))
        return cursor.fetchall()
    finally:
        cursor.close()


def _insert_many(raw: Any, table: str, columns: Sequence[str], rows: list[tuple]) -> None:
    """One INSERT of many rows on SQLite: the driver's own cursor with `?` placeholders (Django's wrapper rewrites
    `%s` with a regex over the whole statement, ~5 µs a row); the driver caches the prepared statement by its text."""
    placeholders = ", ".join(["(" + ", ".join("?" * len(columns)) + ")"] * len(rows))
    sql = f'INSERT INTO "{table}" ({", ".join(columns)}) VALUES {placeholders}'  # noqa: S608 (names are ours)
    cursor = raw.cursor()
    try:
        cursor.execute(sql, [value for row in rows for value in row])
    finally:
        cursor.close()


def _json_rows(parameter: str, alias: str, pg_types: Sequence[str], *, numbered: bool = False) -> tuple[str, list[str]]:
    """(FROM item, column expressions) reading rows from ONE jsonb parameter, an array of rows each an array of
    values: `jsonb_array_elements(%(parameter)s::jsonb) AS alias(r)` and `(alias.r->>i)::type` per column. The text
    of the statement never depends on the number of rows, so psycopg prepares it once, and the batch is one
    `json_text` instead of an array per column, which psycopg dumps element by element in Python (~25 µs a
    request for the 28 arrays a batch had). `numbered` adds the row's position as `alias.n`."""
    source = f"jsonb_array_elements(%({parameter})s::jsonb)"
    source += f" WITH ORDINALITY AS {alias}(r, n)" if numbered else f" AS {alias}(r)"
    columns = [
        f"{alias}.r->{index}"
        if kind == "jsonb"
        else f"{alias}.r->>{index}"
        if kind in ("text", "varchar")
        else f"({alias}.r->>{index})::{kind}"
        for index, kind in enumerate(pg_types)
    ]
    return source, columns


_POP_COLUMNS = (
    "tenant_id",
    "conversation_id",
    "phone_raw",
    "phone_e164",
    "queue_id",
    "state",
    "detail",
    "result",
    "attempts",
    "freshdesk_calls",
    "received_at",
    "lease_owner",
    "lease_expires_at",
    "updated_at",
)


_POP_TYPES = (
    "bigint",
    "varchar",
    "varchar",
    "varchar",
    "varchar",
    "varchar",
    "text",
    "jsonb",
    "smallint",
    "smallint",
    "timestamptz",
    "varchar",
    "timestamptz",
    "timestamptz",
)


def _time_adapter(vendor: str) -> Callable[[datetime], Any]:
    """How this database takes an aware UTC datetime: as ISO 8601 text with its offset (PostgreSQL, in the batch's
    JSON), or as the naive UTC text Django's SQLite backend stores (`str()` of the naive value, what
    `adapt_datetimefield_value` makes, without its checks)."""
    if vendor == "postgresql":
        return datetime.isoformat  # the batch statement reads its rows from JSON (`_json_rows`)
    return lambda value: str(value.replace(tzinfo=None))


def _json_adapter(vendor: str) -> Callable[[Any], Any]:
    """How this database takes a value of a JSON column: left as is inside the batch's JSON (PostgreSQL), or as
    JSON text (SQLite)."""
    if vendor == "postgresql":
        return _as_is
    return json_text


def _as_is(value: Any) -> Any:
    return value


def _insert_pops(rows: list[tuple], raw: Any) -> tuple[dict[tuple[int, str], int], dict[tuple[int, str], int]]:
    """SQLite: insert the pops no one has yet. Returns (created, existing): (tenant, conversation) -> pop id of those
    this batch created, and of those that were there. `rows` hold the values of `_POP_COLUMNS`, datetimes already
    adapted (`_time_adapter`)."""
    if not rows:
        return {}, {}
    # SQLite: Python's driver releases the GIL around every step, so a RETURNING of N rows is N hand-offs of the GIL
    # with the event loop, each waiting while the loop is busy. Instead two statements of one step each: the insert,
    # then every pop of these keys as ONE row (a JSON array). The transaction began IMMEDIATE, so the write lock is
    # ours: the ids the insert took are consecutive (AUTOINCREMENT) and end at `lastrowid`, which tells the pops this
    # batch created from those already there.
    placeholders = ", ".join(["(" + ", ".join("?" * len(_POP_COLUMNS)) + ")"] * len(rows))
    cursor = raw.cursor()
    try:
        cursor.execute(
            f'INSERT INTO "{Pop._meta.db_table}" ({", ".join(_POP_COLUMNS)}) VALUES {placeholders} '  # noqa: S608
            "ON CONFLICT (tenant_id, conversation_id) DO NOTHING",
            [value for row in rows for value in row],
        )
        inserted, last_id = cursor.rowcount, cursor.lastrowid or 0
    finally:
        cursor.close()
    created: dict[tuple[int, str], int] = {}
    existing: dict[tuple[int, str], int] = {}
    for key, pop_id in _sqlite_pop_ids(raw, [(row[0], row[1]) for row in rows]).items():
        (created if last_id - inserted < pop_id <= last_id else existing)[key] = pop_id
    return created, existing


def _sqlite_pop_ids(raw: Any, keys: list[tuple[int, str]]) -> dict[tuple[int, str], int]:
    """(tenant, conversation) -> pop id for the keys that have a pop, read as ONE row (a JSON array)."""
    values = ", ".join(["(?, ?)"] * len(keys))
    sql = (
        "SELECT json_group_array(json_array(p.id, p.tenant_id, p.conversation_id)) "  # noqa: S608 (names are ours)
        f'FROM (VALUES {values}) AS k CROSS JOIN "{Pop._meta.db_table}" p '
        "ON p.tenant_id = k.column1 AND p.conversation_id = k.column2"
    )
    cursor = raw.cursor()
    try:
        cursor.execute(sql, [value for key in keys for value in key])
        (found,) = cursor.fetchone()
    finally:
        cursor.close()
    return _pops_by_key(orjson.loads(found))


_EVENT_COLUMNS = (
    "tenant_id",
    "source",
    "received_at",
    "outcome",
    "status_code",
    "reason",
    "field",
    "conversation_id",
    "phone",
    "event_type",
    "payload",
)


_EVENT_TYPES = (
    "bigint",
    "varchar",
    "timestamptz",
    "varchar",
    "smallint",
    "text",
    "varchar",
    "varchar",
    "varchar",
    "varchar",
    "jsonb",
)


_GENESYS = EventLog.Source.GENESYS.value
_PENDING = Pop.State.PENDING.value


def _event_row(
    submission: Submission,
    reply: Reply | None,
    tenant_id: int | None,
    received: Any,
    *,
    payload: Callable[[dict[str, Any]], Any] = json_text,
) -> tuple:
    """The event-log row of a submission (`_EVENT_COLUMNS`), `received` its time as the database takes it
    (`_Plan.received`), the logged payload encoded by `payload` (JSON text, or left a dict inside a JSON batch).
    `reply` None: a pop candidate, whose outcome and status the PostgreSQL statement fills in (accepted or
    duplicate; neither has a reason or a field)."""
    event = submission.event
    if reply is None:
        outcome = status = None
        reason = field_name = ""
    else:
        body = reply.body
        outcome, status = _outcome_of(reply), reply.status
        reason, field_name = body.get("reason") or body.get("detail") or "", body.get("field") or ""
    if event is None:
        conversation_id = phone = event_type = ""
    else:
        conversation_id, phone, event_type = event.conversation_id, event.phone_number[:255], event.event_type[:64]
    return (
        tenant_id,
        _GENESYS,
        received,
        outcome,
        status,
        reason,
        field_name,
        conversation_id[:64],
        phone,
        event_type,
        payload(_logged_payload(submission)),
    )


def _logged_payload(submission: Submission) -> dict[str, Any]:
    if submission.event is not None:
        return submission.event.as_record()
    # A refused body is logged as received, as text a database can store, parsed only when every value is storable.
    text = logged_text(submission.body[:MAX_LOGGED_BODY])
    try:
        parsed = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        return {"raw": text}
    if not storable(parsed):
        return {"raw": text}
    return parsed if isinstance(parsed, dict) else {"body": parsed}


def _outcome_of(reply: Reply) -> str:
    if reply.status == 202:
        return EventLog.Outcome.ACCEPTED
    if reply.status == 401:
        return EventLog.Outcome.UNAUTHORIZED
    if reply.status == 403:
        return EventLog.Outcome.FORBIDDEN
    if reply.status >= 400:
        return EventLog.Outcome.REJECTED
    return EventLog.Outcome.DUPLICATE if reply.body.get("status") == "duplicate" else EventLog.Outcome.IGNORED


@dataclass
class _Plan:
    """What a batch decided before touching the pops: a reply for every submission that has one (None for a pop
    candidate), the first index of each new (tenant, conversation), and the rows of those pops."""

    principals: list[_Principal]
    replies: list[Reply | None]
    candidates: dict[tuple[int, str], int]
    pop_rows: list[tuple]
    received: list[Any]  # each submission's `received_at` as the database takes it (`_time_adapter`)


def _filtered_tenants(principals: list[_Principal]) -> list[int]:
    return sorted({p.tenant_id for p in principals if p.tenant_id and not p.problem})


def _plan(
    submissions: list[Submission],
    now: datetime,
    lease_owner: str,
    vendor: str,
    principals: list[_Principal],
    filters: dict[int, frozenset[str]],
) -> _Plan:
    replies: list[Reply | None] = []
    candidates: dict[tuple[int, str], int] = {}
    pop_rows: list[tuple] = []
    when = _time_adapter(vendor)
    empty_result = _json_adapter(vendor)({})
    lease_until = when(now + timedelta(seconds=settings.SCREENPOP_LEASE_SECONDS))
    updated = when(now)
    received = [when(submission.received_at) for submission in submissions]
    for index, (submission, principal) in enumerate(zip(submissions, principals, strict=True)):
        if principal.problem:
            replies.append(principal.problem)
            continue
        if submission.error is not None:
            replies.append(Reply(422, submission.error.as_body(), tenant_id=principal.tenant_id))
            continue
        event = submission.event
        assert event is not None
        reason = event.ignore_reason()
        queues = filters.get(principal.tenant_id)
        if reason is None and queues and event.queue_id not in queues:
            reason = f"queue {event.queue_id or '(none sent)'} is not among this tenant's queue filters"
        if reason:
            replies.append(Reply(200, {"status": "ignored", "reason": reason}, tenant_id=principal.tenant_id))
            continue
        key = (principal.tenant_id, event.conversation_id)
        replies.append(None)
        if key in candidates:
            continue
        candidates[key] = index
        pop_rows.append(
            (
                principal.tenant_id,
                event.conversation_id,
                event.phone_number,
                "",  # phone_e164: the lookup normalises
                event.queue_id,
                _PENDING,
                "",  # detail
                empty_result,
                0,  # attempts
                0,  # freshdesk_calls
                received[index],
                lease_owner,
                lease_until,
                updated,
            )
        )
    return _Plan(principals, replies, candidates, pop_rows, received)


def _final_replies(
    plan: _Plan,
    submissions: list[Submission],
    created: dict[tuple[int, str], int],
    existing: dict[tuple[int, str], int],
) -> list[Reply]:
    """The candidates' replies: 202 for the submission that created its pop, 200 duplicate (naming the pop) for
    the others."""
    final: list[Reply] = []
    for index, (submission, principal, reply) in enumerate(
        zip(submissions, plan.principals, plan.replies, strict=True)
    ):
        if reply is None:
            key = (principal.tenant_id, submission.event.conversation_id)
            if key in created and plan.candidates[key] == index:
                reply = Reply(202, {"status": "accepted", "pop_id": created[key]}, created[key], principal.tenant_id)
            else:
                pop_id = created.get(key) or existing[key]
                reply = Reply(200, {"status": "duplicate", "pop_id": pop_id}, tenant_id=principal.tenant_id)
        final.append(reply)
    return final


SelectIn = Callable[[str, str, list[Any]], list[tuple]]  # (sql with `{values}`, PostgreSQL kind, values) -> rows


def _plan_read(
    submissions: list[Submission],
    now: datetime,
    lease_owner: str,
    vendor: str,
    select_in: SelectIn,
    signers: dict[str, Tenant],
) -> _Plan:
    """`_plan`, with the tokens and queue filters it needs from what `callers` remembers or else `select_in`."""
    checksum_of = _checksums(submissions)
    tokens = callers.tokens.get_many(
        sorted(set(checksum_of.values())), lambda missing: _tokens_of(select_in(TOKENS_SQL, "text", missing))
    )
    principals = _resolve_principals(submissions, now, checksum_of, tokens, signers)
    filters = callers.queue_filters.get_many(
        _filtered_tenants(principals),
        lambda missing: _queue_filters_of(missing, select_in(QUEUE_FILTERS_SQL, "bigint", missing)),
    )
    return _plan(submissions, now, lease_owner, vendor, principals, filters)


def _plan_sync(submissions: list[Submission], now: datetime, lease_owner: str, conn: Any) -> _Plan:
    """`_plan` with what it needs read through Django's connection of this thread (signing tenants by the ORM,
    which decrypts their secrets)."""
    org_ids = _signer_org_ids(submissions)
    signers = (
        {tenant.genesys_org_id: tenant for tenant in Tenant.objects.filter(genesys_org_id__in=org_ids)}
        if org_ids
        else {}
    )
    return _plan_read(submissions, now, lease_owner, conn.vendor, partial(_select_in, conn), signers)


def _unseen(plan: _Plan, created: dict[tuple[int, str], int], existing: dict[tuple[int, str], int]) -> list:
    """Candidates whose pop neither this statement made nor its snapshot saw: another transaction made it and
    committed while this one waited on the unique index."""
    return [key for key in plan.candidates if key not in created and key not in existing]


def events_record(submissions: list[Submission], *, lease_owner: str) -> list[Reply]:
    """Decide and durably record a batch; returns one reply per submission, in order. Raises only on DB failure."""
    now = submissions[0].received_at if submissions else timezone.now()
    conn = connections[DEFAULT_DB_ALIAS]
    if conn.vendor == "postgresql":
        import psycopg

        conn.ensure_connection()
        plan = _plan_sync(submissions, now, lease_owner, conn)
        with psycopg.Cursor(conn.connection) as cursor:
            cursor.execute(*postgresql_statement(plan, submissions), prepare=True)
            created, existing = postgresql_pops(cursor.fetchall())
            unseen = _unseen(plan, created, existing)
            if unseen:
                cursor.execute(POPS_OF_KEYS_SQL, pops_of_keys_params(unseen), prepare=True)
                existing.update(_pops_by_key(cursor.fetchall()))
        return _final_replies(plan, submissions, created, existing)
    with write_transaction():
        return sqlite_write(conn.connection, _plan_sync(submissions, now, lease_owner, conn), submissions)


def sqlite_plan(raw: Any, submissions: list[Submission], *, lease_owner: str) -> _Plan:
    """A batch's plan read through a driver's own SQLite connection (no signed submissions: their tenants are read
    through the ORM, `_plan_sync`)."""
    select_in = partial(_sqlite_select_in, raw)
    return _plan_read(submissions, submissions[0].received_at, lease_owner, "sqlite", select_in, signers={})


def sqlite_write(raw: Any, plan: _Plan, submissions: list[Submission]) -> list[Reply]:
    """The batch's pops and event-log rows, written through a driver's own SQLite connection inside the write
    transaction the caller holds and commits; returns one reply per submission, in order."""
    created, existing = _insert_pops(plan.pop_rows, raw)
    final = _final_replies(plan, submissions, created, existing)
    rows = [
        _event_row(submission, reply, reply.tenant_id, received)
        for submission, reply, received in zip(submissions, final, plan.received, strict=True)
    ]
    _insert_many(raw, EventLog._meta.db_table, _EVENT_COLUMNS, rows)
    return final


def _postgresql_sql() -> str:
    """The batch statement: the pops and the event log in ONE statement, run in autocommit (a statement is its own
    transaction): one round trip where BEGIN, two INSERTs and COMMIT took four. It returns the pops this statement
    created (true) and those its snapshot already held (false). Its two parameters are JSON (`_json_rows`): `pops`,
    the rows of `_POP_COLUMNS`; `events`, the rows of `_EVENT_COLUMNS` each followed by its `first` flag.

    The one rule it carries: a candidate's event row is `accepted`/202 when the insert created its pop and it was
    the batch's first submission for it, else `duplicate`/200 (`_final_replies` decides the same from the ids)."""
    pop_table, event_table = f'"{Pop._meta.db_table}"', f'"{EventLog._meta.db_table}"'
    pop_source, pop_values = _json_rows("pops", "p", _POP_TYPES)
    event_source, event_values = _json_rows("events", "u", (*_EVENT_TYPES, "boolean"), numbered=True)
    e = dict(zip((*_EVENT_COLUMNS, "first"), event_values, strict=True))
    event_select = ", ".join(
        f"COALESCE({e['outcome']}, CASE WHEN ins.id IS NULL THEN 'duplicate' ELSE 'accepted' END)"
        if column == "outcome"
        else f"COALESCE({e['status_code']}, CASE WHEN ins.id IS NULL THEN 200 ELSE 202 END)"
        if column == "status_code"
        else e[column]
        for column in _EVENT_COLUMNS
    )
    return (
        f"WITH ins AS (INSERT INTO {pop_table} ({', '.join(_POP_COLUMNS)}) "  # noqa: S608 (names are ours)
        f"SELECT {', '.join(pop_values)} FROM {pop_source} "
        "ON CONFLICT (tenant_id, conversation_id) DO NOTHING RETURNING id, tenant_id, conversation_id), "
        f"ev AS (INSERT INTO {event_table} ({', '.join(_EVENT_COLUMNS)}) "
        f"SELECT {event_select} FROM {event_source} "
        f"LEFT JOIN ins ON {e['first']} AND ins.tenant_id = {e['tenant_id']} "
        f"AND ins.conversation_id = {e['conversation_id']} ORDER BY u.n) "
        "SELECT id, tenant_id, conversation_id, true FROM ins "
        f"UNION ALL SELECT old.*, false FROM ({_pops_of_keys_sql('pops')}) AS old"
    )


def _pops_of_keys_sql(parameter: str) -> str:
    """PostgreSQL: the pops of the (tenant, conversation) keys that begin the rows of the JSON parameter
    `parameter`, each key looked up through the unique index. `LIMIT 1` keeps the planner from flattening the
    subquery into a join, which a prepared statement's generic plan made a hash join over a sequential scan of
    every pop (seen in the ack benchmark: a third of the batches read 4,000 pops each on a young table)."""
    source, (tenant_id, conversation_id) = _json_rows(parameter, "k", ("bigint", "varchar"))
    return (
        f"SELECT p.id, {tenant_id}, {conversation_id} FROM {source} "  # noqa: S608 (names are ours)
        f'CROSS JOIN LATERAL (SELECT id FROM "{Pop._meta.db_table}" '
        f"WHERE tenant_id = {tenant_id} AND conversation_id = {conversation_id} LIMIT 1) AS p"
    )


POPS_OF_KEYS_SQL = _pops_of_keys_sql("keys")


def pops_of_keys_params(keys: Sequence[tuple[int, str]]) -> dict[str, str]:
    """The parameter of `POPS_OF_KEYS_SQL`."""
    return {"keys": json_text(keys)}


def _pops_by_key(rows: list[tuple]) -> dict[tuple[int, str], int]:
    return {(tenant_id, conversation_id): pop_id for pop_id, tenant_id, conversation_id in rows}


_POSTGRESQL_SQL: list[str] = []


def postgresql_statement(plan: _Plan, submissions: list[Submission]) -> tuple[str, dict[str, str]]:
    """(SQL, parameters) of a batch on PostgreSQL: the pops and the event rows as JSON (`_postgresql_sql`)."""
    if not _POSTGRESQL_SQL:
        _POSTGRESQL_SQL.append(_postgresql_sql())
    event_rows = []
    for index, (submission, principal, reply) in enumerate(
        zip(submissions, plan.principals, plan.replies, strict=True)
    ):
        row = _event_row(submission, reply, principal.tenant_id, plan.received[index], payload=_as_is)
        first = reply is None and plan.candidates.get((principal.tenant_id, submission.event.conversation_id)) == index
        event_rows.append((*row, first))
    return _POSTGRESQL_SQL[0], {"pops": json_text(plan.pop_rows), "events": json_text(event_rows)}


def postgresql_pops(rows: list[tuple]) -> tuple[dict[tuple[int, str], int], dict[tuple[int, str], int]]:
    """(created, existing) pop ids from the batch statement's rows."""
    created: dict[tuple[int, str], int] = {}
    existing: dict[tuple[int, str], int] = {}
    for pop_id, tenant_id, conversation_id, new in rows:
        (created if new else existing)[(tenant_id, conversation_id)] = pop_id
    return created, existing
