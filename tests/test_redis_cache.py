"""The production cache: Django's RedisCache with one client per process and one `redis.Redis` per pool, on a real
Redis (CI starts it for both configurations)."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from screenpop.redis_pool import ProcessRedisCache

pytestmark = pytest.mark.redis


@pytest.fixture
def caches_of_two_contexts(redis_url: str):
    """Two cache objects of the same settings, as Django builds one per thread or async context."""
    params = {"KEY_PREFIX": f"test-cache-{uuid.uuid4().hex[:8]}"}
    first, second = ProcessRedisCache(redis_url, params), ProcessRedisCache(redis_url, params)
    yield first, second, redis_url
    client = first._cache.get_client(write=True)
    keys = list(client.scan_iter(match=f"{params['KEY_PREFIX']}:*"))
    if keys:
        client.delete(*keys)


def test_cache_objects_of_the_same_settings_share_one_client_and_one_redis_per_pool(caches_of_two_contexts) -> None:
    first, second, redis_url = caches_of_two_contexts
    assert first is not second
    assert first._cache is second._cache, "one client, so one set of connection pools, per process"
    assert first._cache.get_client() is second._cache.get_client(write=True), "one redis.Redis per pool"
    other = ProcessRedisCache(redis_url, {"OPTIONS": {"socket_timeout": 5}})
    assert other._cache is not first._cache, "other options, another client"


def test_the_shared_client_serves_many_threads_at_once(caches_of_two_contexts) -> None:
    first, second, _ = caches_of_two_contexts
    first.set("card", {"tickets": [1, 2]}, timeout=30)
    assert second.get("card") == {"tickets": [1, 2]}

    def round_trip(number: int) -> int:
        (first if number % 2 else second).set(f"n{number}", number, timeout=30)
        return (second if number % 2 else first).get(f"n{number}")

    with ThreadPoolExecutor(max_workers=16) as pool:
        assert list(pool.map(round_trip, range(200))) == list(range(200))
    assert first.incr("n7", 3) == 10
    assert second.add("n7", 0) is False
