"""The outbox and the jobs of one process (the embedded mode): side effects are written with
their change, relays share the rows, a lapsed lease hands a row over again, the in-process
Dramatiq worker sends each e-mail once, exhausted retries land in the dead letters and a
requeue from the admin API delivers."""

from __future__ import annotations

import asyncio
import email
import email.policy
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, update

from boxoffice.app import create_app
from boxoffice.config import Settings
from boxoffice.core.timestamps import utcnow
from boxoffice.db.engine import Database, create_database
from boxoffice.jobs import outbox
from boxoffice.jobs.models import DeadJob, OutboxMessage
from boxoffice.jobs.registry import get as job_spec
from boxoffice.jobs.relay import claim
from boxoffice.notifications.models import EmailDelivery
from boxoffice.seeding.admin import create_admin
from tests.conftest import Backend, make_settings
from tests.helpers import API, Account, assert_problem, published_event, register, tenant
from tests.support.smtp_inbox import SmtpInbox


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield app, client


@pytest.fixture(scope="module")
def var_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("jobs-var")


@pytest.fixture(scope="module")
async def database(isolated_backend: Backend, var_dir: Path) -> AsyncIterator[Database]:
    db = create_database(make_settings(isolated_backend, var_dir))
    yield db
    await db.dispose()


async def until(check: Callable[[], Awaitable[Any]], *, within: float = 30.0) -> Any:
    """Poll ``check`` until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not true after {within} s: {check}")
        await asyncio.sleep(0.1)


async def free_event(client: httpx.AsyncClient, quantity: int = 5) -> tuple[str, str]:
    crew = await tenant(client)
    event = await published_event(
        client, crew.org_id, crew.admin, ticket={"price_amount": 0, "quantity": quantity}
    )
    types = (await client.get(f"{API}/events/{event['id']}/ticket-types")).json()["data"]
    return event["id"], types[0]["id"]


async def buy(client: httpx.AsyncClient, buyer: Account, event_id: str, tt: str) -> httpx.Response:
    return await client.post(
        f"{API}/events/{event_id}/orders",
        json={"items": [{"ticket_type_id": tt, "quantity": 1}]},
        headers=buyer.headers,
    )


async def outbox_for(database: Database, order_id: str) -> list[OutboxMessage]:
    async with database.read_sessions() as session:
        rows = await session.scalars(
            select(OutboxMessage).where(OutboxMessage.payload["order_id"].as_string() == order_id)
        )
        return list(rows)


# ---------------------------------------------------------------------------- the outbox


async def test_side_effects_are_written_with_the_order_and_only_with_it(
    isolated_backend: Backend, var_dir: Path, database: Database
) -> None:
    settings = make_settings(isolated_backend, var_dir)
    async with running(settings) as (_, client):
        event_id, tt = await free_event(client, quantity=1)
        buyer = await register(client)
        bought = await buy(client, buyer, event_id, tt)
        assert bought.status_code == 201, bought.text
        order_id = bought.json()["id"]
        rows = await outbox_for(database, order_id)
        assert sorted(row.job for row in rows) == [
            "mail.order_confirmation",
            "notify.organizer_sales",
        ]
        confirmation = next(row for row in rows if row.job == "mail.order_confirmation")
        assert confirmation.queue == "critical"
        # The job's logs will carry the request that caused it.
        assert confirmation.request_id == bought.headers["x-request-id"]

        async with database.read_sessions() as session:
            before = await session.scalar(select(func.count()).select_from(OutboxMessage))
        sold_out = await buy(client, await register(client), event_id, tt)
        assert_problem(sold_out, 409)
        async with database.read_sessions() as session:
            after = await session.scalar(select(func.count()).select_from(OutboxMessage))
        assert after == before, "a refused order wrote side effects"


async def test_a_rolled_back_transaction_leaves_no_outbox_row(database: Database) -> None:
    marker = f"rollback-{uuid.uuid4()}"
    async with database.write_sessions() as session, session.begin():
        await outbox.enqueue(session, "mail.order_cancelled", {"order_id": marker})
        await session.rollback()
    assert await outbox_for(database, marker) == []


async def _complete_everything(database: Database) -> None:
    async with database.write_sessions() as session, session.begin():
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.completed_at.is_(None))
            .values(completed_at=utcnow())
        )


async def test_concurrent_relays_hand_each_row_over_once(database: Database) -> None:
    await _complete_everything(database)
    markers = [f"relay-{i}-{uuid.uuid4()}" for i in range(240)]
    async with database.write_sessions() as session, session.begin():
        for marker in markers:
            await outbox.enqueue(session, "mail.order_cancelled", {"order_id": marker})

    async def relay() -> list[str]:
        taken: list[str] = []
        while rows := await claim(database, now=utcnow(), lease=timedelta(minutes=5), limit=7):
            taken += [row.payload["order_id"] for row in rows]
        return taken

    claimed = await asyncio.gather(*(relay() for _ in range(4)))
    everything = [marker for batch in claimed for marker in batch]
    assert len(everything) == len(set(everything)), "a row was handed over twice"
    assert sorted(everything) == sorted(markers)
    await _complete_everything(database)


async def test_a_lapsed_lease_hands_the_row_over_again_until_completed(
    database: Database,
) -> None:
    await _complete_everything(database)
    marker = f"lease-{uuid.uuid4()}"
    async with database.write_sessions() as session, session.begin():
        await outbox.enqueue(session, "mail.order_cancelled", {"order_id": marker})
    first = await claim(database, now=utcnow(), lease=timedelta(minutes=10))
    assert [row.payload["order_id"] for row in first] == [marker]
    # Within the lease nobody else gets it; after it (the broker lost the message, or the
    # relay died after enqueueing), it is handed over again.
    assert await claim(database, now=utcnow(), lease=timedelta(minutes=10)) == []
    later = utcnow() + timedelta(minutes=11)
    again = await claim(database, now=later, lease=timedelta(minutes=10))
    assert [row.id for row in again] == [first[0].id]
    rows = await outbox_for(database, marker)
    assert rows[0].dispatch_count == 2
    await _complete_everything(database)
    assert await claim(database, now=later + timedelta(hours=1), lease=timedelta(minutes=10)) == []


# ------------------------------------------------------------------- the embedded worker


def _mail_files(settings: Settings, key: str) -> list[email.message.EmailMessage]:
    found = []
    for path in sorted(settings.mail_dir.glob("*.eml")) if settings.mail_dir.exists() else []:
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if message["X-Boxoffice-Key"] == key:
            found.append(message)
    return found  # type: ignore[return-value]


async def test_the_embedded_worker_sends_the_confirmation_once(
    isolated_backend: Backend, tmp_path: Path, database: Database
) -> None:
    settings = make_settings(
        isolated_backend, tmp_path, jobs_in_process=True, jobs_relay_interval_seconds=0.2
    )
    async with running(settings) as (_, client):
        event_id, tt = await free_event(client)
        bought = await buy(client, await register(client, name="Émile Zola"), event_id, tt)
        assert bought.status_code == 201, bought.text
        order_id = bought.json()["id"]
        key = f"order-confirmed:{order_id}"

        async def sent() -> list[Any]:
            return _mail_files(settings, key)

        [message] = await until(sent)
        assert message["To"] == "Émile Zola <" + message["To"].addresses[0].addr_spec + ">"

        async def completed() -> bool:
            rows = await outbox_for(database, order_id)
            return all(row.completed_at is not None for row in rows)

        await until(completed)
        # Deliver the job again (as after a lost acknowledgement): the consumer sees the
        # recorded delivery and sends nothing.
        async with database.write_sessions() as session, session.begin():
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.job == "mail.order_confirmation")
                .where(OutboxMessage.payload["order_id"].as_string() == order_id)
                .values(completed_at=None, due_at=utcnow())
            )
        await until(completed)
        await asyncio.sleep(0.5)
        assert len(_mail_files(settings, key)) == 1
        async with database.read_sessions() as session:
            delivery = await session.scalar(select(EmailDelivery).where(EmailDelivery.key == key))
        assert delivery is not None and delivery.status == "sent"
        assert delivery.message_id == message["Message-ID"]


async def test_exhausted_retries_go_to_the_dead_letters_and_a_requeue_delivers(
    isolated_backend: Backend, tmp_path: Path, database: Database
) -> None:
    with SmtpInbox() as inbox:
        settings = make_settings(
            isolated_backend,
            tmp_path,
            jobs_in_process=True,
            jobs_relay_interval_seconds=0.2,
            jobs_backoff_scale=0.001,  # the same retries, in milliseconds instead of minutes
            smtp_host=inbox.host,
            smtp_port=inbox.port,
            smtp_tls="none",
        )
        inbox.fail_next(10_000, 451)  # the mail server is unwell: "try again later"
        async with running(settings) as (_, client):
            event_id, tt = await free_event(client)
            bought = await buy(client, await register(client), event_id, tt)
            order_id = bought.json()["id"]
            spec = job_spec("mail.order_confirmation")

            async def buried() -> DeadJob | None:
                async with database.read_sessions() as session:
                    return await session.scalar(
                        select(DeadJob).where(
                            DeadJob.job == spec.name,
                            DeadJob.payload["order_id"].as_string() == order_id,
                        )
                    )

            dead = await until(buried, within=60)
            assert dead.retries == spec.max_retries
            assert "451" in dead.error and "TemporaryMailError" in dead.error
            assert "Traceback" in dead.traceback
            assert dead.request_id == bought.headers["x-request-id"]
            assert inbox.count == 0
            metrics = (await client.get("/metrics")).text
            assert "boxoffice_job_dead_letters" in metrics
            assert 'boxoffice_job_failures_total{job="mail.order_confirmation"' in metrics
            assert 'boxoffice_job_queue_depth{queue="critical",state="ready"}' in metrics
            assert 'boxoffice_job_queue_depth{queue="low",state="delayed"}' in metrics
            assert "boxoffice_outbox_pending" in metrics
            assert 'boxoffice_job_duration_seconds_count{job="mail.order_confirmation"' in metrics

            operator = await register(client, name="Operator")
            await create_admin(settings, email=operator.email, name="Operator", password="")
            listed = await client.get(f"{API}/admin/jobs/dead", headers=operator.headers)
            assert str(dead.id) in [item["id"] for item in listed.json()["data"]]
            shown = await client.get(f"{API}/admin/jobs/dead/{dead.id}", headers=operator.headers)
            assert shown.json()["payload"] == {"order_id": order_id}

            inbox.fail_next(0, 451)  # the mail server is back
            requeued = await client.post(
                f"{API}/admin/jobs/dead/{dead.id}/requeue", headers=operator.headers
            )
            assert requeued.status_code == 202, requeued.text
            [message] = [
                m
                for m in await asyncio.to_thread(inbox.wait_for, 1, 30)
                if m.key == f"order-confirmed:{order_id}"
            ]
            assert message.rcpt_tos
            again = await client.post(
                f"{API}/admin/jobs/dead/{dead.id}/requeue", headers=operator.headers
            )
            assert_problem(again, 409)
            remaining = await client.get(f"{API}/admin/jobs/dead", headers=operator.headers)
            assert str(dead.id) not in [item["id"] for item in remaining.json()["data"]]
