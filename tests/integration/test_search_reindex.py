"""``rebuild_index``: a rebuild into the spare copy while searches keep answering and changes
keep coming, then the swap; and the ``boxoffice search reindex`` command.

The rebuilds run on the session's database (every test's events are re-indexed, which is the
point: after a swap the whole catalog must still be found). Searches here go through an app
with the response cache off, so each answer comes from the index and not from an entry stored
before the swap.
"""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from boxoffice.app import create_app
from boxoffice.config import Settings
from boxoffice.db.engine import Database, create_database
from boxoffice.events.models import Event, EventStatus
from boxoffice.search.rebuild import RebuildInProgress, rebuild_index
from boxoffice.search.tables import state
from boxoffice.search.text import fold
from tests.conftest import Backend, make_settings
from tests.helpers import (
    Account,
    add_ticket_type,
    cancel,
    create_event,
    create_organization,
    facets_of,
    patch_event,
    publish,
    published_event,
    register,
    search_ids,
    search_token,
    suggestions,
    venue_at,
    walk_listing,
)

BERLIN = (52.5200, 13.4050)
MUNICH = (48.1351, 11.5820)


@pytest.fixture(scope="module")
async def uncached(backend: Backend, var_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    application = create_app(make_settings(backend, var_dir, cache_enabled=False))
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


@pytest.fixture(scope="module")
async def organizer(uncached: httpx.AsyncClient) -> Account:
    return await register(uncached)


@pytest.fixture(scope="module")
async def database(settings: Settings) -> AsyncIterator[Database]:
    db = create_database(settings)
    try:
        yield db
    finally:
        await db.dispose()


async def index_state(database: Database) -> tuple[str, str | None]:
    async with database.primary_read_sessions() as session:
        row = (await session.execute(select(state.c.active, state.c.building))).one()
        return row.active, row.building


async def published_in_database(database: Database) -> int:
    async with database.primary_read_sessions() as session:
        count = await session.scalar(
            select(func.count()).select_from(Event).where(Event.status == EventStatus.PUBLISHED)
        )
        return int(count or 0)


async def listed_in_database(database: Database) -> set[str]:
    """Ids of the events the default listing shows: published and not over yet."""
    async with database.primary_read_sessions() as session:
        ids = await session.scalars(
            select(Event.id).where(
                Event.status == EventStatus.PUBLISHED, Event.ends_at > datetime.now(UTC)
            )
        )
        return {str(event_id) for event_id in ids}


async def batch_size(database: Database, batches: int) -> int:
    """A batch size that makes the rebuild take about ``batches`` batches, however many events
    the session's tests have made."""
    return max(1, await published_in_database(database) // batches)


def other(letter: str) -> str:
    return "b" if letter == "a" else "a"


def rebuild_in_thread(settings: Settings, **options: Any) -> int:
    """A rebuild on its own event loop and engine, like the CLI in another process: its
    ``progress`` callback may block while the test's loop makes changes through the API."""

    async def run() -> int:
        database = create_database(settings)
        try:
            return await rebuild_index(database, **options)
        finally:
            await database.dispose()

    return asyncio.run(run())


def blocking_progress(
    loop: asyncio.AbstractEventLoop,
    action: Callable[[], Awaitable[None]],
    *,
    when: Callable[[int, int], bool],
) -> Callable[[int, int], None]:
    """A progress callback that runs ``action`` on ``loop`` once, between two batches, and
    waits for it to finish before the rebuild goes on."""
    fired = False

    def progress(done: int, total: int) -> None:
        nonlocal fired
        if fired or not when(done, total):
            return
        fired = True
        asyncio.run_coroutine_threadsafe(action(), loop).result(timeout=120)

    return progress


async def snapshot(client: httpx.AsyncClient, org_id: str, word: str) -> dict[str, Any]:
    """What searching the organization's events looks like."""
    titles = [s for s in await suggestions(client, word) if s["kind"] == "title"]
    facets = await facets_of(client, organization_id=org_id, timezone="Europe/Berlin")
    return {
        "q": sorted(await search_ids(client, q=word)),
        "relevance": await search_ids(client, q=word, organization_id=org_id),
        "distance": await search_ids(
            client, organization_id=org_id, lat=BERLIN[0], lon=BERLIN[1], sort="distance"
        ),
        "city": sorted(await search_ids(client, organization_id=org_id, city="zurich")),
        "free": sorted(await search_ids(client, organization_id=org_id, free="true")),
        "suggest": sorted((fold(s["label"]), s["events"]) for s in titles),
        "facets": facets,
    }


class TestRebuild:
    @pytest.fixture(autouse=True)
    async def no_rebuild_left_flagged(self, database: Database) -> AsyncIterator[None]:
        """A failing test must not leave the index flagged as building for the rest of the run."""
        yield
        if (await index_state(database))[1] is not None:
            await rebuild_index(database, force=True)

    async def make_catalog(
        self, client: httpx.AsyncClient, organizer: Account, word: str
    ) -> tuple[str, set[str]]:
        org_id = await create_organization(client, organizer, name=f"Reindex {word}")
        plan = [
            ("opening", "music", "Berlin", BERLIN, 0),
            ("quartet", "music", "Zürich", (47.3769, 8.5417), 2500),
            ("comedy", "comedy", "Zurich", (47.3769, 8.5417), 1200),
            ("matinee", "theatre", "München", MUNICH, 0),
        ]
        published = set()
        for name, category, city, where, price in plan:
            event = await published_event(
                client,
                org_id,
                organizer,
                title=f"{word} {name}",
                category=category,
                venue=venue_at("Hall", city, *where),
                ticket={"price_amount": price},
            )
            published.add(event["id"])
        await create_event(client, org_id, organizer, title=f"{word} draft")
        gone = await published_event(client, org_id, organizer, title=f"{word} cancelled")
        await cancel(client, gone["id"], organizer)
        return org_id, published

    async def test_every_published_event_is_found_after_the_swap(
        self,
        uncached: httpx.AsyncClient,
        organizer: Account,
        database: Database,
    ) -> None:
        word = search_token()
        org_id, published = await self.make_catalog(uncached, organizer, word)
        before = await snapshot(uncached, org_id, word)
        assert set(before["q"]) == published
        everything = await walk_listing(uncached, limit=100)
        assert set(everything) == await listed_in_database(database)
        active, building = await index_state(database)
        assert building is None

        indexed = await rebuild_index(database, batch_size=await batch_size(database, 30))

        assert indexed == await published_in_database(database)
        assert await index_state(database) == (other(active), None)
        assert await snapshot(uncached, org_id, word) == before
        assert sorted(await walk_listing(uncached, limit=100)) == sorted(everything)

        # And back again: the copy left behind is cleared and refilled.
        await rebuild_index(database, batch_size=1000)
        assert await index_state(database) == (active, None)
        assert await snapshot(uncached, org_id, word) == before

    async def test_searches_answer_in_full_during_a_rebuild(
        self,
        uncached: httpx.AsyncClient,
        organizer: Account,
        database: Database,
    ) -> None:
        word = search_token()
        org_id, published = await self.make_catalog(uncached, organizer, word)
        for n in range(8):
            event = await published_event(uncached, org_id, organizer, title=f"{word} extra{n}")
            published.add(event["id"])
        before = await snapshot(uncached, org_id, word)
        active, _ = await index_state(database)

        rebuild = asyncio.create_task(
            rebuild_index(database, batch_size=await batch_size(database, 40))
        )
        searches = while_building = 0
        while not rebuild.done():
            building = (await index_state(database))[1] is not None
            ids = await search_ids(uncached, q=word)
            assert len(ids) == len(set(ids)) == len(published)
            assert set(ids) == published
            assert await snapshot(uncached, org_id, word) == before
            searches += 1
            while_building += building
        await rebuild

        assert await index_state(database) == (other(active), None)
        assert searches >= 2
        assert while_building >= 1, "no search ran while the copy was being built"
        assert await snapshot(uncached, org_id, word) == before

    @pytest.mark.parametrize("moment", ["before_the_first_batch", "after_the_last_batch"])
    async def test_changes_during_a_rebuild_are_in_the_new_copy(
        self,
        uncached: httpx.AsyncClient,
        organizer: Account,
        database: Database,
        settings: Settings,
        moment: str,
    ) -> None:
        word, old, new = search_token(), search_token(), search_token()
        org_id = await create_organization(uncached, organizer, name=f"Busy {word}")
        berlin = venue_at("Hall", "Berlin", *BERLIN)

        async def make(name: str, **fields: Any) -> str:
            fields = {"venue": berlin, "ticket": {"price_amount": 900}} | fields
            event = await published_event(
                uncached, org_id, organizer, title=f"{word} {name}", **fields
            )
            return str(event["id"])

        keep = await make("keep")
        retitled = await make(old)
        doomed = await make("doomed")
        moved = await make("moved")
        freebie = await make("freebie")
        draft = await create_event(uncached, org_id, organizer, title=f"{word} fresh")
        await add_ticket_type(uncached, draft["id"], organizer)
        flagged_during_change: list[str | None] = []

        async def change() -> None:
            flagged_during_change.append((await index_state(database))[1])
            await patch_event(uncached, retitled, organizer, title=f"{word} {new}")
            await cancel(uncached, doomed, organizer)
            await patch_event(
                uncached, moved, organizer, venue=venue_at("Hall", "München", *MUNICH)
            )
            await add_ticket_type(uncached, freebie, organizer, name="Guest", price_amount=0)
            await publish(uncached, draft["id"], organizer)

        active, _ = await index_state(database)
        progress = blocking_progress(
            asyncio.get_running_loop(),
            change,
            when=(lambda done, total: done == 0)
            if moment == "before_the_first_batch"
            else (lambda done, total: done >= total),
        )
        await asyncio.to_thread(
            rebuild_in_thread,
            settings,
            batch_size=await batch_size(database, 10),
            progress=progress,
        )

        assert flagged_during_change == [other(active)], "the change did not run mid-rebuild"
        assert await index_state(database) == (other(active), None)
        expected = {keep, retitled, moved, freebie, draft["id"]}
        assert set(await search_ids(uncached, q=word)) == expected
        assert await search_ids(uncached, q=old) == []
        assert await search_ids(uncached, q=new) == [retitled]
        assert await search_ids(uncached, q=f"{word} doomed") == []
        assert await search_ids(uncached, organization_id=org_id, city="munchen") == [moved]
        near_berlin = {"lat": BERLIN[0], "lon": BERLIN[1], "radius_km": 50}
        assert moved not in await search_ids(uncached, organization_id=org_id, **near_berlin)
        assert await search_ids(uncached, organization_id=org_id, free="true") == [freebie]
        titles = {
            fold(s["label"]): s["events"]
            for s in await suggestions(uncached, word)
            if s["kind"] == "title"
        }
        assert titles == {
            f"{word} keep": 1,
            f"{word} {new}": 1,
            f"{word} moved": 1,
            f"{word} freebie": 1,
            f"{word} fresh": 1,
        }
        facets = await facets_of(uncached, organization_id=org_id)
        assert facets["total"] == 5
        assert {f["value"]: f["count"] for f in facets["cities"]} == {"Berlin": 4, "München": 1}

    async def test_a_second_rebuild_is_refused_while_one_runs(
        self,
        uncached: httpx.AsyncClient,
        organizer: Account,
        database: Database,
        settings: Settings,
    ) -> None:
        word = search_token()
        _org_id, published = await self.make_catalog(uncached, organizer, word)
        refused: list[BaseException] = []

        async def second_rebuild() -> None:
            try:
                await rebuild_index(database)
            except RebuildInProgress as exc:
                refused.append(exc)

        active, _ = await index_state(database)
        progress = blocking_progress(
            asyncio.get_running_loop(), second_rebuild, when=lambda done, total: done > 0
        )
        await asyncio.to_thread(
            rebuild_in_thread,
            settings,
            batch_size=await batch_size(database, 10),
            progress=progress,
        )

        assert len(refused) == 1
        assert await index_state(database) == (other(active), None)
        assert set(await search_ids(uncached, q=word)) == published

    async def test_force_takes_over_a_running_rebuild(
        self,
        uncached: httpx.AsyncClient,
        organizer: Account,
        database: Database,
        settings: Settings,
    ) -> None:
        word = search_token()
        _org_id, published = await self.make_catalog(uncached, organizer, word)
        taken_over: list[int] = []

        async def forced_rebuild() -> None:
            taken_over.append(await rebuild_index(database, force=True))

        active, _ = await index_state(database)
        progress = blocking_progress(
            asyncio.get_running_loop(), forced_rebuild, when=lambda done, total: done > 0
        )
        with pytest.raises(RebuildInProgress, match="took over"):
            await asyncio.to_thread(
                rebuild_in_thread,
                settings,
                batch_size=await batch_size(database, 10),
                progress=progress,
            )

        assert taken_over == [await published_in_database(database)]
        assert await index_state(database) == (other(active), None)
        assert set(await search_ids(uncached, q=word)) == published

    async def test_an_interrupted_rebuild_needs_force(
        self,
        uncached: httpx.AsyncClient,
        organizer: Account,
        database: Database,
    ) -> None:
        word = search_token()
        org_id, published = await self.make_catalog(uncached, organizer, word)
        active, _ = await index_state(database)
        # A rebuild whose process died: the flag stays.
        async with database.write_sessions() as session, session.begin():
            await session.execute(
                update(state).where(state.c.id == 1).values(building=other(active))
            )

        with pytest.raises(RebuildInProgress, match="already running"):
            await rebuild_index(database)
        assert await index_state(database) == (active, other(active))

        # Changes meanwhile reach both copies, so nothing is lost by the forced rebuild.
        late = await published_event(uncached, org_id, organizer, title=f"{word} late")
        assert set(await search_ids(uncached, q=word)) == published | {late["id"]}

        await rebuild_index(database, force=True, batch_size=50)
        assert await index_state(database) == (other(active), None)
        assert set(await search_ids(uncached, q=word)) == published | {late["id"]}


# --- The command ----------------------------------------------------------------------------

BOXOFFICE = [sys.executable, "-m", "boxoffice"]


def _env(var_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOXOFFICE_")}
    env.update({"BOXOFFICE_VAR_DIR": str(var_dir), "BOXOFFICE_LOG_LEVEL": "warning"})
    return env


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*BOXOFFICE, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture(scope="module")
def seeded_var_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    var_dir = tmp_path_factory.mktemp("reindex-cli")
    env = _env(var_dir)
    migrated = _run(["migrate"], env)
    assert migrated.returncode == 0, migrated.stderr
    seeded = _run(["seed", "--demo", "--events", "6"], env)
    assert seeded.returncode == 0, seeded.stderr
    yield var_dir


def _published_events(var_dir: Path) -> int:
    with sqlite3.connect(var_dir / "boxoffice.db") as connection:
        (count,) = connection.execute(
            "SELECT count(*) FROM events WHERE status = 'published'"
        ).fetchone()
    return int(count)


def _index_state(var_dir: Path) -> tuple[str, str | None]:
    with sqlite3.connect(var_dir / "boxoffice.db") as connection:
        active, building = connection.execute(
            "SELECT active, building FROM search_state WHERE id = 1"
        ).fetchone()
    return active, building


class TestReindexCommand:
    def test_rebuilds_and_swaps(self, seeded_var_dir: Path) -> None:
        active, _ = _index_state(seeded_var_dir)
        result = _run(["search", "reindex"], _env(seeded_var_dir))
        assert result.returncode == 0, result.stderr
        found = re.search(r"search index rebuilt: (\d+) events", result.stderr)
        assert found, result.stderr
        assert int(found.group(1)) == _published_events(seeded_var_dir) > 0
        assert _index_state(seeded_var_dir) == (other(active), None)

    def test_refuses_while_flagged_unless_forced(self, seeded_var_dir: Path) -> None:
        active, _ = _index_state(seeded_var_dir)
        with sqlite3.connect(seeded_var_dir / "boxoffice.db") as connection:
            connection.execute(
                "UPDATE search_state SET building = ? WHERE id = 1", (other(active),)
            )
        refused = _run(["search", "reindex"], _env(seeded_var_dir))
        assert refused.returncode == 1
        assert "--force" in refused.stderr
        forced = _run(["search", "reindex", "--force"], _env(seeded_var_dir))
        assert forced.returncode == 0, forced.stderr
        assert "search index rebuilt" in forced.stderr
        assert _index_state(seeded_var_dir) == (other(active), None)
