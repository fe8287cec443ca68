"""One Redis connection pool per process for Django's cache.

Django keeps its cache objects in an asgiref `Local`, so every `sync_to_async` call (each background lookup) builds a
new `RedisCache` and, with it, a new connection pool: the benchmark counted 308 new Redis connections for 200 pops.
This pool class hands every cache object the same pool for the same URL and options.
"""

from __future__ import annotations

import threading
from typing import Any

import redis


class SharedConnectionPool(redis.ConnectionPool):
    _shared: dict[tuple[str, tuple[tuple[str, Any], ...]], redis.ConnectionPool] = {}
    _lock = threading.Lock()

    @classmethod
    def from_url(cls, url: str, **options: Any) -> redis.ConnectionPool:
        key = (url, tuple(sorted((name, repr(value)) for name, value in options.items())))
        with cls._lock:
            pool = cls._shared.get(key)
            if pool is None:
                pool = cls._shared[key] = super().from_url(url, **options)
            return pool
