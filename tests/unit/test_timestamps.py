"""RFC 3339 with a mandatory offset; numbers and naive strings are not timestamps."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import TypeAdapter, ValidationError

from boxoffice.core.timestamps import Timestamp

ADAPTER: TypeAdapter[datetime] = TypeAdapter(Timestamp)


class TestTimestamp:
    @pytest.mark.parametrize(
        "text",
        ["2027-03-01T19:30:00+01:00", "2027-03-01T18:30:00Z", "2027-03-01T18:30:00.000+00:00"],
    )
    def test_offsets_are_normalized_to_utc(self, text: str) -> None:
        assert ADAPTER.validate_python(text) == datetime(2027, 3, 1, 18, 30, tzinfo=UTC)

    def test_a_plus_decoded_to_a_space_in_a_query_string_still_counts(self) -> None:
        parsed = ADAPTER.validate_python("2027-03-01T19:30:00 01:00")
        assert parsed == datetime(2027, 3, 1, 18, 30, tzinfo=UTC)

    @pytest.mark.parametrize(
        "value",
        [
            "2027-03-01T19:30:00",
            "2027-03-01",
            "1700000000",
            1700000000,
            "yesterday",
            "2027-13-01T00:00:00Z",
        ],
    )
    def test_not_timestamps(self, value: object) -> None:
        with pytest.raises(ValidationError):
            ADAPTER.validate_python(value)
