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
WRAPUP_EVENT_TYPES = {"CALL_WRAPUP"}
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


def body_parse(raw: bytes) -> dict[str, Any]:
    """The webhook body as a JSON object, or `ValidationFailed` (422)."""
    body = json_body(raw)
    if not isinstance(body, dict):
        raise ValidationFailed("The body must be a JSON object.", field="body")
    return body


def event_parse(raw: bytes) -> GenesysEvent:
    """Validate a call start's webhook body. Raises `ValidationFailed` (422) with `field` and the `value` received."""
    return event_from_body(body_parse(raw))


def is_wrapup(body: dict[str, Any]) -> bool:
    """Is this body a wrap-up (`event_type` CALL_WRAPUP) rather than a call start?"""
    event_type = body.get("event_type")
    return isinstance(event_type, str) and event_type.strip().upper() in WRAPUP_EVENT_TYPES


def _conversation_id(value: str) -> str:
    if not _CONVERSATION_ID.match(value):
        raise _invalid(
            "conversation_id",
            value,
            "conversation_id must be the Genesys conversation id (letters, digits, '-', '.', '_' or ':', up to 64).",
        )
    return value


def event_from_body(body: dict[str, Any]) -> GenesysEvent:
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
    _conversation_id(values["conversation_id"])
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


# A wrap-up (Genesys's `acw` AfterCallWorkEvent, reference §12), as the second data action sends it.
WRAPUP_REQUIRED_FIELDS = ("conversation_id", "user_id")
WRAPUP_OPTIONAL_FIELDS = (
    "event_type",
    "participant_id",
    "queue_id",
    "wrapup_code",
    "wrapup_notes",
    "wrapup_duration_ms",
    "media_type",
    "direction",
    "phone_number",
    "timestamp",
)
MAX_WRAPUP_NOTES_LENGTH = 4000  # Genesys's wrap-up notes are longer than any other field we take


@dataclass(slots=True)
class WrapUpEvent:
    conversation_id: str
    user_id: str
    event_type: str = ""
    participant_id: str = ""
    queue_id: str = ""
    wrapup_code: str = ""
    wrapup_notes: str = ""
    wrapup_duration_ms: int | None = None
    media_type: str = ""
    direction: str = ""
    phone_number: str = ""
    timestamp: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def ignore_reason(self) -> tuple[str, str] | None:
        """The field that makes this wrap-up write nothing (not a voice call) and why, or None."""
        if self.media_type and self.media_type.upper() not in VOICE_MEDIA_TYPES:
            return "media_type", f"media_type {self.media_type!r} is not a voice call; only calls are logged"
        return None

    def as_record(self) -> dict[str, Any]:
        record = {
            name: getattr(self, name)
            for name in (*WRAPUP_REQUIRED_FIELDS, *WRAPUP_OPTIONAL_FIELDS)
            if getattr(self, name) not in ("", None)
        }
        record.update(self.extra)
        return record


def _duration_ms(value: Any) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise _invalid("wrapup_duration_ms", value, "wrapup_duration_ms must be a whole number of milliseconds.")
    text = str(value).strip()
    if _UNRESOLVED.search(text):
        raise _invalid(
            "wrapup_duration_ms",
            text,
            "wrapup_duration_ms holds a template variable Genesys did not resolve. Check the data action's template.",
        )
    if not text.isdigit() or len(text) > 12:
        raise _invalid("wrapup_duration_ms", value, "wrapup_duration_ms must be a whole number of milliseconds.")
    return int(text)


def wrapup_from_body(body: dict[str, Any]) -> WrapUpEvent:
    """Validate a wrap-up's webhook body. Raises `ValidationFailed` (422) with `field` and the `value` received."""
    values: dict[str, Any] = {}
    for name in WRAPUP_REQUIRED_FIELDS:
        values[name] = _text(body.get(name), name, required=True)
    for name in WRAPUP_OPTIONAL_FIELDS:
        if name == "wrapup_duration_ms":
            values[name] = _duration_ms(body.get(name))
        elif name == "wrapup_notes":
            notes = body.get(name)
            if isinstance(notes, str) and len(notes) > MAX_FIELD_LENGTH:
                if len(notes) > MAX_WRAPUP_NOTES_LENGTH:
                    notes = notes[:MAX_WRAPUP_NOTES_LENGTH]
                if _UNRESOLVED.search(notes):
                    raise _invalid(name, notes[:80] + "…", f"{name} holds a template variable Genesys did not resolve.")
                values[name] = notes.strip()
            else:
                values[name] = _text(notes, name, required=False)
        else:
            values[name] = _text(body.get(name), name, required=False)
    _conversation_id(values["conversation_id"])
    if not _CONVERSATION_ID.match(values["user_id"]):
        raise _invalid("user_id", values["user_id"], "user_id must be the Genesys id of the agent who wrapped up.")
    if values["timestamp"]:
        values["timestamp"] = _iso_timestamp(values["timestamp"])
    known = {*WRAPUP_REQUIRED_FIELDS, *WRAPUP_OPTIONAL_FIELDS}
    extra = {key: value for key, value in body.items() if key not in known}
    return WrapUpEvent(**values, extra=extra)
