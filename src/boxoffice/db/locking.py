"""Row locks for check-then-write rules that a single conditional UPDATE cannot express.

PostgreSQL takes ``SELECT … FOR NO KEY UPDATE`` on the row that guards the rule (the strength
of an UPDATE: rows inserted with a foreign key to it, which take KEY SHARE, never conflict
with it, so it cannot deadlock against them); concurrent writers
queue on it until the first commits. SQLite needs nothing more: its write transactions start
with ``BEGIN IMMEDIATE`` (db/engine.py), which already serializes writers.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession


async def lock_row(session: AsyncSession, model: Any, row_id: uuid.UUID) -> None:
    """Lock one row by primary key until the current transaction ends."""
    if not session.in_transaction():
        raise RuntimeError("lock_row needs a transaction: a lock outside one guards nothing")
    await session.execute(
        select(model.id).where(model.id == row_id).with_for_update(key_share=True)
    )
