"""Text helpers."""

from __future__ import annotations

import re
import unicodedata

from sqlalchemy import SQLColumnExpression, func
from sqlalchemy.sql.functions import Function

SQLITE_LOWER = "bo_lower"


def lower(value: str | None) -> str | None:
    return value.lower() if value is not None else None


def sql_lower(dialect: str, expression: SQLColumnExpression[str | None]) -> Function[str]:
    """Unicode-aware lower() in SQL for either engine."""
    if dialect == "sqlite":
        return getattr(func, SQLITE_LOWER)(expression)  # type: ignore[no-any-return]
    return func.lower(expression)


def slugify(text: str, *, max_length: int = 80) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:max_length].strip("-") or "org"
