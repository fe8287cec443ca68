"""A circuit breaker per Freshdesk account, kept in the Django cache so every process shares it (Redis in
production).

Closed: calls go through. After `SCREENPOP_BREAKER_FAILURES` consecutive failures it opens: lookups fail fast
(the panel is told "unavailable" at once instead of waiting for timeouts). After `SCREENPOP_BREAKER_COOLDOWN`
seconds one probe is let through (half-open); a success closes it, a failure opens it again.
"""

from __future__ import annotations

import hashlib
import time

from django.conf import settings
from django.core.cache import cache

from screenpop import metrics


class CircuitBreaker:
    def __init__(self, account: str) -> None:
        self.account = account
        key = hashlib.sha256(account.encode()).hexdigest()[:24]
        self._failures_key = f"breaker:{key}:failures"
        self._opened_key = f"breaker:{key}:opened_until"
        self._probe_key = f"breaker:{key}:probe"
        self.threshold = settings.SCREENPOP_BREAKER_FAILURES
        self.cooldown = settings.SCREENPOP_BREAKER_COOLDOWN

    def state(self) -> str:
        opened_until = cache.get(self._opened_key)
        if opened_until is None:
            return "closed"
        return "open" if time.time() < opened_until else "half_open"

    def allow(self) -> bool:
        """May a call go to this account now? In half-open state exactly one caller gets True (the probe)."""
        state = self.state()
        if state == "closed":
            return True
        if state == "open":
            return False
        return cache.add(self._probe_key, "1", timeout=max(1, int(self.cooldown)))

    def record_success(self) -> None:
        if any(cache.get_many([self._opened_key, self._failures_key]).values()):
            cache.delete_many([self._failures_key, self._opened_key, self._probe_key])
        metrics.breaker_open.labels(account=self.account).set(0)

    def record_failure(self) -> None:
        cache.add(self._failures_key, 0, timeout=None)
        try:
            failures = cache.incr(self._failures_key)
        except ValueError:
            cache.set(self._failures_key, 1, timeout=None)
            failures = 1
        if failures >= self.threshold or self.state() == "half_open":
            cache.set(self._opened_key, time.time() + self.cooldown, timeout=None)
            cache.delete(self._probe_key)
            metrics.breaker_open.labels(account=self.account).set(1)
