"""Idempotent sending: every e-mail is recorded under a key that names it, claimed before it
is sent and marked sent once the SMTP server accepted it.

A redelivered job finds ``sent`` and sends nothing. A worker killed while sending leaves a
``sending`` claim; once it runs out the retry sends again with the same Message-ID, so the
only possible duplicate (a kill between the server's acceptance and our ``sent`` commit) is
recognisable as one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage

from dramatiq.errors import Retry
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.core.timestamps import utcnow
from boxoffice.jobs.context import JobContext
from boxoffice.notifications.compose import message_id_for
from boxoffice.notifications.models import EmailDelivery
from boxoffice.notifications.transport import MailConnection, PermanentMailError
from boxoffice.observability.logging import get_logger

_log = get_logger("boxoffice.mail")

# Bulk sends mark this many messages sent per UPDATE (a kill resends at most these).
MARK_EVERY = 20


@dataclass(frozen=True, slots=True)
class Outgoing:
    key: str
    kind: str
    recipient: str
    build: Callable[[str], EmailMessage]  # Message-ID -> the message


class DeliveryInProgress(Retry):
    """Another worker holds this e-mail's claim: try again once it may have run out."""


async def _insert_claims(
    session: AsyncSession, outgoing: Sequence[Outgoing], *, ctx: JobContext, now: datetime
) -> None:
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    await session.execute(
        dialect.insert(EmailDelivery)
        .values(
            [
                {
                    "key": item.key,
                    "kind": item.kind,
                    "recipient": item.recipient,
                    "message_id": message_id_for(item.key, ctx.settings),
                    "status": "new",
                    "attempts": 0,
                    "created_at": now,
                }
                for item in outgoing
            ]
        )
        .on_conflict_do_nothing(index_elements=["key"])
    )


async def claim(ctx: JobContext, outgoing: Sequence[Outgoing]) -> tuple[dict[str, str], bool]:
    """Claim the e-mails not sent yet: returns key -> Message-ID of those this worker must
    send, and whether some are being sent by another worker right now."""
    if not outgoing:
        return {}, False
    now = utcnow()
    keys = [item.key for item in outgoing]
    async with ctx.database.write_sessions() as session, session.begin():
        await _insert_claims(session, outgoing, ctx=ctx, now=now)
        claimed = await session.execute(
            update(EmailDelivery)
            .where(
                EmailDelivery.key.in_(keys),
                EmailDelivery.status.in_(("new", "sending")),
                (EmailDelivery.claimed_until.is_(None)) | (EmailDelivery.claimed_until < now),
            )
            .values(
                status="sending",
                claimed_until=now + timedelta(seconds=ctx.settings.mail_claim_seconds),
                attempts=EmailDelivery.attempts + 1,
            )
            .returning(EmailDelivery.key, EmailDelivery.message_id)
            .execution_options(synchronize_session=False)
        )
        mine: dict[str, str] = dict(claimed.all())
        busy = False
        if len(mine) < len(keys):
            busy = bool(
                await session.scalar(
                    select(EmailDelivery.key)
                    .where(
                        EmailDelivery.key.in_([k for k in keys if k not in mine]),
                        EmailDelivery.status == "sending",
                    )
                    .limit(1)
                )
            )
    return mine, busy


async def _mark(ctx: JobContext, keys: list[str], status: str) -> None:
    if not keys:
        return
    now = utcnow()
    async with ctx.database.write_sessions() as session, session.begin():
        await session.execute(
            update(EmailDelivery)
            .where(EmailDelivery.key.in_(keys))
            .values(status=status, sent_at=now if status == "sent" else None, claimed_until=None)
            .execution_options(synchronize_session=False)
        )


async def _release(ctx: JobContext, keys: list[str]) -> None:
    """A send failed: let the retry claim these again at once."""
    if not keys:
        return
    async with ctx.database.write_sessions() as session, session.begin():
        await session.execute(
            update(EmailDelivery)
            .where(EmailDelivery.key.in_(keys), EmailDelivery.status == "sending")
            .values(claimed_until=None)
            .execution_options(synchronize_session=False)
        )


async def send(ctx: JobContext, outgoing: Sequence[Outgoing], *, mark_every: int = 1) -> int:
    """Send each e-mail not sent before, over one SMTP connection. Returns how many went.

    ``mark_every=1`` (one e-mail, e.g. an order confirmation) commits ``sent`` right after the
    server's acceptance; bulk notices commit every ``MARK_EVERY``.
    """
    mine, busy = await claim(ctx, outgoing)
    sent = 0
    pending: list[str] = []
    failed: list[str] = []
    todo = [item for item in outgoing if item.key in mine]
    try:
        if todo:
            async with ctx.mailer.connection() as connection:
                for item in todo:
                    if await _send_one(connection, item, mine[item.key]):
                        pending.append(item.key)
                        sent += 1
                    else:
                        failed.append(item.key)
                    if len(pending) >= mark_every:
                        await _mark(ctx, pending, "sent")
                        pending = []
    except BaseException:
        await _mark(ctx, pending, "sent")
        await _release(ctx, [k for k in mine if k not in pending and k not in failed])
        raise
    await _mark(ctx, pending, "sent")
    await _mark(ctx, failed, "failed")
    if todo:
        # One line per job, not per message: a notice batch sends hundreds.
        _log.info(
            "mail sent",
            sent=sent,
            failed=len(failed),
            keys=[item.key for item in todo] if len(todo) <= 3 else None,
        )
    if busy:
        raise DeliveryInProgress(delay=int(ctx.settings.mail_claim_seconds * 1000))
    return sent


async def _send_one(connection: MailConnection, item: Outgoing, message_id: str) -> bool:
    try:
        # Composing is CPU work (ticket PDFs, QR codes): off the event loop.
        message = await asyncio.to_thread(item.build, message_id)
        await connection.send(message)
    except PermanentMailError as exc:
        _log.warning(
            "mail refused for good", key=item.key, recipient=item.recipient, error=str(exc)
        )
        return False
    return True
