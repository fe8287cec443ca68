"""The query language of `GET /api/v2/search/{contacts,tickets}?query="..."` (reference §4, §5; FC `lib/freshquery`).

Grammar, as FC's scanner and parser read it:

    query    := '"' expr '"'                        at most 512 characters, quotes included
    expr     := and_expr ( OR and_expr )*           AND binds tighter than OR
    and_expr := primary ( AND primary )*
    primary  := '(' expr ')' | field ':' [ '>' | '<' ] value
    value    := 'single-quoted string' | integer | null | true | false | bare word

Operators need whitespace around them. `:>` and `:<` are "at least" and "at most", on numbers and on dates
(`'YYYY-MM-DD'`, UTC; `:<` includes the whole day). `field:null` matches records where the field is empty.
String terms are exact (FC `term_visitor.rb` builds `terms` filters). Field names are case-sensitive.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from simulators.freshdesk import errors
from simulators.freshdesk.catalog import PRIORITIES, STATUSES, TICKET_TYPES
from simulators.freshdesk.clock import day_bounds, parse_date
from simulators.freshdesk.errors import FieldError
from simulators.freshdesk.records import Contact, Ticket

__all__ = [
    "CONTACT_FIELDS",
    "MAX_QUERY_LENGTH",
    "TICKET_FIELDS",
    "contact_values",
    "matches",
    "parse_query",
    "ticket_values",
]

MAX_QUERY_LENGTH = 512

FieldKind = Literal["string", "integer", "date", "boolean"]


@dataclass(frozen=True)
class SearchField:
    kind: FieldKind
    choices: tuple[Any, ...] | None = None


CONTACT_FIELDS: dict[str, SearchField] = {
    "active": SearchField("boolean"),
    "company_id": SearchField("integer"),
    "twitter_id": SearchField("string"),
    "email": SearchField("string"),
    "phone": SearchField("string"),
    "mobile": SearchField("string"),
    "tag": SearchField("string"),
    "language": SearchField("string"),
    "time_zone": SearchField("string"),
    "created_at": SearchField("date"),
    "updated_at": SearchField("date"),
}
# No requester_id or email: the ticket search cannot find a caller's tickets (FC `freshquery.rb`).
TICKET_FIELDS: dict[str, SearchField] = {
    "agent_id": SearchField("integer"),
    "group_id": SearchField("integer"),
    "priority": SearchField("integer", tuple(PRIORITIES)),
    "status": SearchField("integer", tuple(STATUSES)),
    "tag": SearchField("string"),
    "type": SearchField("string", TICKET_TYPES),
    "due_by": SearchField("date"),
    "fr_due_by": SearchField("date"),
    "created_at": SearchField("date"),
    "updated_at": SearchField("date"),
}


def contact_values(contact: Contact) -> dict[str, Any]:
    """What each contact search field compares against; `email` covers every email of the contact."""
    return {
        "active": contact.active,
        "company_id": contact.company_id,
        "twitter_id": contact.twitter_id,
        "email": contact.all_emails(),
        "phone": contact.phone,
        "mobile": contact.mobile,
        "tag": contact.tags,
        "language": contact.language,
        "time_zone": contact.time_zone,
        "created_at": contact.created_at,
        "updated_at": contact.updated_at,
    }


def ticket_values(ticket: Ticket) -> dict[str, Any]:
    return {
        "agent_id": ticket.responder_id,
        "group_id": ticket.group_id,
        "priority": ticket.priority,
        "status": ticket.status,
        "tag": ticket.tags,
        "type": ticket.type,
        "due_by": ticket.due_by,
        "fr_due_by": ticket.fr_due_by,
        "created_at": ticket.created_at,
        "updated_at": ticket.updated_at,
    }


@dataclass(frozen=True)
class Condition:
    field: str
    relation: str  # ":" equals, ">" at least, "<" at most
    value: str | int | bool | None


@dataclass(frozen=True)
class Junction:
    operator: str  # "AND" or "OR"
    left: Node
    right: Node


Node = Condition | Junction


class _QueryFormatError(Exception):
    pass


_TOKEN_RE = re.compile(
    r"""
      (?P<space>\s+)
    | (?P<open>\()
    | (?P<close>\))
    | (?P<junction>(?i:AND|OR))(?=[\s(])
    | (?P<field>[A-Za-z][A-Za-z0-9_]*)\s*:(?P<relation>[<>])?\s*
      (?P<value>'[^']+'|-?\d+(?![A-Za-z0-9_@])|[A-Za-z0-9_@]+)
    """,
    re.VERBOSE,
)


def parse_query(query: str | None, fields: Mapping[str, SearchField]) -> Node:
    """The condition tree of a search `query` parameter, validated against `fields`.

    Raises `ApiError` (400, validation shape) for a missing, unquoted, over-long or malformed query, for unknown
    fields (`invalid_field`) and for values of the wrong type.
    """
    if query is None:
        raise errors.validation_failed([FieldError("query", errors.MISSING_FIELD, "missing_field")])
    if len(query) > MAX_QUERY_LENGTH:
        message = errors.query_too_long(len(query), MAX_QUERY_LENGTH)
        raise errors.validation_failed([FieldError("query", message)])
    try:
        if len(query) < 2 or not (query.startswith('"') and query.endswith('"')):
            raise _QueryFormatError
        tree = _Parser(_tokenize(query[1:-1])).parse()
    except _QueryFormatError:
        raise errors.validation_failed([FieldError("query", errors.QUERY_FORMAT_INVALID)]) from None
    problems = [problem for condition in _conditions(tree) if (problem := _check(condition, fields))]
    if problems:
        raise errors.validation_failed(problems)
    return tree


def matches(node: Node, values: Mapping[str, Any], fields: Mapping[str, SearchField]) -> bool:
    """Whether a record whose search values are `values` satisfies the condition tree."""
    if isinstance(node, Junction):
        if node.operator == "AND":
            return matches(node.left, values, fields) and matches(node.right, values, fields)
        return matches(node.left, values, fields) or matches(node.right, values, fields)
    return _condition_matches(node, fields[node.field].kind, values[node.field])


def _tokenize(text: str) -> list[tuple[str, Any]]:
    tokens: list[tuple[str, Any]] = []
    position = 0
    while position < len(text):
        match = _TOKEN_RE.match(text, position)
        if not match:
            raise _QueryFormatError
        position = match.end()
        kind = match.lastgroup if match.lastgroup != "value" else "condition"
        if kind == "space":
            continue
        if kind == "junction":
            tokens.append(("junction", match["junction"].upper()))
        elif kind == "condition":
            # A condition must be followed by whitespace, a closing parenthesis or the end of the query.
            if position < len(text) and not (text[position].isspace() or text[position] == ")"):
                raise _QueryFormatError
            relation = match["relation"] or ":"
            tokens.append(("condition", Condition(match["field"], relation, _value(match["value"]))))
        else:
            tokens.append((kind, None))
    return tokens


def _value(raw: str) -> str | int | bool | None:
    if raw.startswith("'"):
        return raw[1:-1]
    if re.fullmatch(r"-?\d+", raw):
        return int(raw)
    return {"null": None, "true": True, "false": False}.get(raw, raw)


class _Parser:
    def __init__(self, tokens: list[tuple[str, Any]]) -> None:
        self._tokens = tokens
        self._position = 0

    def parse(self) -> Node:
        node = self._expression()
        if self._position != len(self._tokens):
            raise _QueryFormatError
        return node

    def _peek(self) -> tuple[str, Any] | None:
        return self._tokens[self._position] if self._position < len(self._tokens) else None

    def _expression(self) -> Node:
        node = self._conjunction()
        while self._peek() == ("junction", "OR"):
            self._position += 1
            node = Junction("OR", node, self._conjunction())
        return node

    def _conjunction(self) -> Node:
        node = self._primary()
        while self._peek() == ("junction", "AND"):
            self._position += 1
            node = Junction("AND", node, self._primary())
        return node

    def _primary(self) -> Node:
        token = self._peek()
        if token is None:
            raise _QueryFormatError
        self._position += 1
        kind, value = token
        if kind == "condition":
            return value
        if kind == "open":
            node = self._expression()
            if self._peek() != ("close", None):
                raise _QueryFormatError
            self._position += 1
            return node
        raise _QueryFormatError


def _conditions(node: Node) -> list[Condition]:
    if isinstance(node, Condition):
        return [node]
    return _conditions(node.left) + _conditions(node.right)


def _check(condition: Condition, fields: Mapping[str, SearchField]) -> FieldError | None:
    """The problem with one condition, or None when it is valid."""
    spec = fields.get(condition.field)
    if spec is None:
        return FieldError(condition.field, errors.INVALID_FIELD, "invalid_field")
    value = condition.value
    if condition.relation != ":" and (spec.kind not in ("integer", "date") or value is None):
        return FieldError("query", errors.QUERY_FORMAT_INVALID)
    if value is None:
        return None
    if spec.kind == "date":
        if not isinstance(value, str) or parse_date(value) is None:
            return FieldError(condition.field, errors.SEARCH_DATE_FORMAT)
    elif spec.kind == "integer":
        if not isinstance(value, int) or isinstance(value, bool):
            if spec.choices:
                return FieldError(condition.field, errors.not_included(spec.choices))
            return FieldError(condition.field, errors.datatype_mismatch("Integer", value), "datatype_mismatch")
        if spec.choices and condition.relation == ":" and value not in spec.choices:
            return FieldError(condition.field, errors.not_included(spec.choices))
    elif spec.kind == "boolean":
        if not isinstance(value, bool):
            return FieldError(condition.field, errors.datatype_mismatch("Boolean", value), "datatype_mismatch")
    elif not isinstance(value, str):
        return FieldError(condition.field, errors.datatype_mismatch("String", value), "datatype_mismatch")
    elif spec.choices and value not in spec.choices:
        return FieldError(condition.field, errors.not_included(spec.choices))
    return None


def _condition_matches(condition: Condition, kind: FieldKind, actual: Any) -> bool:
    expected = condition.value
    if expected is None:
        return actual is None or actual == []
    if kind == "boolean":
        # FC: filtering on false also finds records where the flag was never set.
        return bool(actual) == expected
    if actual is None:
        return False
    if kind == "date":
        start, end = day_bounds(parse_date(str(expected)) or 0.0)
        if condition.relation == ">":
            return actual >= start
        if condition.relation == "<":
            return actual <= end
        return start <= actual <= end
    if condition.relation == ">":
        return actual >= expected
    if condition.relation == "<":
        return actual <= expected
    if isinstance(actual, list):
        return expected in actual
    return actual == expected
