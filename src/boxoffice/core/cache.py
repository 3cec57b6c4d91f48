"""Cache-aside for public reads, with generation-stamped keys.

A cached entry's key carries the *generation* of what it was computed from
(``events:list:…:g41``). A write bumps the generation after its transaction commits, so readers
move to fresh keys at once, and a reader that raced the write can only ever fill a key nobody
asks for any more: no stale entry survives an invalidation, whatever the interleaving. Entries
also expire (TTL), which bounds staleness if a process dies between commit and bump.

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
    async def get(self, key: str) -> bytes | None: ...
    async def set(self, key: str, value: bytes, ttl_seconds: int) -> None: ...
    async def generation(self, name: str) -> int: ...
    async def bump(self, *names: str) -> None: ...


class MemoryCache:
    def __init__(self, max_entries: int = 10_000) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._generations: dict[str, int] = {}

    async def get(self, key: str) -> bytes | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires_at, value = entry
        if expires_at < time.monotonic():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return value

    async def set(self, key: str, value: bytes, ttl_seconds: int) -> None:
        self._entries[key] = (time.monotonic() + ttl_seconds, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    async def generation(self, name: str) -> int:
        return self._generations.get(name, 0)

    async def bump(self, *names: str) -> None:
        for name in names:
            self._generations[name] = self._generations.get(name, 0) + 1


class RedisCache:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def get(self, key: str) -> bytes | None:
        value = await self.redis.get(KEY_PREFIX + key)
        return value.encode() if isinstance(value, str) else value

    async def set(self, key: str, value: bytes, ttl_seconds: int) -> None:
        await self.redis.set(KEY_PREFIX + key, value, ex=ttl_seconds)

    async def generation(self, name: str) -> int:
        value = await self.redis.get(KEY_PREFIX + "gen:" + name)
        return int(value) if value is not None else 0

    async def bump(self, *names: str) -> None:
        async with self.redis.pipeline(transaction=False) as pipeline:
            for name in names:
                pipeline.incr(KEY_PREFIX + "gen:" + name)
            await pipeline.execute()


class NullCache:
    async def get(self, key: str) -> bytes | None:
        return None

    async def set(self, key: str, value: bytes, ttl_seconds: int) -> None:
        return None

    async def generation(self, name: str) -> int:
        return 0

    async def bump(self, *names: str) -> None:
        return None


async def read_through(
    cache: Cache,
    *,
    generation: str,
    key: str,
    ttl_seconds: int,
    compute: Callable[[], Awaitable[bytes | None]],
) -> bytes | None:
    """The cached bytes for ``key`` at the current generation, computing them on a miss.

    ``compute`` may return None for "do not cache" (e.g. the thing is not public).
    A cache that fails is bypassed, never an error for the caller.
    """
    try:
        stamped = f"{key}:g{await cache.generation(generation)}"
        cached = await cache.get(stamped)
    except Exception as exc:
        _log.warning("cache unavailable", error=repr(exc))
        return await compute()
    if cached is not None:
        return cached
    value = await compute()
    if value is not None:
        try:
            await cache.set(stamped, value, ttl_seconds)
        except Exception as exc:
            _log.warning("cache unavailable", error=repr(exc))
    return value
