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
from boxoffice.jobs.embedded import JobRuntime
from boxoffice.payments.registry import PaymentProviders


@dataclass(slots=True)
class AppResources:
    settings: Settings
    database: Database
    rate_limiter: RateLimiter
    redis: Redis | None
    cache: Cache
    payments: PaymentProviders
    jobs: JobRuntime


# Dependencies are ``async def`` on purpose: FastAPI runs plain ``def`` dependencies in a
# thread pool, which costs more than the lookup itself on every request.


def resources_of(request: Request) -> AppResources:
    resources: AppResources = request.app.state.resources
    return resources


async def get_resources(request: Request) -> AppResources:
    return resources_of(request)


async def get_app_settings(request: Request) -> Settings:
    return resources_of(request).settings


async def get_cache(request: Request) -> Cache:
    return resources_of(request).cache


Resources = Annotated[AppResources, Depends(get_resources)]
PublicCache = Annotated[Cache, Depends(get_cache)]
AppSettings = Annotated[Settings, Depends(get_app_settings)]


async def get_payments(request: Request) -> PaymentProviders:
    return resources_of(request).payments


Payments = Annotated[PaymentProviders, Depends(get_payments)]
