"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, for e-mail tests.

In a test::

    with SmtpInbox(auth=("mailer", "secret")) as inbox:
        ... point BOXOFFICE_SMTP_HOST/PORT at inbox.host/inbox.port, send ...
        received = inbox.wait_for(3)

It records every accepted message (envelope, raw bytes, parsed message, the client's address:
one per connection), can refuse the next messages with a given code (:meth:`fail_next`) and
close the open connections (:meth:`drop_connections`).

As a separate process (benchmarks, kill tests)::

    python -m tests.support.smtp_inbox --port 2525 --count-only --record received.jsonl

prints ``listening HOST:PORT`` once ready, then the count of received messages every
``--interval`` seconds (and on SIGUSR1, and on exit). ``--count-only`` parses nothing and keeps
nothing in memory. ``--record`` appends one JSON line per accepted message, flushed at once, so
another process can check exactly-once delivery at any time::

    {"message_id": "<…@…>", "key": "order-confirmed:…", "rcpt_tos": ["a@example.com"],
     "mail_from": "tickets@…", "received_at": 1767225600.123}
"""

from __future__ import annotations

import argparse
import asyncio
import email
import email.policy
import json
import re
import signal
import sys
import threading
import time
import warnings
from collections import defaultdict
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Literal, Self

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

Stage = Literal["rcpt", "data"]

_HEADER_END = re.compile(rb"\r?\n\r?\n")
_WANTED_HEADER = re.compile(
    rb"^(message-id|x-boxoffice-key):[ \t]*(.*(?:\r?\n[ \t].*)*)", re.IGNORECASE | re.MULTILINE
)


@dataclass(frozen=True, slots=True)
class Received:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes
    message: EmailMessage
    peer: tuple[str, int]  # the client's address and port: the same for one connection
    login: str | None  # the AUTH user name, if the client logged in

    @property
    def key(self) -> str | None:
        value = self.message["X-Boxoffice-Key"]
        # A long key is folded onto its own header line; the parser keeps the fold's space.
        return None if value is None else str(value).strip()


def delivery_headers(raw: bytes) -> dict[str, str]:
    """Message-ID and X-Boxoffice-Key of a raw message, without parsing the rest of it."""
    match = _HEADER_END.search(raw)
    head = raw[: match.start()] if match else raw
    found: dict[str, str] = {}
    for name, value in _WANTED_HEADER.findall(head):
        unfolded = re.sub(rb"\r?\n[ \t]", b" ", value).strip()
        found.setdefault(name.decode().lower(), unfolded.decode("utf-8", "replace"))
    return found


class _Failures:
    """Answers to give instead of accepting the next messages."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._left = 0
        self._code = 0
        self._stage: Stage = "data"

    def set(self, count: int, code: int, stage: Stage) -> None:
        with self._lock:
            self._left, self._code, self._stage = count, code, stage

    def take(self, stage: Stage) -> str | None:
        with self._lock:
            if self._left <= 0 or self._stage != stage:
                return None
            self._left -= 1
            kind = "mailbox unavailable" if self._code >= 500 else "try again later"
            return f"{self._code} {self._code // 100}.0.0 {kind} (test inbox)"


class _Handler:
    """aiosmtpd hooks: refuse when told to, otherwise hand the message to the inbox."""

    def __init__(self, inbox: SmtpInbox) -> None:
        self._inbox = inbox

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        refusal = self._inbox.failures.take("rcpt")
        if refusal is not None:
            self._inbox.note_refused()
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        refusal = self._inbox.failures.take("data")
        if refusal is not None:
            self._inbox.note_refused()
            return refusal
        login = None
        if isinstance(session.auth_data, LoginPassword):
            login = session.auth_data.login.decode()
        raw = envelope.original_content or b""
        self._inbox.accept(
            mail_from=str(envelope.mail_from),
            rcpt_tos=tuple(envelope.rcpt_tos),
            raw=raw,
            peer=tuple(session.peer) if isinstance(session.peer, tuple) else ("", 0),
            login=login,
        )
        return "250 Message accepted for delivery"


def _authenticator(user: str, password: str) -> Any:
    def check(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and data.login.decode() == user
            and data.password.decode() == password
        )
        if not ok:  # not handled: aiosmtpd answers 535 itself
            return AuthResult(success=False, handled=False)
        return AuthResult(success=True, auth_data=data)

    return check


def smtp_options(auth: tuple[str, str] | None) -> dict[str, Any]:
    options: dict[str, Any] = {"enable_SMTPUTF8": True, "decode_data": False}
    if auth is not None:
        options.update(
            authenticator=_authenticator(*auth), auth_required=True, auth_require_tls=False
        )
    return options


class _Controller(Controller):
    """aiosmtpd's threaded controller, with port 0 (any free port) and a count of sessions."""

    def __init__(self, inbox: SmtpInbox, **kwargs: Any) -> None:
        super().__init__(_Handler(inbox), **kwargs)
        self.sessions: list[SMTP] = []

    def factory(self) -> SMTP:
        session = super().factory()
        self.sessions.append(session)  # one per connection
        return session

    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class SmtpInbox:
    """The server in a background thread, and everything it accepted."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        auth: tuple[str, str] | None = None,
        count_only: bool = False,
        record: IO[str] | None = None,
    ) -> None:
        self.host = host
        self.count_only = count_only
        self.failures = _Failures()
        self._record = record
        self._lock = threading.Condition()
        self._received: list[Received] = []
        self._count = 0
        self._refused = 0
        self._controller = _Controller(self, hostname=host, port=port, **smtp_options(auth))

    # --- lifecycle

    def start(self) -> None:
        self._controller.start()
        self._controller.sessions.clear()  # the controller's own start-up probe

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return int(self._controller.port)

    # --- called by the server thread

    def accept(
        self,
        *,
        mail_from: str,
        rcpt_tos: tuple[str, ...],
        raw: bytes,
        peer: tuple[str, int],
        login: str | None,
    ) -> None:
        received = None
        if not self.count_only:
            message = email.message_from_bytes(raw, policy=email.policy.default)
            assert isinstance(message, EmailMessage)
            received = Received(mail_from, rcpt_tos, raw, message, peer, login)
        line = record_line(mail_from, rcpt_tos, raw) if self._record else None
        with self._lock:
            self._count += 1
            if received is not None:
                self._received.append(received)
            if line is not None and self._record is not None:
                self._record.write(line)
                self._record.flush()
            self._lock.notify_all()

    def note_refused(self) -> None:
        with self._lock:
            self._refused += 1

    # --- for tests

    @property
    def count(self) -> int:
        with self._lock:
            return self._count

    @property
    def refused(self) -> int:
        with self._lock:
            return self._refused

    @property
    def messages(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    @property
    def connections(self) -> int:
        """SMTP sessions opened since the start (one per client connection)."""
        return len(self._controller.sessions)

    def by_key(self) -> dict[str | None, list[Received]]:
        grouped: dict[str | None, list[Received]] = defaultdict(list)
        for received in self.messages:
            grouped[received.key].append(received)
        return dict(grouped)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Block until ``count`` messages arrived (AssertionError after ``timeout``)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._count < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{self._count} of {count} messages after {timeout}s")
                self._lock.wait(left)
            return list(self._received)

    def fail_next(self, count: int, code: int, *, stage: Stage = "data") -> None:
        """Answer ``code`` (e.g. 451, 550) to the next ``count`` messages, at RCPT or DATA."""
        self.failures.set(count, code, stage)

    def drop_connections(self) -> None:
        """Close every open connection from the server's side (as an idle timeout would)."""

        async def close_all() -> None:
            for session in self._controller.sessions:
                if session.transport is not None and not session.transport.is_closing():
                    session.transport.close()

        asyncio.run_coroutine_threadsafe(close_all(), self._controller.loop).result(5)


def record_line(mail_from: str, rcpt_tos: tuple[str, ...], raw: bytes) -> str:
    headers = delivery_headers(raw)
    entry = {
        "message_id": headers.get("message-id"),
        "key": headers.get("x-boxoffice-key"),
        "rcpt_tos": list(rcpt_tos),
        "mail_from": mail_from,
        "received_at": time.time(),
    }
    return json.dumps(entry, ensure_ascii=False) + "\n"


def read_record(path: Path) -> list[dict[str, Any]]:
    """The lines a ``--record`` file holds so far (a line being written is skipped)."""
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return entries


# ---------------------------------------------------------------------------------- standalone


class _ServeHandler:
    """The standalone server's hooks: count, record, and show unless ``count_only``."""

    def __init__(self, *, count_only: bool, record: IO[str] | None) -> None:
        self.count = 0
        self._count_only = count_only
        self._record = record

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        rcpt_tos = tuple(envelope.rcpt_tos)
        self.count += 1
        if self._record is not None:
            self._record.write(record_line(str(envelope.mail_from), rcpt_tos, raw))
            self._record.flush()
        if not self._count_only:
            message = email.message_from_bytes(raw, policy=email.policy.default)
            _say(f"{envelope.mail_from} -> {', '.join(rcpt_tos)}: {message['Subject']}")
        return "250 Message accepted for delivery"


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="A loopback SMTP server that counts mail.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=2525, help="0: any free port")
    parser.add_argument("--count-only", action="store_true", help="parse and print nothing")
    parser.add_argument("--record", type=Path, help="append one JSON line per message here")
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between counts")
    parser.add_argument("--auth", help="require AUTH as USER:PASSWORD")
    return parser.parse_args(argv)


async def _serve(args: argparse.Namespace) -> None:
    record = args.record.open("a", encoding="utf-8") if args.record else None
    auth = tuple(args.auth.split(":", 1)) if args.auth else None
    handler = _ServeHandler(count_only=args.count_only, record=record)
    options = smtp_options(auth)  # type: ignore[arg-type]
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(handler, **options), args.host, args.port)
    host, port = server.sockets[0].getsockname()[:2]
    _say(f"listening {host}:{port}")

    stop = asyncio.Event()
    report = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    loop.add_signal_handler(signal.SIGUSR1, report.set)
    started, shown = time.monotonic(), -1
    try:
        while not stop.is_set():
            waiters = [asyncio.ensure_future(e.wait()) for e in (stop, report)]
            await asyncio.wait(waiters, timeout=args.interval, return_when="FIRST_COMPLETED")
            for waiter in waiters:
                waiter.cancel()
            if handler.count != shown or report.is_set():
                rate = handler.count / max(time.monotonic() - started, 1e-9)
                _say(f"received {handler.count} ({rate:.0f}/s overall)")
                shown = handler.count
            report.clear()
    finally:
        server.close()  # open client connections are left to the process's exit
        if record is not None:
            record.close()
        _say(f"received {handler.count} in total")


def main(argv: list[str] | None = None) -> None:
    warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS")
    asyncio.run(_serve(_arguments(argv)))


if __name__ == "__main__":
    main(sys.argv[1:])
