"""The application factory: settings → resources (lifespan) → middleware → routers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware
from redis.asyncio import Redis

from boxoffice import __version__
from boxoffice.accounts.routes import router as accounts_router
from boxoffice.analytics.routes import router as analytics_router
from boxoffice.config import Settings, get_settings
from boxoffice.core.cache import Cache, MemoryCache, NullCache, RedisCache
from boxoffice.core.handlers import install_error_handlers
from boxoffice.core.json import JSONBytesResponse
from boxoffice.core.openapi import build_openapi, document_routes
from boxoffice.core.ratelimit import RateLimiter
from boxoffice.core.routing import API_PREFIX, add_routes
from boxoffice.core.state import AppResources
from boxoffice.db.engine import create_database
from boxoffice.db.migrate import ensure_migrated
from boxoffice.events.fast_reads import CachedPublicReads
from boxoffice.events.routes import router as events_router
from boxoffice.jobs.embedded import job_runtime
from boxoffice.jobs.routes import router as jobs_router
from boxoffice.observability.docs import install_docs
from boxoffice.observability.health import router as health_router
from boxoffice.observability.logging import configure_logging
from boxoffice.observability.middleware import RequestContextMiddleware
from boxoffice.organizations.routes import router as organizations_router
from boxoffice.payments.registry import PaymentProviders
from boxoffice.payments.routes import router as payments_router
from boxoffice.ticketing.order_routes import router as orders_router
from boxoffice.ticketing.promo_routes import router as promo_router
from boxoffice.ticketing.routes import router as ticketing_router
from boxoffice.ticketing.ticket_routes import router as tickets_router
from boxoffice.ticketing.waitlist_routes import router as waitlist_router


def _cache(settings: Settings, redis: Redis | None) -> Cache:
    if not settings.cache_enabled:
        return NullCache()
    return RedisCache(redis) if redis is not None else MemoryCache()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level, json=settings.log_json)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database = create_database(settings)
        redis = Redis.from_url(settings.redis_url) if settings.redis_url else None
        try:
            await ensure_migrated(database.write_engine)
            cache = _cache(settings, redis)
            async with job_runtime(settings, database, cache) as jobs:
                app.state.resources = AppResources(
                    settings=settings,
                    database=database,
                    rate_limiter=RateLimiter(settings),
                    redis=redis,
                    cache=cache,
                    payments=PaymentProviders(settings),
                    jobs=jobs,
                )
                yield
        finally:
            if redis is not None:
                await redis.aclose()
            await database.dispose()

    app = FastAPI(
        title="Boxoffice API",
        version=__version__,
        description="Event management and ticketing. Errors are RFC 9457 problem documents.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,  # observability/docs.py serves it without a CDN
        redoc_url=None,
        default_response_class=JSONBytesResponse,
        lifespan=lifespan,
    )
    install_error_handlers(app)

    add_routes(
        app,
        accounts_router,
        organizations_router,
        events_router,
        ticketing_router,
        orders_router,
        promo_router,
        waitlist_router,
        tickets_router,
        payments_router,
        analytics_router,
        jobs_router,
        health_router,
    )
    document_routes(app)
    install_docs(app)
    app.openapi = lambda: build_openapi(app)  # type: ignore[method-assign]

    app.add_middleware(CachedPublicReads)
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PATCH", "DELETE", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "If-None-Match"],
            expose_headers=[
                "ETag",
                "X-Request-ID",
                "Retry-After",
                "RateLimit-Limit",
                "RateLimit-Remaining",
                "RateLimit-Reset",
            ],
        )
    app.add_middleware(RequestContextMiddleware, max_body_bytes=settings.max_body_bytes)
    return app
