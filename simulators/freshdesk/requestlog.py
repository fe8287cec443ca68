"""The log of API calls the simulator answered, for tests to assert on (`GET /_sim/requests`)."""

from __future__ import annotations

import threading
from typing import Any

__all__ = ["RequestLog"]


class RequestLog:
    """Entries numbered from 1 (`seq`), oldest first. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[dict[str, Any]] = []
        self._last_seq = 0

    def append(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._last_seq += 1
            self._entries.append({"seq": self._last_seq, **entry})

    def since(self, seq: int) -> tuple[list[dict[str, Any]], int]:
        """Entries after `seq`, and the last sequence number (pass it back as `since` to read on)."""
        with self._lock:
            return [entry for entry in self._entries if entry["seq"] > seq], self._last_seq

    def clear(self) -> None:
        """Forget the entries; numbering goes on, so a reader's `since` stays meaningful."""
        with self._lock:
            self._entries.clear()
