"""Conditional GETs: weak ETags over the serialized body, 304 on a matching If-None-Match."""

from __future__ import annotations

import hashlib
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from boxoffice.core.json import JSONBytesResponse, dumps


def etag_for(body: bytes) -> str:
    # Weak: the same entity may be sent gzip-encoded or not.
    return f'W/"{hashlib.blake2b(body, digest_size=16).hexdigest()}"'


def _matches(if_none_match: str, etag: str) -> bool:
    if if_none_match.strip() == "*":
        return True
    wanted = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == wanted for tag in if_none_match.split(","))


def conditional_json(request: Request, content: Any, *, cache_control: str) -> Response:
    body = content if isinstance(content, bytes) else dumps(content)
    etag = etag_for(body)
    headers = {"ETag": etag, "Cache-Control": cache_control}
    if_none_match = request.headers.get("if-none-match")
    if if_none_match and _matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    return JSONBytesResponse(body, headers=headers)


PRIVATE_NO_CACHE = "private, no-cache"


def public_cache(max_age: int) -> str:
    return f"public, max-age={max_age}"
