"""Streamed exports: CSV per RFC 4180, NDJSON equal to the API, filters."""

from __future__ import annotations

import csv
import gzip
import io
import json
import zlib

import pytest

from registry.opendata import dump
from registry.opendata.exports import CSV_COLUMNS
from tests.conftest import BASE, filing


async def test_challenges_ndjson_equals_the_api(client, busy):
    code = busy.place.code
    r = await client.get(f"/api/v1/exports/challenges.ndjson?municipality={code}")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/x-ndjson")
    assert "creativecommons.org/publicdomain/zero" in r.headers["link"]
    lines = r.content.split(b"\n")
    assert lines[-1] == b""
    docs = [json.loads(line) for line in lines[:-1]]
    assert sorted(d["ref"] for d in docs) == sorted(busy.refs.values())
    for d in docs:
        assert d == (await client.get(f"/api/v1/challenges/{d['ref']}")).json()


async def test_challenges_csv_is_rfc4180(client, busy):
    code = busy.place.code
    r = await client.get(f"/api/v1/exports/challenges.csv?municipality={code}")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    text = r.content.decode("utf-8")
    assert text.startswith(",".join(CSV_COLUMNS) + "\r\n")
    assert text.endswith("\r\n")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert len(rows) == len(busy.refs)
    assert text.count("\r\n") == len(rows) + 1  # every record ends with CRLF; line breaks inside fields are quoted
    by_ref = {row["ref"]: row for row in rows}
    rejected = by_ref[busy.refs["rejected"]]
    assert rejected["state"] == "rejected" and rejected["decision_grounds"] == "NL-COST NL-CONTINUITY"
    running = by_ref[busy.refs["running"]]
    assert running["agreement_budget_cents"] == "9900000" and running["status"] == "open"
    assert running["collective_name"] == "Buurtcoöperatie Test"


async def test_events_ndjson_equals_the_change_feed_and_filters(client, busy, clock):
    code = busy.place.code
    r = await client.get(f"/api/v1/exports/events.ndjson?municipality={code}")
    exported = [json.loads(x) for x in r.content.splitlines()]
    feed = (await client.get(f"/api/v1/events?municipality={code}&limit=1000")).json()["items"]
    assert exported == feed
    assert [e["seq"] for e in exported] == list(range(1, len(exported) + 1))
    since = exported[-3]["occurred_at"]
    r = await client.get(f"/api/v1/exports/events.ndjson", params={"municipality": code, "updated_since": since})
    assert [json.loads(x) for x in r.content.splitlines()] == exported[-3:]
    r = await client.get(f"/api/v1/exports/challenges.ndjson", params={"municipality": code, "updated_since": "2999-01-01T00:00:00Z"})
    assert r.status_code == 200 and r.content == b""


async def test_bad_parameters_are_problems(client):
    for url in ("/api/v1/exports/events.ndjson?municipality=XX", "/api/v1/exports/challenges.csv?updated_since=yesterday"):
        r = await client.get(url)
        assert r.status_code == 400
        assert r.headers["content-type"] == "application/problem+json"


async def test_exports_listing(client):
    r = await client.get("/api/v1/exports")
    assert r.status_code == 200
    body = r.json()
    assert body["licence"]["id"] == "CC0-1.0"
    assert {x["name"] for x in body["live"]} == {"challenges.csv", "challenges.ndjson", "events.ndjson"}


# --- the dump: OCDS packages written in parts by worker processes -----------------------


def _gzip_members(data: bytes) -> int:
    """How many gzip members follow each other in ``data``."""
    count = 0
    while data:
        d = zlib.decompressobj(wbits=31)
        d.decompress(data)
        assert d.eof, "a truncated gzip member"
        data = d.unused_data
        count += 1
    return count


async def test_dump_by_workers_in_small_parts_equals_a_dump_in_one_process(db, database_url, busy, clock, tmp_path):
    now = clock()
    async with db.connection() as conn:
        one = await dump.write(conn, tmp_path / "one", base=BASE, prefix="ocds-r2c0nl", now=now)
        n = await conn.fetchval("SELECT count(DISTINCT challenge_id) FROM events")
        many = await dump.write(conn, tmp_path / "many", base=BASE, prefix="ocds-r2c0nl", now=now,
                                workers=2, database_url=database_url, range_size=2)  # fmt: skip
    assert one.name == many.name and not list(tmp_path.glob("*/*.partial"))
    assert sorted(p.name for p in many.iterdir()) == sorted([*dump.FILES, "manifest.json"])  # no parts left behind
    for name in dump.FILES:
        a, b = (one / name).read_bytes(), (many / name).read_bytes()
        if name.endswith(".gz"):
            a, b = gzip.decompress(a), gzip.decompress(b)
        assert a == b, name
    for name in ("ocds-release-package.json.gz", "ocds-record-package.json.gz"):
        # header, a part per two challenges with a comma member between parts, closing bracket
        assert _gzip_members((many / name).read_bytes()) >= n // 2 + 2
        assert _gzip_members((one / name).read_bytes()) == 3  # header, the one part, closing bracket
    manifests = [json.loads((d / "manifest.json").read_text()) for d in (one, many)]
    rows = [{f["name"]: f.get("rows") for f in m["files"]} for m in manifests]
    assert rows[0] == rows[1]
    assert rows[1]["ocds-record-package.json.gz"] == n >= len(busy.refs)
    assert rows[1]["ocds-release-package.json.gz"] == len(json.loads(gzip.decompress((many / "ocds-release-package.json.gz").read_bytes()))["releases"])


async def test_a_failed_dump_leaves_nothing_behind(db, busy, clock, tmp_path):
    """Workers that cannot reach the database fail the dump after the other
    files were written; the partial directory goes with it."""
    root = tmp_path / "dumps"
    async with db.connection() as conn:
        with pytest.raises(Exception):
            await dump.write(conn, root, base=BASE, prefix="ocds-r2c0nl", now=clock(), workers=2,
                             database_url="postgresql://postgres@127.0.0.1:1/nowhere", range_size=2)  # fmt: skip
        assert list(root.iterdir()) == []
        # And the next dump is fine.
        made = await dump.write(conn, root, base=BASE, prefix="ocds-r2c0nl", now=clock())
    assert [p.name for p in root.iterdir()] == [made.name]


async def test_dump_workers_read_the_dump_snapshot(db, database_url, client, place, busy):
    async with db.connection() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        seen = await conn.fetchval("SELECT count(*) FROM events")
        snapshot = await conn.fetchval("SELECT pg_export_snapshot()")
        r = await client.post("/api/v1/challenges", json=filing(place, title="Na de momentopname"), headers=place.auth())
        assert r.status_code == 201  # committed after the snapshot was taken
        worker = await dump._snapshot_connection(database_url, snapshot)
        try:
            assert await worker.fetchval("SELECT count(*) FROM events") == seen
        finally:
            await worker.close()
    async with db.connection() as conn:
        assert await conn.fetchval("SELECT count(*) FROM events") > seen


def test_challenge_ranges_cover_every_id_once():
    assert dump.challenge_ranges(1, 5, 2) == [(0, 2), (2, 4), (4, 5)]
    assert dump.challenge_ranges(7, 7, 20_000) == [(6, 7)]
    for first, last, size in [(1, 100, 7), (5, 6, 1), (3, 1000, 1000)]:
        ids = [i for after, upto in dump.challenge_ranges(first, last, size) for i in range(after + 1, upto + 1)]
        assert ids == list(range(first, last + 1))


def test_export_cli_rejects_a_bad_worker_count():
    import subprocess
    import sys

    p = subprocess.run([sys.executable, "-m", "registry.cli", "export", "--workers", "-1"], capture_output=True, text=True)
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert "whole number of processes" in p.stderr
