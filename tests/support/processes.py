"""Real processes for the fault tests: ``boxoffice`` commands in their own process groups, a
private redis-server that can be stopped and started again, free ports."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
from sqlalchemy.engine import make_url

BOXOFFICE = [sys.executable, "-m", "boxoffice"]


async def pg_connect(url: str) -> asyncpg.Connection:
    """A plain asyncpg connection to the database of a SQLAlchemy URL (for checks)."""
    parsed = make_url(url)
    return await asyncpg.connect(
        host=parsed.host,
        port=parsed.port or 5432,
        user=parsed.username,
        password=parsed.password,
        database=parsed.database,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def boxoffice_env(**values: str) -> dict[str, str]:
    """The environment of a child ``boxoffice`` process: ours minus every ``BOXOFFICE_``
    variable, plus ``values``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOXOFFICE_")}
    env.update({"BOXOFFICE_LOG_JSON": "true", "BOXOFFICE_LOG_LEVEL": "info", **values})
    return env


@dataclass
class Proc:
    """A process started in its own process group, its output in ``log``."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path

    @classmethod
    def start(cls, name: str, argv: list[str], env: dict[str, str], workdir: Path) -> Proc:
        workdir.mkdir(parents=True, exist_ok=True)
        log = workdir / f"{name}.log"
        with log.open("ab") as log_file:
            process = subprocess.Popen(
                argv,
                env=env,
                cwd=workdir,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return cls(name, process, log)

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def output(self, tail: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-tail:]

    def kill(self) -> None:
        """SIGKILL the whole group: no cleanup, no goodbye (a crash, a pulled plug)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self, timeout: float = 20) -> None:
        if not self.alive:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()


def wait_until(condition: object, *, timeout: float, every: float = 0.2, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what or condition}")


def wait_http_ready(proc: Proc, base_url: str, timeout: float = 60) -> None:
    def ready() -> bool:
        if not proc.alive:
            raise AssertionError(f"{proc.name} exited early:\n{proc.output()}")
        with contextlib.suppress(httpx.TransportError):
            return httpx.get(f"{base_url}/readyz", timeout=2).status_code == 200
        return False

    wait_until(ready, timeout=timeout, what=f"{proc.name} to be ready")


class PrivateRedis:
    """A redis-server of the test's own on a free port, without persistence: stopping it
    loses everything queued in it, like a crashed cache node."""

    def __init__(self, workdir: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed")
        self.binary = binary
        self.workdir = workdir
        self.port = free_port()
        self.proc: Proc | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        argv = [
            self.binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.workdir),
        ]
        self.proc = Proc.start("redis", argv, {"PATH": os.environ.get("PATH", "")}, self.workdir)

        def answers() -> bool:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock,
            ):
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
            return False

        wait_until(answers, timeout=10, what="redis-server")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc = None
