"""Django's Redis cache with one client per process, and one `redis.Redis` per connection pool.

Two costs of Django's `RedisCache` that a lookup would pay on every cache operation:
- Django keeps its cache objects in an asgiref `Local`, so every `sync_to_async` call (each background lookup) builds a
  new `RedisCache`, a new client and, with it, a new connection pool. Here every cache object of the same settings
  shares one client, so one set of pools.
- Django's client builds a new `redis.Redis` for every command (`get_client`), and building one copies its hundreds of
  response callbacks: about as much CPU as the command itself. Here each pool has one `redis.Redis`, which is safe to
  share between threads (each command takes a connection from the pool).
"""

from __future__ import annotations

import threading
from functools import cached_property
from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient


class _PooledClient(RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._redis_by_pool: dict[int, Any] = {}
        self._redis_lock = threading.Lock()

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        index = self._get_connection_pool_index(write)
        client = self._redis_by_pool.get(index)
        if client is None:
            with self._redis_lock:
                client = self._redis_by_pool.get(index)
                if client is None:
                    client = self._redis_by_pool[index] = self._client(connection_pool=self._get_connection_pool(write))
        return client


class ProcessRedisCache(RedisCache):
    """`django.core.cache.backends.redis.RedisCache` whose client (pools, `redis.Redis` objects) is the process's."""

    _clients: dict[tuple[tuple[str, ...], str], _PooledClient] = {}
    _clients_lock = threading.Lock()

    @cached_property
    def _cache(self) -> _PooledClient:
        key = (tuple(self._servers), repr(sorted(self._options.items())))
        with self._clients_lock:
            client = self._clients.get(key)
            if client is None:
                client = self._clients[key] = _PooledClient(self._servers, **self._options)
            return client
