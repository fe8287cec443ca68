"""Per-account, per-minute rate limits by plan (reference §6; DOCS `#ratelimit`).

The window is a **sliding** minute on the simulator clock: a request is admitted when the credits spent in the 60
simulated seconds before it, plus its own, stay within the plan's total and within its endpoint's sub-limit. There
are no minute boundaries to burst across. A refused request spends nothing; `retry_after` is how long until enough
older spending leaves the window.

Units: "calls" in the DOCS table are credits. A request costs 1 credit plus its includes (see `routes.py`), and the
same credits count against the sub-limit (tickets create / update / list, contacts list) as against the total,
which is how `X-RateLimit-Used-CurrentRequest` describes "API calls consumed by the current request".
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["PLANS", "Decision", "Plan", "RateLimiter"]

WINDOW_SECONDS = 60.0

# Sub-limit buckets (the endpoints the DOCS table limits separately).
TICKETS_CREATE = "tickets_create"
TICKETS_UPDATE = "tickets_update"
TICKETS_LIST = "tickets_list"
CONTACTS_LIST = "contacts_list"


@dataclass(frozen=True)
class Plan:
    name: str
    per_minute: int
    sub_limits: Mapping[str, int] = field(default_factory=dict)

    @property
    def has_api(self) -> bool:
        """The Free plan has no API at all (403 `require_feature`)."""
        return self.per_minute > 0


def _plan(name: str, per_minute: int, create: int, update: int, tickets_list: int, contacts_list: int) -> Plan:
    limits = {TICKETS_CREATE: create, TICKETS_UPDATE: update, TICKETS_LIST: tickets_list, CONTACTS_LIST: contacts_list}
    return Plan(name, per_minute, limits)


PLANS: dict[str, Plan] = {
    "growth": _plan("growth", 200, 80, 80, 20, 20),
    "pro": _plan("pro", 400, 160, 160, 100, 100),
    "enterprise": _plan("enterprise", 700, 280, 280, 200, 200),
    "addon_1000": _plan("addon_1000", 1000, 400, 400, 300, 300),
    "addon_2000": _plan("addon_2000", 2000, 800, 800, 400, 400),
    "trial": Plan("trial", 50),
    "free": Plan("free", 0),
}


@dataclass(frozen=True)
class Decision:
    """The limiter's answer, with what the X-RateLimit headers report."""

    allowed: bool
    total: int
    remaining: int
    used: int  # credits this request spent (0 when refused)
    retry_after: float = 0.0  # simulated seconds until the request would fit

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Total": str(self.total),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Used-CurrentRequest": str(self.used),
        }


@dataclass(frozen=True)
class _Spending:
    at: float
    credits: int
    bucket: str | None


class RateLimiter:
    """The account's spending over the last simulated minute. Callers serialise access."""

    def __init__(self) -> None:
        self._spent: deque[_Spending] = deque()

    def admit(self, *, plan: Plan, now: float, credits: int, bucket: str | None) -> Decision:
        """Spend `credits` now if the plan allows it, against the total and against `bucket`'s sub-limit."""
        while self._spent and self._spent[0].at <= now - WINDOW_SECONDS:
            self._spent.popleft()
        in_window = list(self._spent)
        spent_total = sum(spending.credits for spending in in_window)
        waits = [_wait_for_room(in_window, plan.per_minute, credits, now)]
        sub_limit = plan.sub_limits.get(bucket) if bucket else None
        if sub_limit is not None:
            in_bucket = [spending for spending in in_window if spending.bucket == bucket]
            waits.append(_wait_for_room(in_bucket, sub_limit, credits, now))
        retry_after = max(waits)
        if retry_after > 0:
            return Decision(False, plan.per_minute, max(plan.per_minute - spent_total, 0), 0, retry_after)
        self._spent.append(_Spending(now, credits, bucket))
        return Decision(True, plan.per_minute, max(plan.per_minute - spent_total - credits, 0), credits)

    def clear(self) -> None:
        self._spent.clear()


def _wait_for_room(spendings: list[_Spending], limit: int, credits: int, now: float) -> float:
    """Simulated seconds until `credits` more fit under `limit`, given `spendings` oldest first (0 = now)."""
    excess = sum(spending.credits for spending in spendings) + credits - limit
    if excess <= 0:
        return 0.0
    if credits > limit:
        return WINDOW_SECONDS
    for spending in spendings:
        excess -= spending.credits
        if excess <= 0:
            return max(spending.at + WINDOW_SECONDS - now, 0.001)
    return WINDOW_SECONDS


def retry_after_header(simulated_seconds: float, speed: float) -> str:
    """`Retry-After` in whole wall-clock seconds (at least 1), so a client that sleeps that long gets through."""
    return str(max(1, math.ceil(simulated_seconds / speed)))
