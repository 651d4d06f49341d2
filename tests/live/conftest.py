"""Live-server fixtures: the real app in a subprocess (uvicorn), over real HTTP.

``start_live_server`` is a context manager so that a test can start a server
on a database of its own (the outage test does); ``live_server`` is the one
shared by a session, on the test database of tests/conftest.py.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.conftest import Place, make_place

ROOT = Path(__file__).resolve().parents[2]


def _die_with_parent() -> None:
    """In the child: get SIGTERM when the test process dies, even by SIGKILL (Linux)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def start_live_server(database_url: str, **env: str) -> Iterator[str]:
    """Run ``uvicorn registry.asgi:app`` on a free port; yield its base URL.

    The process is always terminated (then killed if it lingers), whatever
    happens in the body (and gets SIGTERM if the test process dies). Its output
    is shown if it fails to come up, if it logged a traceback, or with LIVE_LOG=1.
    """
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    child_env = {
        **os.environ,
        "REGISTRY_DATABASE_URL": database_url,
        "REGISTRY_BASE_URL": base,
        "REGISTRY_MIGRATE_ON_START": "0",
        # No mail or checkpoint workers unless a test asks: the live servers share
        # the session's database, and their mail worker would take other tests' mail.
        "REGISTRY_BACKGROUND": "0",
        "PYTHONUNBUFFERED": "1",
        **env,
    }
    log = tempfile.NamedTemporaryFile(prefix="registry-live-", suffix=".log", delete=False)
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "registry.asgi:app", "--host", "127.0.0.1", "--port", str(port),
         "--log-level", "warning", "--no-access-log"],
        cwd=ROOT,
        env=child_env,
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=_die_with_parent if sys.platform == "linux" else None,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"live server exited with {proc.returncode}:\n{Path(log.name).read_text()}")
            try:
                r = httpx.get(f"{base}/api/v1/openapi.json", timeout=2)
                if r.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"live server did not answer within 30 s:\n{Path(log.name).read_text()}")
            time.sleep(0.1)
        yield base
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        log.close()
        output = Path(log.name).read_text(errors="replace")
        os.unlink(log.name)
        if "Traceback" in output or os.environ.get("LIVE_LOG"):
            # Server-side tracebacks (e.g. a 500's) end up in the test report.
            print(f"--- live server log ({base}) ---\n{output}")


@pytest.fixture(scope="session")
def live_server(database_url: str) -> Iterator[str]:
    """The base URL of the real app, served by uvicorn on the session's test database."""
    with start_live_server(database_url) as base:
        yield base


async def _new_place(database_url: str) -> Place:
    conn = await asyncpg.connect(database_url)
    try:
        return await make_place(conn)
    finally:
        await conn.close()


def new_place(database_url: str) -> Place:
    """A fresh municipality with services, collectives and tokens (sync, for sync tests)."""
    return asyncio.run(_new_place(database_url))


@pytest.fixture
def live_place(database_url: str) -> Place:
    """A fresh ``Place`` (tests/conftest.py) in the live server's database."""
    return new_place(database_url)
