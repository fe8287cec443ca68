"""Query-string validation with Freshdesk's error shapes (unknown parameters, pages, ids, dates, choices), and paging.

Values come from `urllib.parse.parse_qs`, which decodes a literal `+` to a space (so `phone=+1555...` reads
" 1555..." and matches nothing, as on the real API); only `%2B` is a plus. When a parameter repeats, the last value
wins, as in Rails.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode

from simulators.freshdesk import errors
from simulators.freshdesk.clock import parse_datetime
from simulators.freshdesk.errors import FieldError
from simulators.freshdesk.messages import Request, Response

__all__ = ["DEFAULT_PER_PAGE", "MAX_PER_PAGE", "ParamReader", "paginated_response"]

DEFAULT_PER_PAGE = 30
MAX_PER_PAGE = 100


class ParamReader:
    """Reads one request's query parameters, collecting every problem; `raise_if_invalid()` reports them all."""

    def __init__(self, query: Mapping[str, Sequence[str]], allowed: Iterable[str]) -> None:
        self._query = query
        allowed = set(allowed)
        self.errors: list[FieldError] = [
            FieldError(name, errors.INVALID_FIELD, "invalid_field") for name in query if name not in allowed
        ]

    def text(self, name: str) -> str | None:
        values = self._query.get(name)
        return values[-1] if values else None

    def positive_int(self, name: str) -> int | None:
        raw = self.text(name)
        if raw is None:
            return None
        if raw.isascii() and raw.isdigit() and int(raw) > 0:
            return int(raw)
        self.errors.append(FieldError(name, errors.datatype_mismatch("Positive Integer"), "datatype_mismatch"))
        return None

    def choice(self, name: str, choices: Sequence[str], *, separator: str = ",") -> str | None:
        raw = self.text(name)
        if raw is not None and raw not in choices:
            self.errors.append(FieldError(name, errors.not_included(choices, separator)))
            return None
        return raw

    def choices(self, name: str, choices: Sequence[str]) -> list[str]:
        """A comma-separated list (`include=requester,stats`), each item one of `choices`."""
        raw = self.text(name)
        if raw is None:
            return []
        items = [item.strip() for item in raw.split(",")]
        if not raw.strip() or any(item not in choices for item in items):
            self.errors.append(FieldError(name, errors.not_included(choices, ", ")))
            return []
        return items

    def timestamp(self, name: str) -> float | None:
        raw = self.text(name)
        if raw is None:
            return None
        parsed = parse_datetime(raw)
        if parsed is None:
            self.errors.append(FieldError(name, errors.DATE_TIME_FORMAT))
        return parsed

    def page(self, *, maximum: int | None = None, beyond_maximum: str | None = None) -> int:
        """`page` (default 1); above `maximum` it is an error with the `beyond_maximum` message."""
        page = self.positive_int("page")
        if page is None:
            return 1
        if maximum is not None and page > maximum:
            self.errors.append(FieldError("page", beyond_maximum or errors.per_page_invalid(maximum)))
            return 1
        return page

    def per_page(self) -> int:
        """`per_page` (default 30); anything but an integer from 1 to 100 is an error (reference §3)."""
        raw = self.text("per_page")
        if raw is None:
            return DEFAULT_PER_PAGE
        if raw.isascii() and raw.isdigit() and 0 < int(raw) <= MAX_PER_PAGE:
            return int(raw)
        self.errors.append(FieldError("per_page", errors.per_page_invalid(MAX_PER_PAGE), "datatype_mismatch"))
        return DEFAULT_PER_PAGE

    def raise_if_invalid(self) -> None:
        if self.errors:
            raise errors.validation_failed(self.errors)


def paginated_response(request: Request, items: Sequence[Any], *, page: int, per_page: int) -> Response:
    """One page of a list endpoint: a bare JSON array, with `Link: <...>; rel="next"` only while more pages exist.

    The link repeats the request's own parameters with the next `page`, on the host the request came in on.
    """
    start = (page - 1) * per_page
    response = Response(200, list(items[start : start + per_page]))
    if len(items) > start + per_page:
        pairs = [
            (name, value) for name, value in parse_qsl(request.raw_query, keep_blank_values=True) if name != "page"
        ]
        next_url = f"{request.base_url}{request.path}?{urlencode([*pairs, ('page', str(page + 1))])}"
        response.headers["Link"] = f'<{next_url}>; rel="next"'
    return response
