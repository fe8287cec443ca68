"""The simulator's clock, and the timestamp formats Freshdesk speaks.

Everything time-dependent in the simulator (timestamps, `updated_since`, the 30-day window, the search index lag,
the per-minute rate-limit window) reads this clock, never `time.time()` directly. Tests and benchmarks move it
through the control API: an offset jumps it (e.g. past a rate-limit window), a speed makes it run faster so a
benchmark can play an hour of per-minute limits in a minute of wall time.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

__all__ = ["SimClock", "day_bounds", "format_timestamp", "parse_date", "parse_datetime"]


class SimClock:
    """Simulated UTC time in epoch seconds: `anchor + (real - real_anchor) * speed + offset`.

    Changing the speed re-anchors first, so simulated time never jumps backwards or forwards; changing the offset
    jumps by the difference. Thread-safe.
    """

    def __init__(self, *, real_time: Callable[[], float] = time.time) -> None:
        self._real_time = real_time
        self._lock = threading.Lock()
        self._real_anchor = real_time()
        self._sim_anchor = self._real_anchor
        self._speed = 1.0
        self._offset = 0.0

    @property
    def speed(self) -> float:
        return self._speed

    @property
    def offset(self) -> float:
        return self._offset

    def now(self) -> float:
        with self._lock:
            return self._sim_anchor + (self._real_time() - self._real_anchor) * self._speed + self._offset

    def set_speed(self, speed: float) -> None:
        """Run `speed` simulated seconds per real second from now on (speed > 0)."""
        with self._lock:
            real_now = self._real_time()
            self._sim_anchor += (real_now - self._real_anchor) * self._speed
            self._real_anchor = real_now
            self._speed = speed

    def set_offset(self, offset: float) -> None:
        """Shift simulated time by `offset` seconds relative to the un-shifted clock."""
        with self._lock:
            self._offset = offset

    def real_seconds(self, simulated_seconds: float) -> float:
        """How long `simulated_seconds` take in wall-clock time at the current speed."""
        return simulated_seconds / self._speed

    def reset(self) -> None:
        """Back to real time: speed 1, offset 0."""
        with self._lock:
            self._real_anchor = self._real_time()
            self._sim_anchor = self._real_anchor
            self._speed = 1.0
            self._offset = 0.0


def format_timestamp(epoch_seconds: float | None) -> str | None:
    """`YYYY-MM-DDTHH:MM:SSZ` in UTC (reference §2), or None for None."""
    if epoch_seconds is None:
        return None
    return datetime.fromtimestamp(int(epoch_seconds), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# The input formats DOCS `#schema` accepts for date fields: YYYY-MM-DD, YYYY-MM-DDTHH:MM[Z],
# YYYY-MM-DDTHH:MM:SS[Z], and YYYY-MM-DDTHH:MM:SS with ±hh:mm, ±hh or ±hhmm. No zone means UTC.
_DATETIME_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})"
    r"(?:T(\d{2}):(\d{2})(?::(\d{2}))?(Z|[+-]\d{2}(?::?\d{2})?)?)?$"
)
_DATE_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


def parse_datetime(text: str) -> float | None:
    """Epoch seconds for a date-time in one of the DOCS input formats, or None when it is not one.

    A `+` offset that travelled unencoded in a query string arrives as a space and therefore does not parse, as on
    the real API.
    """
    match = _DATETIME_RE.match(text)
    if not match:
        return None
    year, month, day, hour, minute, second, zone = match.groups()
    try:
        moment = datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0), tzinfo=UTC
        )
    except ValueError:
        return None
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
        moment -= sign * offset
    return moment.timestamp()


def parse_date(text: str) -> float | None:
    """Epoch seconds of 00:00:00 UTC on a `YYYY-MM-DD` date, or None when `text` is not such a date."""
    match = _DATE_RE.match(text)
    if not match:
        return None
    try:
        return datetime(*(int(part) for part in match.groups()), tzinfo=UTC).timestamp()
    except ValueError:
        return None


def day_bounds(start_of_day: float) -> tuple[float, float]:
    """The first and last second of the UTC day starting at `start_of_day` (both inclusive)."""
    return start_of_day, start_of_day + 86_399
