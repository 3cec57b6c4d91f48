"""RFC 3339 timestamps: an offset is mandatory, numbers are not timestamps; stored in UTC."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, PlainSerializer

_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$"
)


# An unencoded "+" in a query string arrives as a space: "…T19:30:00 01:00" means +01:00.
_DECODED_PLUS = re.compile(r"(?<=\d) (?=\d{2}:\d{2}$)")


def _require_rfc3339(value: Any) -> Any:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        value = _DECODED_PLUS.sub("+", value)
    if not isinstance(value, str) or not _RFC3339.match(value):
        raise ValueError("must be an RFC 3339 timestamp with an offset, e.g. 2027-03-01T19:30:00Z")
    return value


def to_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is out of range once converted to UTC") from None


def format_timestamp(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()


def utcnow() -> datetime:
    return datetime.now(UTC)


Timestamp = Annotated[
    AwareDatetime,
    BeforeValidator(_require_rfc3339),
    AfterValidator(to_utc),
    PlainSerializer(format_timestamp, return_type=str, when_used="json"),
]


def parse_aware_iso(value: str) -> datetime:
    """Parse an ISO timestamp written by this API (cursors); naive values are refused."""
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError("timestamp without an offset")
    return parsed.astimezone(UTC)  # OverflowError when the UTC instant is out of range
