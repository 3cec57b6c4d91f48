"""Typed access to the per-application resources created in the lifespan."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from redis.asyncio import Redis

from boxoffice.config import Settings
from boxoffice.core.cache import Cache
from boxoffice.core.ratelimit import RateLimiter
from boxoffice.db.engine import Database


@dataclass(slots=True)
class AppResources:
    settings: Settings
    database: Database
    rate_limiter: RateLimiter
    redis: Redis | None
    cache: Cache


def get_resources(request: Request) -> AppResources:
    resources: AppResources = request.app.state.resources
    return resources


def get_app_settings(request: Request) -> Settings:
    return get_resources(request).settings


def get_cache(request: Request) -> Cache:
    return get_resources(request).cache


Resources = Annotated[AppResources, Depends(get_resources)]
PublicCache = Annotated[Cache, Depends(get_cache)]
AppSettings = Annotated[Settings, Depends(get_app_settings)]
