"""One pure-ASGI middleware for the per-request essentials, kept cheap on the hot path:
request id (accepted or generated, returned and logged), body size limit, metrics by route
template, access log, and baseline security headers."""

from __future__ import annotations

import re
import time
import uuid

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from boxoffice.core.errors import PayloadTooLarge
from boxoffice.core.json import ProblemResponse
from boxoffice.observability.logging import get_logger
from boxoffice.observability.metrics import observe_request

_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
_SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
]
_log = get_logger("boxoffice.access")


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = _request_id(scope)
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        status_holder = [500]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder[0] = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                headers.extend(_SECURITY_HEADERS)
                message["headers"] = headers
            await send(message)

        try:
            declared = _content_length(scope)
            if declared is not None and declared > self.max_body_bytes:
                response = ProblemResponse(
                    PayloadTooLarge(
                        f"the body is {declared} bytes; the limit is {self.max_body_bytes}"
                    ).to_document(instance=scope["path"]),
                    status_code=413,
                )
                await response(scope, receive, send_with_headers)
                return
            await self.app(scope, self._limited(receive), send_with_headers)
        finally:
            template = _route_template(scope, status_holder[0])
            elapsed = time.perf_counter() - started
            observe_request(scope["method"], template, status_holder[0], elapsed)
            _log.info(
                "request",
                method=scope["method"],
                path=scope["path"],
                route=template,
                status=status_holder[0],
                duration_ms=round(elapsed * 1000, 2),
            )

    def _limited(self, receive: Receive) -> Receive:
        received = 0
        limit = self.max_body_bytes

        async def receive_limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise PayloadTooLarge(f"the body is larger than {limit} bytes")
            return message

        return receive_limited


def _route_template(scope: Scope, status: int) -> str:
    """The label for metrics: the route template, never a raw id."""
    route = scope.get("route")
    template = getattr(route, "path", None) or scope.get("boxoffice.route_template")
    if template:
        return str(template)
    # Starlette's own routes (/docs, the OpenAPI document) are fixed paths; anything else that
    # matched nothing (404s) would be unbounded, so it is one label.
    return str(scope["path"]) if status < 400 else "unmatched"


def _request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            candidate: str = value.decode("latin-1")
            if _VALID_REQUEST_ID.match(candidate):
                return candidate
            break
    return uuid.uuid4().hex


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
