"""Text a database can store, and request bodies parsed as JSON that hold only such text.

PostgreSQL refuses NUL in text and jsonb, and no driver can encode a lone surrogate; JSON lets both through
(`\\u0000`, `\\ud800`), so what arrives as JSON from outside is checked (requests we answer: refused with a 422)
or cleaned (what Freshdesk sends us: kept, with U+FFFD in their place)."""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

from screenpop.errors import ValidationFailed

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def storable(value: Any) -> bool:
    """Is every string in this parsed JSON value (keys too) storable?"""
    try:
        if isinstance(value, str):
            return _UNSTORABLE.search(value) is None
        if isinstance(value, dict):
            return all(storable(key) and storable(item) for key, item in value.items())
        if isinstance(value, list):
            return all(storable(item) for item in value)
    except RecursionError:
        return False  # parsed, but too deep to check: refused rather than stored unchecked
    return True


def storable_copy(value: Any) -> Any:
    """This parsed JSON value with every NUL and lone surrogate replaced by U+FFFD."""
    if isinstance(value, str):
        return _UNSTORABLE.sub(REPLACEMENT, value)
    if isinstance(value, dict):
        return {storable_copy(key): storable_copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [storable_copy(item) for item in value]
    return value


def logged_text(raw: bytes) -> str:
    """A refused body as text a database can store: what was not UTF-8 replaced by the decoder, NUL by U+FFFD."""
    return raw.decode("utf-8", errors="replace").replace("\x00", REPLACEMENT)


def json_bytes(value: Any) -> bytes:
    """`value` as compact UTF-8 JSON: orjson's (a tenth of `json.dumps`'s time on the webhook's small objects), or
    the standard library's for what orjson cannot write (an integer past 64 bits, from a body only it could read)."""
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def json_text(value: Any) -> str:
    """`json_bytes` as text (a database's JSON column, a statement's JSON parameter)."""
    return json_bytes(value).decode()


def json_body(raw: bytes) -> Any:
    """A request body parsed as JSON that a database can store, or `ValidationFailed` (422) naming the field."""
    try:
        body = orjson.loads(raw)  # several times faster than json.loads on a webhook body: the ack's hot path
    except orjson.JSONDecodeError:
        # orjson refuses more than the standard library (a lone surrogate, NaN, integers past 64 bits, a byte-order
        # mark): those bodies are read as before, so a refusal still names the field and says what is wrong.
        try:
            body = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ValidationFailed(f"The body is not valid JSON: {error}.", field="body") from error
        except RecursionError as error:
            raise ValidationFailed("The body nests arrays or objects too deeply.", field="body") from error
    if b"\\u" in raw or not raw.isascii():  # the only ways to a NUL or a lone surrogate in a parsed value
        for name, value in body.items() if isinstance(body, dict) else [("body", body)]:
            if not storable(name) or not storable(value):
                raise ValidationFailed(
                    "The body holds a NUL character or an unpaired surrogate (\\u0000, \\ud800-\\udfff), which "
                    "are not text; send printable text only.",
                    field=name if storable(name) else "body",
                )
    return body
