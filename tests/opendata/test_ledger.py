"""Signed checkpoints, the dump, and `registry verify` against tampering."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import gzip
import json
import subprocess
import sys

import asyncpg
import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from registry import db as dbmod
from registry import ledger
from registry.app import create_app
from registry.opendata import checkpoints, dump, verify
from registry.opendata_tasks import hourly_checkpoint
from tests.conftest import BASE, FakeClock, make_place
from tests.opendata.conftest import make_busy


async def test_checkpoint_is_signed_and_verifiable_by_outsiders(client, busy):
    keys = (await client.get("/api/v1/ledger/keys")).json()
    assert keys["algorithm"] == "Ed25519" and keys["current"]
    r = await client.post("/api/v1/ledger/checkpoints", headers=busy.place.auth("admin"))
    assert r.status_code == 201, r.text
    cp = r.json()
    assert cp == (await client.get("/api/v1/ledger/checkpoints/latest")).json()
    # What docs/ledger.md tells an outsider to do, with nothing from the registry's code:
    key = next(k for k in keys["keys"] if k["key_id"] == cp["key_id"])
    Ed25519PublicKey.from_public_bytes(base64.b64decode(key["public_key"])).verify(
        base64.b64decode(cp["signature"]), cp["signed"].encode()
    )
    assert json.dumps(cp["payload"], sort_keys=True, separators=(",", ":"), ensure_ascii=False) == cp["signed"]
    head = cp["payload"]["heads"][busy.place.code]
    events = (await client.get(f"/api/v1/events?municipality={busy.place.code}&limit=1000")).json()["items"]
    assert head == {"seq": events[-1]["seq"], "hash": events[-1]["hash"]}
    page = (await client.get("/api/v1/ledger/checkpoints?limit=1000")).json()
    assert page["items"][-1] == cp


async def test_only_admins_make_checkpoints(client, place):
    assert (await client.post("/api/v1/ledger/checkpoints")).status_code == 401
    r = await client.post("/api/v1/ledger/checkpoints", headers=place.auth("reviewer"))
    assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"


async def test_hourly_task_makes_one_checkpoint_across_workers(db, opendata_settings, clock):
    apps = [create_app(opendata_settings, db=db, clock=clock) for _ in range(3)]
    async with db.connection() as conn:
        before = await conn.fetchval("SELECT count(*) FROM ledger_checkpoints")
    clock.advance(hours=2)  # whatever the other tests made is now older than an hour
    tasks = [asyncio.create_task(hourly_checkpoint(app, tick_s=0.05)) for app in apps]
    for _ in range(200):  # until one of them made it (bounded, however busy the machine)
        await asyncio.sleep(0.05)
        async with db.connection() as conn:
            if await conn.fetchval("SELECT count(*) FROM ledger_checkpoints") > before:
                break
    await asyncio.sleep(0.5)  # every worker gets several more ticks in which to (wrongly) make another
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    async with db.connection() as conn:
        assert await conn.fetchval("SELECT count(*) FROM ledger_checkpoints") == before + 1


async def test_hourly_task_survives_a_database_outage(opendata_settings, clock):
    class Down:
        attempts = 0

        def connection(self):
            Down.attempts += 1
            raise dbmod.DatabaseUnavailable("connection refused")

    app = create_app(opendata_settings, db=Down(), clock=clock)  # type: ignore[arg-type]
    task = asyncio.create_task(hourly_checkpoint(app, tick_s=0.02))
    # Wait for a few attempts, however busy the machine is (bounded).
    for _ in range(250):
        await asyncio.sleep(0.02)
        if Down.attempts >= 3:
            break
    assert not task.done()  # it logged, and is still trying
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert Down.attempts >= 3


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "registry.cli", *args], capture_output=True, text=True, timeout=120)


async def test_verify_finds_exactly_the_tampered_event_and_file(scratch_url, opendata_settings, tmp_path):
    settings = dataclasses.replace(opendata_settings, database_url=scratch_url, data_dir=tmp_path)
    pool = await dbmod.create_pool(scratch_url, settings)
    db = dbmod.Db(pool, 5)
    clock = FakeClock()
    app = create_app(settings, db=db, clock=clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as client:
        async with db.connection() as conn:
            place = await make_place(conn)
            other = await make_place(conn)
        clock.advance(days=-100)
        await make_busy(client, place, clock)
        await make_busy(client, other, clock)
        r = await client.post("/api/v1/ledger/checkpoints", headers=place.auth("admin"))
        assert r.status_code == 201
    async with db.connection() as conn:
        # One non-challenge event, as the initiatives area will write them.
        async with conn.transaction():
            from registry.store import events
            from registry.workflow import Event

            await events.append(conn, municipality=place.code, challenge_id=None, challenge_ref=None, subject="initiative:1",
                                token_id=None, event=Event("verify_initiative", "unverified", "verified", "admin",
                                                           clock(), {}, None, None))  # fmt: skip
        report = await verify.verify_database(conn)
        assert report.ok, report.summary()
        root = tmp_path / "exports"
        path = await dump.write(conn, root, base=BASE, prefix="ocds-r2c0nl", now=clock())
    assert dump.list_dumps(root)[0]["name"] == path.name
    assert verify.verify_dump(path).ok

    # CLI on the sound dump and database: exit 0.
    ok = _cli("verify", str(path))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert _cli("verify", "--database-url", scratch_url).returncode == 0

    # 1. Change one stored event as a superuser, past the immutability trigger.
    conn = await asyncpg.connect(scratch_url)
    victim = await conn.fetchrow(
        "SELECT id, municipality_code, seq FROM events WHERE municipality_code = $1 AND seq = 5", other.code
    )
    async with conn.transaction():
        await conn.execute("SET LOCAL session_replication_role = replica")
        await conn.execute(
            "UPDATE events SET body = jsonb_set(body, '{actor_role}', '\"admin\"') WHERE id = $1", victim["id"]
        )
    out = _cli("verify", "--database-url", scratch_url)
    assert out.returncode == 1
    assert f"FIRST BAD EVENT: database: {other.code} #5 (event id {victim['id']})" in out.stdout, out.stdout
    report = await verify.verify_database(conn)
    assert [(f.municipality, f.seq) for f in report.bad_events()] == [(other.code, 5)]

    # 1b. Change only the served copy of another event: the record is intact, the copy lies.
    decoy = await conn.fetchrow(
        "SELECT id, municipality_code, seq FROM events WHERE municipality_code = $1 AND seq = 2", other.code
    )
    async with conn.transaction():
        await conn.execute("SET LOCAL session_replication_role = replica")
        await conn.execute("UPDATE events SET doc = replace(doc, '\"actor_role\": \"', '\"actor_role\": \"x') WHERE id = $1", decoy["id"])
    report = await verify.verify_database(conn)
    assert sorted((f.municipality, f.seq) for f in report.bad_events()) == [(other.code, 2), (other.code, 5)]
    assert any("served copy" in str(f) for f in report.findings)

    # 2. Delete a checkpointed event (the head at checkpoint time) as a superuser.
    head = await conn.fetchval("SELECT max(seq) FROM events WHERE municipality_code = $1 AND challenge_id IS NOT NULL", place.code)
    async with conn.transaction():
        await conn.execute("SET LOCAL session_replication_role = replica")
        await conn.execute("DELETE FROM event_actors WHERE event_id IN (SELECT id FROM events WHERE municipality_code = $1 AND seq >= $2)", place.code, head)
        await conn.execute("DELETE FROM events WHERE municipality_code = $1 AND seq >= $2", place.code, head)
    report = await verify.verify_database(conn)
    messages = [str(f) for f in report.findings]
    assert any(f"{place.code} #{head}" in m and "disappeared" in m for m in messages), messages
    await conn.close()
    await pool.close()

    # 3. Change one event in the dump file; the manifest no longer matches and the event is named.
    events_path = path / "events.ndjson.gz"
    lines = gzip.decompress(events_path.read_bytes()).split(b"\n")
    n = next(i for i, line in enumerate(lines)
             if line and json.loads(line)["seq"] == 7 and json.loads(line)["municipality"] == place.code)
    doc = json.loads(lines[n])
    doc["occurred_at"] = ledger.format_time(clock())
    lines[n] = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()
    events_path.write_bytes(gzip.compress(b"\n".join(lines)))
    out = _cli("verify", str(path))
    assert out.returncode == 1
    assert "events.ndjson.gz: its SHA-256 differs from manifest.json" in out.stdout
    assert f"FIRST BAD EVENT: events.ndjson.gz: {place.code} #7 (event id {doc['id']})" in out.stdout, out.stdout
    report = verify.verify_dump(path)
    assert [(f.municipality, f.seq) for f in report.bad_events()] == [(place.code, 7)]
