"""Requests and responses as the simulator's handlers see them, independent of `http.server`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

__all__ = ["JSON_CONTENT_TYPE", "Request", "Response"]

JSON_CONTENT_TYPE = "application/json; charset=utf-8"


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    raw_query: str
    headers: Mapping[str, str]  # names lower-cased
    body: bytes = b""

    @property
    def query(self) -> dict[str, list[str]]:
        """Query parameters decoded with `parse_qs` semantics: `%2B` is a plus, a literal `+` is a space."""
        return parse_qs(self.raw_query, keep_blank_values=True)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    @property
    def base_url(self) -> str:
        """`http://<the host the request came in on>`, for `Link` and `Location` headers."""
        return f"http://{self.header('host') or 'localhost'}"

    def json(self) -> Any:
        """The body parsed as JSON; raises ValueError when it is not JSON, or when a `\\ud800` escape stands for a
        lone surrogate, which is not text (our assumption: Freshdesk refuses such a body as invalid JSON; its store
        is UTF-8, which cannot hold one)."""
        text = self.body.decode("utf-8")
        value = json.loads(text)
        if "\\u" in text:
            json.dumps(value, ensure_ascii=False).encode("utf-8")  # UnicodeEncodeError (a ValueError) on a lone one
        return value


@dataclass
class Response:
    status: int
    body: Any = None  # JSON-serialisable, or None for an empty body
    headers: dict[str, str] = field(default_factory=dict)
    raw_body: bytes | None = None  # sent as is, with its own Content-Type header, instead of `body`

    def encoded(self) -> bytes:
        if self.raw_body is not None:
            return self.raw_body
        if self.body is None:
            return b""
        return json.dumps(self.body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
