"""Shared Pydantic bases."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

# C0 controls other than tab, line feed and carriage return, DEL, and C1 controls. PostgreSQL
# cannot store NUL in text at all; the others have no business in names and descriptions.
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def has_control_characters(value: str) -> bool:
    return _CONTROL_CHARACTERS.search(value) is not None


def _reject_control_characters(value: Any) -> Any:
    if isinstance(value, str) and _CONTROL_CHARACTERS.search(value):
        raise ValueError("must not contain control characters")
    if isinstance(value, list):
        for item in value:
            _reject_control_characters(item)
    return value


class InputModel(BaseModel):
    """Request bodies: unknown fields are an error (a typo must not pass silently), and text
    must not carry control characters."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: Any) -> Any:
        return _reject_control_characters(value)


class OutputModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)
