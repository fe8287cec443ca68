"""Single-flight and a short TTL cache for caller lookups, keyed by (tenant, E.164).

Concurrent pops for the same caller share one lookup: within a process through a lock per key, across processes
through a lock in the shared cache (Redis in production) while the others wait for the result to appear there.
A repeat caller within `SCREENPOP_CACHE_SECONDS` is served from the cache with no Freshdesk call.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache

from screenpop.cpu import lock_acquire, waiting

_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()
# How long the cross-process lock of a lookup lasts, and so how long others wait for its result: a lookup whose calls
# have screen-pop deadlines (1.2 s to the first byte) is over well within it, and a process killed while holding the
# lock delays that caller's other pops by no more than this, which must stay within a screen pop's patience.
CROSS_PROCESS_WAIT_SECONDS = 5.0


def result_key(tenant_id: int, e164: str) -> str:
    return f"lookup:{tenant_id}:{e164}"


def _local_lock(key: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(key, threading.Lock())


def cached_result(tenant_id: int, e164: str) -> dict[str, Any] | None:
    return cache.get(result_key(tenant_id, e164))


def forget(tenant_id: int, e164: str) -> None:
    cache.delete(result_key(tenant_id, e164))


def shared_lookup(tenant_id: int, e164: str, compute: Callable[[], dict[str, Any]]) -> tuple[dict[str, Any], bool]:
    """The caller's lookup result, computing it at most once across concurrent callers.

    Returns (result, computed_here). `compute` may raise; the error goes to the caller that ran it, and the others
    then try themselves (so a transient failure is retried by each pop's own retry schedule).
    """
    key = result_key(tenant_id, e164)
    lock = _local_lock(key)
    lock_acquire(lock)  # the lookup of the same caller in another thread runs meanwhile
    try:
        hit = cache.get(key)
        if hit is not None:
            return hit, False
        lock_key = key + ":lock"
        deadline = time.monotonic() + CROSS_PROCESS_WAIT_SECONDS
        while not cache.add(lock_key, "1", timeout=int(CROSS_PROCESS_WAIT_SECONDS)):
            # Another process is looking this caller up: wait for its result rather than call Freshdesk twice.
            with waiting():
                time.sleep(0.05)
            hit = cache.get(key)
            if hit is not None:
                return hit, False
            if time.monotonic() > deadline:
                break
        try:
            result = compute()
            cache.set(key, result, timeout=settings.SCREENPOP_CACHE_SECONDS)
            return result, True
        finally:
            cache.delete(lock_key)
    finally:
        lock.release()
