"""``registry verify``: recompute every hash, check every chain link and
every checkpoint signature, and that no checkpointed event has disappeared.

One verifier, three sources: the database, a dump directory, a live registry
URL. Each feeds it the public events as NDJSON lines (exactly what
/api/v1/exports/events.ndjson serves) plus the checkpoints and keys.

How it uses several CPUs: an event's hash depends on that event alone, and a
chain link only compares an event with the one before it. So the events are
cut into segments (id ranges of the database, chunks of the NDJSON cut at line
ends) that worker processes check on their own: each returns, per
municipality, its first event (whose link it cannot check) and its head after
the segment, its findings in stream order, and which checkpointed events it
saw. The main process stitches the segments in stream order: it checks each
segment's first link per municipality against the head so far and merges the
findings, so that the report is exactly that of one pass over the stream.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import json
import multiprocessing
import multiprocessing.util
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import msgspec
from isal import igzip, isal_zlib

from registry.ledger import GENESIS
from registry.opendata.checkpoints import key_id, signature_ok

MAX_LISTED = 100  # findings listed in a report; the rest are only counted
MAX_SERVED_COPIES = 10  # served copies that differ, listed (a copy that lies is usually a systematic problem)
SEGMENT_IDS = 100_000  # event ids per database segment
CHUNK_BYTES = 4 << 20  # bytes of NDJSON per segment of a dump or a URL
COPY_PIECE, COPY_NAP_S = 64 << 10, 0.001  # see _scan_range


class _NotCanonical(ValueError):
    pass


def _refuse_float(text: str) -> Any:
    raise _NotCanonical(f"a float ({text}) has no canonical form in the ledger")


_decode = msgspec.json.Decoder(float_hook=_refuse_float).decode
# Sorted keys, no whitespace, minimal escaping: registry.ledger.canonical
# without its value-domain walk (floats are refused while decoding instead).
_canonical = msgspec.json.Encoder(order="sorted").encode


@dataclass
class Finding:
    where: str
    message: str
    municipality: str | None = None
    seq: int | None = None
    event_id: int | None = None
    line: int | None = None  # of a line that is not a ledger event, counted from 1

    def __str__(self) -> str:
        if self.municipality is not None:
            ident = f" (event id {self.event_id})" if self.event_id is not None else ""
            return f"{self.where}: {self.municipality} #{self.seq}{ident}: {self.message}"
        if self.line is not None:
            return f"{self.where}: line {self.line} {self.message}"
        return f"{self.where}: {self.message}"


@dataclass
class Report:
    events: int = 0
    chains: dict[str, tuple[int, str]] = field(default_factory=dict)
    checkpoints: int = 0
    keys_note: str = ""  # which keys the checkpoint signatures were checked against
    findings: list[Finding] = field(default_factory=list)
    total_findings: int = 0

    @property
    def ok(self) -> bool:
        return self.total_findings == 0

    def add(self, finding: Finding) -> None:
        self.total_findings += 1
        if len(self.findings) < MAX_LISTED:
            self.findings.append(finding)

    def bad_events(self) -> list[Finding]:
        return [f for f in self.findings if f.municipality is not None]

    def summary(self) -> str:
        lines = [f"{self.events} events in {len(self.chains)} chains, {self.checkpoints} checkpoints checked."]
        if self.keys_note:
            lines.append(self.keys_note)
        if self.ok:
            lines.append("OK: every hash, every link and every checkpoint signature verifies; "
                         "no checkpointed event is missing.")
        else:
            bad = self.bad_events()
            if bad:
                lines.append(f"FIRST BAD EVENT: {bad[0]}")
            lines.append(f"FAILED: {self.total_findings} problem(s):")
            lines += [f"  - {f}" for f in self.findings]
            if self.total_findings > len(self.findings):
                lines.append(f"  … and {self.total_findings - len(self.findings)} more")
        return "\n".join(lines)


# --- keys and checkpoints ------------------------------------------------------


class TrustedKeysError(ValueError):
    """A --trusted-keys file that cannot be used; the message says why."""


@dataclass(frozen=True)
class TrustedKeys:
    """Public keys obtained out of band (a saved ledger-keys.json): only
    checkpoints signed by one of these count as signed."""

    origin: str
    keys: dict[str, str]  # key id -> standard base64 of the raw 32-byte Ed25519 public key


def load_trusted_keys(path: Path) -> TrustedKeys:
    try:
        doc = json.loads(path.read_bytes())
    except OSError as exc:
        raise TrustedKeysError(f"cannot read {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise TrustedKeysError(f"{path} is not JSON: {exc}") from None
    items = doc.get("keys") if isinstance(doc, dict) else None
    if not isinstance(items, list) or not items:
        raise TrustedKeysError(f'{path} is not a ledger-keys.json: it has no list of "keys"')
    keys = {}
    for n, item in enumerate(items, start=1):
        if not (isinstance(item, dict) and isinstance(item.get("key_id"), str) and isinstance(item.get("public_key"), str)):
            raise TrustedKeysError(f'{path}: key {n} has no "key_id" and "public_key" strings')
        try:
            raw = base64.b64decode(item["public_key"], validate=True)
        except binascii.Error:
            raw = b""
        if len(raw) != 32:
            raise TrustedKeysError(f"{path}: key {item['key_id']}: public_key is not the base64 of a 32-byte Ed25519 key")
        if key_id(raw) != item["key_id"]:
            raise TrustedKeysError(f"{path}: key {item['key_id']}: the key_id does not belong to its public_key")
        keys[item["key_id"]] = item["public_key"]
    return TrustedKeys(str(path), keys)


def _keys_note(served: dict[str, str], trusted: TrustedKeys | None) -> str:
    if trusted is None:
        return (f"Checkpoint signatures were checked against the {len(served)} key(s) that the source itself serves, "
                "not against keys you obtained elsewhere (see --trusted-keys).")
    return f"Checkpoint signatures were checked against the {len(trusted.keys)} key(s) in {trusted.origin} only."


# (municipality, seq) -> (hash, id of the checkpoint that signed it)
Required = dict[tuple[str, int], tuple[str, Any]]


def check_checkpoints(
    report: Report, checkpoints: Iterable[Any], served: dict[str, str], trusted: TrustedKeys | None, where: str
) -> Required:
    """Check every checkpoint's signature; return the heads they sign, which
    the events must still contain."""
    report.keys_note = _keys_note(served, trusted)
    keys = served if trusted is None else trusted.keys
    required: Required = {}
    for cp in checkpoints:
        report.checkpoints += 1
        if not isinstance(cp, dict):
            report.add(Finding(where, f"checkpoint number {report.checkpoints} is not a checkpoint"))
            continue
        cid, kid = cp.get("id"), cp.get("key_id")
        key = keys.get(kid) if isinstance(kid, str) else None
        if key is None:
            if isinstance(kid, str) and kid in served:
                report.add(Finding(where, f"checkpoint {cid}: signed with key {kid!r}, which the source serves "
                                          "but your trusted keys file does not list"))
            else:
                report.add(Finding(where, f"checkpoint {cid}: signed with an unknown key {kid!r}"))
            continue
        signed = cp.get("signed", "")
        if not signature_ok(key, signed, cp.get("signature", "")):
            report.add(Finding(where, f"checkpoint {cid}: the signature does not verify"))
            continue
        try:
            payload = json.loads(signed)
            heads = payload["heads"]
        except (ValueError, KeyError, TypeError):
            report.add(Finding(where, f"checkpoint {cid}: the signed text is not a checkpoint"))
            continue
        if payload.get("key_id") != kid:
            report.add(Finding(where, f"checkpoint {cid}: names another key than it was signed with"))
        for municipality, head in heads.items():
            if head["seq"] < 1:
                continue
            key_ = (municipality, head["seq"])
            known = required.get(key_)
            if known and known[0] != head["hash"]:
                report.add(Finding(where, f"checkpoints {known[1]} and {cid} disagree on {municipality} #{head['seq']}: the chain forked"))
            required[key_] = (head["hash"], cid)
    return required


# --- one segment of events, on its own ---------------------------------------------


def _link_problems(head: tuple[int, Any], seq: int, prev_hash: Any) -> list[str]:
    """``head``: (the seq expected next, the previous event's hash)."""
    problems = []
    if seq != head[0]:
        problems.append(f"has seq {seq} where {head[0]} was expected (an event is missing or out of order)")
    if prev_hash != head[1]:
        problems.append("does not link to the previous event's hash (this event or the one before was changed)")
    return problems


@dataclass
class Segment:
    """What one segment found without the events before it; small."""

    events: int = 0
    findings: list[tuple[int, Finding]] = field(default_factory=list)  # (event index in the segment, finding), the first MAX_LISTED
    total_findings: int = 0
    firsts: dict[str, tuple[int, int, Any, Any]] = field(default_factory=dict)  # municipality -> (index, seq, prev_hash, event id)
    heads: dict[str, tuple[int, Any]] = field(default_factory=dict)  # municipality -> (seq expected next, last hash)
    seen: list[tuple[str, int]] = field(default_factory=list)  # checkpointed events present
    served_differ: list[tuple[str, int, int]] = field(default_factory=list)  # (municipality, seq, id), the first MAX_SERVED_COPIES


class SegmentScan:
    """Checks the events of one segment, line by line."""

    def __init__(self, where: str, required: Required) -> None:
        self.where = where
        self.required = required
        self.segment = Segment()

    def _add(self, index: int, finding: Finding) -> None:
        s = self.segment
        s.total_findings += 1
        if len(s.findings) < MAX_LISTED:
            s.findings.append((index, finding))

    def line(self, line: bytes) -> None:
        """One event as served (its body plus "id" and "hash")."""
        if not line or line.isspace():
            return
        s = self.segment
        index = s.events
        s.events = index + 1
        try:
            doc = _decode(line)
            event_id = doc.pop("id", None)
            claimed = doc.pop("hash", None)
            municipality, seq = doc["municipality"], doc["seq"]
        except (msgspec.DecodeError, UnicodeDecodeError, _NotCanonical, KeyError, TypeError, AttributeError) as exc:
            self._add(index, Finding(self.where, f"is not a ledger event: {exc}", line=index + 1))
            return
        if not isinstance(municipality, str):
            self._add(index, Finding(self.where, "is not a ledger event: its municipality is not a string", line=index + 1))
            return
        if type(seq) is not int:
            # Not part of the chain: the event after it then breaks the link.
            self._add(index, Finding(self.where, f"has seq {seq!r}, which is not a whole number", municipality, seq, event_id))
            return
        prev_hash = doc.get("prev_hash")
        head = s.heads.get(municipality)
        if head is None:  # its link is checked when the segments are stitched together
            s.firsts[municipality] = (index, seq, prev_hash, event_id)
            problems = []
        elif seq == head[0] and prev_hash == head[1]:
            problems = []
        else:
            problems = _link_problems(head, seq, prev_hash)
        try:
            if hashlib.sha256(_canonical(doc)).hexdigest() != claimed:
                problems.append("its hash does not match its content (the event was changed)")
        except (TypeError, ValueError) as exc:
            problems.append(f"has no canonical form: {exc}")
        required = self.required.get((municipality, seq))
        if required is not None:
            s.seen.append((municipality, seq))
            if required[0] != claimed:
                problems.append(f"differs from signed checkpoint {required[1]}")
        for p in problems:
            self._add(index, Finding(self.where, p, municipality, seq, event_id))
        s.heads[municipality] = (seq + 1, claimed)

    def record_line(self, line: bytes) -> None:
        """One row of RECORD_SQL: the event rebuilt from the record, then,
        if the served copy differs from it, [municipality, seq, id]."""
        record, _, differs = line.rpartition(b"\x02")
        self.line(record)
        if differs and len(self.segment.served_differ) < MAX_SERVED_COPIES:
            municipality, seq, event_id = json.loads(differs)
            self.segment.served_differ.append((municipality, seq, event_id))


def scan_chunk(where: str, required: Required, chunk: bytes) -> Segment:
    scan = SegmentScan(where, required)
    for line in chunk.split(b"\n"):
        scan.line(line)
    return scan.segment


# --- stitching segments together ----------------------------------------------------


class Stitcher:
    """Joins the segments, in stream order, into one report."""

    def __init__(self, where: str, required: Required, report: Report) -> None:
        self.where = where
        self.required = required
        self.report = report
        self.heads: dict[str, tuple[int, Any]] = {}
        self.seen: set[tuple[str, int]] = set()
        self.served_differ: list[tuple[str, int, int]] = []

    def add(self, segment: Segment) -> None:
        offset = self.report.events
        found = [(index, 1, f) for index, f in segment.findings]
        for municipality, (index, seq, prev_hash, event_id) in segment.firsts.items():
            head = self.heads.get(municipality, (1, GENESIS))
            found += [(index, 0, Finding(self.where, p, municipality, seq, event_id))
                      for p in _link_problems(head, seq, prev_hash)]  # fmt: skip
        # The link problems of an event come before its other problems, as in one pass.
        for _, _, f in sorted(found, key=lambda t: (t[0], t[1])):
            self.report.add(f if f.line is None else replace(f, line=offset + f.line))
        self.report.total_findings += segment.total_findings - len(segment.findings)  # listed by nobody
        self.report.events += segment.events
        self.heads.update(segment.heads)
        self.seen.update(segment.seen)
        self.served_differ += segment.served_differ[: MAX_SERVED_COPIES - len(self.served_differ)]

    def finish(self) -> Report:
        already = {(f.municipality, f.seq) for f in self.report.bad_events()}
        for municipality, seq, event_id in self.served_differ:
            if (municipality, seq) not in already:  # else its record is already reported as bad
                self.report.add(Finding(self.where, "its served copy differs from the stored record", municipality, seq, event_id))
        for (municipality, seq), (_, cid) in sorted(self.required.items()):
            if (municipality, seq) not in self.seen:
                self.report.add(Finding(
                    self.where, f"was signed in checkpoint {cid} and has disappeared", municipality, seq,
                ))  # fmt: skip
        self.report.chains = {m: (h[0] - 1, h[1]) for m, h in self.heads.items()}
        return self.report


# --- worker processes -------------------------------------------------------------------


@dataclass
class _Job:
    where: str
    required: Required
    database_url: str | None = None
    snapshot: str | None = None


_job: _Job | None = None
_worker_db: tuple[asyncio.AbstractEventLoop, Any] | None = None


def _start_worker(job: _Job) -> None:
    global _job
    _job = job


def _chunk_task(chunk: bytes) -> Segment:
    assert _job is not None
    return scan_chunk(_job.where, _job.required, chunk)


def _range_task(lo: int, hi: int) -> Segment:
    """A worker's id range, read over its own connection in the main
    process's snapshot (opened once per worker, on its first range)."""
    global _worker_db
    assert _job is not None
    if _worker_db is None:
        loop = asyncio.new_event_loop()
        conn = loop.run_until_complete(_snapshot_connection(_job.database_url, _job.snapshot))
        multiprocessing.util.Finalize(None, lambda: loop.run_until_complete(conn.close()), exitpriority=10)
        _worker_db = (loop, conn)
    loop, conn = _worker_db
    return loop.run_until_complete(_scan_range(conn, _job.where, _job.required, lo, hi))


async def _snapshot_connection(url: str | None, snapshot: str | None):
    import asyncpg

    conn = await asyncpg.connect(url)
    await conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
    await conn.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")  # an id from pg_export_snapshot(): [0-9A-F-]
    return conn


def _pool(workers: int, job: _Job) -> ProcessPoolExecutor:
    # spawn, not fork: the caller may hold threads, connections and an event loop.
    return ProcessPoolExecutor(workers, multiprocessing.get_context("spawn"), initializer=_start_worker, initargs=(job,))


def _done(value: Any) -> Future:
    f: Future = Future()
    f.set_result(value)
    return f


def _in_order(submit: Callable[[Any], Future], items: Iterator[Any], in_flight: int) -> Iterator[Any]:
    """Results of submit(item) in the order of the items, with at most
    ``in_flight`` submitted and not yet taken (bounded memory). If reading the
    items fails, the results before the failure come out first."""
    pending: deque[Future] = deque()
    while True:
        try:
            item = next(items)
        except StopIteration:
            break
        except BaseException:
            while pending:
                yield pending.popleft().result()
            raise
        pending.append(submit(item))
        if len(pending) >= in_flight:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


# --- sources -----------------------------------------------------------------------


# Each event rebuilt from the record (registry.store.events.RECORD_EVENT_SQL)
# and, only where the served copy (events.doc, written by that same
# expression) differs from it, [municipality, seq, id]: one scan checks both,
# text for text. OFFSET 0 keeps the subquery whole, so that the record is
# printed once per row. PostgreSQL CPU for 516,542 events (load 4-5): this
# 3.3-3.6 s; the record alone 3.1-3.2 s; the former separate check
# (doc::jsonb <> record, a second scan) another 3.6-3.9 s. Sending body::text
# and taking id and hash out of doc with text functions instead saves ~4% of
# the whole run's CPU, but would also accept a copy whose "hash" member was
# moved: not worth it.
RECORD_SQL = """
SELECT r, CASE WHEN doc <> r THEN json_build_array(municipality_code, seq, id)::text END
FROM (
    SELECT id, municipality_code, seq, doc, ({record})::text AS r
    FROM events WHERE id >= $1 AND id < $2 ORDER BY id OFFSET 0
) s
"""


async def _scan_range(conn, where: str, required: Required, lo: int, hi: int) -> Segment:
    from registry.opendata.streams import COPY_TIMEOUT
    from registry.store.events import RECORD_EVENT_SQL

    scan = SegmentScan(where, required)
    rest = b""

    async def sink(data: bytes) -> None:
        nonlocal rest
        lines = (rest + data).split(b"\n")
        rest = lines.pop()
        for line in lines:
            scan.record_line(line)
        if len(data) < COPY_PIECE:
            # asyncpg hands COPY data over as it arrives, in ~8 kB pieces when
            # PostgreSQL is the slower side, each a round of the event loop
            # (~3 µs of CPU per event). Waiting a moment lets the socket fill:
            # pieces of ~140 kB, ~0.6 µs per event, and PostgreSQL gets the CPU.
            await asyncio.sleep(COPY_NAP_S)

    # Control characters as quote and delimiter: each value verbatim (see streams.copy_lines).
    sql = RECORD_SQL.format(record=RECORD_EVENT_SQL)
    await conn.copy_from_query(sql, lo, hi, output=sink, format="csv", quote="\x01", delimiter="\x02", timeout=COPY_TIMEOUT)
    if rest:
        scan.record_line(rest)
    return scan.segment


def _ranges(first: int | None, last: int | None, size: int) -> Iterator[tuple[int, int]]:
    if first is None or last is None:
        return
    for lo in range(first, last + 1, size):
        yield lo, min(lo + size, last + 1)


async def verify_database(
    conn, *, url: str | None = None, workers: int = 1, segment_ids: int = SEGMENT_IDS, trusted: TrustedKeys | None = None
) -> Report:
    """Everything in one read-only snapshot of the database. With more than
    one worker, each reads its id ranges over its own connection to ``url``,
    in the snapshot of ``conn``."""
    if workers > 1 and not url:
        raise ValueError("verifying the database with several workers needs its URL")
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        served = {r["key_id"]: r["public_key"] for r in await conn.fetch("SELECT key_id, public_key FROM ledger_keys")}
        cps = [dict(r) for r in await conn.fetch("SELECT id, key_id, signed, signature FROM ledger_checkpoints ORDER BY id")]
        report = Report()
        required = check_checkpoints(report, cps, served, trusted, "database checkpoints")
        stitcher = Stitcher("database", required, report)
        first, last = await conn.fetchrow("SELECT min(id), max(id) FROM events")
        ranges = _ranges(first, last, segment_ids)
        if workers <= 1:
            for lo, hi in ranges:
                stitcher.add(await _scan_range(conn, "database", required, lo, hi))
            return stitcher.finish()
        job = _Job("database", required, url, await conn.fetchval("SELECT pg_export_snapshot()"))
        with _pool(workers, job) as pool:
            pending: deque[Future] = deque()
            try:
                for lo, hi in ranges:
                    pending.append(pool.submit(_range_task, lo, hi))
                    if len(pending) >= 2 * workers:
                        stitcher.add(await asyncio.wrap_future(pending.popleft()))
                while pending:
                    stitcher.add(await asyncio.wrap_future(pending.popleft()))
            finally:
                for f in pending:
                    f.cancel()
        return stitcher.finish()


def _line_chunks(pieces: Iterable[bytes], size: int) -> Iterator[bytes]:
    """Re-cut a byte stream into chunks that end at a line end, each the
    shortest such of at least ``size`` bytes (the last one may be shorter).
    If reading the stream fails, the whole lines before the failure come
    out first, then the error."""
    held: list[memoryview] = []
    n = 0
    pieces = iter(pieces)
    while True:
        try:
            piece = next(pieces)
        except StopIteration:
            break
        except Exception:
            whole = b"".join(held)
            if cut := whole.rfind(b"\n") + 1:
                yield whole[:cut]
            raise
        view, start = memoryview(piece), 0
        while n + len(piece) - start >= size:
            cut = piece.find(b"\n", max(start, start + size - n - 1)) + 1
            if cut == 0:
                break
            held.append(view[start:cut])
            yield b"".join(held)
            held, n, start = [], 0, cut
        if start < len(piece):
            held.append(view[start:])
            n += len(piece) - start
    if held:
        yield b"".join(held)


def _verify_stream(stitcher: Stitcher, pieces: Iterable[bytes], workers: int, chunk_bytes: int) -> None:
    """NDJSON events from ``pieces`` (read here, e.g. decompressed: zlib and
    sockets release the GIL), checked in chunks by ``workers`` processes."""
    chunks = _line_chunks(pieces, chunk_bytes)
    where, required = stitcher.where, stitcher.required
    if workers <= 1:
        for segment in _in_order(lambda c: _done(scan_chunk(where, required, c)), chunks, 1):
            stitcher.add(segment)
        return
    with _pool(workers, _Job(where, required)) as pool:
        for segment in _in_order(lambda c: pool.submit(_chunk_task, c), chunks, 2 * workers):
            stitcher.add(segment)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _read_gz(path: Path) -> Iterator[bytes]:
    # ISA-L: a quarter of zlib's CPU (0.24 s instead of 0.92 s for 345 MB of
    # events), which the main process spends while the workers check. read1:
    # what one step of decompression gives, so that little before a damaged
    # place is lost.
    with igzip.open(path, "rb") as f:
        while chunk := f.read1(1 << 20):
            yield chunk


def _lines_from_chunks(chunks: Iterable[bytes]) -> Iterator[bytes]:
    rest = b""
    for chunk in chunks:
        parts = (rest + chunk).split(b"\n")
        rest = parts.pop()
        yield from parts
    if rest:
        yield rest


def verify_dump(
    directory: Path, *, workers: int = 1, trusted: TrustedKeys | None = None, chunk_bytes: int = CHUNK_BYTES
) -> Report:
    manifest_path = directory / "manifest.json"
    report = Report()
    if not manifest_path.exists():
        report.add(Finding(str(directory), "no manifest.json: not a registry dump"))
        return report
    try:
        listed = [(f["name"], f["bytes"], f["sha256"]) for f in json.loads(manifest_path.read_bytes())["files"]]
    except (ValueError, KeyError, TypeError) as exc:
        report.add(Finding("manifest.json", f"cannot be read: {exc!r}"))
        listed = []
    for name, size, digest in listed:
        path = directory / name
        if not path.exists():
            report.add(Finding(name, "is listed in manifest.json but missing"))
        elif path.stat().st_size != size or _sha256(path) != digest:
            report.add(Finding(name, "its SHA-256 differs from manifest.json (the file was changed)"))
    try:
        served = {k["key_id"]: k["public_key"] for k in json.loads((directory / "ledger-keys.json").read_text())["keys"]}
        cps = [json.loads(line) for line in _lines_from_chunks(_read_gz(directory / "ledger-checkpoints.ndjson.gz")) if line.strip()]
    except (OSError, ValueError, KeyError) as exc:
        report.add(Finding("ledger-checkpoints.ndjson.gz", f"cannot be read: {exc}"))
        served, cps = {}, []
    required = check_checkpoints(report, cps, served, trusted, "ledger-checkpoints.ndjson.gz")
    stitcher = Stitcher("events.ndjson.gz", required, report)
    try:
        _verify_stream(stitcher, _read_gz(directory / "events.ndjson.gz"), workers, chunk_bytes)
    except (OSError, EOFError, isal_zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        report.add(Finding("events.ndjson.gz", f"cannot be read: {exc}"))
    return stitcher.finish()


def verify_url(
    base: str, timeout: float = 60, *, workers: int = 1, trusted: TrustedKeys | None = None, chunk_bytes: int = CHUNK_BYTES
) -> Report:
    """A live registry over HTTP(S), with the standard library only."""
    from urllib.request import Request, urlopen

    base = base.rstrip("/")
    if base.endswith("/api/v1"):
        base = base[: -len("/api/v1")]

    def get_json(url: str) -> Any:
        with urlopen(Request(url, headers={"Accept": "application/json"}), timeout=timeout) as r:
            return json.load(r)

    served = {k["key_id"]: k["public_key"] for k in get_json(f"{base}/api/v1/ledger/keys")["keys"]}
    cps, url = [], f"{base}/api/v1/ledger/checkpoints?limit=1000"
    while url:
        page = get_json(url)
        cps += page["items"]
        url = page.get("next")
    report = Report()
    required = check_checkpoints(report, cps, served, trusted, f"{base}/api/v1/ledger/checkpoints")
    stitcher = Stitcher(f"{base}/api/v1/exports/events.ndjson", required, report)

    def pieces() -> Iterator[bytes]:
        with urlopen(f"{base}/api/v1/exports/events.ndjson", timeout=timeout) as r:
            while chunk := r.read(1 << 20):
                yield chunk

    _verify_stream(stitcher, pieces(), workers, chunk_bytes)
    return stitcher.finish()
