"""Rate limits with the ``limits`` library (moving window; Redis when configured, else memory).

Limits are named families configured in settings in the ``limits`` notation: ``login``,
``register`` and ``password_reset`` per e-mail, ``login_ip``, ``register_ip``,
``password_reset_ip`` and ``refresh`` per client IP. A route
counts one request against each (family, key) it names; the tightest decides the
``RateLimit-*`` headers, and any exhausted one answers 429.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string
from starlette.requests import Request

from boxoffice.config import Settings
from boxoffice.core.errors import TooManyRequests


@dataclass(frozen=True, slots=True)
class LimitState:
    limit: int
    remaining: int
    reset_seconds: int

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_seconds),
        }


class RateLimiter:
    def __init__(self, settings: Settings) -> None:
        self.enabled = settings.rate_limit_enabled
        self.storage: Storage = (
            storage_from_string(f"async+{settings.redis_url}")  # type: ignore[assignment]
            if settings.redis_url
            else MemoryStorage()
        )
        self.strategy = MovingWindowRateLimiter(self.storage)
        self.families: dict[str, RateLimitItem] = {
            "login": parse(settings.rate_limit_login),
            "register": parse(settings.rate_limit_register),
            "login_ip": parse(settings.rate_limit_login_ip),
            "register_ip": parse(settings.rate_limit_register_ip),
            "refresh": parse(settings.rate_limit_refresh),
            "password_reset": parse(settings.rate_limit_password_reset),
            "password_reset_ip": parse(settings.rate_limit_password_reset_ip),
        }

    async def hit(self, *counted: tuple[str, str]) -> LimitState:
        """Count one request against every (family, key); raise TooManyRequests if any of
        them is exhausted."""
        tightest: LimitState | None = None
        for family, key in counted:
            item = self.families[family]
            allowed = await self.strategy.hit(item, family, key) if self.enabled else True
            stats = await self.strategy.get_window_stats(item, family, key)
            reset = max(math.ceil(stats.reset_time - time.time()), 1)
            state = LimitState(item.amount, stats.remaining, reset)
            if not allowed:
                raise TooManyRequests(
                    f"too many {family.removesuffix('_ip').replace('_', ' ')} attempts; "
                    f"try again in {reset} s",
                    retry_after=reset,
                    headers=state.headers(),
                )
            if tightest is None or state.remaining < tightest.remaining:
                tightest = state
        assert tightest is not None
        return tightest


def client_ip(request: Request, trusted_proxies: list[str]) -> str:
    """The caller's address; X-Forwarded-For is believed only from a configured proxy."""
    peer = request.client.host if request.client else "unknown"
    if peer in trusted_proxies:
        forwarded = request.headers.get("x-forwarded-for", "")
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        for hop in reversed(hops):
            if hop not in trusted_proxies:
                return hop
    return peer
