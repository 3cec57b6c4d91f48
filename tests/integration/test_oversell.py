"""No oversell, ever (DESIGN.md invariant 1), through the real server on PostgreSQL.

A fresh database is created next to the one named by ``BOXOFFICE_TEST_DATABASE_URL``, migrated
with ``python -m boxoffice migrate`` and served by ``python -m boxoffice serve`` with two
granian worker processes. Everything is set up through the HTTP API (an organizer, an
organization, one event per case, buyers). Four client *processes*, each keeping dozens of
requests in flight, are released together by a barrier and try to buy far more than there is.
Afterwards the responses, the counters in the database and the rows in the database must agree.

Every case runs twice with the same check: against the production code path, where the check
must find nothing, and against a server started with ``BOXOFFICE_UNSAFE_INVENTORY_FOR_TESTS=true``
(read-then-write instead of one conditional UPDATE), where the check must find the oversell —
proof that these tests can fail.

The cases sell N = SEATS seats to 5N attempts: one seat each; one to four seats each; one seat
each of two ticket types sharing an event capacity of N; and one seat each with a promo code of
K = PROMO_USES uses (plenty of seats).
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import queue
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from multiprocessing.context import SpawnProcess
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy.engine import make_url

from tests.helpers import API, PASSWORD, event_payload, unique_email

TEST_DATABASE_URL = os.environ.get("BOXOFFICE_TEST_DATABASE_URL", "")
TEST_REDIS_URL = os.environ.get("BOXOFFICE_TEST_REDIS_URL", "")

pytestmark = [
    pytest.mark.postgres,
    # Not a silent skip in CI: tests/conftest.py stops a CI run without this variable.
    pytest.mark.skipif(not TEST_DATABASE_URL, reason="needs BOXOFFICE_TEST_DATABASE_URL"),
]

BOXOFFICE = [sys.executable, "-m", "boxoffice"]
SERVER_WORKERS = 2
POOL_SIZE = 16  # per worker, plus as many overflow connections: at most 64 for the server
GENEROUS_LIMIT = "1000000/minute"
CLIENT_PROCESSES = 4
IN_FLIGHT_PER_PROCESS = 25
BUYERS = 24
SEATS = 40  # N: what each case sells
ATTEMPTS = 5 * SEATS
PROMO_USES = 40  # K
PROMO_ATTEMPTS = 5 * PROMO_USES
STARTUP_TIMEOUT_S = 60.0
RUN_TIMEOUT_S = 120.0
REQUEST_TIMEOUT_S = 60.0


# ---------------------------------------------------------------------------------- model


@dataclass(frozen=True, slots=True)
class Attempt:
    """One order a buyer tries to place."""

    buyer: int
    lines: tuple[tuple[str, int], ...]  # (ticket_type_id, quantity)
    promo_code: str | None = None

    @property
    def seats(self) -> int:
        return sum(quantity for _, quantity in self.lines)

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "items": [{"ticket_type_id": tt, "quantity": n} for tt, n in self.lines]
        }
        if self.promo_code is not None:
            body["promo_code"] = self.promo_code
        return body


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the server answered to one attempt (status 0: no answer, see ``error``)."""

    status: int
    problem_type: str = ""
    fields: tuple[str, ...] = ()
    order_id: str | None = None
    available: int | None = None  # reported by a sold-out problem
    error: str = ""


@dataclass(frozen=True, slots=True)
class TicketTypeState:
    quantity: int
    sold: int  # counters
    held: int
    available: int  # what GET /events/{id}/ticket-types says


@dataclass(frozen=True, slots=True)
class OrderRow:
    status: str
    promo_code_id: str | None
    lines: tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class PromoState:
    code: str
    max_uses: int | None
    uses: int


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The event after a run: its counters, its order rows (from the database) and what the
    API reports as available."""

    capacity: int | None
    sold: int
    held: int
    ticket_types: dict[str, TicketTypeState]
    orders: dict[str, OrderRow]
    promos: dict[str, PromoState] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Violation:
    rule: str
    detail: str


# ---------------------------------------------------------------------------------- the check


def _rows_per_ticket_type(snapshot: Snapshot, status: str) -> dict[str, int]:
    totals: dict[str, int] = defaultdict(int)
    for order in snapshot.orders.values():
        if order.status == status:
            for ticket_type_id, quantity in order.lines:
                totals[ticket_type_id] += quantity
    return totals


def check(
    attempts: Sequence[Attempt],
    outcomes: Sequence[Outcome],
    snapshot: Snapshot,
    *,
    rejection: tuple[int, str],
) -> list[Violation]:
    """Everything that must hold after a burst of orders; empty when it all holds.

    ``rejection``: the one acceptable refusal, ``(409, "sold-out")`` (a problem type) or
    ``(422, "promo_code")`` (the field a validation problem names).
    """
    violations: list[Violation] = []

    def fail(rule: str, detail: str) -> None:
        violations.append(Violation(rule, detail))

    # 1. Every answer is a 201 or the one expected refusal; never a 5xx or a dropped request.
    status_counts = Counter(outcome.status for outcome in outcomes)
    crashed = [o for o in outcomes if o.status == 0 or o.status >= 500]
    if crashed:
        sample = crashed[0].error or crashed[0].problem_type
        fail("server-error", f"{len(crashed)} answers were 5xx or no answer, e.g. {sample}")
    expected_status, expected_marker = rejection
    odd = [
        o
        for o in outcomes
        if o.status not in (201, 0)
        and o.status < 500
        and not (
            o.status == expected_status
            and (o.problem_type.endswith("/" + expected_marker) or expected_marker in o.fields)
        )
    ]
    if odd:
        fail(
            "unexpected-response",
            f"{len(odd)} answers other than 201 or {rejection}: "
            f"{Counter((o.status, o.problem_type, o.fields) for o in odd).most_common(3)}",
        )

    # 2. The 201s are exactly the order rows, each holding its seats (nothing is paid here).
    created = {o.order_id: a for a, o in zip(attempts, outcomes, strict=True) if o.status == 201}
    if set(created) != set(snapshot.orders):
        fail(
            "phantom-order",
            f"{len(created)} orders answered 201, {len(snapshot.orders)} rows in the database",
        )
    not_pending = Counter(o.status for o in snapshot.orders.values() if o.status != "pending")
    if not_pending:
        fail("phantom-order", f"orders that are not pending: {dict(not_pending)}")

    # 3. Counters equal what the rows say: held = pending seats, sold = confirmed seats.
    held_rows = _rows_per_ticket_type(snapshot, "pending")
    sold_rows = _rows_per_ticket_type(snapshot, "confirmed")
    for ticket_type_id, state in sorted(snapshot.ticket_types.items()):
        rows = (held_rows.get(ticket_type_id, 0), sold_rows.get(ticket_type_id, 0))
        if (state.held, state.sold) != rows:
            fail(
                "counter-drift",
                f"ticket type {ticket_type_id}: counters held={state.held} sold={state.sold}, "
                f"rows held={rows[0]} sold={rows[1]}",
            )
    event_rows = (sum(held_rows.values()), sum(sold_rows.values()))
    if (snapshot.held, snapshot.sold) != event_rows:
        fail(
            "counter-drift",
            f"event: counters held={snapshot.held} sold={snapshot.sold}, "
            f"rows held={event_rows[0]} sold={event_rows[1]}",
        )

    # 4. No more seats went out than exist — per ticket type and against the event capacity.
    taken_rows = {tt: held_rows.get(tt, 0) + sold_rows.get(tt, 0) for tt in snapshot.ticket_types}
    for ticket_type_id, state in sorted(snapshot.ticket_types.items()):
        if taken_rows[ticket_type_id] > state.quantity:
            fail(
                "oversold",
                f"ticket type {ticket_type_id}: {taken_rows[ticket_type_id]} seats in orders, "
                f"quantity {state.quantity}",
            )
    total = sum(taken_rows.values())
    if snapshot.capacity is not None and total > snapshot.capacity:
        fail("oversold", f"event: {total} seats in orders, capacity {snapshot.capacity}")

    # 5. Nothing was refused while it could be had. Seats only go here (no order ends), so an
    #    order the final state could still supply could have been supplied when it was refused:
    #    with one-seat requests, a refusal means exactly zero left. And the API shows what the
    #    rows leave.
    left = {tt: state.quantity - taken_rows[tt] for tt, state in snapshot.ticket_types.items()}
    capacity_left = None if snapshot.capacity is None else snapshot.capacity - total
    for ticket_type_id, state in sorted(snapshot.ticket_types.items()):
        shown = (
            left[ticket_type_id]
            if capacity_left is None
            else min(left[ticket_type_id], capacity_left)
        )
        if state.available != max(shown, 0):
            fail(
                "available-mismatch",
                f"ticket type {ticket_type_id}: the API shows {state.available} available, "
                f"the rows leave {max(shown, 0)}",
            )
    for attempt, outcome in zip(attempts, outcomes, strict=True):
        if not outcome.problem_type.endswith("/sold-out"):
            continue
        suppliable = all(left[tt] >= n for tt, n in attempt.lines) and (
            capacity_left is None or capacity_left >= attempt.seats
        )
        reported = outcome.available is not None and outcome.available >= attempt.seats
        if suppliable or reported:
            fail(
                "refused-while-available",
                f"{attempt.lines} refused as sold out; left at the end {left}, capacity left "
                f"{capacity_left}, left when refused {outcome.available}",
            )
            break

    # 6. A promo code is never used more than max_uses times, and its counter equals its rows.
    for promo_id, promo in sorted(snapshot.promos.items()):
        used_by = sum(1 for order in snapshot.orders.values() if order.promo_code_id == promo_id)
        answered = sum(
            1
            for a, o in zip(attempts, outcomes, strict=True)
            if o.status == 201 and a.promo_code == promo.code
        )
        if promo.max_uses is not None and max(used_by, answered) > promo.max_uses:
            fail(
                "promo-overused",
                f"code {promo.code}: {answered} orders answered 201 and {used_by} rows use it, "
                f"max_uses {promo.max_uses}",
            )
        if promo.uses != used_by:
            fail("promo-drift", f"code {promo.code}: uses={promo.uses}, {used_by} orders use it")
        tried = sum(1 for a in attempts if a.promo_code == promo.code)
        if promo.max_uses is not None and tried > promo.max_uses and used_by < promo.max_uses:
            fail(
                "promo-underused",
                f"code {promo.code}: only {used_by} of {promo.max_uses} uses went out "
                f"although {tried} orders tried it",
            )
    if status_counts[201] == 0:
        fail("nothing-sold", f"no order succeeded: {dict(status_counts)}")
    return violations


# ---------------------------------------------------------------------------------- clients
# Each client process runs this loop; it is started with the "spawn" method, so it imports this
# module afresh and shares nothing with pytest's process but the queues and the barrier.


@dataclass(frozen=True, slots=True)
class Job:
    url: str
    requests: list[tuple[str, bytes]]  # (bearer token, JSON body)
    in_flight: int


def _outcome(response: httpx.Response) -> Outcome:
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    if response.status_code == 201:
        return Outcome(201, order_id=str(body.get("id")))
    fields = tuple(
        str(error.get("field")) for error in body.get("errors", []) if isinstance(error, dict)
    )
    available = body.get("available")
    return Outcome(
        response.status_code,
        problem_type=str(body.get("type", "")),
        fields=fields,
        available=available if isinstance(available, int) else None,
        error="" if response.status_code < 500 else response.text[:300],
    )


async def _fire(job: Job, barrier: Barrier) -> list[Outcome]:
    limits = httpx.Limits(max_connections=job.in_flight, max_keepalive_connections=job.in_flight)
    timeout = httpx.Timeout(REQUEST_TIMEOUT_S)
    async with httpx.AsyncClient(limits=limits, timeout=timeout) as client:
        # Open the connections first, so that the burst starts warm and all at once.
        base = job.url.split("/api/", 1)[0]
        await asyncio.gather(*(client.get(f"{base}/healthz") for _ in range(job.in_flight)))
        barrier.wait(timeout=RUN_TIMEOUT_S)
        outcomes: list[Outcome | None] = [None] * len(job.requests)
        pending = iter(enumerate(job.requests))

        async def worker() -> None:
            for index, (token, body) in pending:
                try:
                    response = await client.post(
                        job.url,
                        content=body,
                        headers={
                            "Authorization": f"Bearer {token}",
                            "Content-Type": "application/json",
                        },
                    )
                except httpx.HTTPError as exc:
                    outcomes[index] = Outcome(0, error=repr(exc))
                else:
                    outcomes[index] = _outcome(response)

        await asyncio.gather(*(worker() for _ in range(job.in_flight)))
    return [outcome or Outcome(0, error="not sent") for outcome in outcomes]


def client_process(inbox: Any, outbox: Any, barrier: Barrier, slot: int) -> None:
    """Run jobs until None arrives; answer (slot, outcomes, error) for each."""
    while (job := inbox.get()) is not None:
        try:
            outbox.put((slot, asyncio.run(_fire(job, barrier)), ""))
        except BaseException:
            with contextlib.suppress(Exception):
                barrier.abort()  # never leave the others waiting
            outbox.put((slot, [], traceback.format_exc()))


class LoadGenerator:
    """CLIENT_PROCESSES long-lived processes; ``fire`` splits attempts between them and
    releases them together."""

    def __init__(self, processes: int, in_flight: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.in_flight = in_flight
        self.barrier = context.Barrier(processes + 1)
        self.outbox = context.Queue()
        self.inboxes = [context.Queue() for _ in range(processes)]
        self.processes: list[SpawnProcess] = [
            context.Process(
                target=client_process,
                args=(inbox, self.outbox, self.barrier, slot),
                daemon=True,
                name=f"oversell-client-{slot}",
            )
            for slot, inbox in enumerate(self.inboxes)
        ]
        for process in self.processes:
            process.start()

    def fire(self, url: str, requests: list[tuple[str, bytes]]) -> tuple[list[Outcome], float]:
        """All outcomes in the order of ``requests``, and the seconds the burst took."""
        count = len(self.inboxes)
        for slot, inbox in enumerate(self.inboxes):
            inbox.put(Job(url, requests[slot::count], self.in_flight))
        try:
            self.barrier.wait(timeout=RUN_TIMEOUT_S)
        except threading.BrokenBarrierError:
            self.barrier.reset()
            errors: list[str] = []
            with contextlib.suppress(queue.Empty):
                while len(errors) < count:
                    errors.append(self.outbox.get(timeout=5)[2])
            message = "the client processes did not start:\n" + "\n".join(errors)
            raise AssertionError(message) from None
        started = time.monotonic()
        parts: dict[int, list[Outcome]] = {}
        for _ in range(count):
            try:
                slot, outcomes, error = self.outbox.get(timeout=RUN_TIMEOUT_S)
            except queue.Empty:
                raise AssertionError("a client process did not answer in time") from None
            assert not error, f"client process {slot} failed:\n{error}"
            parts[slot] = outcomes
        elapsed = time.monotonic() - started
        merged: list[Outcome] = [Outcome(0)] * len(requests)
        for slot, outcomes in parts.items():
            merged[slot::count] = outcomes
        return merged, elapsed

    def close(self) -> None:
        for inbox in self.inboxes:
            inbox.put(None)
        for process in self.processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
                process.join(timeout=5)


# ---------------------------------------------------------------------------------- database


def _admin_connect_args() -> dict[str, Any]:
    url = make_url(TEST_DATABASE_URL)
    return {
        "host": url.host or "127.0.0.1",
        "port": url.port or 5432,
        "user": url.username,
        "password": url.password,
    }


async def _admin(statement: str) -> None:
    import asyncpg  # noqa: PLC0415

    connection = await asyncpg.connect(
        **_admin_connect_args(), database=make_url(TEST_DATABASE_URL).database or "postgres"
    )
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def read_snapshot(database: str, event_id: str, client: httpx.AsyncClient) -> Snapshot:
    """The event's counters and order rows, read directly from PostgreSQL, and the API's
    ``available`` per ticket type."""
    import asyncpg  # noqa: PLC0415

    connection = await asyncpg.connect(**_admin_connect_args(), database=database)
    try:
        event = await connection.fetchrow(
            "SELECT capacity, sold, held FROM events WHERE id = $1", uuid.UUID(event_id)
        )
        assert event is not None
        ticket_types = await connection.fetch(
            "SELECT id, quantity, sold, held FROM ticket_types WHERE event_id = $1",
            uuid.UUID(event_id),
        )
        lines = await connection.fetch(
            "SELECT o.id, o.status, o.promo_code_id, i.ticket_type_id, i.quantity "
            "FROM orders o JOIN order_items i ON i.order_id = o.id WHERE o.event_id = $1",
            uuid.UUID(event_id),
        )
        promos = await connection.fetch(
            "SELECT id, code, max_uses, uses FROM promo_codes WHERE event_id = $1",
            uuid.UUID(event_id),
        )
    finally:
        await connection.close()
    response = await client.get(f"{API}/events/{event_id}/ticket-types")
    assert response.status_code == 200, response.text
    available = {item["id"]: item["available"] for item in response.json()["data"]}
    orders: dict[str, list[Any]] = defaultdict(list)
    for line in lines:
        orders[str(line["id"])].append(line)
    return Snapshot(
        capacity=event["capacity"],
        sold=event["sold"],
        held=event["held"],
        ticket_types={
            str(row["id"]): TicketTypeState(
                row["quantity"], row["sold"], row["held"], available[str(row["id"])]
            )
            for row in ticket_types
        },
        orders={
            order_id: OrderRow(
                status=rows[0]["status"],
                promo_code_id=str(rows[0]["promo_code_id"]) if rows[0]["promo_code_id"] else None,
                lines=tuple((str(row["ticket_type_id"]), row["quantity"]) for row in rows),
            )
            for order_id, rows in orders.items()
        },
        promos={
            str(row["id"]): PromoState(row["code"], row["max_uses"], row["uses"]) for row in promos
        },
    )


# ---------------------------------------------------------------------------------- servers


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Stack:
    """The database both servers use, their shared settings, and the accounts (registered
    once, through whichever server comes first)."""

    database: str
    database_url: str
    secret_key: str
    workdir: Path
    organizer_token: str = ""
    org_id: str = ""
    buyer_tokens: list[str] = field(default_factory=list)

    def env(self, var_dir: Path, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("BOXOFFICE_")}
        env.update(
            {
                "BOXOFFICE_DATABASE_URL": self.database_url,
                "BOXOFFICE_REDIS_URL": TEST_REDIS_URL,
                "BOXOFFICE_SECRET_KEY": self.secret_key,
                "BOXOFFICE_VAR_DIR": str(var_dir),
                "BOXOFFICE_LOG_LEVEL": "warning",
                "BOXOFFICE_DATABASE_POOL_SIZE": str(POOL_SIZE),
                "BOXOFFICE_RATE_LIMIT_LOGIN": GENEROUS_LIMIT,
                "BOXOFFICE_RATE_LIMIT_REGISTER": GENEROUS_LIMIT,
                "BOXOFFICE_RATE_LIMIT_LOGIN_IP": GENEROUS_LIMIT,
                "BOXOFFICE_RATE_LIMIT_REGISTER_IP": GENEROUS_LIMIT,
                "BOXOFFICE_RATE_LIMIT_REFRESH": GENEROUS_LIMIT,
                **extra,
            }
        )
        return env

    async def ensure_accounts(self, client: httpx.AsyncClient) -> None:
        if self.buyer_tokens:
            return
        gate = asyncio.Semaphore(8)

        async def register(name: str) -> str:
            async with gate:
                response = await client.post(
                    f"{API}/auth/register",
                    json={"email": unique_email("oversell"), "password": PASSWORD, "name": name},
                )
            assert response.status_code == 201, response.text
            token: str = response.json()["access_token"]
            return token

        tokens = await asyncio.gather(
            register("Organizer"), *(register(f"Buyer {i}") for i in range(BUYERS))
        )
        self.organizer_token, self.buyer_tokens = tokens[0], list(tokens[1:])
        response = await client.post(
            f"{API}/organizations", json={"name": "Flash Sales"}, headers=self.organizer
        )
        assert response.status_code == 201, response.text
        self.org_id = response.json()["id"]

    @property
    def organizer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.organizer_token}"}


@pytest.fixture(scope="module")
async def stack() -> AsyncIterator[Stack]:
    name = f"boxoffice_oversell_{secrets.token_hex(5)}"
    url = make_url(TEST_DATABASE_URL).set(database=name).render_as_string(hide_password=False)
    await _admin(f'CREATE DATABASE "{name}"')
    try:
        with tempfile.TemporaryDirectory(prefix="oversell-") as workdir:
            result = Stack(name, url, secrets.token_hex(32), Path(workdir))
            migrated = await asyncio.to_thread(
                subprocess.run,
                [*BOXOFFICE, "migrate"],
                env=result.env(Path(workdir) / "migrate"),
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert migrated.returncode == 0, migrated.stderr
            yield result
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Server:
    base_url: str
    guarded: bool
    client: httpx.AsyncClient


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server's process group (granian and its workers), SIGKILL if it lingers."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


@dataclass
class Launched:
    """A ``boxoffice serve`` process started in its own process group (stopped as a whole)."""

    process: subprocess.Popen[bytes]
    base_url: str
    log: Path

    @classmethod
    def start(cls, env: dict[str, str], var_dir: Path) -> Launched:
        var_dir.mkdir()
        log = var_dir / "server.log"
        with log.open("wb") as log_file:
            process = subprocess.Popen(
                [*BOXOFFICE, "serve"],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return cls(process, f"http://{env['BOXOFFICE_HOST']}:{env['BOXOFFICE_PORT']}", log)

    def wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited early:\n{self.log.read_text()[-3000:]}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{self.base_url}/readyz", timeout=2).status_code == 200:
                    return
            time.sleep(0.2)
        raise AssertionError(f"server not ready in time:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process.returncode is None:
            _stop(self.process)


MODES = ("guarded", "unguarded")


@pytest.fixture(scope="module")
def launched(stack: Stack) -> Iterator[dict[str, Launched]]:
    """Both servers, started together so that their start-up overlaps. They share the
    database and the secret key; only the inventory flag differs."""
    servers: dict[str, Launched] = {}
    try:
        for mode in MODES:
            env = stack.env(
                stack.workdir / mode,
                BOXOFFICE_HOST="127.0.0.1",
                BOXOFFICE_PORT=str(_free_port()),
                BOXOFFICE_WORKERS=str(SERVER_WORKERS),
                BOXOFFICE_UNSAFE_INVENTORY_FOR_TESTS=str(mode == "unguarded").lower(),
            )
            servers[mode] = Launched.start(env, stack.workdir / mode)
        yield servers
    finally:
        for server in servers.values():
            server.stop()


@pytest.fixture(scope="module", params=MODES, ids=["guarded", "control"])
async def server(
    request: pytest.FixtureRequest, stack: Stack, launched: dict[str, Launched]
) -> AsyncIterator[Server]:
    """The production server (``guarded``) or the read-then-write negative control
    (``control``). Pytest runs every guarded case first and stops that server before the
    control cases, so only one of them holds database connections under load."""
    mode: str = request.param
    current = launched[mode]
    await asyncio.to_thread(current.wait_ready)
    try:
        async with httpx.AsyncClient(base_url=current.base_url, timeout=30) as client:
            await stack.ensure_accounts(client)
            yield Server(current.base_url, mode == "guarded", client)
    finally:
        await asyncio.to_thread(current.stop)


@pytest.fixture(scope="module")
def load() -> Iterator[LoadGenerator]:
    generator = LoadGenerator(CLIENT_PROCESSES, IN_FLIGHT_PER_PROCESS)
    try:
        yield generator
    finally:
        generator.close()


# ---------------------------------------------------------------------------------- scenarios


async def new_event(
    server: Server, stack: Stack, quantities: list[int], *, capacity: int | None = None
) -> tuple[str, list[str]]:
    """A published event with one ticket type per quantity (and a shared capacity)."""
    client, headers = server.client, stack.organizer
    starts = datetime.now(UTC) + timedelta(days=30)
    payload = event_payload(title="Flash sale", starts=starts)
    if capacity is not None:
        payload["capacity"] = capacity
    response = await client.post(
        f"{API}/organizations/{stack.org_id}/events", json=payload, headers=headers
    )
    assert response.status_code == 201, response.text
    event_id: str = response.json()["id"]
    ticket_type_ids: list[str] = []
    for index, quantity in enumerate(quantities):
        response = await client.post(
            f"{API}/events/{event_id}/ticket-types",
            json={
                "name": f"Tier {index + 1}",
                "price_amount": 2500,
                "currency": "EUR",
                "quantity": quantity,
            },
            headers=headers,
        )
        assert response.status_code == 201, response.text
        ticket_type_ids.append(response.json()["id"])
    response = await client.post(f"{API}/events/{event_id}/publish", headers=headers)
    assert response.status_code == 200, response.text
    return event_id, ticket_type_ids


@dataclass(frozen=True)
class Run:
    attempts: list[Attempt]
    outcomes: list[Outcome]
    snapshot: Snapshot
    seconds: float

    def violations(self, rejection: tuple[int, str]) -> list[Violation]:
        return check(self.attempts, self.outcomes, self.snapshot, rejection=rejection)

    def count(self, status: int) -> int:
        return sum(1 for outcome in self.outcomes if outcome.status == status)


async def burst(
    server: Server, stack: Stack, load: LoadGenerator, event_id: str, attempts: list[Attempt]
) -> Run:
    url = f"{server.base_url}{API}/events/{event_id}/orders"
    requests = [
        (stack.buyer_tokens[a.buyer % len(stack.buyer_tokens)], orjson.dumps(a.body()))
        for a in attempts
    ]
    outcomes, seconds = await asyncio.to_thread(load.fire, url, requests)
    snapshot = await read_snapshot(stack.database, event_id, server.client)
    return Run(attempts, outcomes, snapshot, seconds)


def assert_verdict(server: Server, run: Run, rejection: tuple[int, str], shows: str) -> None:
    """The shared verdict: the production path passes the check; the negative control must
    make the check report ``shows``."""
    violations = run.violations(rejection)
    summary = (
        f"{run.count(201)} x 201 of {len(run.attempts)} in {run.seconds:.2f} s; "
        f"statuses {dict(Counter(o.status for o in run.outcomes))}"
    )
    if server.guarded:
        assert violations == [], summary
    else:
        rules = {violation.rule for violation in violations}
        assert shows in rules, f"the negative control went unnoticed: {summary}; {violations}"


SOLD_OUT = (409, "sold-out")
PROMO_REFUSED = (422, "promo_code")


async def test_one_seat_orders_never_exceed_the_ticket_type(
    server: Server, stack: Stack, load: LoadGenerator
) -> None:
    event_id, (tt,) = await new_event(server, stack, [SEATS])
    attempts = [Attempt(buyer=i, lines=((tt, 1),)) for i in range(ATTEMPTS)]
    run = await burst(server, stack, load, event_id, attempts)
    assert_verdict(server, run, SOLD_OUT, shows="oversold")
    if server.guarded:  # spelled out: exactly N orders, the rest sold out, nothing left
        assert run.count(201) == SEATS
        assert run.count(409) == ATTEMPTS - SEATS
        assert run.snapshot.ticket_types[tt] == TicketTypeState(SEATS, 0, SEATS, 0)


async def test_multi_seat_orders_never_exceed_the_ticket_type(
    server: Server, stack: Stack, load: LoadGenerator
) -> None:
    event_id, (tt,) = await new_event(server, stack, [SEATS])
    rng = random.Random(7)
    attempts = [Attempt(buyer=i, lines=((tt, rng.randint(1, 4)),)) for i in range(ATTEMPTS)]
    run = await burst(server, stack, load, event_id, attempts)
    assert_verdict(server, run, SOLD_OUT, shows="oversold")
    if server.guarded:
        held = run.snapshot.ticket_types[tt].held
        assert SEATS - 3 <= held <= SEATS
        assert held == sum(
            a.seats for a, o in zip(attempts, run.outcomes, strict=True) if o.status == 201
        )


async def test_event_capacity_is_shared_by_its_ticket_types(
    server: Server, stack: Stack, load: LoadGenerator
) -> None:
    event_id, tts = await new_event(server, stack, [SEATS, SEATS], capacity=SEATS)
    attempts = [Attempt(buyer=i, lines=((tts[i % 2], 1),)) for i in range(ATTEMPTS)]
    run = await burst(server, stack, load, event_id, attempts)
    assert_verdict(server, run, SOLD_OUT, shows="oversold")
    if server.guarded:
        assert run.count(201) == SEATS
        assert run.snapshot.held == SEATS
        assert sum(state.held for state in run.snapshot.ticket_types.values()) == SEATS
        assert [state.available for state in run.snapshot.ticket_types.values()] == [0, 0]


async def test_promo_code_is_never_used_more_than_max_uses(
    server: Server, stack: Stack, load: LoadGenerator
) -> None:
    event_id, (tt,) = await new_event(server, stack, [10 * PROMO_ATTEMPTS])
    code = f"FLASH{secrets.token_hex(3).upper()}"
    response = await server.client.post(
        f"{API}/events/{event_id}/promo-codes",
        json={"code": code, "percent_off": 10, "max_uses": PROMO_USES},
        headers=stack.organizer,
    )
    assert response.status_code == 201, response.text
    attempts = [Attempt(buyer=i, lines=((tt, 1),), promo_code=code) for i in range(PROMO_ATTEMPTS)]
    run = await burst(server, stack, load, event_id, attempts)
    assert_verdict(server, run, PROMO_REFUSED, shows="promo-overused")
    if server.guarded:
        assert run.count(201) == PROMO_USES
        assert run.count(422) == PROMO_ATTEMPTS - PROMO_USES
        assert [promo.uses for promo in run.snapshot.promos.values()] == [PROMO_USES]
