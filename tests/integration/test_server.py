"""The real thing: the `boxoffice` CLI and the granian server as separate processes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

BOXOFFICE = [sys.executable, "-m", "boxoffice"]
STARTUP_TIMEOUT_SECONDS = 60


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _env(var_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOXOFFICE_")}
    env.update({"BOXOFFICE_VAR_DIR": str(var_dir), "BOXOFFICE_LOG_LEVEL": "warning", **extra})
    return env


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*BOXOFFICE, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def _wait_ready(base_url: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(
                f"server exited early: {process.stderr.read() if process.stderr else ''}"
            )
        try:
            if httpx.get(f"{base_url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("server did not become ready in time")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    var_dir = tmp_path_factory.mktemp("embedded")
    port = _free_port()
    env = _env(var_dir, BOXOFFICE_PORT=str(port))
    assert _run(["migrate"], env).returncode == 0
    seeded = _run(["seed", "--demo", "--events", "40"], env)
    assert seeded.returncode == 0, seeded.stderr
    process = subprocess.Popen(
        [*BOXOFFICE, "serve", "--workers", "2"], env=env, stderr=subprocess.PIPE, text=True
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base_url, process)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


class TestEmbeddedServer:
    def test_lists_demo_events_over_http(self, server: str) -> None:
        response = httpx.get(f"{server}/api/v1/events", params={"limit": 100})
        assert response.status_code == 200
        events = response.json()["data"]
        assert len(events) == 40
        assert {event["status"] for event in events} == {"published"}
        assert len({event["category"] for event in events}) >= 8

    def test_serves_api_docs_and_openapi(self, server: str) -> None:
        assert httpx.get(f"{server}/docs").status_code == 200
        spec = httpx.get(f"{server}/api/v1/openapi.json").json()
        assert "/api/v1/events" in spec["paths"]

    def test_metrics_aggregate_every_worker_process(self, server: str) -> None:
        for _ in range(20):
            httpx.get(f"{server}/api/v1/categories")
        text = httpx.get(f"{server}/metrics").text
        line = next(
            line
            for line in text.splitlines()
            if line.startswith("boxoffice_http_requests_total")
            and 'route="/api/v1/categories"' in line
        )
        assert float(line.rsplit(" ", 1)[1]) >= 20


class TestStartupChecks:
    def test_refuses_an_unmigrated_database(self, tmp_path: Path) -> None:
        result = _run(["serve", "--port", str(_free_port())], _env(tmp_path))
        assert result.returncode == 1
        assert "boxoffice migrate" in result.stderr

    def test_bad_configuration_is_one_clear_line(self, tmp_path: Path) -> None:
        result = _run(["migrate"], _env(tmp_path, BOXOFFICE_PORT="eighty"))
        assert result.returncode == 2
        assert result.stderr.strip().splitlines() == [result.stderr.strip().splitlines()[0]]
        assert "BOXOFFICE_PORT" in result.stderr

    def test_production_requires_a_secret_key(self, tmp_path: Path) -> None:
        result = _run(["migrate"], _env(tmp_path, BOXOFFICE_ENV="production"))
        assert result.returncode == 2
        assert "BOXOFFICE_SECRET_KEY" in result.stderr

    def test_seed_twice_adds_nothing_the_second_time(self, tmp_path: Path) -> None:
        env = _env(tmp_path)
        assert _run(["migrate"], env).returncode == 0
        first = _run(["seed", "--demo", "--events", "10"], env)
        second = _run(["seed", "--demo", "--events", "10"], env)
        assert "10 events created" in first.stderr
        assert "0 events created" in second.stderr

    def test_createadmin_creates_a_platform_admin_who_can_sign_in(self, tmp_path: Path) -> None:
        env = _env(tmp_path)
        assert _run(["migrate"], env).returncode == 0
        created = _run(
            [
                "createadmin",
                "--email",
                "root@example.com",
                "--name",
                "Root",
                "--password",
                "a-long-admin-passphrase",
            ],
            env,
        )
        assert created.returncode == 0, created.stderr
        assert "platform admin root@example.com created" in created.stderr
        weak = _run(
            ["createadmin", "--email", "weak@example.com", "--name", "W", "--password", "short"],
            env,
        )
        assert weak.returncode == 2
        assert "at least 10 characters" in weak.stderr
