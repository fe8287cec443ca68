"""The columns our own statements write, read from the models' `_meta` so they never drift from the models.

An `InsertShape` is every concrete field of a model but its auto primary key, in `_meta` order: a row is built from
field values by attribute name (`tenant_id`, `received_at`, ...), the fields a caller leaves out take the field's
default, and each backend asks the shape how it takes a value (`adapters`) and, on PostgreSQL, which type to cast to.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from django.db import connection, models

from screenpop.text import json_text


def quoted_table(model: type[models.Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def quoted_columns(model: type[models.Model], *names: str) -> list[str]:
    """The quoted columns of the model's fields `names` (field names: `pop`, not `pop_id`)."""
    return [connection.ops.quote_name(model._meta.get_field(name).column) for name in names]


def _cast_type(field: models.Field) -> str:
    """The PostgreSQL type a value of `field` is cast to when read from a JSON parameter: the column's type without
    its length, so a value too long for the column still fails on insert (a cast to `varchar(64)` would truncate)."""
    column_type = field.rel_db_type(connection) if field.is_relation else field.db_type(connection)
    kind = column_type.split("(")[0].strip() if column_type else "text"
    return {"serial": "integer", "bigserial": "bigint", "smallserial": "smallint"}.get(kind, kind)


class InsertShape:
    """Every concrete column of `model` but its auto primary key, with what each backend needs to write a row."""

    def __init__(self, model: type[models.Model]) -> None:
        self.model = model
        self.fields: tuple[models.Field, ...] = tuple(
            field
            for field in model._meta.concrete_fields
            if not (field.primary_key and field.db_returning)  # the database numbers the rows
        )
        self.names = tuple(field.attname for field in self.fields)
        self.columns = tuple(connection.ops.quote_name(field.column) for field in self.fields)
        self._defaults = tuple(field.get_default() for field in self.fields)
        self._position = {name: index for index, name in enumerate(self.names)}
        self._datetimes = tuple(
            index for index, field in enumerate(self.fields) if isinstance(field, models.DateTimeField)
        )
        self._json = tuple(index for index, field in enumerate(self.fields) if isinstance(field, models.JSONField))

    def cast_types(self) -> tuple[str, ...]:
        return tuple(_cast_type(field) for field in self.fields)

    def rows(
        self,
        values: Iterable[dict[str, Any]],
        *,
        datetime_as: Callable[[datetime], Any],
        json_as: Callable,
        converted: dict[datetime, Any] | None = None,
    ) -> list[list[Any]]:
        """The rows of `values` (each attribute name -> value; the others take the field's default), in column order,
        with datetimes and JSON values as `datetime_as` and `json_as` make them for the backend. A batch's rows share
        most of their times (the batch's, a lease's end, a request's in its pop and its event row), so each distinct
        time is converted once; pass the same `converted` to share them between tables."""
        names, defaults, datetimes = self.names, self._defaults, self._datetimes
        converted = {} if converted is None else converted
        # A JSON column left at its default (the same object in every row) is converted once.
        json_columns = [(index, defaults[index], json_as(defaults[index])) for index in self._json]
        rows = []
        for row_values in values:
            row = list(map(row_values.get, names, defaults))
            for index in datetimes:
                value = row[index]
                if value is not None:
                    done = converted.get(value)
                    if done is None:
                        done = converted[value] = datetime_as(value)
                    row[index] = done
            for index, default, default_converted in json_columns:
                value = row[index]
                row[index] = default_converted if value is default else json_as(value)
            rows.append(row)
        return rows

    def position(self, name: str) -> int:
        return self._position[name]


def sqlite_datetime(value: datetime) -> str:
    """An aware UTC datetime as Django's SQLite backend stores it: the naive UTC time as text."""
    return str(value.replace(tzinfo=None))


def as_is(value: Any) -> Any:
    return value


SQLITE_VALUES = {"datetime_as": sqlite_datetime, "json_as": json_text}
# PostgreSQL reads a batch's rows from one JSON parameter (`json_rows`): times as ISO 8601, JSON values nested.
POSTGRESQL_VALUES = {"datetime_as": datetime.isoformat, "json_as": as_is}


def json_rows(
    parameter: str, alias: str, cast_types: Sequence[str], *, numbered: bool = False
) -> tuple[str, list[str]]:
    """PostgreSQL: (FROM item, column expressions) reading rows from ONE jsonb parameter, an array of rows each an
    array of values: `jsonb_array_elements(%(parameter)s::jsonb) AS alias(r)` and `(alias.r->>i)::type` per column.
    The statement's text never depends on the number of rows, so psycopg prepares it once, and the batch is one JSON
    text instead of an array per column (which psycopg dumps element by element in Python). `numbered` adds the
    row's position as `alias.n`."""
    source = f"jsonb_array_elements(%({parameter})s::jsonb)"
    source += f" WITH ORDINALITY AS {alias}(r, n)" if numbered else f" AS {alias}(r)"
    columns = [
        f"{alias}.r->{index}"
        if kind == "jsonb"
        else f"{alias}.r->>{index}"
        if kind in ("text", "varchar")
        else f"({alias}.r->>{index})::{kind}"
        for index, kind in enumerate(cast_types)
    ]
    return source, columns
