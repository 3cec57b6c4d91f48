"""Opaque keyset cursors.

A cursor is the sort key of the last item of a page, JSON-encoded and base64url'd. Keyset
pagination (``WHERE (key, id) > (:key, :id)``) keeps pages stable while rows are inserted:
every row that existed when the walk began is returned exactly once.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

import orjson
from fastapi import Depends, Query
from pydantic import BaseModel

from boxoffice.core.errors import ValidationFailed

T = TypeVar("T")

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


class PageOf(BaseModel, Generic[T]):
    """The shape of every list: one page of items and the cursor of the next page, if any."""

    data: list[T]
    next_cursor: str | None


class PageParams(BaseModel):
    limit: int
    cursor: dict[str, Any] | None


def encode_cursor(key: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(key)).decode().rstrip("=")


def decode_cursor(cursor: str) -> dict[str, Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = orjson.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeError) as exc:
        raise ValidationFailed("cursor", "is not a cursor returned by this API") from exc
    if not isinstance(value, dict):
        raise ValidationFailed("cursor", "is not a cursor returned by this API")
    return value


async def _page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size")] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None, Query(max_length=512, description="`next_cursor` of the previous page")
    ] = None,
) -> PageParams:
    return PageParams(limit=limit, cursor=decode_cursor(cursor) if cursor else None)


Page = Annotated[PageParams, Depends(_page_params)]


def page_envelope(items: list[Any], next_cursor: str | None) -> dict[str, Any]:
    return {"data": items, "next_cursor": next_cursor}


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def encode_key(key: Sequence[Any]) -> str:
    """The cursor that continues after the row whose sort key is ``key``."""
    return encode_cursor({"k": [_jsonable(value) for value in key]})


def decode_key(
    cursor: dict[str, Any] | None, converters: Sequence[Callable[[Any], Any]]
) -> tuple[Any, ...] | None:
    """The sort key of a decoded cursor, each value through its converter; None for the first
    page. A tampered or foreign cursor is a 422 naming ``cursor``."""
    if cursor is None:
        return None
    key = cursor.get("k")
    if not isinstance(key, list) or len(key) != len(converters):
        raise ValidationFailed("cursor", "does not belong to this listing")
    try:
        return tuple(convert(value) for convert, value in zip(converters, key, strict=True))
    except (ValueError, TypeError, AttributeError, OverflowError):
        raise ValidationFailed("cursor", "does not belong to this listing") from None
