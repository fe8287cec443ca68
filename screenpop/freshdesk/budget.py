"""A per-account, per-minute call budget that keeps a Freshdesk account under its plan's limits by itself.

Freshdesk limits every account per minute, whatever the agent or IP (reference/freshdesk.md §6): Growth 200 calls
with ticket lists and contact lists at 20 each, Pro 400/100/100, Enterprise 700/200/200, and invalid requests count
too. A call storm at ring time must not earn 429s, because a 429 blocks the whole account (our lookups and every
other app on it) until `Retry-After`. So the client asks the budget before each request, and the budget either lets
it go, waits until the sliding minute has room, or refuses with `FreshdeskRateLimited(retry_after=...)` without
sending anything.

How it works:

- **A sliding minute, counted in buckets kept in Django's cache.** Freshdesk does not say whether its minute is
  fixed or sliding; a budget that respects every sliding 60 seconds is safe under both (a fixed-window budget can
  spend twice the limit across a minute boundary, which a sliding server refuses). The minute is cut into 12
  buckets of 5 s, one counter per (account, counter, bucket); the account key is a hash of the account's base URL
  and the counters are the account's total and each endpoint kind with its own limit (tickets list, contacts list,
  ticket create, ticket update). A call costs 1 credit, +2 per `include` on lists, taken from both counters.
- **Atomic reserve-then-check.** A call adds its credits to the current bucket with `cache.add(key, 0)` +
  `cache.incr(key, credits)`, then reads the other buckets of the last minute with one `get_many`; if the sum
  passes the limit it gives the credits back (`cache.decr`) and waits or is refused. The buckets that straddle the
  minute's edge count whole, so the budget errs by at most one bucket towards sending less, never more. Since
  every reservation is visible before its own check, two racing callers can both back off but never both overspend.
  On Redis the same steps run as one script on the same keys (`_RESERVE_LUA`): with the block and the plan read by
  one `get_many`, a call costs the budget 2 round trips instead of 11, and its response's check 1 instead of 2.
- **Shared across processes through the cache.** In production `REDIS_URL` makes the default cache Redis, whose
  `INCR` is atomic across all processes and hosts: every ASGI process draws from the same counters, so N processes
  together stay under one account's limit. With the local-memory cache (development, one process) the counters are
  per process, which is exact there. Buckets are numbered from the epoch, so the hosts' clocks must agree to well
  within a bucket, as NTP keeps them.
- **A safety margin** (10% by default, at least one call) stays unspent, for calls in flight, network jitter and
  other apps that start spending between two of our responses.
- **The server's word wins when it is worse.** After every response the client passes the headers in:
  `X-RateLimit-Total` replaces the plan's total (the plan configured may be out of date); when
  `X-RateLimit-Remaining` says fewer calls remain than our counter thinks (other apps share the account), the
  current bucket is raised to match. A 429's `Retry-After` blocks the whole account until then, for every process.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from django.core.cache import BaseCache, caches
from django.core.cache.backends.redis import RedisCache

from screenpop.cpu import waiting
from screenpop.freshdesk.errors import FreshdeskRateLimited

__all__ = ["ENDPOINT_KINDS", "PLANS", "EndpointKind", "PlanLimits", "RateBudget"]

EndpointKind = Literal["tickets_list", "contacts_list", "ticket_create", "ticket_update", "other"]
ENDPOINT_KINDS: tuple[EndpointKind, ...] = ("tickets_list", "contacts_list", "ticket_create", "ticket_update", "other")


@dataclass(frozen=True)
class PlanLimits:
    """Per-minute limits of a Freshdesk plan; None means no separate limit for that endpoint kind."""

    name: str
    per_minute: int
    ticket_create: int | None = None
    ticket_update: int | None = None
    tickets_list: int | None = None
    contacts_list: int | None = None

    def limit_for(self, kind: EndpointKind) -> int | None:
        """The plan's own per-minute limit for `kind` (None for "other": only the total applies)."""
        return None if kind == "other" else getattr(self, kind)


PLANS: dict[str, PlanLimits] = {
    plan.name: plan
    for plan in (
        PlanLimits("trial", 50),
        PlanLimits("growth", 200, ticket_create=80, ticket_update=80, tickets_list=20, contacts_list=20),
        PlanLimits("pro", 400, ticket_create=160, ticket_update=160, tickets_list=100, contacts_list=100),
        PlanLimits("enterprise", 700, ticket_create=280, ticket_update=280, tickets_list=200, contacts_list=200),
        PlanLimits("addon_1000", 1000, ticket_create=400, ticket_update=400, tickets_list=300, contacts_list=300),
        PlanLimits("addon_2000", 2000, ticket_create=800, ticket_update=800, tickets_list=400, contacts_list=400),
    )
}
_PLANS_BY_TOTAL = {plan.per_minute: plan for plan in PLANS.values()}

# The sliding minute is counted in this many buckets: more is tighter, fewer is fewer cache keys per check.
_BUCKETS_PER_WINDOW = 12


def sleep_waiting(seconds: float) -> None:
    """Wait for the budget without holding a CPU slot (`screenpop.cpu`)."""
    with waiting():
        time.sleep(seconds)


class RateBudget:
    """The call budget of one Freshdesk account (identified by its base URL), shared through Django's cache.

    `plan` is a key of `PLANS` or a `PlanLimits`. `window_seconds` is the length of Freshdesk's rate window (60;
    a test against a simulator whose clock runs N times faster passes 60 / N). `clock` is wall-clock time (not
    monotonic, so that processes agree) and `sleep` is how waiting happens; both are injectable for tests.
    """

    def __init__(
        self,
        account: str,
        plan: str | PlanLimits = "growth",
        *,
        safety_margin: float = 0.1,
        cache_alias: str = "default",
        window_seconds: float = 60.0,
        key_prefix: str = "freshdesk-budget",
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = sleep_waiting,
    ) -> None:
        if isinstance(plan, str):
            try:
                plan = PLANS[plan.lower()]
            except KeyError:
                raise ValueError(f"Unknown Freshdesk plan {plan!r}; expected one of {sorted(PLANS)}.") from None
        if not 0 <= safety_margin < 1:
            raise ValueError("safety_margin is a fraction in [0, 1).")
        if window_seconds <= 0:
            raise ValueError("window_seconds must be positive.")
        self.account = account
        self.plan = plan
        self.safety_margin = safety_margin
        self.window_seconds = float(window_seconds)
        self._bucket_seconds = self.window_seconds / _BUCKETS_PER_WINDOW
        self._cache_alias = cache_alias
        self._clock = clock
        self._sleep = sleep
        self._key = f"{key_prefix}:{hashlib.sha256(account.encode()).hexdigest()[:24]}"
        self._counter_ttl = max(2, math.ceil(self.window_seconds * 2))
        self._last_observed_total: tuple[int, float] | None = None

    def __repr__(self) -> str:
        return f"<RateBudget {self.account} {self.plan.name}>"

    # -- public API ---------------------------------------------------------------------------------------------

    def acquire(self, endpoint_kind: EndpointKind, credits: int = 1, *, block_up_to: float = 0.0) -> None:
        """Take `credits` for one call of `endpoint_kind`, waiting at most `block_up_to` seconds for them.

        Returns when the call may be sent. Raises `FreshdeskRateLimited` (with `retry_after`, the seconds until
        the budget could allow it) without waiting when the wait would exceed `block_up_to`, and `ValueError` for
        an unknown kind or a call that costs more than the account's whole per-minute budget.
        """
        if endpoint_kind not in ENDPOINT_KINDS:
            raise ValueError(f"Unknown endpoint kind {endpoint_kind!r}; expected one of {ENDPOINT_KINDS}.")
        if credits < 1:
            raise ValueError("A call costs at least one credit.")
        deadline = self._clock() + max(0.0, block_up_to)
        while True:
            now = self._clock()
            blocked_until, plan = self._state()
            if blocked_until > now:
                wait = blocked_until - now
                reason = "Freshdesk answered 429 for this account and asked us to wait"
            else:
                refusal = self._take(endpoint_kind, credits, now, plan)
                if refusal is None:
                    return
                reason, wait = refusal
            if now + wait > deadline:
                raise FreshdeskRateLimited(
                    f"{reason} ({self.account}); the next call can go in {wait:.1f} s.", retry_after=wait
                )
            self._sleep(wait)

    def observe(self, *, status: int, headers: Mapping[str, str]) -> None:
        """Learn from a Freshdesk response: its rate-limit headers and, on 429, its `Retry-After`.

        `headers` must look names up case-insensitively (as `requests`' headers do), because Freshdesk's
        documentation spells them both `X-RateLimit-*` and `X-Ratelimit-*`.
        """
        now = self._clock()
        total = _int_header(headers, "X-RateLimit-Total")
        if total is not None and total > 0 and (total, now // 3600) != self._last_observed_total:
            # Written when it changes, and hourly (the key lives a day), not on every response.
            self._cache.set(f"{self._key}:observed-total", total, timeout=24 * 3600)
            self._last_observed_total = (total, now // 3600)
        remaining = _int_header(headers, "X-RateLimit-Remaining")
        # A 429's Retry-After says more precisely when room returns than its Remaining of 0 would.
        if total is not None and remaining is not None and status != 429:
            # Other apps on the same account spend from the same server-side budget: adopt the server's count
            # when it is higher than ours. Never lower it, as ours includes calls still in flight.
            server_used = max(0, total - remaining)
            ours = self._used("total", now)
            if server_used > ours:
                key = self._bucket_key("total", self._bucket(now))
                self._cache.add(key, 0, timeout=self._counter_ttl)
                self._incr(key, server_used - ours)
        if status == 429:
            retry_after = _float_header(headers, "Retry-After")
            self.block_for(self.window_seconds if retry_after is None else retry_after)

    def block_for(self, seconds: float) -> None:
        """Refuse or hold every call on this account, in every process, for `seconds` from now."""
        until = self._clock() + max(0.0, seconds)
        if until > self._blocked_until():
            self._cache.set(f"{self._key}:blocked-until", until, timeout=math.ceil(seconds) + 1)

    def limit(self, endpoint_kind: EndpointKind | Literal["total"], *, plan: PlanLimits | None = None) -> int | None:
        """The usable per-minute credits for `endpoint_kind` ("total" for the account), after the safety margin;
        `plan` is the plan in force when the caller has read it already."""
        plan = plan or self._effective_plan()
        raw = plan.per_minute if endpoint_kind == "total" else plan.limit_for(endpoint_kind)
        if raw is None:
            return None
        return max(1, math.floor(raw * (1 - self.safety_margin)))

    def remaining(self, endpoint_kind: EndpointKind | Literal["total"] = "total") -> int | None:
        """Credits still available for `endpoint_kind` over the last minute (None when it has no own limit)."""
        limit = self.limit(endpoint_kind)
        if limit is None:
            return None
        return max(0, limit - self._used(endpoint_kind, self._clock()))

    # -- internals ----------------------------------------------------------------------------------------------

    @property
    def _cache(self) -> BaseCache:
        # Looked up on use, not stored: `caches` is per thread (and tests swap the CACHES setting).
        return caches[self._cache_alias]

    def _state(self) -> tuple[float, PlanLimits]:
        """(until when the account is blocked, the plan in force), in one round trip to the cache."""
        blocked_key, observed_key = f"{self._key}:blocked-until", f"{self._key}:observed-total"
        found = self._cache.get_many([blocked_key, observed_key])
        return float(found.get(blocked_key) or 0.0), self._plan_for(found.get(observed_key))

    def _effective_plan(self) -> PlanLimits:
        return self._plan_for(self._cache.get(f"{self._key}:observed-total"))

    def _plan_for(self, observed: int | None) -> PlanLimits:
        """The plan in force: ours, unless the server's `X-RateLimit-Total` said otherwise."""
        if not observed or observed == self.plan.per_minute:
            return self.plan
        # The server's total wins; a known plan's total tells us its endpoint limits too.
        known = _PLANS_BY_TOTAL.get(observed)
        if known is not None:
            return known
        return PlanLimits(
            self.plan.name,
            observed,
            ticket_create=self.plan.ticket_create,
            ticket_update=self.plan.ticket_update,
            tickets_list=self.plan.tickets_list,
            contacts_list=self.plan.contacts_list,
        )

    def _take(
        self, endpoint_kind: EndpointKind, credits: int, now: float, plan: PlanLimits
    ) -> tuple[str, float] | None:
        """Reserve the credits on the total and the kind's counter: None on success, else (why not, wait)."""
        limits: list[tuple[str, int]] = [("total", self.limit("total", plan=plan) or 0)]
        kind_limit = self.limit(endpoint_kind, plan=plan)
        if kind_limit is not None:
            limits.append((endpoint_kind, kind_limit))
        for name, limit in limits:
            if credits > limit:
                raise ValueError(
                    f"A call costing {credits} credits can never fit the {name} budget of {limit} per minute."
                )
        cache = self._cache
        reserve = self._reserve_in_redis if isinstance(cache, RedisCache) else self._reserve_in_cache
        over = reserve(cache, limits, credits, self._bucket(now))
        if over is None:
            return None
        name, limit, used, older = over
        what = "calls" if name == "total" else f"{name.replace('_', ' ')} calls"
        reason = f"The Freshdesk account's per-minute budget for {what} ({limit} with our margin) is spent"
        return reason, self._wait_for_room(older, used - limit, now)

    def _reserve_in_cache(
        self, cache: BaseCache, limits: list[tuple[str, int]], credits: int, current: int
    ) -> tuple[str, int, int, dict[int, int]] | None:
        """Add `credits` to each counter's current bucket, then check it: None when every counter has room, else
        (the counter, its limit, the credits it would have used, its older buckets) with every reservation given
        back. Any cache: add + incr, get_many, and decr on the way back."""
        reserved: list[str] = []
        for name, limit in limits:
            key = self._bucket_key(name, current)
            cache.add(key, 0, timeout=self._counter_ttl)
            in_current = self._incr(key, credits)
            older = self._older_buckets(name, current)
            used = in_current + sum(older.values())
            if used > limit:
                for reserved_key in [*reserved, key]:
                    self._decr(reserved_key, credits)
                return name, limit, used, older
            reserved.append(key)
        return None

    def _reserve_in_redis(
        self, cache: RedisCache, limits: list[tuple[str, int]], credits: int, current: int
    ) -> tuple[str, int, int, dict[int, int]] | None:
        """`_reserve_in_cache` as one Redis script, on the same keys and values (Django stores integers as they
        are): one round trip where the cache API took ten (add, exists and incr, get_many, per counter)."""
        older_buckets = range(current - _BUCKETS_PER_WINDOW, current)
        keys = [
            cache.make_and_validate_key(self._bucket_key(name, bucket))
            for name, _ in limits
            for bucket in (current, *older_buckets)
        ]
        client = cache._cache.get_client(keys[0], write=True)  # Django's RedisCache exposes no script API
        over = _reserve_script(client)(
            keys=keys,
            args=[credits, self._counter_ttl, _BUCKETS_PER_WINDOW, *(limit for _, limit in limits)],
            client=client,
        )
        if not over or int(over[0]) == 0:
            return None
        index, used, *older_values = (int(value) for value in over)
        name, limit = limits[index - 1]
        older = {bucket: value for bucket, value in zip(older_buckets, older_values, strict=True) if value}
        return name, limit, used, older

    def _wait_for_room(self, older: dict[int, int], excess: int, now: float) -> float:
        """Seconds until the oldest buckets holding `excess` credits have left the sliding minute."""
        for bucket in sorted(older):
            excess -= older[bucket]
            if excess <= 0:
                return max((bucket + 1) * self._bucket_seconds + self.window_seconds - now, 0.001)
        # The room must come from the current bucket: it leaves the minute once the bucket is over.
        return (self._bucket(now) + 1) * self._bucket_seconds + self.window_seconds - now

    def _used(self, name: str, now: float) -> int:
        current = self._bucket(now)
        return sum(self._buckets(name, current - _BUCKETS_PER_WINDOW, current + 1).values())

    def _older_buckets(self, name: str, current: int) -> dict[int, int]:
        """Credits in the buckets before `current` that overlap the last minute, by bucket number."""
        return self._buckets(name, current - _BUCKETS_PER_WINDOW, current)

    def _buckets(self, name: str, first: int, end: int) -> dict[int, int]:
        """Credits in buckets `first` to `end` (excluded) of counter `name`, by bucket number (one round trip)."""
        keys = {self._bucket_key(name, bucket): bucket for bucket in range(first, end)}
        found = self._cache.get_many(list(keys))
        return {keys[key]: int(value) for key, value in found.items() if value}

    def _bucket(self, now: float) -> int:
        return math.floor(now / self._bucket_seconds)

    def _bucket_key(self, name: str, bucket: int) -> str:
        return f"{self._key}:{name}:{bucket}"

    def _incr(self, key: str, delta: int) -> int:
        try:
            return self._cache.incr(key, delta)
        except ValueError:
            # The key expired between add() and incr(); the bucket starts again from zero.
            self._cache.add(key, 0, timeout=self._counter_ttl)
            return self._cache.incr(key, delta)

    def _decr(self, key: str, delta: int) -> None:
        # A bucket that expired meanwhile has nothing left to give back.
        with contextlib.suppress(ValueError):
            self._cache.decr(key, delta)

    def _blocked_until(self) -> float:
        return float(self._cache.get(f"{self._key}:blocked-until") or 0.0)


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    try:
        return int(str(value).strip()) if value is not None else None
    except ValueError:
        return None


def _float_header(headers: Mapping[str, str], name: str) -> float | None:
    """A `Retry-After` in seconds; the HTTP-date form is not used by Freshdesk and reads as None."""
    value = headers.get(name)
    try:
        return max(0.0, float(str(value).strip())) if value is not None else None
    except ValueError:
        return None


# KEYS: per counter, its current bucket then its older buckets (ARGV[3] of them). ARGV: credits, the counters' TTL,
# the number of older buckets, then each counter's limit. Returns {0} when every counter had room (the credits stay
# reserved), else {counter's position, credits it would have used, its older buckets' credits...} with every
# reservation given back: the steps and the outcome of `RateBudget._reserve_in_cache`.
_RESERVE_LUA = """
local credits, ttl, older = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local stride = older + 1
for i = 1, #ARGV - 3 do
  local base = (i - 1) * stride
  local used = redis.call('INCRBY', KEYS[base + 1], credits)
  if used == credits then redis.call('EXPIRE', KEYS[base + 1], ttl) end
  local values = redis.call('MGET', unpack(KEYS, base + 2, base + stride))
  local counts = {}
  for j = 1, #values do
    counts[j] = tonumber(values[j]) or 0
    used = used + counts[j]
  end
  if used > tonumber(ARGV[3 + i]) then
    for k = 1, i do redis.call('DECRBY', KEYS[(k - 1) * stride + 1], credits) end
    return {i, used, unpack(counts)}
  end
end
return {0}
"""
_reserve: list[Any] = []  # the script object, made once; each call passes the client it runs on


def _reserve_script(client: Any) -> Any:
    """The reservation script (EVALSHA; redis-py loads it into a server that does not have it yet)."""
    if not _reserve:
        _reserve.append(client.register_script(_RESERVE_LUA))
    return _reserve[0]
