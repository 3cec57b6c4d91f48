"""Fast JSON responses: bodies are serialized once with orjson and sent as bytes."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from boxoffice.core.errors import PROBLEM_MEDIA_TYPE

JSON_MEDIA_TYPE = "application/json"


def dumps(content: Any) -> bytes:
    """Serialize; aware datetimes come out as RFC 3339 with their offset (``+00:00``)."""
    return orjson.dumps(content)


class JSONBytesResponse(Response):
    """``Response`` whose content is serialized with orjson (or passed through if bytes)."""

    media_type = JSON_MEDIA_TYPE

    def render(self, content: Any) -> bytes:
        if isinstance(content, bytes):
            return content
        return dumps(content)


class ProblemResponse(JSONBytesResponse):
    media_type = PROBLEM_MEDIA_TYPE
