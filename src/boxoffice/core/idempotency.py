"""``Idempotency-Key`` on POSTs that create orders, pay or cancel (API.md, DESIGN.md invariant 2).

A key is claimed per caller in its own short transaction *before* the route does anything, so
a concurrent duplicate sees the claim and gets 409 while the first request runs. The route
stores its response in the claim **in the same transaction as its work** (``respond``): either
both commit or neither does, so a replay can never return a response whose effects were rolled
back. A problem response (4xx) is stored after the rollback; a crash (5xx) deletes the claim so
the client may retry. Keys are kept 24 hours (the periodic sweep purges older ones).

Same key, same body (compared as canonical JSON) → the stored response, with
``Idempotent-Replayed: true``. Same key, another body or route → 422 naming the header.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any

import orjson
from fastapi import Depends, Request
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from boxoffice.accounts.auth import Claims
from boxoffice.core.errors import (
    PROBLEM_MEDIA_TYPE,
    Conflict,
    IdempotentReplay,
    Problem,
    ValidationFailed,
)
from boxoffice.core.idempotency_models import IdempotencyRecord
from boxoffice.core.json import JSON_MEDIA_TYPE, dumps
from boxoffice.core.state import resources_of
from boxoffice.core.timestamps import utcnow
from boxoffice.db.engine import Database

HEADER = "Idempotency-Key"
RETENTION = timedelta(hours=24)
# A claim without a response this old belongs to a request that died without cleaning up.
ABANDONED_AFTER = timedelta(minutes=2)
MAX_KEY_LENGTH = 255


class IdempotencyKeyInUse(Conflict):
    slug = "idempotency-key-in-use"
    title = "A request with this Idempotency-Key is still being processed"


@dataclass(slots=True)
class IdempotencyClaim:
    """The route's handle on its key (``record_id`` None when the request carried none)."""

    record_id: Any = None
    stored: bool = field(default=False)

    def stored_response(self, body: bytes, *, status_code: int) -> Response:
        """The response whose body the route already stored with its work (one statement)."""
        self.stored = self.record_id is not None
        return Response(body, status_code=status_code, media_type=JSON_MEDIA_TYPE)

    async def respond(
        self, session: AsyncSession, content: Any, *, status_code: int = 200
    ) -> Response:
        """The JSON response; with a key, also stored in this transaction for replays."""
        body = dumps(content)
        if self.record_id is not None:
            await session.execute(
                update(IdempotencyRecord)
                .where(IdempotencyRecord.id == self.record_id)
                .values(status_code=status_code, media_type=JSON_MEDIA_TYPE, response_body=body)
                .execution_options(synchronize_session=False)
            )
            self.stored = True
        return Response(body, status_code=status_code, media_type=JSON_MEDIA_TYPE)


def request_fingerprint(method: str, path: str, body: bytes) -> str:
    try:
        canonical = orjson.dumps(orjson.loads(body), option=orjson.OPT_SORT_KEYS) if body else b""
    except orjson.JSONDecodeError:
        canonical = body
    return hashlib.sha256(b"%s %s\n%s" % (method.encode(), path.encode(), canonical)).hexdigest()


async def _claim(
    database: Database, *, caller: str, key: str, fingerprint: str, now: datetime
) -> Any:
    """Insert the claim, or raise the replay / 409 / 422 that an existing one calls for."""
    async with database.write_sessions() as session, session.begin():
        existing = await session.scalar(
            select(IdempotencyRecord).where(
                IdempotencyRecord.caller == caller, IdempotencyRecord.key == key
            )
        )
        if existing is not None:
            if existing.created_at <= now - RETENTION or (
                existing.status_code is None and existing.created_at <= now - ABANDONED_AFTER
            ):
                await session.delete(existing)
                await session.flush()
            elif existing.request_hash != fingerprint:
                raise ValidationFailed(
                    HEADER, "this key was used with a different request; use a new key"
                )
            elif existing.status_code is None:
                raise IdempotencyKeyInUse("retry once the first request has finished")
            else:
                raise IdempotentReplay(
                    existing.status_code,
                    existing.media_type or JSON_MEDIA_TYPE,
                    existing.response_body or b"",
                )
        record = IdempotencyRecord(caller=caller, key=key, request_hash=fingerprint, created_at=now)
        session.add(record)
        try:
            await session.flush()
        except IntegrityError:
            # Lost the race to a concurrent request with the same key.
            raise IdempotencyKeyInUse("retry once the first request has finished") from None
        return record.id


async def _store_problem(database: Database, record_id: Any, problem: Problem, path: str) -> None:
    async with database.write_sessions() as session, session.begin():
        await session.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.id == record_id)
            .values(
                status_code=problem.status,
                media_type=PROBLEM_MEDIA_TYPE,
                response_body=dumps(problem.to_document(instance=path)),
            )
        )


async def _release(database: Database, record_id: Any) -> None:
    async with database.write_sessions() as session, session.begin():
        await session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.id == record_id))


async def _idempotency(request: Request, claims: Claims) -> AsyncIterator[IdempotencyClaim]:
    key = request.headers.get(HEADER)
    if key is None:
        yield IdempotencyClaim()
        return
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isprintable():
        raise ValidationFailed(HEADER, f"must be 1 to {MAX_KEY_LENGTH} printable characters")
    database = resources_of(request).database
    record_id = await _claim(
        database,
        caller=str(claims.user_id),
        key=key,
        fingerprint=request_fingerprint(request.method, request.url.path, await request.body()),
        now=utcnow(),
    )
    claim = IdempotencyClaim(record_id)
    try:
        yield claim
    except Problem as problem:
        if problem.status >= 500:
            await _release(database, record_id)
        elif not claim.stored:
            await _store_problem(database, record_id, problem, request.url.path)
        raise
    except BaseException:
        await _release(database, record_id)
        raise
    if not claim.stored:
        # The route answered without storing (it should not happen); never leave a claim
        # that would answer 409 forever.
        await _release(database, record_id)


# Declare it before the route's other dependencies: the claim must be taken (and committed)
# before the route's own transaction starts.
Idempotency = Annotated[IdempotencyClaim, Depends(_idempotency, scope="function")]


async def purge_expired(session: AsyncSession, *, now: datetime) -> int:
    result = await session.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.created_at <= now - RETENTION)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
