"""The alias row: which copy answers searches, and which one a rebuild is filling."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.search.tables import Letter, state


@dataclass(frozen=True, slots=True)
class IndexState:
    active: Letter
    building: Letter | None
    rebuild_required: bool

    @property
    def written(self) -> tuple[Letter, ...]:
        """The copies a change must reach: the live one and the one being built."""
        return (self.active,) if self.building is None else (self.active, self.building)


async def read_state(session: AsyncSession, *, lock: str | None = None) -> IndexState:
    """``lock``: "share" for writers (a swap waits for them), "update" for the rebuild."""
    query = select(state.c.active, state.c.building, state.c.rebuild_required).where(
        state.c.id == 1
    )
    if lock is not None and session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(read=lock == "share")
    row = (await session.execute(query)).one()
    return IndexState(
        active=cast(Letter, row.active),
        building=cast(Letter | None, row.building),
        rebuild_required=bool(row.rebuild_required),
    )
