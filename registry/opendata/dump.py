"""``registry export``: a complete, dated dump in one consistent snapshot.

The dump is written to ``<name>.partial`` and renamed when complete, so a
half-written dump is never listed. Every file is gzipped (except the
manifest, the keys and the licence) and listed in ``manifest.json`` with its
size and SHA-256.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import os
import re
import shutil
import sys
import time
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import msgspec

from registry import ledger
from registry.opendata import LICENCE_ID, LICENCE_TEXT, LICENCE_URL, checkpoints, exports, ocds

DUMP_NAME = re.compile(r"^registry-\d{4}-\d{2}-\d{2}T\d{6}Z$")
_encode = msgspec.json.Encoder().encode
# Level 1: several times faster than the default for a few percent more bytes;
# a dump of ten million events is CPU-bound on compression otherwise.
GZIP_LEVEL = 1
FLUSH_BYTES = 1 << 20

FILES = {
    "challenges.ndjson.gz": ("application/x-ndjson", "Every public challenge, one JSON object a line, as GET /api/v1/challenges/{ref}."),
    "challenges.csv.gz": ("text/csv", "Every public challenge, one row each (RFC 4180, UTF-8, header row); the plan is in the NDJSON file."),
    "events.ndjson.gz": ("application/x-ndjson", "Every public event of the hash-chained ledger in global id order (docs/ledger.md)."),
    "ocds-release-package.json.gz": ("application/json", "OCDS 1.1 release package: one release per event about a challenge."),
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
        gz = gzip.GzipFile(filename="", mode="wb", fileobj=h, compresslevel=GZIP_LEVEL, mtime=0)
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


async def write(conn: asyncpg.Connection, root: Path, *, base: str, prefix: str, now: datetime, progress: Progress | None = None) -> Path:
    """Write a dump under ``root`` and return its directory."""
    progress = progress or Progress()
    name = "registry-" + now.strftime("%Y-%m-%dT%H%M%SZ")
    final = root / name
    partial = root / (name + ".partial")
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir(parents=True)
    files: dict[str, dict[str, Any]] = {}
    everything = exports.Filter()
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        n_challenges = await conn.fetchval("SELECT count(*) FROM challenges WHERE state <> 'draft'")
        n_events = await conn.fetchval("SELECT count(*) FROM events")
        last_event = await conn.fetchval("SELECT coalesce(max(id), 0) FROM events")

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
        header = ocds.package_header(base, f"{base}/api/v1/exports/dumps/{name}/ocds-release-package.json.gz", now)
        files["ocds-release-package.json.gz"] = await _write_gz(
            partial / "ocds-release-package.json.gz", ocds.release_package_stream(conn, header, prefix), lambda c: 0, progress, None
        )
        header = ocds.package_header(base, f"{base}/api/v1/exports/dumps/{name}/ocds-record-package.json.gz", now)
        files["ocds-record-package.json.gz"] = await _write_gz(
            partial / "ocds-record-package.json.gz", ocds.record_package_stream(conn, header, prefix), lambda c: 0, progress, None
        )

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
