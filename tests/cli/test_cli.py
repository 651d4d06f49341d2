"""The `registry` command against a real PostgreSQL: migrations under a lock,
the demo seed, and tokens."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from registry import db as dbmod
from registry import ledger
from registry.store import events


def _url(server_url: str, name: str) -> str:
    return urlunsplit(urlsplit(server_url)._replace(path="/" + name))


@pytest.fixture
async def fresh_database(server_url):
    name = f"registry_cli_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(server_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    yield _url(server_url, name)
    await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    await admin.close()


def registry(*args: str, url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "REGISTRY_DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "registry.cli", *args], env=env, capture_output=True, text=True, timeout=180
    )


async def test_concurrent_migrations_apply_each_file_once(fresh_database):
    results = await asyncio.gather(*(dbmod.migrate_url(fresh_database) for _ in range(4)))
    applied = sorted(n for r in results for n in r)
    expected = sorted(n for n, _ in dbmod.migration_files())
    assert applied == expected  # every migration applied by exactly one of the four
    conn = await asyncpg.connect(fresh_database)
    try:
        assert await conn.fetchval("SELECT count(*) FROM schema_migrations") == len(expected)
    finally:
        await conn.close()
    out = registry("migrate", url=fresh_database)
    assert out.returncode == 0 and "up to date" in out.stdout


async def test_demo_seed_and_tokens(fresh_database):
    out = registry("seed", "--demo", url=fresh_database)
    assert out.returncode == 0, out.stderr
    assert "GM0363 reviewer token: rtc_" in out.stdout
    conn = await asyncpg.connect(fresh_database)
    try:
        codes = {r["code"] for r in await conn.fetch("SELECT code FROM municipalities")}
        assert {"GM0363", "GM0599", "GM0344"} <= codes
        for code in ("GM0363", "GM0599", "GM0344"):
            states = {r["state"] for r in await conn.fetch("SELECT state FROM challenges WHERE municipality_code = $1", code)}
            assert states >= {"draft", "submitted", "under_assessment", "information_requested", "inadmissible",
                              "lapsed", "accepted", "modification_proposed", "rejected", "agreed", "in_operation",
                              "evaluated", "ended", "returned", "withdrawn"}
            categories = {r["category"] for r in await conn.fetch("SELECT category FROM services WHERE municipality_code = $1", code)}
            assert len(categories) == 6
            chain = await events.chain(conn, code)
            assert chain and ledger.verify_chain(chain) is None
    finally:
        await conn.close()
    again = registry("seed", "--demo", url=fresh_database)
    assert again.returncode == 0 and "already present" in again.stdout

    token = registry("tokens", "create", "--role", "reviewer", "--municipality", "GM0599", url=fresh_database)
    assert token.returncode == 0 and token.stdout.startswith("rtc_")
    bad = registry("tokens", "create", "--role", "collective", "--municipality", "GM0599", url=fresh_database)
    assert bad.returncode != 0 and "--collective" in bad.stderr
    wrong = registry("tokens", "create", "--role", "collective", "--municipality", "GM0599", "--collective", "1",
                     url=fresh_database)
    assert wrong.returncode != 0 and "not in GM0599" in wrong.stderr
    unknown = registry("tokens", "create", "--role", "admin", "--municipality", "GM9998", url=fresh_database)
    assert unknown.returncode != 0 and "no municipality" in unknown.stderr
