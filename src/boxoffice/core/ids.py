"""Ids are UUIDs inside, opaque strings outside. A malformed id in a path names nothing: 404."""

from __future__ import annotations

import uuid

from boxoffice.core.errors import Problem


def parse_id(value: str, not_found: Problem) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise not_found from None
