"""What a webhook batch reads before it writes: who holds each bearer token, and each tenant's queue filters.

Each read is one statement whose `{values}` is the list an IN compares with; each backend binds it natively
(`postgresql_in`, `webhook_sqlite.sqlite_select_in`). `answer` turns its rows into what `webhook.batch` asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from oauth2_provider.models import AccessToken

from screenpop.models import QueueFilter, Tenant, WebhookClient
from screenpop.storage.columns import quoted_table
from screenpop.webhook.batch import Read
from screenpop.webhook.rules import TokenOwner

_TOKENS_SQL = (
    "SELECT t.token_checksum, t.expires, w.tenant_id, w.active, te.active "  # noqa: S608 (names are ours)
    f"FROM {quoted_table(AccessToken)} t "
    f"LEFT JOIN {quoted_table(WebhookClient)} w ON w.application_id = t.application_id "
    f"LEFT JOIN {quoted_table(Tenant)} te ON te.id = w.tenant_id "
    "WHERE t.token_checksum IN {values}"
)
_QUEUE_FILTERS_SQL = f"SELECT tenant_id, queue_id FROM {quoted_table(QueueFilter)} WHERE tenant_id IN {{values}}"  # noqa: S608

# Read kind -> (statement, PostgreSQL type of its values)
STATEMENTS: dict[str, tuple[str, str]] = {
    "tokens": (_TOKENS_SQL, "text"),
    "queue_filters": (_QUEUE_FILTERS_SQL, "bigint"),
}

SelectIn = Callable[[str, str, list[Any]], list[tuple]]  # (statement with `{values}`, PostgreSQL type, values) -> rows


def postgresql_in(sql: str, kind: str) -> str:
    """`sql` with its `{values}` as one array parameter of `kind` values: the text never changes with the number of
    values, so psycopg prepares the statement once."""
    return sql.format(values=f"(SELECT unnest(%b::{kind}[]))")


def answer(read: Read, rows: list[tuple]) -> dict[Any, Any]:
    """The rows of `read`'s statement as the batch wants them."""
    if read.kind == "tokens":
        return {
            checksum: TokenOwner(_aware(expires), tenant_id, bool(client_active), bool(tenant_active))
            for checksum, expires, tenant_id, client_active, tenant_active in rows
        }
    # Every tenant asked for gets an entry (empty: all queues), so all are remembered.
    filters: dict[int, set[str]] = {tenant_id: set() for tenant_id in read.keys}
    for tenant_id, queue_id in rows:
        filters[tenant_id].add(queue_id)
    return {tenant_id: frozenset(queues) for tenant_id, queues in filters.items()}


def read_with(select_in: SelectIn, read: Read) -> dict[Any, Any]:
    sql, kind = STATEMENTS[read.kind]
    return answer(read, select_in(sql, kind, read.keys))


def _aware(value: datetime) -> datetime:
    """A datetime from the database as an aware one (SQLite's driver gives the naive UTC time Django stored)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
