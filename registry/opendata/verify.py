"""``registry verify``: recompute every hash, check every chain link and
every checkpoint signature, and that no checkpointed event has disappeared.

One verifier, three sources: the database, a dump directory, a live registry
URL. Each feeds it the public events as NDJSON lines (exactly what
/api/v1/exports/events.ndjson serves) plus the checkpoints and keys.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from registry.ledger import GENESIS
from registry.opendata.checkpoints import signature_ok


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

    def __str__(self) -> str:
        if self.municipality is not None:
            ident = f" (event id {self.event_id})" if self.event_id is not None else ""
            return f"{self.where}: {self.municipality} #{self.seq}{ident}: {self.message}"
        return f"{self.where}: {self.message}"


@dataclass
class Report:
    events: int = 0
    chains: dict[str, tuple[int, str]] = field(default_factory=dict)
    checkpoints: int = 0
    findings: list[Finding] = field(default_factory=list)
    total_findings: int = 0

    @property
    def ok(self) -> bool:
        return self.total_findings == 0

    def add(self, finding: Finding) -> None:
        self.total_findings += 1
        if len(self.findings) < 100:
            self.findings.append(finding)

    def bad_events(self) -> list[Finding]:
        return [f for f in self.findings if f.municipality is not None]

    def summary(self) -> str:
        lines = [
            f"{self.events} events in {len(self.chains)} chains, {self.checkpoints} checkpoints checked.",
        ]
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


class Verifier:
    def __init__(self, where: str = "events") -> None:
        self.where = where
        self.report = Report()
        self.heads: dict[str, list] = {}  # municipality -> [next seq, previous hash]
        self.required: dict[tuple[str, int], tuple[str, int]] = {}  # (municipality, seq) -> (hash, checkpoint id)
        self.seen_required: set[tuple[str, int]] = set()

    # --- checkpoints first, so that the event pass can check them -------------

    def checkpoints(self, checkpoints: Iterable[dict[str, Any]], keys: dict[str, str], where: str = "checkpoints") -> None:
        for cp in checkpoints:
            self.report.checkpoints += 1
            cid = cp.get("id")
            key = keys.get(cp.get("key_id", ""))
            if key is None:
                self.report.add(Finding(where, f"checkpoint {cid}: signed with an unknown key {cp.get('key_id')!r}"))
                continue
            signed = cp.get("signed", "")
            if not signature_ok(key, signed, cp.get("signature", "")):
                self.report.add(Finding(where, f"checkpoint {cid}: the signature does not verify"))
                continue
            try:
                payload = json.loads(signed)
                heads = payload["heads"]
            except (ValueError, KeyError, TypeError):
                self.report.add(Finding(where, f"checkpoint {cid}: the signed text is not a checkpoint"))
                continue
            if payload.get("key_id") != cp.get("key_id"):
                self.report.add(Finding(where, f"checkpoint {cid}: names another key than it was signed with"))
            for municipality, head in heads.items():
                if head["seq"] < 1:
                    continue
                key_ = (municipality, head["seq"])
                known = self.required.get(key_)
                if known and known[0] != head["hash"]:
                    self.report.add(Finding(where, f"checkpoints {known[1]} and {cid} disagree on {municipality} #{head['seq']}: the chain forked"))
                self.required[key_] = (head["hash"], cid)

    # --- events ------------------------------------------------------------------

    def line(self, line: bytes) -> None:
        if not line.strip():
            return
        self.report.events += 1
        try:
            doc = _decode(line)
            event_id = doc.pop("id", None)
            claimed = doc.pop("hash", None)
            municipality, seq = doc["municipality"], doc["seq"]
        except (msgspec.DecodeError, _NotCanonical, KeyError, TypeError, AttributeError) as exc:
            self.report.add(Finding(self.where, f"line {self.report.events} is not a ledger event: {exc}"))
            return
        head = self.heads.get(municipality)
        if head is None:
            head = self.heads[municipality] = [1, GENESIS]
        problems = []
        if seq != head[0]:
            problems.append(f"has seq {seq} where {head[0]} was expected (an event is missing or out of order)")
        if doc.get("prev_hash") != head[1]:
            problems.append("does not link to the previous event's hash (this event or the one before was changed)")
        try:
            if hashlib.sha256(_canonical(doc)).hexdigest() != claimed:
                problems.append("its hash does not match its content (the event was changed)")
        except (TypeError, ValueError) as exc:
            problems.append(f"has no canonical form: {exc}")
        required = self.required.get((municipality, seq))
        if required is not None:
            self.seen_required.add((municipality, seq))
            if required[0] != claimed:
                problems.append(f"differs from signed checkpoint {required[1]}")
        for p in problems:
            self.report.add(Finding(self.where, p, municipality, seq, event_id))
        head[0] = (seq if isinstance(seq, int) else head[0]) + 1
        head[1] = claimed

    def finish(self) -> Report:
        for (municipality, seq), (digest, cid) in sorted(self.required.items()):
            if (municipality, seq) not in self.seen_required:
                self.report.add(Finding(
                    self.where, f"was signed in checkpoint {cid} and has disappeared", municipality, seq,
                ))  # fmt: skip
        self.report.chains = {m: (h[0] - 1, h[1]) for m, h in self.heads.items()}
        return self.report


def _lines_from_chunks(chunks: Iterable[bytes]) -> Iterator[bytes]:
    rest = b""
    for chunk in chunks:
        parts = (rest + chunk).split(b"\n")
        rest = parts.pop()
        yield from parts
    if rest:
        yield rest


# --- sources -----------------------------------------------------------------------


async def verify_database(conn) -> Report:
    """Everything in one read-only snapshot of the database."""
    from registry.opendata import exports, streams

    async with conn.transaction(isolation="repeatable_read", readonly=True):
        keys = {r["key_id"]: r["public_key"] for r in await conn.fetch("SELECT key_id, public_key FROM ledger_keys")}
        cps = [dict(r) for r in await conn.fetch("SELECT id, key_id, signed, signature FROM ledger_checkpoints ORDER BY id")]
        v = Verifier("database")
        v.checkpoints(cps, keys, "database checkpoints")
        async for line in streams.lines(exports.events_ndjson(conn, record=True)):
            v.line(line)
        # The served copy of each event (events.doc) must say what the record says.
        differs = await conn.fetch(
            "SELECT id, municipality_code, seq FROM events"
            " WHERE doc::jsonb <> body || jsonb_build_object('id', id, 'hash', hash) ORDER BY id LIMIT 10"
        )
        already = {(f.municipality, f.seq) for f in v.report.bad_events()}
        for r in differs:
            if (r["municipality_code"], r["seq"]) in already:
                continue  # its record is already reported as bad
            v.report.add(Finding("database", "its served copy differs from the stored record",
                                 r["municipality_code"], r["seq"], r["id"]))
        return v.finish()


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _read_gz(path: Path) -> Iterator[bytes]:
    with gzip.open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            yield chunk


def verify_dump(directory: Path) -> Report:
    manifest_path = directory / "manifest.json"
    v = Verifier("events.ndjson.gz")
    if not manifest_path.exists():
        v.report.add(Finding(str(directory), "no manifest.json: not a registry dump"))
        return v.finish()
    manifest = json.loads(manifest_path.read_text())
    for f in manifest.get("files", []):
        path = directory / f["name"]
        if not path.exists():
            v.report.add(Finding(f["name"], "is listed in manifest.json but missing"))
        elif path.stat().st_size != f["bytes"] or _sha256(path) != f["sha256"]:
            v.report.add(Finding(f["name"], "its SHA-256 differs from manifest.json (the file was changed)"))
    try:
        keys = {k["key_id"]: k["public_key"] for k in json.loads((directory / "ledger-keys.json").read_text())["keys"]}
        cps = [json.loads(line) for line in _lines_from_chunks(_read_gz(directory / "ledger-checkpoints.ndjson.gz")) if line.strip()]
    except (OSError, ValueError, KeyError) as exc:
        v.report.add(Finding("ledger-checkpoints.ndjson.gz", f"cannot be read: {exc}"))
        keys, cps = {}, []
    v.checkpoints(cps, keys, "ledger-checkpoints.ndjson.gz")
    try:
        for line in _lines_from_chunks(_read_gz(directory / "events.ndjson.gz")):
            v.line(line)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        v.report.add(Finding("events.ndjson.gz", f"cannot be read: {exc}"))
    return v.finish()


def verify_url(base: str, timeout: float = 60) -> Report:
    """A live registry over HTTP(S), with the standard library only."""
    from urllib.request import Request, urlopen

    base = base.rstrip("/")
    if base.endswith("/api/v1"):
        base = base[: -len("/api/v1")]

    def get_json(url: str) -> Any:
        with urlopen(Request(url, headers={"Accept": "application/json"}), timeout=timeout) as r:
            return json.load(r)

    keys = {k["key_id"]: k["public_key"] for k in get_json(f"{base}/api/v1/ledger/keys")["keys"]}
    cps, url = [], f"{base}/api/v1/ledger/checkpoints?limit=1000"
    while url:
        page = get_json(url)
        cps += page["items"]
        url = page.get("next")
    v = Verifier(f"{base}/api/v1/exports/events.ndjson")
    v.checkpoints(cps, keys, f"{base}/api/v1/ledger/checkpoints")

    def chunks() -> Iterator[bytes]:
        with urlopen(f"{base}/api/v1/exports/events.ndjson", timeout=timeout) as r:
            while chunk := r.read(1 << 20):
                yield chunk

    for line in _lines_from_chunks(chunks()):
        v.line(line)
    return v.finish()


