"""``registry export``: a complete, dated dump in one consistent snapshot.

The dump is written to ``<name>.partial`` and renamed when complete, so a
half-written dump is never listed. Every file is gzipped (except the
manifest, the keys and the licence) and listed in ``manifest.json`` with its
size and SHA-256.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import multiprocessing
import multiprocessing.util
import os
import re
import shutil
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

import asyncpg
import msgspec
from isal import igzip

from registry import ledger
from registry.opendata import LICENCE_ID, LICENCE_TEXT, LICENCE_URL, checkpoints, exports, ocds

DUMP_NAME = re.compile(r"^registry-\d{4}-\d{2}-\d{2}T\d{6}Z$")
_encode = msgspec.json.Encoder().encode
# ISA-L's gzip (python-isal), level 2: on the dump's own JSON 5.5 times as
# fast as zlib's level 2 (1,030 against 190 MB/s on this machine) and a little
# smaller (17.2 against 17.6 % of the input); any gzip reader reads it. A dump
# of ten million events is CPU-bound on compression otherwise.
GZIP_LEVEL = 2
FLUSH_BYTES = 1 << 20
# Challenges per OCDS part: enough parts to keep every worker busy to the end,
# few enough that each part's query and files cost nothing next to its rows.
RANGE_CHALLENGES = 20_000


def default_workers() -> int:
    """One OCDS worker per CPU, at most two: each is a Python process of its
    own (50-65 MB), and the whole export stays within 200 MB."""
    return min(2, os.cpu_count() or 1)

FILES = {
    "challenges.ndjson.gz": ("application/x-ndjson", "Every public challenge, one JSON object a line, as GET /api/v1/challenges/{ref}."),
    "challenges.csv.gz": ("text/csv", "Every public challenge, one row each (RFC 4180, UTF-8, header row); the plan is in the NDJSON file."),
    "events.ndjson.gz": ("application/x-ndjson", "Every public event of the hash-chained ledger in global id order (docs/ledger.md)."),
    "ocds-release-package.json.gz": ("application/json", "OCDS 1.1 release package: one release per event about a challenge, by challenge, then event id."),
    "ocds-record-package.json.gz": ("application/json", "OCDS 1.1 record package: one record per challenge, with its compiled release."),
    "ledger-checkpoints.ndjson.gz": ("application/x-ndjson", "Every signed ledger checkpoint, as GET /api/v1/ledger/checkpoints."),
    "initiatives.ndjson.gz": ("application/x-ndjson", "Every citizen initiative as a Popolo Organization, as GET /api/v1/initiatives/{id}; never a person."),
    "ledger-keys.json": ("application/json", "The Ed25519 public keys that signed the checkpoints."),
    "LICENSE.txt": ("text/plain", "The licence of the data: CC0-1.0."),
}


class _Hashing:
    """A file wrapper that hashes and counts what is written through it."""

    def __init__(self, f) -> None:
        self.f, self.sha, self.size = f, hashlib.sha256(), 0

    def write(self, data: bytes) -> int:
        self.sha.update(data)
        self.size += len(data)
        return self.f.write(data)

    def flush(self) -> None:
        self.f.flush()


class Progress:
    """A one-line progress bar on a terminal, silence otherwise."""

    def __init__(self, stream=sys.stderr) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.last = 0.0

    def update(self, name: str, done: int, total: int | None, final: bool = False) -> None:
        now = time.monotonic()
        if not self.tty or (not final and now - self.last < 0.2):
            return
        self.last = now
        if total:
            share = min(done / total, 1.0)
            bar = "#" * int(share * 30)
            text = f"\r{name:<30} [{bar:<30}] {share:6.1%} {done:>12,}/{total:,}"
        else:
            text = f"\r{name:<30} {done:>12,}"
        self.stream.write(text + ("\n" if final else ""))
        self.stream.flush()


async def _write_gz(path: Path, chunks: AsyncIterator[bytes], count: Callable[[bytes], int], progress: Progress, total: int | None) -> dict[str, Any]:
    rows = 0
    with path.open("wb") as raw:
        h = _Hashing(raw)
        gz = igzip.IGzipFile(filename="", mode="wb", fileobj=h, compresslevel=GZIP_LEVEL, mtime=0)
        pending: list[bytes] = []
        size = 0
        async for chunk in chunks:
            pending.append(chunk)
            size += len(chunk)
            rows += count(chunk)
            if size >= FLUSH_BYTES:
                # zlib releases the GIL: compress in a thread while the next rows arrive.
                await asyncio.to_thread(gz.write, b"".join(pending))
                pending, size = [], 0
                progress.update(path.name, rows, total)
        if pending:
            gz.write(b"".join(pending))
        gz.close()
    progress.update(path.name, rows, total, final=True)
    return {"bytes": h.size, "sha256": h.sha.hexdigest(), "rows": rows}


def _write_plain(path: Path, data: bytes) -> dict[str, Any]:
    path.write_bytes(data)
    return {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def _lines(chunk: bytes) -> int:
    return chunk.count(b"\n")


# --- the OCDS packages, in parts ---------------------------------------------------
#
# Both packages come from one pass over the events in challenge order (each
# release is built once, see ocds.process_batches), cut into ranges of
# challenge ids. Each range is written as two gzip files, either in the main
# process or by worker processes, each with its own connection in the dump's
# snapshot; the main process then appends the parts in order. Concatenated
# gzip members are one valid gzip stream (RFC 1952, section 2.2).


class Part(NamedTuple):
    """One range's share of both packages: two gzip files of comma-separated items."""

    releases: Path
    records: Path
    events: int
    processes: int


def challenge_ranges(first: int, last: int, size: int) -> list[tuple[int, int]]:
    """``(after, upto]`` ranges of challenge ids covering ``first..last``."""
    return [(after, min(after + size, last)) for after in range(first - 1, last, size)]


def _gzip_member(data: bytes) -> bytes:
    return igzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0)


class _GzipPart:
    """A gzip file of comma-separated JSON items, written a batch at a time."""

    def __init__(self, path: Path) -> None:
        self.raw = path.open("wb")
        self.gz = igzip.IGzipFile(filename="", mode="wb", fileobj=self.raw, compresslevel=GZIP_LEVEL, mtime=0)
        self.empty = True

    def add(self, items: list[bytes]) -> None:
        if items:
            self.gz.write((b"" if self.empty else b",") + b",".join(items))
            self.empty = False

    def close(self) -> None:
        self.gz.close()
        self.raw.close()


async def write_ocds_part(conn: asyncpg.Connection, prefix: str, after: int, upto: int, directory: Path) -> Part:
    """Write the releases and records of the challenges ``after < id <= upto``."""
    paths = directory / f"releases-{upto}.gz", directory / f"records-{upto}.gz"
    releases, records = _GzipPart(paths[0]), _GzipPart(paths[1])
    events = processes = 0
    try:
        async for encoded, recs in ocds.process_batches(conn, prefix, after, upto):
            releases.add(encoded)
            records.add(recs)
            events += len(encoded)
            processes += len(recs)
    finally:
        releases.close()
        records.close()
    return Part(*paths, events, processes)


# A worker process's connection, opened once by _worker_start and used by every part it writes.
_worker: dict[str, Any] = {}


async def _snapshot_connection(database_url: str, snapshot: str) -> asyncpg.Connection:
    """A connection inside a read-only transaction that sees ``snapshot``."""
    if not re.fullmatch(r"[0-9A-F-]+", snapshot):
        raise ValueError(f"not a snapshot id: {snapshot!r}")
    conn = await asyncpg.connect(database_url)
    await conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
    await conn.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
    return conn


def _worker_start(database_url: str, snapshot: str, prefix: str) -> None:
    loop = asyncio.new_event_loop()
    conn = loop.run_until_complete(_snapshot_connection(database_url, snapshot))
    _worker.update(loop=loop, conn=conn, prefix=prefix)
    multiprocessing.util.Finalize(None, lambda: loop.run_until_complete(conn.close()), exitpriority=10)


def _worker_part(after: int, upto: int, directory: str) -> Part:
    return _worker["loop"].run_until_complete(write_ocds_part(_worker["conn"], _worker["prefix"], after, upto, Path(directory)))


def _part_jobs(conn: asyncpg.Connection, pool: ProcessPoolExecutor | None, prefix: str, ranges: list[tuple[int, int]], directory: Path) -> list[Callable[[], Awaitable[Part]]]:
    """One job per range, in order. With a pool the parts are started now, to be
    written while the main process writes the other files; without one, each
    part is written on the dump's own connection when its job is called."""
    if pool is None:
        return [functools.partial(write_ocds_part, conn, prefix, after, upto, directory) for after, upto in ranges]
    futures = [pool.submit(_worker_part, after, upto, str(directory)) for after, upto in ranges]
    return [functools.partial(asyncio.wrap_future, f) for f in futures]


def _append(out: _Hashing, part: Path) -> None:
    with part.open("rb") as f:
        while block := f.read(FLUSH_BYTES):
            out.write(block)
    part.unlink()


async def _write_ocds(partial: Path, headers: tuple[bytes, bytes], jobs: list[Callable[[], Awaitable[Part]]], progress: Progress, total: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """Both packages: each header, then the parts in range order, then the closing bracket."""
    names = ("ocds-release-package.json.gz", "ocds-record-package.json.gz")
    outs = [_Hashing((partial / name).open("wb")) for name in names]
    rows = [0, 0]
    try:
        for out, head in zip(outs, headers):
            out.write(_gzip_member(head))
        comma = _gzip_member(b",")
        events = 0
        for job in jobs:
            part = await job()
            if part.processes:
                for out, path in zip(outs, (part.releases, part.records)):
                    if rows[1]:  # a process before this part: separate the lists' items
                        out.write(comma)
                    await asyncio.to_thread(_append, out, path)
                rows[0] += part.events
                rows[1] += part.processes
            else:
                part.releases.unlink()
                part.records.unlink()
            events += part.events
            progress.update("ocds packages", events, total)
        for out in outs:
            out.write(_gzip_member(ocds.PACKAGE_CLOSE))
    finally:
        for out in outs:
            out.f.close()
    progress.update("ocds packages", events, total, final=True)
    return tuple({"bytes": out.size, "sha256": out.sha.hexdigest(), "rows": n} for out, n in zip(outs, rows))


def _pool(workers: int, database_url: str | None, snapshot: str, prefix: str) -> ProcessPoolExecutor:
    if not database_url:
        raise ValueError("writing the OCDS packages in worker processes needs the database URL")
    # spawn, not fork: the parent holds an open connection and a running event loop.
    return ProcessPoolExecutor(
        workers, mp_context=multiprocessing.get_context("spawn"), initializer=_worker_start,
        initargs=(database_url, snapshot, prefix),
    )  # fmt: skip


def dump_name(now: datetime) -> str:
    return "registry-" + now.strftime("%Y-%m-%dT%H%M%SZ")


async def write(
    conn: asyncpg.Connection, root: Path, *, base: str, prefix: str, now: datetime, progress: Progress | None = None,
    workers: int = 0, database_url: str | None = None, range_size: int = RANGE_CHALLENGES,
) -> Path:
    """Write a dump under ``root`` and return its directory. ``workers`` > 0
    writes the OCDS packages in that many processes (each connects to
    ``database_url``) while this one writes the other files; 0 writes
    everything here. The files are the same either way. A dump that fails
    (or is interrupted) leaves nothing behind: its partial directory, which
    may already hold gigabytes, is removed."""
    try:
        return await _write(conn, root, base=base, prefix=prefix, now=now, progress=progress or Progress(),
                            workers=workers, database_url=database_url, range_size=range_size)
    except BaseException:
        shutil.rmtree(root / (dump_name(now) + ".partial"), ignore_errors=True)
        raise


async def _write(
    conn: asyncpg.Connection, root: Path, *, base: str, prefix: str, now: datetime, progress: Progress,
    workers: int, database_url: str | None, range_size: int,
) -> Path:
    name = dump_name(now)
    final = root / name
    partial = root / (name + ".partial")
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir(parents=True)
    parts_dir = partial / "ocds-parts"
    parts_dir.mkdir()
    files: dict[str, dict[str, Any]] = {}
    everything = exports.Filter()
    pool = None
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        try:
            n_challenges = await conn.fetchval("SELECT count(*) FROM challenges WHERE state <> 'draft'")
            n_events, n_process_events, first, last, last_event = await conn.fetchrow(
                "SELECT count(*), count(challenge_id), min(challenge_id), max(challenge_id), coalesce(max(id), 0) FROM events"
            )
            ranges = challenge_ranges(first, last, range_size) if first is not None else []
            if workers > 0 and ranges:
                pool = _pool(min(workers, len(ranges)), database_url, await conn.fetchval("SELECT pg_export_snapshot()"), prefix)
            jobs = _part_jobs(conn, pool, prefix, ranges, parts_dir)

            files["challenges.ndjson.gz"] = await _write_gz(
                partial / "challenges.ndjson.gz", exports.challenges_ndjson(conn, everything, base, now), _lines, progress, n_challenges
            )
            files["challenges.csv.gz"] = await _write_gz(
                partial / "challenges.csv.gz", exports.challenges_csv(conn, everything, base, now), lambda c: 0, progress, None
            )
            files["challenges.csv.gz"]["rows"] = n_challenges
            files["events.ndjson.gz"] = await _write_gz(
                partial / "events.ndjson.gz", exports.events_ndjson(conn, everything, record=True), _lines, progress, n_events
            )
            headers = tuple(
                ocds.package_open(ocds.package_header(base, f"{base}/api/v1/exports/dumps/{name}/{fname}", now), key)
                for fname, key in (("ocds-release-package.json.gz", "releases"), ("ocds-record-package.json.gz", "records"))
            )
            files["ocds-release-package.json.gz"], files["ocds-record-package.json.gz"] = await _write_ocds(
                partial, headers, jobs, progress, n_process_events
            )
        finally:
            if pool is not None:
                pool.shutdown(cancel_futures=True)

        async def checkpoint_lines() -> AsyncIterator[bytes]:
            after = 0
            while batch := await checkpoints.list_after(conn, after, 1000):
                yield b"".join(_encode(c) + b"\n" for c in batch)
                after = batch[-1].id

        files["ledger-checkpoints.ndjson.gz"] = await _write_gz(
            partial / "ledger-checkpoints.ndjson.gz", checkpoint_lines(), _lines, progress, None
        )
        from registry.initiatives import opendata as initiatives_data

        n_initiatives = await conn.fetchval("SELECT count(*) FROM initiatives")
        files["initiatives.ndjson.gz"] = await _write_gz(
            partial / "initiatives.ndjson.gz", initiatives_data.ndjson(conn, base, now, snapshot=False), _lines,
            progress, n_initiatives,
        )
        keys = await checkpoints.keys(conn, None)
    parts_dir.rmdir()
    files["ledger-keys.json"] = _write_plain(partial / "ledger-keys.json", _encode({"keys": keys}) + b"\n")
    files["LICENSE.txt"] = _write_plain(partial / "LICENSE.txt", LICENCE_TEXT.encode())
    manifest = {
        "name": name,
        "created_at": ledger.format_time(now),
        "registry": base,
        "licence": {"id": LICENCE_ID, "url": LICENCE_URL},
        "last_event_id": last_event,
        "verify": "registry verify " + name + "  (see docs/ledger.md)",
        "files": [
            {"name": fname, "media_type": FILES[fname][0], "description": FILES[fname][1], **meta}
            for fname, meta in files.items()
        ],
    }
    (partial / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    os.replace(partial, final)
    return final


def list_dumps(root: Path) -> list[dict[str, Any]]:
    """Complete dumps under ``root``, newest first, with their manifests."""
    if not root.is_dir():
        return []
    found = []
    for d in sorted(root.iterdir(), reverse=True):
        if d.is_dir() and DUMP_NAME.match(d.name) and (d / "manifest.json").is_file():
            try:
                found.append(json.loads((d / "manifest.json").read_text()))
            except ValueError:
                continue
    return found
