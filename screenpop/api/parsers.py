"""The API's JSON parser: DRF's, with nesting too deep for Python's parser answered as a parse error (400) instead of
an uncaught RecursionError (500). Any caller can reach `/api/v1/panel/session` with any body."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class JSONParserBounded(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict[str, Any] | None = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as error:
            raise ParseError("JSON parse error - the body nests arrays or objects too deeply.") from error
