"""Delivery against a real SMTP server on loopback (aiosmtpd), and to .eml files."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from boxoffice.config import Settings, load_settings
from boxoffice.notifications.transport import (
    FileMailer,
    PermanentMailError,
    SmtpMailer,
    TemporaryMailError,
    create_mailer,
    eml_name,
)
from tests.support.smtp_inbox import SmtpInbox, delivery_headers, read_record, record_line

USER, PASSWORD = "mailer", "s3cret-pass"

# The inbox takes AUTH over plain text on loopback on purpose; aiosmtpd warns about it.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


def _settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "var_dir": tmp_path,
        "secret_key": "test-secret-key-" + "x" * 32,
        "smtp_tls": "none",
        "smtp_timeout_seconds": 5,
    }
    values.update(overrides)
    return load_settings(**values)


def _for(inbox: SmtpInbox, tmp_path: Path, **overrides: Any) -> Settings:
    return _settings(tmp_path, smtp_host=inbox.host, smtp_port=inbox.port, **overrides)


def _message(n: int, *, to: str = "ada@example.com", kind: str = "order_confirmation") -> Any:
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = "Boxoffice <tickets@boxoffice.localhost>"
    message["To"] = f"Ada Lovelace <{to}>"
    message["Subject"] = f"Message {n}"
    message["Message-ID"] = f"<message-{n}@boxoffice.localhost>"
    message["X-Boxoffice-Kind"] = kind
    message["X-Boxoffice-Key"] = f"test:{n}"
    message.set_content(f"Body of message {n}, with ünïcödé.\n")
    return message


@pytest.fixture
def inbox() -> Iterator[SmtpInbox]:
    with SmtpInbox() as server:
        yield server


@pytest.fixture
def auth_inbox() -> Iterator[SmtpInbox]:
    with SmtpInbox(auth=(USER, PASSWORD)) as server:
        yield server


class TestSmtpMailer:
    async def test_many_messages_over_one_connection(
        self, inbox: SmtpInbox, tmp_path: Path
    ) -> None:
        mailer = SmtpMailer(_for(inbox, tmp_path))
        async with mailer.connection() as connection:
            for n in range(25):
                await connection.send(_message(n))
        received = inbox.wait_for(25)
        assert [r.message["Message-ID"] for r in received] == [
            f"<message-{n}@boxoffice.localhost>" for n in range(25)
        ]
        assert inbox.connections == 1
        assert len({r.peer for r in received}) == 1
        assert received[0].rcpt_tos == ("ada@example.com",)
        assert received[0].mail_from == "tickets@boxoffice.localhost"
        assert received[0].message.get_content().rstrip() == "Body of message 0, with ünïcödé."

    async def test_logs_in_when_a_user_name_is_set(
        self, auth_inbox: SmtpInbox, tmp_path: Path
    ) -> None:
        settings = _for(auth_inbox, tmp_path, smtp_username=USER, smtp_password=PASSWORD)
        async with SmtpMailer(settings).connection() as connection:
            await connection.send(_message(1))
        [received] = auth_inbox.wait_for(1)
        assert received.login == USER

    async def test_a_refused_login_is_temporary(
        self, auth_inbox: SmtpInbox, tmp_path: Path
    ) -> None:
        """A wrong password is the operator's to fix; the message itself is fine."""
        settings = _for(auth_inbox, tmp_path, smtp_username=USER, smtp_password="wrong")
        async with SmtpMailer(settings).connection() as connection:
            with pytest.raises(TemporaryMailError, match="535"):
                await connection.send(_message(1))
        assert auth_inbox.count == 0

    async def test_550_is_permanent_and_the_connection_goes_on(
        self, inbox: SmtpInbox, tmp_path: Path
    ) -> None:
        inbox.fail_next(1, 550, stage="rcpt")
        async with SmtpMailer(_for(inbox, tmp_path)).connection() as connection:
            with pytest.raises(PermanentMailError, match="550"):
                await connection.send(_message(1))
            await connection.send(_message(2))
        [received] = inbox.wait_for(1)
        assert received.message["Message-ID"] == "<message-2@boxoffice.localhost>"
        assert inbox.connections == 1

    async def test_550_after_data_is_permanent(self, inbox: SmtpInbox, tmp_path: Path) -> None:
        inbox.fail_next(1, 554, stage="data")
        async with SmtpMailer(_for(inbox, tmp_path)).connection() as connection:
            with pytest.raises(PermanentMailError, match="554"):
                await connection.send(_message(1))

    @pytest.mark.parametrize("stage", ["rcpt", "data"])
    async def test_451_is_temporary(self, inbox: SmtpInbox, tmp_path: Path, stage: Any) -> None:
        inbox.fail_next(1, 451, stage=stage)
        async with SmtpMailer(_for(inbox, tmp_path)).connection() as connection:
            with pytest.raises(TemporaryMailError, match="451"):
                await connection.send(_message(1))
            await connection.send(_message(2))
        assert [r.message["Subject"] for r in inbox.wait_for(1)] == ["Message 2"]

    async def test_unreachable_server_is_temporary(self, tmp_path: Path) -> None:
        with socket.socket() as probe:  # a port nobody listens on
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        settings = _settings(tmp_path, smtp_host="127.0.0.1", smtp_port=port)
        async with SmtpMailer(settings).connection() as connection:
            with pytest.raises(TemporaryMailError):
                await connection.send(_message(1))

    async def test_a_silent_server_times_out_as_temporary(self, tmp_path: Path) -> None:
        """Accepts the TCP connection, never greets."""
        with socket.socket() as listener:
            listener.bind(("127.0.0.1", 0))
            listener.listen()
            settings = _settings(
                tmp_path,
                smtp_host="127.0.0.1",
                smtp_port=listener.getsockname()[1],
                smtp_timeout_seconds=0.3,
            )
            async with SmtpMailer(settings).connection() as connection:
                with pytest.raises(TemporaryMailError):
                    await connection.send(_message(1))

    @pytest.mark.parametrize("tls", ["starttls", "tls"])
    async def test_tls_modes_never_fall_back_to_plain_text(
        self, inbox: SmtpInbox, tmp_path: Path, tls: str
    ) -> None:
        """The inbox speaks plain SMTP only: a mailer configured for TLS must refuse to send
        (and the failure is the configuration's, so temporary), not send in the clear."""
        settings = _for(inbox, tmp_path, smtp_tls=tls, smtp_timeout_seconds=1)
        async with SmtpMailer(settings).connection() as connection:
            with pytest.raises(TemporaryMailError):
                await connection.send(_message(1))
        assert inbox.count == 0

    async def test_reconnects_once_when_the_server_closed_the_connection(
        self, inbox: SmtpInbox, tmp_path: Path
    ) -> None:
        async with SmtpMailer(_for(inbox, tmp_path)).connection() as connection:
            await connection.send(_message(1))
            inbox.drop_connections()
            await connection.send(_message(2))  # no error: a new session, transparently
            inbox.drop_connections()
            await asyncio.sleep(0.05)  # the client has seen the close this time
            await connection.send(_message(3))
        received = inbox.wait_for(3)
        assert [r.message["Subject"] for r in received] == ["Message 1", "Message 2", "Message 3"]
        assert len({r.peer for r in received}) == 3
        assert inbox.connections == 3


class TestFileMailer:
    async def test_writes_one_parseable_eml_per_message(self, tmp_path: Path) -> None:
        settings = _settings(tmp_path)
        mailer = create_mailer(settings)
        assert isinstance(mailer, FileMailer)
        async with mailer.connection() as connection:
            await connection.send(_message(1, kind="event_cancelled"))
            await connection.send(_message(2, kind="event_cancelled"))
        files = sorted(settings.mail_dir.iterdir())
        assert [f.suffix for f in files] == [".eml", ".eml"]
        assert all("-event_cancelled-" in f.name for f in files)
        parsed = [
            email.message_from_bytes(f.read_bytes(), policy=email.policy.default) for f in files
        ]
        assert sorted(str(m["Message-ID"]) for m in parsed) == [
            "<message-1@boxoffice.localhost>",
            "<message-2@boxoffice.localhost>",
        ]
        assert parsed[0].get_body(("plain",)).get_content().startswith("Body of message")

    def test_file_names_sort_by_time_and_recognise_the_message(self) -> None:
        first = eml_name(_message(1), datetime(2027, 1, 2, 3, 4, 5, 6, tzinfo=UTC))
        again = eml_name(_message(1), datetime(2027, 1, 2, 3, 4, 6, tzinfo=UTC))
        other = eml_name(_message(2), datetime(2027, 1, 2, 3, 4, 6, tzinfo=UTC))
        assert first.startswith("20270102T030405000006Z-order_confirmation-")
        assert first < again
        assert first.rsplit("-", 1)[1] == again.rsplit("-", 1)[1] != other.rsplit("-", 1)[1]

    async def test_readers_never_see_a_partial_file(self, tmp_path: Path) -> None:
        """A reader polling the directory while big messages are written only ever finds
        complete .eml files (written under a temporary name, then renamed)."""
        settings = _settings(tmp_path)
        big = _message(1)
        big.add_attachment(b"\x00" * 2_000_000, maintype="application", subtype="octet-stream")
        expected = len(big.as_bytes())
        stop = threading.Event()
        sizes: list[int] = []

        def watch() -> None:
            while not stop.is_set():
                if settings.mail_dir.exists():
                    for path in settings.mail_dir.glob("*.eml"):
                        sizes.append(path.stat().st_size)

        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            async with FileMailer(settings).connection() as connection:
                for _ in range(10):
                    await connection.send(big)
        finally:
            stop.set()
            watcher.join()
        assert sizes, "the watcher saw no file"
        assert set(sizes) == {expected}
        assert len(list(settings.mail_dir.glob("*.eml"))) == 10
        assert not list(settings.mail_dir.glob(".*"))  # no temporary file left behind

    def test_smtp_host_selects_smtp(self, tmp_path: Path) -> None:
        assert isinstance(create_mailer(_settings(tmp_path, smtp_host="mail")), SmtpMailer)


class TestInboxProcess:
    """The inbox as a separate process, as the fan-out benchmark and kill tests run it."""

    async def test_counts_and_records_each_message(self, tmp_path: Path) -> None:
        record = tmp_path / "received.jsonl"
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.support.smtp_inbox",
            "--port",
            "0",
            "--count-only",
            "--record",
            str(record),
            "--interval",
            "0.2",
            stdout=asyncio.subprocess.PIPE,
            cwd=Path(__file__).parents[2],
        )
        assert process.stdout is not None
        try:
            ready = (await asyncio.wait_for(process.stdout.readline(), 10)).decode()
            assert ready.startswith("listening 127.0.0.1:")
            port = int(ready.rsplit(":", 1)[1])
            settings = _settings(tmp_path, smtp_host="127.0.0.1", smtp_port=port)
            async with SmtpMailer(settings).connection() as connection:
                for n in range(200):
                    await connection.send(_message(n, to=f"user{n}@example.com"))
            entries = read_record(record)
        finally:
            process.terminate()
            output = (await asyncio.wait_for(process.communicate(), 10))[0].decode()
        assert len(entries) == 200
        assert {e["key"] for e in entries} == {f"test:{n}" for n in range(200)}
        assert entries[7]["message_id"] == "<message-7@boxoffice.localhost>"
        assert entries[7]["rcpt_tos"] == ["user7@example.com"]
        assert "received 200 in total" in output


def test_delivery_headers_unfold_and_ignore_the_body() -> None:
    raw = (
        b"Subject: x\r\nX-Boxoffice-Key: event-cancelled:abc:\r\n def\r\n"
        b"Message-ID: <m@x>\r\n\r\nMessage-ID: <not-this@x>\r\n"
    )
    assert delivery_headers(raw) == {
        "x-boxoffice-key": "event-cancelled:abc: def",
        "message-id": "<m@x>",
    }
    line = record_line("a@x", ("b@x",), raw)
    assert '"message_id": "<m@x>"' in line and line.endswith("\n")
