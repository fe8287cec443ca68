"""Freshdesk's timestamps (`"2026-11-28T12:00:00Z"`), read in one place."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.utils.dateparse import parse_datetime


def freshdesk_time(value: Any) -> datetime | None:
    """An aware datetime of a Freshdesk timestamp (UTC when it names no offset); None when missing or unreadable."""
    if not isinstance(value, str):
        return None
    try:
        parsed = parse_datetime(value)
    except ValueError:  # well formed, but not a date (month 13)
        return None
    if parsed is not None and parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def freshdesk_epoch(value: Any) -> float:
    """Epoch seconds of a Freshdesk timestamp; 0 for a missing or unreadable one (it sorts as the oldest)."""
    parsed = freshdesk_time(value)
    return parsed.timestamp() if parsed is not None else 0.0
