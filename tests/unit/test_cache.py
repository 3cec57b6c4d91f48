"""Generation-stamped cache-aside: invalidation wins every interleaving; a dead cache is
bypassed."""

from __future__ import annotations

import asyncio
import os
import uuid

import pytest
from redis.asyncio import Redis

from boxoffice.core.cache import MemoryCache, RedisCache, read_through


class TestReadThrough:
    async def test_hit_does_not_recompute(self) -> None:
        cache, calls = MemoryCache(), []

        async def compute() -> bytes:
            calls.append(1)
            return b"value"

        for _ in range(3):
            assert (
                await read_through(cache, topic="g", key="k", ttl_seconds=60, compute=compute)
                == b"value"
            )
        assert len(calls) == 1

    async def test_none_is_not_cached(self) -> None:
        cache, calls = MemoryCache(), []

        async def compute() -> bytes | None:
            calls.append(1)
            return None

        for _ in range(2):
            await read_through(cache, topic="g", key="k", ttl_seconds=60, compute=compute)
        assert len(calls) == 2

    async def test_a_reader_racing_a_write_cannot_leave_a_stale_entry(self) -> None:
        """The reader computes from old data; the writer commits and bumps meanwhile. The
        reader's late fill lands under the old generation, which nobody reads again."""
        cache = MemoryCache()
        database = {"title": "old"}
        reader_has_read = asyncio.Event()
        writer_done = asyncio.Event()

        async def slow_compute() -> bytes:
            value = database["title"].encode()
            reader_has_read.set()
            await writer_done.wait()
            return value

        async def writer() -> None:
            await reader_has_read.wait()
            database["title"] = "new"
            await cache.bump("g")
            writer_done.set()

        stale, _ = await asyncio.gather(
            read_through(cache, topic="g", key="k", ttl_seconds=60, compute=slow_compute),
            writer(),
        )
        assert stale == b"old"

        async def compute() -> bytes:
            return database["title"].encode()

        fresh = await read_through(cache, topic="g", key="k", ttl_seconds=60, compute=compute)
        assert fresh == b"new"

    async def test_entries_expire(self) -> None:
        cache = MemoryCache()
        await cache.store("k", 0, b"v", ttl_seconds=0)
        await asyncio.sleep(0.01)
        assert await cache.lookup("g", "k") == (0, None)

    async def test_lru_bound(self) -> None:
        cache = MemoryCache(max_entries=2)
        for key in ("a", "b", "c"):
            await cache.store(key, 0, key.encode(), ttl_seconds=60)
        assert await cache.lookup("g", "a") == (0, None)
        assert await cache.lookup("g", "c") == (0, b"c")

    async def test_an_entry_stored_at_an_older_generation_is_not_served(self) -> None:
        cache = MemoryCache()
        await cache.store("k", 0, b"old", ttl_seconds=60)
        await cache.bump("g")
        assert await cache.lookup("g", "k") == (1, None)

    async def test_unreachable_redis_is_bypassed(self) -> None:
        redis = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
        try:
            value = await read_through(
                RedisCache(redis),
                topic="g",
                key="k",
                ttl_seconds=60,
                compute=lambda: asyncio.sleep(0, result=b"from the database"),
            )
        finally:
            await redis.aclose()
        assert value == b"from the database"


class TestRedisCache:
    async def test_generations_and_stamps_round_trip(self) -> None:
        url = os.environ.get("BOXOFFICE_TEST_REDIS_URL")
        if not url:
            pytest.skip("needs BOXOFFICE_TEST_REDIS_URL")
        redis = Redis.from_url(url)
        cache, topic, key = RedisCache(redis), f"t-{uuid.uuid4().hex}", f"k-{uuid.uuid4().hex}"
        try:
            assert await cache.lookup(topic, key) == (0, None)
            await cache.store(key, 0, b"first", ttl_seconds=60)
            assert await cache.lookup(topic, key) == (0, b"first")
            await cache.bump(topic)
            assert await cache.lookup(topic, key) == (1, None)
        finally:
            await redis.aclose()
