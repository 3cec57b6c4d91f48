"""What schema comparison (autogenerate, the drift test) looks at."""

from __future__ import annotations


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """The search tables are engine-specific DDL outside the ORM metadata (search/tables.py)."""
    return not (type_ == "table" and name is not None and name.startswith("search_"))
