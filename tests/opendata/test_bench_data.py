"""The open-data endpoints against the benchmark's data set (on demand).

Skipped unless REGISTRY_BENCH_DATABASE_URL names a database seeded by
bench/seed.py (e.g. 1,000,000 challenges with 10,000,000 events, see
docs/performance.md). It only applies pending migrations, as the app does when
it starts, and reads.

    REGISTRY_BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/registry_big \\
        .venv/bin/python -m pytest tests/opendata/test_bench_data.py -v -s

Validates OCDS release pages from the start, middle and end of the log and
record packages of challenges in every state with the official validator,
compiles each record with ocdsmerge, and checks that the statistics, feeds and
pages answer, and how fast.
"""

from __future__ import annotations

import os
import time

import asyncpg
import httpx
import ocdsmerge
import pytest

from registry.app import create_app
from registry.db import Db, create_pool, migrate_url
from registry.settings import Settings
from tests.conftest import BASE
from tests.opendata.test_ocds import _assert_valid, _extended_schema, validator  # noqa: F401 (a fixture)

URL = os.environ.get("REGISTRY_BENCH_DATABASE_URL")
pytestmark = pytest.mark.skipif(not URL, reason="REGISTRY_BENCH_DATABASE_URL is not set (an on-demand check of the bench data)")


@pytest.fixture
async def bench():
    await migrate_url(URL)
    settings = Settings(database_url=URL, base_url=BASE, pool_max=4, db_timeout=300)
    pool = await create_pool(URL, settings)
    app = create_app(settings, db=Db(pool, settings.db_timeout))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE, timeout=600) as c:
        yield c
    await pool.close()


async def _timed(client, url: str):
    t = time.perf_counter()
    r = await client.get(url)
    ms = (time.perf_counter() - t) * 1000
    print(f"  {url}: {r.status_code}, {len(r.content):,} bytes, {ms:.0f} ms")
    assert r.status_code == 200, r.text[:500]
    return r


async def test_release_pages_from_start_middle_and_end_validate(bench, validator):
    conn = await asyncpg.connect(URL)
    try:
        last = await conn.fetchval("SELECT max(id) FROM events")
    finally:
        await conn.close()
    for after in (0, last // 2, max(0, last - 500)):
        package = (await _timed(bench, f"/api/v1/ocds/releases?after={after}&limit=1000")).json()
        assert package["releases"], after
        # The package names the bench server's extension; validate against the one served here.
        package["extensions"] = [f"{BASE}/api/v1/ocds/extension/extension.json"]
        _assert_valid(validator(package))


async def test_records_in_every_state_validate_and_compile_like_ocdsmerge(bench, validator):
    conn = await asyncpg.connect(URL)
    try:
        refs = [r["ref"] for r in await conn.fetch(
            "SELECT DISTINCT ON (state) ref FROM challenges WHERE state <> 'draft' ORDER BY state, id DESC"
        )] + [await conn.fetchval("SELECT ref FROM challenges WHERE state <> 'draft' ORDER BY id LIMIT 1")]  # fmt: skip
    finally:
        await conn.close()
    assert len(refs) >= 10
    prefix = Settings().ocid_prefix
    merger = ocdsmerge.Merger(schema=_extended_schema())
    combined = None
    for ref in refs:
        package = (await _timed(bench, f"/api/v1/ocds/records/{prefix}-{ref}")).json()
        rec = package["records"][0]
        assert rec["compiledRelease"] == merger.create_compiled_release(rec["releases"]), ref
        if combined is None:
            combined = package
        else:
            combined["records"] += package["records"]
    combined["extensions"] = [f"{BASE}/api/v1/ocds/extension/extension.json"]
    _assert_valid(validator(combined))


async def test_statistics_feeds_and_pages_answer(bench):
    conn = await asyncpg.connect(URL)
    try:
        states = {r["state"]: r["n"] for r in await conn.fetch(
            "SELECT state, count(*) AS n FROM challenges WHERE state <> 'draft' GROUP BY state")}  # fmt: skip
        codes = [r["code"] for r in await conn.fetch("SELECT code FROM municipalities ORDER BY code")]
        oldest = await conn.fetchval("SELECT ref FROM challenges WHERE state <> 'draft' ORDER BY id LIMIT 1")
    finally:
        await conn.close()
    total = (await _timed(bench, "/api/v1/stats")).json()
    # Each challenge's last event is its state: the facts agree with the challenges table.
    assert total["states"] == dict(sorted(states.items()))
    for code in codes[:3]:
        await _timed(bench, f"/api/v1/stats?municipality={code}&category=street_cleaning")
    for url in ("/statistics", f"/statistics/{codes[0]}", "/api/v1/feeds/events.atom",
                f"/api/v1/feeds/municipalities/{codes[0]}/events.atom", f"/api/v1/feeds/challenges/{oldest}/events.atom",
                f"/challenges/{oldest}", "/api/v1/events?limit=1000", "/api/v1/catalog", "/api/v1"):
        await _timed(bench, url)
