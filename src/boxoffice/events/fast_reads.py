"""Cached public event reads answered before routing.

The listing and event-page routes store their serialized responses in the cache
(``read_through`` in events/routes.py). This middleware answers a request whose entry is
already there at the current generation without entering FastAPI at all, so a hot public read
costs one cache round trip plus the response. Everything else — misses, signed-in callers,
other routes — goes on to the application unchanged, which is also where every entry is made:
an entry exists only for a request the route has validated and found public.
"""

from __future__ import annotations

import uuid

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from boxoffice.core.cache import Cache
from boxoffice.core.http import conditional_json, public_cache
from boxoffice.core.routing import API_PREFIX
from boxoffice.events.caching import CATALOG, event_cache_key, event_topic, listing_cache_key
from boxoffice.observability.logging import get_logger

LISTING_PATH = f"{API_PREFIX}/events"
EVENT_PATH_PREFIX = f"{API_PREFIX}/events/"
EVENT_ROUTE_TEMPLATE = f"{API_PREFIX}/events/{{event_id}}"
ROUTE_TEMPLATE_KEY = "boxoffice.route_template"  # read by the metrics middleware
_log = get_logger("boxoffice.cache")


class CachedPublicReads:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            lookup = _cache_lookup(scope)
            if lookup is not None and not _has_authorization(scope):
                topic, key, template = lookup
                resources = scope["app"].state.resources
                cache: Cache = resources.cache
                try:
                    _, body = await cache.lookup(topic, key)
                except Exception as exc:
                    _log.warning("cache unavailable", error=repr(exc))
                    body = None
                if body is not None:
                    scope[ROUTE_TEMPLATE_KEY] = template
                    max_age = resources.settings.public_cache_max_age
                    response = conditional_json(
                        Request(scope), body, cache_control=public_cache(max_age)
                    )
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)


def _cache_lookup(scope: Scope) -> tuple[str, str, str] | None:
    path: str = scope["path"]
    if path == LISTING_PATH:
        query = QueryParams(scope["query_string"])
        return CATALOG, listing_cache_key(query.multi_items()), LISTING_PATH
    if path.startswith(EVENT_PATH_PREFIX):
        tail = path[len(EVENT_PATH_PREFIX) :]
        if "/" in tail:
            return None
        try:
            event_id = uuid.UUID(tail)
        except ValueError:
            return None
        return event_topic(event_id), event_cache_key(event_id), EVENT_ROUTE_TEMPLATE
    return None


def _has_authorization(scope: Scope) -> bool:
    # Signed-in callers go through the route: an invalid token must still get its 401.
    return any(name == b"authorization" for name, _ in scope["headers"])
