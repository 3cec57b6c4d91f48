"""Cache-aside for public reads, with generation-stamped keys.

Every cached entry is stamped with the *generation* of its topic (``catalog``, ``event:<id>``)
read before it was computed. A write bumps the generation after its transaction commits; an
entry is served only while its stamp equals the current generation. So readers see a change at
once, and a reader that raced the write can only store an entry stamped with the old generation,
which is never served: no stale entry survives an invalidation, whatever the interleaving.
Entries also expire (TTL), which bounds staleness if a process dies between commit and bump.

Redis when ``BOXOFFICE_REDIS_URL`` is set (shared by every process); otherwise a bounded
in-process LRU, which is correct for one process (``boxoffice serve`` turns caching off for
several processes without Redis).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Protocol

from redis.asyncio import Redis

from boxoffice.observability.logging import get_logger

KEY_PREFIX = "bo:cache:"
_log = get_logger("boxoffice.cache")


class Cache(Protocol):
    async def lookup(self, topic: str, key: str) -> tuple[int, bytes | None]:
        """The topic's current generation, and the entry if it was stored at that generation."""
        ...

    async def store(self, key: str, generation: int, value: bytes, ttl_seconds: int) -> None: ...

    async def bump(self, *topics: str) -> None: ...


def _stamp(generation: int, value: bytes) -> bytes:
    return b"%d\n" % generation + value


def _unstamp(generation: int, stamped: bytes | None) -> bytes | None:
    """The value if it was stored at ``generation``, else None (a stale or missing entry)."""
    if stamped is None:
        return None
    stored, _, value = stamped.partition(b"\n")
    return value if stored == b"%d" % generation else None


class MemoryCache:
    def __init__(self, max_entries: int = 10_000) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._generations: dict[str, int] = {}

    async def lookup(self, topic: str, key: str) -> tuple[int, bytes | None]:
        generation = self._generations.get(topic, 0)
        entry = self._entries.get(key)
        if entry is None:
            return generation, None
        expires_at, stamped = entry
        if expires_at < time.monotonic():
            del self._entries[key]
            return generation, None
        self._entries.move_to_end(key)
        return generation, _unstamp(generation, stamped)

    async def store(self, key: str, generation: int, value: bytes, ttl_seconds: int) -> None:
        self._entries[key] = (time.monotonic() + ttl_seconds, _stamp(generation, value))
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    async def bump(self, *topics: str) -> None:
        for topic in topics:
            self._generations[topic] = self._generations.get(topic, 0) + 1


class RedisCache:
    """One round trip per read: MGET of the topic's generation and the stamped entry."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def lookup(self, topic: str, key: str) -> tuple[int, bytes | None]:
        raw_generation, stamped = await self.redis.mget(
            KEY_PREFIX + "gen:" + topic, KEY_PREFIX + key
        )
        generation = int(raw_generation) if raw_generation is not None else 0
        if isinstance(stamped, str):  # only with decode_responses=True, which we never set
            stamped = stamped.encode()
        return generation, _unstamp(generation, stamped)

    async def store(self, key: str, generation: int, value: bytes, ttl_seconds: int) -> None:
        await self.redis.set(KEY_PREFIX + key, _stamp(generation, value), ex=ttl_seconds)

    async def bump(self, *topics: str) -> None:
        async with self.redis.pipeline(transaction=False) as pipeline:
            for topic in topics:
                pipeline.incr(KEY_PREFIX + "gen:" + topic)
            await pipeline.execute()


class NullCache:
    async def lookup(self, topic: str, key: str) -> tuple[int, bytes | None]:
        return 0, None

    async def store(self, key: str, generation: int, value: bytes, ttl_seconds: int) -> None:
        return None

    async def bump(self, *topics: str) -> None:
        return None


async def read_through(
    cache: Cache,
    *,
    topic: str,
    key: str,
    ttl_seconds: int,
    compute: Callable[[], Awaitable[bytes | None]],
) -> bytes | None:
    """The cached bytes for ``key`` if stored at the topic's current generation, else computed
    (and stored, stamped with the generation read *before* computing).

    ``compute`` may return None for "do not cache" (e.g. the thing is not public).
    A cache that fails is bypassed, never an error for the caller.
    """
    try:
        generation, cached = await cache.lookup(topic, key)
    except Exception as exc:
        _log.warning("cache unavailable", error=repr(exc))
        return await compute()
    if cached is not None:
        return cached
    value = await compute()
    if value is not None:
        try:
            await cache.store(key, generation, value, ttl_seconds)
        except Exception as exc:
            _log.warning("cache unavailable", error=repr(exc))
    return value
