"""The mirror's writes that the ORM cannot express: versioned upserts, and its size on disk.

A Freshdesk record reaches the mirror from several writers at once (the sync's pages, a webhook, the refresh after a
pop), in any order. `mirror_upsert` writes a batch in one statement, and a row already holding a newer `updated_at`
keeps it: `INSERT ... ON CONFLICT (...) DO UPDATE ... WHERE excluded.updated_at >= <table>.updated_at`, which
SQLite (3.24+) and PostgreSQL both read the same way, so the check and the write cannot be split by another writer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection, models

from screenpop.models import MirrorCompany, MirrorContact, MirrorTicket, PhoneIndexEntry
from screenpop.storage.columns import quoted_table

__all__ = ["mirror_bytes_per_row", "mirror_upsert"]

# SQLite allows 32,766 parameters a statement, PostgreSQL 65,535: a 100-record page of any mirror table fits.
_ROWS_PER_STATEMENT = 200


def mirror_upsert(
    model: type[models.Model], rows: Sequence[dict[str, Any]], *, key: tuple[str, ...], returning: str | None = None
) -> list[Any]:
    """Insert or update `rows` (field name -> value, every row the same fields) of `model`, unique on `key`
    (field names), keeping any row whose stored `updated_at` is newer than the one offered.

    Returns the `returning` field's values of the rows actually written (empty when `returning` is None).
    """
    if not rows:
        return []
    names = list(rows[0])
    fields = [model._meta.get_field(name) for name in names]
    quote = connection.ops.quote_name
    table = quoted_table(model)
    columns = ", ".join(quote(field.column) for field in fields)
    conflict = ", ".join(quote(model._meta.get_field(name).column) for name in key)
    updates = ", ".join(
        f"{quote(field.column)} = excluded.{quote(field.column)}" for field in fields if field.name not in key
    )
    version = quote(model._meta.get_field("updated_at").column)
    placeholders = "(" + ", ".join(["%s"] * len(fields)) + ")"
    written: list[Any] = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), _ROWS_PER_STATEMENT):
            chunk = rows[start : start + _ROWS_PER_STATEMENT]
            values = [field.get_db_prep_save(row[field.name], connection) for row in chunk for field in fields]
            sql = (
                f"INSERT INTO {table} ({columns}) VALUES {', '.join([placeholders] * len(chunk))} "  # noqa: S608
                f"ON CONFLICT ({conflict}) DO UPDATE SET {updates} WHERE excluded.{version} >= {table}.{version}"
            )
            if returning is not None:
                sql += f" RETURNING {quote(model._meta.get_field(returning).column)}"
            cursor.execute(sql, values)
            if returning is not None:
                written += [row[0] for row in cursor.fetchall()]
    return written


def mirror_bytes_per_row() -> dict[str, float | None]:
    """Bytes on disk per row of each mirror table, indexes included (None for an empty table).

    PostgreSQL: `pg_total_relation_size` (heap, TOAST and indexes). SQLite: the `dbstat` virtual table's pages of the
    table and its indexes (needs SQLITE_ENABLE_DBSTAT_VTAB, as Debian's and Python's builds have).
    """
    sizes: dict[str, float | None] = {}
    with connection.cursor() as cursor:
        for model in (MirrorContact, PhoneIndexEntry, MirrorTicket, MirrorCompany):
            table = model._meta.db_table
            count = model.objects.count()
            if not count:
                sizes[table] = None
                continue
            if connection.vendor == "postgresql":
                cursor.execute("SELECT pg_total_relation_size(%s)", [table])
            else:
                cursor.execute(
                    "SELECT SUM(pgsize) FROM dbstat WHERE name = %s OR name IN "
                    "(SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = %s)",
                    [table, table],
                )
            sizes[table] = float(cursor.fetchone()[0] or 0) / count
    return sizes
