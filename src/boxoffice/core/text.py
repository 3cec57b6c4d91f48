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


_SLUG_TRANSLATION = str.maketrans(
    {
        "ß": "ss",
        "æ": "ae",
        "Æ": "AE",
        "ø": "o",
        "Ø": "O",
        "œ": "oe",
        "Œ": "OE",
        "ł": "l",
        "Ł": "L",
        "đ": "d",
        "Đ": "D",
        "þ": "th",
        "Þ": "TH",
        "&": " and ",
        "'": "",
        "\N{RIGHT SINGLE QUOTATION MARK}": "",
    }
)
_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def slugify(text: str, *, max_length: int | None = None) -> str:
    """ASCII slug: accents folded ("São Paulo" -> "sao-paulo"), lowercase, hyphen-separated;
    empty when ``text`` has no letters or digits."""
    folded = unicodedata.normalize("NFKD", text.translate(_SLUG_TRANSLATION))
    ascii_text = folded.encode("ascii", "ignore").decode("ascii").lower()
    slug = _NON_ALNUM.sub("-", ascii_text).strip("-")
    return slug[:max_length].strip("-") if max_length else slug
