"""`registry verify` in worker processes, with segments so small that their
boundaries fall inside the chains, reports exactly what one pass reports; and
--trusted-keys."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from datetime import timedelta

import asyncpg
import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from registry import ledger
from registry.opendata import checkpoints, dump, verify
from registry.store import events
from registry.workflow import Event
from tests.conftest import BASE, FakeClock, make_place

WORKERS = 3
TINY_SEGMENT = 7  # event ids per segment: every chain crosses many segment boundaries
TINY_CHUNK = 1500  # bytes: two or three events per chunk


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "registry.cli", *args], capture_output=True, text=True, timeout=120)


def _seen(report: verify.Report) -> tuple:
    return (report.summary(), report.total_findings, report.events, report.chains, report.checkpoints)


async def _database_reports_agree(conn, url: str) -> verify.Report:
    """One pass, one process with tiny segments, and several workers with tiny
    segments must report the same; returns the one-pass report."""
    one = await verify.verify_database(conn, segment_ids=10**9)
    tiny = await verify.verify_database(conn, segment_ids=TINY_SEGMENT)
    parallel = await verify.verify_database(conn, url=url, workers=WORKERS, segment_ids=TINY_SEGMENT)
    assert _seen(tiny) == _seen(one)
    assert _seen(parallel) == _seen(one)
    return one


async def _superuser(conn, *statements: tuple) -> None:
    """Change the ledger past its immutability trigger, as an intruder with superuser rights would."""
    async with conn.transaction():
        await conn.execute("SET LOCAL session_replication_role = replica")
        for sql, *args in statements:
            await conn.execute(sql, *args)


@pytest.fixture
async def ledger_db(scratch_url):
    """Three municipalities whose events interleave, and a checkpoint in the middle."""
    conn = await asyncpg.connect(scratch_url)
    clock = FakeClock()
    places = [await make_place(conn) for _ in range(3)]
    key = Ed25519PrivateKey.generate()
    for n in range(60):
        place = places[n % 3] if n % 5 else places[0]  # uneven: the first chain is the longest
        clock.advance(minutes=7)
        async with conn.transaction():
            await events.append(
                conn, municipality=place.code, challenge_id=None, challenge_ref=None, subject=f"initiative:{n}",
                token_id=None, event=Event("verify_initiative", "unverified", "verified", "admin", clock(),
                                           {"note": f"stap {n} é \u2028 \"q\""}, None, None),
            )  # fmt: skip
        if n == 40:
            await checkpoints.make(conn, key, clock())
    yield conn, scratch_url, places, key, clock
    await conn.close()


async def test_workers_report_exactly_what_one_pass_reports(ledger_db):
    conn, url, places, _, _ = ledger_db
    sound = await _database_reports_agree(conn, url)
    assert sound.ok and sound.events == 60 and len(sound.chains) == 3 and sound.checkpoints == 1, sound.summary()

    # A stored event changed past the trigger, at a segment's first id (whose link the stitching checks).
    victim = await conn.fetchrow(
        "SELECT id, municipality_code, seq FROM events WHERE id % $1 = (SELECT min(id) FROM events) % $1"
        " AND seq > 3 ORDER BY id LIMIT 1", TINY_SEGMENT,
    )  # fmt: skip
    await _superuser(conn, ("UPDATE events SET body = jsonb_set(body, '{actor_role}', '\"system\"') WHERE id = $1", victim["id"]))
    report = await _database_reports_agree(conn, url)
    assert [(f.municipality, f.seq, f.event_id) for f in report.bad_events()] == [
        (victim["municipality_code"], victim["seq"], victim["id"])
    ]

    # Deleted events: one in the middle of the second chain, and the head of the third, which the
    # checkpoint signed. The event after the first deleted one starts a segment and is changed too:
    # its link problems (found when stitching) come before its hash problem (found by a worker).
    second, third = places[1].code, places[2].code
    after = await conn.fetchrow(
        "SELECT id, seq FROM events WHERE municipality_code = $1 AND id % $2 = (SELECT min(id) FROM events) % $2"
        " AND seq > 2 ORDER BY id LIMIT 1", second, TINY_SEGMENT,
    )  # fmt: skip
    signed_head = json.loads(await conn.fetchval("SELECT signed FROM ledger_checkpoints"))["heads"][third]["seq"]
    await _superuser(
        conn,
        ("DELETE FROM events WHERE municipality_code = $1 AND seq = $2", second, after["seq"] - 1),
        ("UPDATE events SET body = jsonb_set(body, '{data,note}', '\"x\"') WHERE id = $1", after["id"]),
        ("DELETE FROM events WHERE municipality_code = $1 AND seq = $2", third, signed_head),
    )
    report = await _database_reports_agree(conn, url)
    messages = [str(f) for f in report.findings]
    of_after = [m for m in messages if f"(event id {after['id']})" in m]
    expected = [f"has seq {after['seq']} where {after['seq'] - 1} was expected", "does not link", "its hash does not match"]
    assert len(of_after) == 3 and all(e in m for e, m in zip(expected, of_after)), messages
    assert any(f"{third} #{signed_head}" in m and "has disappeared" in m for m in messages), messages

    # The served copy of an intact event changed: the record is sound, the copy lies.
    decoy = await conn.fetchrow("SELECT id, seq FROM events WHERE municipality_code = $1 AND seq = 2", third)
    await _superuser(conn, ("UPDATE events SET doc = replace(doc, 'stap', 'Stap') WHERE id = $1", decoy["id"]))
    report = await _database_reports_agree(conn, url)
    served = [f for f in report.findings if "served copy" in f.message]
    assert [(f.municipality, f.seq, f.event_id) for f in served] == [(third, 2, decoy["id"])], report.summary()


async def test_dump_workers_report_exactly_what_one_pass_reports(ledger_db, tmp_path):
    conn, _, places, _, clock = ledger_db
    path = await dump.write(conn, tmp_path, base=BASE, prefix="ocds-r2c0nl", now=clock())

    def agree() -> verify.Report:
        one = verify.verify_dump(path)
        parallel = verify.verify_dump(path, workers=WORKERS, chunk_bytes=TINY_CHUNK)
        assert _seen(verify.verify_dump(path, chunk_bytes=TINY_CHUNK)) == _seen(one)
        assert _seen(parallel) == _seen(one)
        return one

    assert agree().ok
    events_path = path / "events.ndjson.gz"
    lines = gzip.decompress(events_path.read_bytes()).split(b"\n")
    n = next(i for i, line in enumerate(lines) if line and json.loads(line)["seq"] == 9
             and json.loads(line)["municipality"] == places[0].code)  # fmt: skip
    doc = json.loads(lines[n])
    doc["occurred_at"] = ledger.format_time(clock() + timedelta(days=1))
    lines[n] = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()
    lines.insert(n + 5, b"not json")
    events_path.write_bytes(gzip.compress(b"\n".join(lines)))
    report = agree()
    assert [(f.municipality, f.seq) for f in report.bad_events()] == [(places[0].code, 9)], report.summary()
    assert f"events.ndjson.gz: line {n + 6} is not a ledger event" in report.summary(), report.summary()

    # Cut off: reported (after what could be read before the cut, if anything), the same in every mode.
    compressed = events_path.read_bytes()
    events_path.write_bytes(compressed[: len(compressed) // 2])
    report = agree()
    assert "events.ndjson.gz: cannot be read: Compressed file ended" in report.summary(), report.summary()


def test_a_read_error_comes_after_every_line_read_before_it(tmp_path):
    lines = [json.dumps(e).encode() for e in _chain("GM0001", 40)]
    stream = b"\n".join(lines) + b"\n"
    cut = stream.index(lines[30])

    def pieces():
        for i in range(0, cut, 100):
            yield stream[i : min(i + 100, cut)]
        raise OSError("the disk is on fire")

    def report(workers: int, chunk_bytes: int) -> verify.Report:
        stitcher = verify.Stitcher("x", {}, verify.Report())
        with pytest.raises(OSError, match="on fire"):
            verify._verify_stream(stitcher, pieces(), workers, chunk_bytes)
        return stitcher.finish()

    one = report(1, 10**9)
    assert one.ok and one.events == 30 and one.chains["GM0001"][0] == 30
    assert _seen(report(1, 300)) == _seen(one)
    assert _seen(report(WORKERS, 300)) == _seen(one)


async def test_trusted_keys(ledger_db, tmp_path):
    conn, url, _, key, clock = ledger_db
    keys_file = tmp_path / "ledger-keys.json"
    keys_file.write_bytes(json.dumps({"keys": [{"key_id": k.key_id, "public_key": k.public_key}
                                               for k in await checkpoints.keys(conn, None)]}).encode())  # fmt: skip
    ok = _cli("verify", "--database-url", url, "--trusted-keys", str(keys_file), "--workers", "2")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert f"checked against the 1 key(s) in {keys_file} only" in ok.stdout

    # A checkpoint signed by a second key, which the registry serves but the file does not list.
    other = Ed25519PrivateKey.generate()
    cid = await checkpoints.make(conn, other, clock())
    other_id = checkpoints.key_id(checkpoints.raw_public(other.public_key()))
    pinned = await verify.verify_database(conn, trusted=verify.load_trusted_keys(keys_file))
    assert [str(f) for f in pinned.findings] == [
        f"database checkpoints: checkpoint {cid}: signed with key {other_id!r}, which the source serves "
        "but your trusted keys file does not list"
    ]
    unpinned = await verify.verify_database(conn)
    assert unpinned.ok and "the 2 key(s) that the source itself serves" in unpinned.summary()
    out = _cli("verify", "--database-url", url, "--trusted-keys", str(keys_file))
    assert out.returncode == 1 and f"checkpoint {cid}: signed with key {other_id!r}" in out.stdout, out.stdout

    missing = _cli("verify", "--database-url", url, "--trusted-keys", str(tmp_path / "nothing.json"))
    assert missing.returncode == 2 and "error: --trusted-keys: cannot read" in missing.stderr
    assert "Traceback" not in missing.stderr


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"{not json", "is not JSON"),
        (b'{"items": []}', 'has no list of "keys"'),
        (b'{"keys": [{"key_id": "ab"}]}', 'key 1 has no "key_id" and "public_key" strings'),
        (b'{"keys": [{"key_id": "ab", "public_key": "AAAA"}]}', "is not the base64 of a 32-byte Ed25519 key"),
        (b'{"keys": [{"key_id": "0000000000000000", "public_key": "' + b"A" * 43 + b'="}]}', "does not belong to its public_key"),
    ],
)
def test_a_malformed_trusted_keys_file_is_refused_clearly(tmp_path, content, says):
    path = tmp_path / "keys.json"
    path.write_bytes(content)
    with pytest.raises(verify.TrustedKeysError, match=says):
        verify.load_trusted_keys(path)


def _chain(municipality: str, n: int) -> list[dict]:
    events, prev = [], ledger.GENESIS
    for seq in range(1, n + 1):
        body = {"municipality": municipality, "seq": seq, "action": "x", "data": {"n": seq}, "prev_hash": prev}
        prev = ledger.hash_body(body)
        events.append({**body, "id": seq, "hash": prev})
    return events


def test_odd_lines_are_reported_the_same_in_one_segment_and_in_many():
    events = _chain("GM0001", 6)
    events[2]["seq"] = "3"  # not a whole number: not part of the chain, the next event breaks the link
    lines = [json.dumps(e).encode() for e in events]
    lines[4:4] = [b"", b'{"municipality": 5, "seq": 9}', b"   "]
    stream = b"\n".join(lines)

    def report(chunks: list[bytes]) -> str:
        stitcher = verify.Stitcher("x", {}, verify.Report())
        for chunk in chunks:
            stitcher.add(verify.scan_chunk("x", {}, chunk))
        return stitcher.finish().summary()

    one = report([stream])
    assert report([line + b"\n" for line in lines]) == one
    assert report(list(verify._line_chunks([stream[i : i + 7] for i in range(0, len(stream), 7)], 50))) == one
    assert "x: GM0001 #3 (event id 3): has seq '3', which is not a whole number" in one
    assert "x: line 5 is not a ledger event: its municipality is not a string" in one
    assert "x: GM0001 #4 (event id 4): has seq 4 where 3 was expected" in one, one


async def test_a_live_registry_url_verifies_and_a_lying_server_is_caught(ledger_db, tmp_path):
    """`registry verify https://…` against a real server over HTTP: the served
    events, checkpoints and keys verify, with one worker and with several, and
    with pinned keys; when the served copy of an event is changed, the URL
    check names that event."""
    from tests.live.conftest import start_live_server

    conn, url, places, _, _ = ledger_db
    with start_live_server(url) as base:
        keys = tmp_path / "ledger-keys.json"
        keys.write_bytes(httpx.get(f"{base}/api/v1/ledger/keys", timeout=10).raise_for_status().content)
        for extra in (["--workers", "1"], ["--workers", "3"], ["--trusted-keys", str(keys)]):
            out = _cli("verify", base, *extra)
            assert out.returncode == 0, out.stdout + out.stderr
            assert "60 events in 3 chains, 1 checkpoints checked." in out.stdout
        decoy = await conn.fetchrow("SELECT id, municipality_code, seq FROM events WHERE seq = 5 ORDER BY id LIMIT 1")
        await _superuser(conn, ("UPDATE events SET doc = replace(doc, 'stap', 'Stap') WHERE id = $1", decoy["id"]))
        out = _cli("verify", base + "/api/v1")
        assert out.returncode == 1
        assert f"FIRST BAD EVENT: {base}/api/v1/exports/events.ndjson: {decoy['municipality_code']} #5 (event id {decoy['id']})" \
            f": its hash does not match its content" in out.stdout, out.stdout
    out = _cli("verify", base)  # the server is gone
    assert out.returncode == 2 and "error" in out.stderr.lower() and "Traceback" not in out.stderr, out.stderr
