"""Delivery: hand composed messages to an SMTP server, or write them as files (embedded mode).

A job opens one connection and sends many messages over it (a fan-out sends thousands)::

    async with mailer.connection() as connection:
        for message in messages:
            await connection.send(message)

``send`` raises :class:`TemporaryMailError` when trying again later may work (no connection,
a 4xx answer, a timeout, a refused login) and :class:`PermanentMailError` when this message
will never be accepted (a 5xx answer to its sender, recipient or content).
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import tempfile
from collections.abc import AsyncIterator, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Literal, Protocol

import aiosmtplib
from aiosmtplib.typing import Default

from boxoffice.config import Settings, SmtpTls
from boxoffice.observability.logging import get_logger

_log = get_logger("boxoffice.notifications")


class MailError(Exception):
    """The message was not accepted."""


class TemporaryMailError(MailError):
    """Connection problems or a 4xx answer: the job retries later."""


class PermanentMailError(MailError):
    """A 5xx answer to this message's sender, recipients or content: retrying will not help."""


class MailConnection(Protocol):
    async def send(self, message: EmailMessage) -> None: ...


class Mailer(Protocol):
    def connection(self) -> AbstractAsyncContextManager[MailConnection]: ...


# ---------------------------------------------------------------------------------- SMTP


class _ClosedBeforeMail(aiosmtplib.SMTPServerDisconnected):
    """The server had closed the connection before this message's MAIL command: nothing of
    the message reached it, so sending it again on a new connection cannot duplicate it."""


class _Client(aiosmtplib.SMTP):
    async def mail(
        self,
        sender: str,
        /,
        *,
        options: Iterable[str] | None = None,
        encoding: str = "ascii",
        timeout: float | Literal[Default.token] | None = Default.token,  # noqa: ASYNC109
    ) -> aiosmtplib.SMTPResponse:
        try:
            return await super().mail(sender, options=options, encoding=encoding, timeout=timeout)
        except aiosmtplib.SMTPServerDisconnected as exc:
            raise _ClosedBeforeMail(exc.message) from exc
        except aiosmtplib.SMTPResponseException as exc:
            # 421: the server is closing this (idle or exhausted) connection.
            if exc.code == 421:
                raise _ClosedBeforeMail(exc.message) from exc
            raise


# The server answered (and aiosmtplib reset the envelope): the session goes on.
_ANSWERS = (
    aiosmtplib.SMTPResponseException,
    aiosmtplib.SMTPRecipientsRefused,
    aiosmtplib.SMTPNotSupported,
    ValueError,
)


def _is_permanent(code: int) -> bool:
    return 500 <= code <= 599


def _refused_recipients(exc: aiosmtplib.SMTPRecipientsRefused) -> MailError:
    codes = [refusal.code for refusal in exc.recipients]
    detail = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
    if codes and all(_is_permanent(code) for code in codes):
        return PermanentMailError(f"recipients refused: {detail}")
    return TemporaryMailError(f"recipients refused: {detail}")


def _describe(exc: BaseException) -> str:
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return f"{exc.code} {exc.message}"
    return f"{type(exc).__name__}: {exc}"


def _mail_error(exc: Exception) -> MailError:
    """Our error for what aiosmtplib raised while sending one message in an open session."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        return _refused_recipients(exc)
    if isinstance(exc, aiosmtplib.SMTPResponseException) and _is_permanent(exc.code):
        # A 5xx answer to this message's MAIL, RCPT or DATA.
        return PermanentMailError(_describe(exc))
    if isinstance(exc, aiosmtplib.SMTPNotSupported | ValueError):
        # An address this server cannot take (non-ASCII without SMTPUTF8, or malformed).
        return PermanentMailError(_describe(exc))
    return TemporaryMailError(_describe(exc))


class _SmtpConnection:
    """One SMTP session, opened on the first send and reopened when the server closed it."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._client: _Client | None = None
        self._lock = asyncio.Lock()

    def _new_client(self) -> _Client:
        settings = self._settings
        return _Client(
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username or None,
            password=settings.smtp_password or None,
            use_tls=settings.smtp_tls is SmtpTls.TLS,
            start_tls=settings.smtp_tls is SmtpTls.STARTTLS,
            timeout=settings.smtp_timeout_seconds,
        )

    async def _connected(self) -> _Client:
        if self._client is not None and self._client.is_connected:
            return self._client
        await self.close()
        client = self._new_client()
        try:
            await client.connect()  # also STARTTLS and AUTH, as configured
        except BaseException as exc:
            client.close()  # e.g. a refused login leaves the socket open
            if isinstance(exc, aiosmtplib.SMTPException | OSError):
                # The server or our configuration (a wrong password, no STARTTLS), not the
                # message: a retry once the operator fixed it (or from the dead letters) works.
                raise TemporaryMailError(f"no SMTP session: {_describe(exc)}") from exc
            raise
        self._client = client
        return client

    async def send(self, message: EmailMessage) -> None:
        async with self._lock:
            try:
                try:
                    await (await self._connected()).send_message(message)
                except _ClosedBeforeMail:
                    await self.close()
                    await (await self._connected()).send_message(message)
            except (aiosmtplib.SMTPException, OSError, ValueError) as exc:
                if not isinstance(exc, _ANSWERS):
                    await self.close()  # broken: the next send starts a new session
                raise _mail_error(exc) from exc

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is None or not client.is_connected:
            return
        try:
            await client.quit()
        except (aiosmtplib.SMTPException, OSError):
            client.close()


class SmtpMailer:
    """Sends through ``settings.smtp_host``; one session per :meth:`connection`."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[MailConnection]:
        smtp = _SmtpConnection(self._settings)
        try:
            yield smtp
        finally:
            await smtp.close()


# ---------------------------------------------------------------------------------- files

_UNSAFE_IN_NAME = re.compile(r"[^a-z0-9_-]+")


def eml_name(message: EmailMessage, now: datetime) -> str:
    """``<UTC timestamp>-<kind>-<short hash of Message-ID>.eml``: sorted by time, and a
    redelivery of one message is recognisable by its hash."""
    kind = _UNSAFE_IN_NAME.sub("-", str(message.get("X-Boxoffice-Kind", "mail")).lower())
    digest = hashlib.sha256(str(message.get("Message-ID", "")).encode()).hexdigest()[:12]
    return f"{now.astimezone(UTC):%Y%m%dT%H%M%S%fZ}-{kind.strip('-') or 'mail'}-{digest}.eml"


def _write_atomically(directory: Path, name: str, data: bytes) -> Path:
    """Readers see the whole file or none: written under a temporary name, then renamed."""
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=directory, prefix=".", suffix=".tmp", delete=False) as f:
        temporary = Path(f.name)
        try:
            f.write(data)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
    path = directory / name
    temporary.replace(path)
    return path


class _FileConnection:
    def __init__(self, directory: Path) -> None:
        self._directory = directory

    async def send(self, message: EmailMessage) -> None:
        name = eml_name(message, datetime.now(UTC))
        try:
            path = await asyncio.to_thread(
                _write_atomically, self._directory, name, message.as_bytes()
            )
        except OSError as exc:
            raise TemporaryMailError(f"cannot write {self._directory / name}: {exc}") from exc
        _log.info(
            "mail written",
            path=str(path),
            recipients=[str(address) for address in message.get_all("To", [])],
            subject=str(message.get("Subject", "")),
        )


class FileMailer:
    """Embedded mode: every message becomes an ``.eml`` file under ``settings.mail_dir``."""

    def __init__(self, settings: Settings) -> None:
        self._directory = settings.mail_dir

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[MailConnection]:
        yield _FileConnection(self._directory)


def create_mailer(settings: Settings) -> Mailer:
    if settings.smtp_host:
        return SmtpMailer(settings)
    return FileMailer(settings)
