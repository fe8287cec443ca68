"""What the Genesys data action sends, validated (DESIGN.md §3 "Webhook request").

`event_parse` turns a JSON body into a `GenesysEvent` or raises `ValidationFailed` naming the field and echoing
the value received. It catches the seed guide's traps: a template variable Genesys did not resolve (`${x}` is
printed literally by Velocity, `$!{x}` prints nothing), an empty required field, a `tel:` URI without digits.
Unknown fields are kept (`extra`), never rejected.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from screenpop.errors import ValidationFailed
from screenpop.text import json_body

REQUIRED_FIELDS = ("conversation_id", "phone_number")
OPTIONAL_FIELDS = (
    "event_type",
    "timestamp",
    "queue_id",
    "media_type",
    "direction",
    "call_id",
    "participant_id",
    "contact_name",
)
POP_EVENT_TYPES = {"INBOUND_CALL_START"}
VOICE_MEDIA_TYPES = {"VOICE", "CALL"}
MAX_FIELD_LENGTH = 512

_UNRESOLVED = re.compile(r"\$!?\{[^}]*\}")
_CONVERSATION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
_DIGIT = re.compile(r"\d")


@dataclass(slots=True)
class GenesysEvent:
    conversation_id: str
    phone_number: str
    event_type: str = ""
    timestamp: str = ""
    queue_id: str = ""
    media_type: str = ""
    direction: str = ""
    call_id: str = ""
    participant_id: str = ""
    contact_name: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def ignore_reason(self) -> tuple[str, str] | None:
        """The field that makes this event start no pop (not an inbound voice call start) and why, or None."""
        if self.event_type and self.event_type.upper() not in POP_EVENT_TYPES:
            return "event_type", f"event_type {self.event_type!r} does not start a pop; only INBOUND_CALL_START does"
        if self.media_type and self.media_type.upper() not in VOICE_MEDIA_TYPES:
            return "media_type", f"media_type {self.media_type!r} is not a voice call; only VOICE pops"
        if self.direction and self.direction.upper() != "INBOUND":
            return "direction", f"direction {self.direction!r} is not inbound; only INBOUND calls pop"
        return None

    def as_record(self) -> dict[str, Any]:
        record = {name: value for name, value in zip(_RECORD_FIELDS, _record_values(self), strict=True) if value}
        record.update(self.extra)
        return record


_RECORD_FIELDS = (*REQUIRED_FIELDS, *OPTIONAL_FIELDS)
_FIELDS = tuple((name, name in REQUIRED_FIELDS) for name in _RECORD_FIELDS)
_record_values = operator.attrgetter(*_RECORD_FIELDS)


def _invalid(field_name: str, value: Any, detail: str) -> ValidationFailed:
    return ValidationFailed(detail, field=field_name, value=value)


def _text(value: Any, name: str, *, required: bool) -> str:
    """The field `name` as text, or `ValidationFailed` saying what is wrong with it."""
    if value is None:
        if required:
            raise _invalid(name, None, f"{name} is required. Map it in the data action's request template.")
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _invalid(name, value, f"{name} must be a string.")
    value = str(value)
    if _UNRESOLVED.search(value):
        raise _invalid(
            name,
            value,
            f"{name} holds a template variable Genesys did not resolve ({_UNRESOLVED.search(value).group(0)}). "
            "Check the variable's name in the data action's request template.",
        )
    if len(value) > MAX_FIELD_LENGTH:
        raise _invalid(name, value[:80] + "…", f"{name} is longer than {MAX_FIELD_LENGTH} characters.")
    value = value.strip()
    if required and not value:
        raise _invalid(
            name, value, f"{name} is empty. Genesys sends an empty string when a template variable has no value."
        )
    return value


def event_parse(raw: bytes) -> GenesysEvent:
    """Validate a webhook body. Raises `ValidationFailed` (422) with `field` and the `value` received."""
    body = json_body(raw)
    if not isinstance(body, dict):
        raise ValidationFailed("The body must be a JSON object.", field="body")
    values = {}
    for name, required in _FIELDS:
        value = body.get(name)
        if type(value) is str and "$" not in value and len(value) <= MAX_FIELD_LENGTH:
            value = value.strip()  # the usual case, checked without the regular expression
            if value or not required:
                values[name] = value
                continue
        elif value is None and not required:
            values[name] = ""
            continue
        values[name] = _text(value, name, required=required)  # the others, each with its error
    if not _CONVERSATION_ID.match(values["conversation_id"]):
        raise _invalid(
            "conversation_id",
            values["conversation_id"],
            "conversation_id must be the Genesys conversation id (letters, digits, '-', '.', '_' or ':', up to 64).",
        )
    phone = values["phone_number"]
    if (
        phone.lower().startswith(("tel:", "sip:"))
        and not _DIGIT.search(phone.split("@")[0])
        and not _is_withheld(phone)
    ):
        raise _invalid("phone_number", phone, "phone_number is a URI without a number: the ANI did not resolve.")
    if values["timestamp"]:
        values["timestamp"] = _iso_timestamp(values["timestamp"])
    extra = {key: value for key, value in body.items() if key not in values}
    return GenesysEvent(**values, extra=extra)


WITHHELD_WORDS = ("anonymous", "withheld", "private", "restricted", "unknown", "unavailable")


def _is_withheld(phone: str) -> bool:
    lowered = phone.lower()
    return any(word in lowered for word in WITHHELD_WORDS)


def _iso_timestamp(value: str) -> str:
    """ISO 8601 as sent, or Genesys's event time in epoch milliseconds (`eventTime`) turned into ISO 8601 UTC."""
    if value.isdigit() and len(value) >= 12:
        try:
            return datetime.fromtimestamp(int(value) / 1000, tz=UTC).isoformat().replace("+00:00", "Z")
        except (OverflowError, ValueError, OSError) as error:
            raise _invalid("timestamp", value, "timestamp in epoch milliseconds is out of range.") from error
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as error:
        raise _invalid("timestamp", value, "timestamp must be ISO 8601 or epoch milliseconds.") from error
    return value
