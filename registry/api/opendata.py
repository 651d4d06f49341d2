"""/api/v1 routes of the open-data area: discovery, exports, OCDS, feeds,
catalogue, statistics and the signed ledger. Thin: the work is in registry.opendata."""

# No `from __future__ import annotations`: Litestar reads the types at runtime.
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import asyncpg
import msgspec
from litestar import Request, Response, get, post
from litestar.background_tasks import BackgroundTask
from litestar.di import NamedDependency
from litestar.params import PathParameter, QueryParameter
from litestar.response import File, Stream

from registry.api.problems import responses
from registry.api.responses import json_response, link_header, next_url
from registry.db import UNAVAILABLE_ERRORS, DatabaseUnavailable, Db
from registry.errors import Forbidden, NotFound
from registry.opendata import LICENCE_URL, catalog, checkpoints, dump, exports, feeds, ocds, stats
from registry.settings import ROOT
from registry.store import catalog as catalog_store
from registry.store import challenges as challenge_store
from registry.store.tokens import Actor
from registry.workflow.fields import MAX_INT

CODE = r"^GM[0-9]{4}$"
REF = r"^GM[0-9]{4}-[0-9]{4}-[0-9]{4,6}$"
OCID = r"^ocds-[A-Za-z0-9]{6}-GM[0-9]{4}-[0-9]{4}-[0-9]{4,6}$"
Category = Literal[catalog_store.CATEGORIES]  # type: ignore[valid-type]
Municipality = Annotated[str | None, QueryParameter(pattern=CODE, description="A CBS municipality code such as GM0363")]
UpdatedSince = Annotated[
    datetime | None,
    QueryParameter(description="Only what changed at or after this time (RFC 3339; UTC if no offset)"),
]
LICENCE_LINK = {"Link": f'<{LICENCE_URL}>; rel="license"'}


def _base(request: Request) -> str:
    return request.app.state.settings.base_url.rstrip("/")


def _now(request: Request) -> datetime:
    return request.app.state.clock()


# --- discovery ------------------------------------------------------------------


@get("/", operation_id="getDiscovery", tags=["open data"], responses=responses(503))
async def discovery(request: Request) -> Response[dict[str, Any]]:
    """The discovery document: every endpoint with its formats, the licence and the API version."""
    doc = request.app.openapi_schema.to_schema()
    return json_response(request, catalog.discovery(_base(request), request.app.openapi_config.version, doc))


# --- streamed exports -----------------------------------------------------------


class _Lease:
    """A pooled connection held for the length of a download, in a read-only
    snapshot; released when the stream ends, fails or the client goes away."""

    def __init__(self, db: Db, conn: asyncpg.Connection, tr) -> None:
        self.db, self.conn, self.tr, self.closed = db, conn, tr, False
        self.stream = None

    async def close(self) -> None:
        if self.closed:
            return
        if self.stream is not None:
            try:
                await self.stream.aclose()
            except Exception:  # noqa: BLE001 - closing anyway
                pass
        try:
            await self.tr.rollback()
        except Exception:  # noqa: BLE001 - a broken connection is reset by the pool
            pass
        self.closed = True
        await self.db.pool.release(self.conn)


async def _lease(db: Db) -> _Lease:
    try:
        conn = await db.pool.acquire(timeout=db.timeout)
    except UNAVAILABLE_ERRORS as exc:
        raise DatabaseUnavailable(str(exc) or type(exc).__name__) from exc
    tr = conn.transaction(isolation="repeatable_read", readonly=True)
    try:
        await tr.start()
    except BaseException:
        await db.pool.release(conn)
        raise
    return _Lease(db, conn, tr)


async def _stream(db: Db, make, media_type: str, filename: str) -> Stream:
    lease = await _lease(db)

    async def body():
        try:
            async for chunk in make(lease.conn):
                yield chunk
        finally:
            await lease.close()

    lease.stream = None  # body() closes itself; the background task covers a stream never started
    gen = body()

    async def cleanup() -> None:
        lease.stream = gen
        await lease.close()

    return Stream(
        gen,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-cache", **LICENCE_LINK},
        background=BackgroundTask(cleanup),
    )


STREAM_ERRORS = responses(400, 503)


@get("/exports/challenges.csv", operation_id="exportChallengesCsv", tags=["open data"], responses=STREAM_ERRORS,
     media_type="text/csv; charset=utf-8; header=present")  # fmt: skip
async def export_challenges_csv(request: Request, db: NamedDependency[Db], municipality: Municipality = None,
                                updated_since: UpdatedSince = None) -> Stream:  # fmt: skip
    """Every public challenge as CSV (RFC 4180, UTF-8, header row), streamed. Licence CC0-1.0."""
    f = exports.Filter.of(municipality, updated_since)
    base, now = _base(request), _now(request)
    return await _stream(db, lambda conn: exports.challenges_csv(conn, f, base, now), "text/csv; charset=utf-8; header=present", "challenges.csv")


@get("/exports/challenges.ndjson", operation_id="exportChallengesNdjson", tags=["open data"], responses=STREAM_ERRORS,
     media_type="application/x-ndjson")  # fmt: skip
async def export_challenges_ndjson(request: Request, db: NamedDependency[Db], municipality: Municipality = None,
                                   updated_since: UpdatedSince = None) -> Stream:  # fmt: skip
    """Every public challenge, one JSON object a line (as GET /challenges/{ref}), streamed. Licence CC0-1.0."""
    f = exports.Filter.of(municipality, updated_since)
    base, now = _base(request), _now(request)
    return await _stream(db, lambda conn: exports.challenges_ndjson(conn, f, base, now), "application/x-ndjson", "challenges.ndjson")


@get("/exports/events.ndjson", operation_id="exportEventsNdjson", tags=["open data"], responses=STREAM_ERRORS,
     media_type="application/x-ndjson")  # fmt: skip
async def export_events_ndjson(request: Request, db: NamedDependency[Db], municipality: Municipality = None,
                               updated_since: UpdatedSince = None) -> Stream:  # fmt: skip
    """Every public event of the ledger in global order, one JSON object a line, streamed. Licence CC0-1.0."""
    f = exports.Filter.of(municipality, updated_since)
    return await _stream(db, lambda conn: exports.events_ndjson(conn, f), "application/x-ndjson", "events.ndjson")


def _dumps_dir(request: Request) -> Path:
    return request.app.state.settings.data_dir / "exports"


@get("/exports", operation_id="listExports", tags=["open data"], responses=responses(503))
async def list_exports(request: Request) -> Response[dict[str, Any]]:
    """What can be downloaded: the live streamed exports, and the dated dumps with sizes and SHA-256 checksums."""
    base = _base(request)
    dumps = []
    for m in dump.list_dumps(_dumps_dir(request)):
        files = [{**f, "url": f"{base}/api/v1/exports/dumps/{m['name']}/{f['name']}"} for f in m.get("files", [])]
        dumps.append({**m, "manifest": f"{base}/api/v1/exports/dumps/{m['name']}/manifest.json", "files": files})
    live = [
        {"name": name, "url": f"{base}/api/v1/exports/{name}", "media_type": media, "filters": ["municipality", "updated_since"],
         "note": "streamed live; size and checksum are in the dumps"}
        for name, media in (("challenges.csv", "text/csv"), ("challenges.ndjson", "application/x-ndjson"),
                            ("events.ndjson", "application/x-ndjson"))
    ]  # fmt: skip
    return json_response(request, {"licence": {"id": "CC0-1.0", "url": LICENCE_URL}, "live": live, "dumps": dumps})


DumpName = Annotated[str, PathParameter(pattern=dump.DUMP_NAME.pattern, description="A dump's name")]
DumpFile = Annotated[str, PathParameter(pattern=r"^[a-zA-Z0-9.-]{1,64}$", description="A file of the dump")]


@get("/exports/dumps/{name:str}/{file_name:str}", operation_id="getDumpFile", tags=["open data"], responses=responses(400, 404))
async def get_dump_file(request: Request, name: DumpName, file_name: DumpFile) -> File:
    """One file of a dated dump (listed in its manifest.json)."""
    directory = _dumps_dir(request) / name
    manifest = directory / "manifest.json"
    if not manifest.is_file():
        raise NotFound(f"There is no dump {name}.")
    listed = {f["name"] for f in msgspec.json.decode(manifest.read_bytes()).get("files", [])} | {"manifest.json"}
    if file_name not in listed or not (directory / file_name).is_file():
        raise NotFound(f"The dump {name} has no file {file_name}.")
    # A .gz file is served as what it is (application/gzip), not with a
    # Content-Encoding that clients would silently undo.
    media = "application/gzip" if file_name.endswith(".gz") else "application/json" if file_name.endswith(".json") else "text/plain; charset=utf-8"
    return File(directory / file_name, filename=file_name, media_type=media, headers=LICENCE_LINK)


# --- OCDS -----------------------------------------------------------------------


def _prefix(request: Request) -> str:
    return request.app.state.settings.ocid_prefix


@get("/ocds/releases", operation_id="listOcdsReleases", tags=["open data"], responses=responses(400, 503))
async def ocds_releases(
    request: Request,
    db: NamedDependency[Db],
    after: Annotated[int, QueryParameter(ge=0, le=MAX_INT, description="The last event id you have")] = 0,
    limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
    municipality: Municipality = None,
) -> Response[dict[str, Any]]:
    """OCDS 1.1 release packages, one release per event about a challenge, in pages (follow ``links.next``)."""
    async with db.connection() as conn:
        rows = await ocds.releases_after(conn, after, limit, municipality)
    base = _base(request)
    nxt = next_url(request, base, after=rows[-1]["id"], limit=limit) if len(rows) == limit else None
    package = ocds.package_header(base, str(request.url), _now(request))
    package["releases"] = [ocds.release(r, _prefix(request)) for r in rows]
    if nxt:
        package["links"] = {"next": nxt}
    links = [link_header(nxt)["Link"]] if nxt else []
    return json_response(request, package, headers={"Link": ", ".join([*links, LICENCE_LINK["Link"]])})


@get("/ocds/records/{ocid:str}", operation_id="getOcdsRecord", tags=["open data"], responses=responses(400, 404, 503))
async def ocds_record(
    request: Request, db: NamedDependency[Db], ocid: Annotated[str, PathParameter(pattern=OCID, description="prefix + reference")]
) -> Response[dict[str, Any]]:
    """An OCDS 1.1 record package for one challenge: all its releases and the compiled release."""
    prefix = _prefix(request)
    ref = ocid[len(prefix) + 1 :] if ocid.startswith(prefix + "-") else None
    async with db.connection() as conn:
        row = await challenge_store.public_detail(conn, ref) if ref else None
        releases = await ocds.challenge_releases(conn, row["id"], prefix) if row else []
    if not releases:
        raise NotFound(f"There is no contracting process {ocid}.")
    package = ocds.package_header(_base(request), str(request.url), _now(request))
    package["records"] = [ocds.record(releases)]
    return json_response(request, package, headers=LICENCE_LINK)


@get("/ocds/extension/extension.json", operation_id="getOcdsExtension", tags=["open data"])
async def ocds_extension(request: Request) -> Response[dict[str, Any]]:
    """The local OCDS extension's metadata."""
    return json_response(request, ocds.extension_json(_base(request)))


@get("/ocds/extension/release-schema.json", operation_id="getOcdsExtensionSchema", tags=["open data"])
async def ocds_extension_schema(request: Request) -> Response[dict[str, Any]]:
    """The local OCDS extension's release schema patch."""
    return json_response(request, ocds.release_schema())


@get("/ocds/extension/codelists/{name:str}", operation_id="getOcdsExtensionCodelist", tags=["open data"],
     responses=responses(400, 404), media_type="text/csv; charset=utf-8")  # fmt: skip
async def ocds_extension_codelist(name: Annotated[str, PathParameter(pattern=r"^\+?[A-Za-z]{1,40}\.csv$")]) -> Response[bytes]:
    """A codelist of the local extension (``+partyRole.csv`` adds the challenger role)."""
    if name != "+partyRole.csv":
        raise NotFound(f"The extension has no codelist {name}.")
    return Response(ocds.PARTY_ROLE_CSV.encode(), media_type="text/csv; charset=utf-8")


@get("/ocds/extension/docs", operation_id="getOcdsMapping", tags=["open data"], media_type="text/markdown; charset=utf-8")
async def ocds_docs() -> Response[bytes]:
    """How the registry maps onto OCDS (docs/ocds-mapping.md)."""
    path = ROOT / "docs" / "ocds-mapping.md"
    text = path.read_bytes() if path.is_file() else b"# OCDS mapping\n\nSee docs/ocds-mapping.md in the registry's source.\n"
    return Response(text, media_type="text/markdown; charset=utf-8")


# --- feeds ----------------------------------------------------------------------

ATOM = "application/atom+xml"


def _atom(request: Request, events, title: str) -> Response[bytes]:
    base = _base(request)
    body = feeds.atom(events, base=base, self_url=f"{base}{request.url.path}", title=title,
                      feed_id=f"{base}{request.url.path}", now=_now(request))  # fmt: skip
    return Response(body, media_type=ATOM, headers={"Cache-Control": "public, max-age=60"})


@get("/feeds/events.atom", operation_id="getEventsFeed", tags=["open data"], responses=responses(503), media_type=ATOM)
async def feed_all(request: Request, db: NamedDependency[Db]) -> Response[bytes]:
    """An Atom feed of the newest events of every municipality."""
    async with db.connection() as conn:
        events = await feeds.latest_events(conn)
    return _atom(request, events, "Right-to-Challenge Registry: all events")


@get("/feeds/municipalities/{code:str}/events.atom", operation_id="getMunicipalityFeed", tags=["open data"],
     responses=responses(400, 404, 503), media_type=ATOM)  # fmt: skip
async def feed_municipality(request: Request, db: NamedDependency[Db], code: Annotated[str, PathParameter(pattern=CODE)]) -> Response[bytes]:
    """An Atom feed of one municipality's newest events."""
    async with db.connection() as conn:
        row = await catalog_store.get_municipality(conn, code)
        if row is None:
            raise NotFound(f"There is no municipality {code}.")
        events = await feeds.latest_events(conn, municipality=code)
    return _atom(request, events, f"Right-to-Challenge Registry: {row['name']}")


@get("/feeds/challenges/{ref:str}/events.atom", operation_id="getChallengeFeed", tags=["open data"],
     responses=responses(400, 404, 503), media_type=ATOM)  # fmt: skip
async def feed_challenge(request: Request, db: NamedDependency[Db], ref: Annotated[str, PathParameter(pattern=REF)]) -> Response[bytes]:
    """An Atom feed of one challenge's events: subscribe to follow it."""
    async with db.connection() as conn:
        row = await challenge_store.public_detail(conn, ref)
        if row is None:
            raise NotFound(f"There is no public challenge {ref}.")
        events = await feeds.latest_events(conn, challenge_id=row["id"])
    return _atom(request, events, f"{ref}: {row['title']}")


# --- catalogue and statistics ---------------------------------------------------


@get("/catalog", operation_id="getCatalog", tags=["open data"], responses=responses(503), media_type="application/ld+json")
async def get_catalog(request: Request, db: NamedDependency[Db]) -> Response[dict[str, Any]]:
    """The DCAT-AP-DONL catalogue of the registry's datasets (JSON-LD)."""
    async with db.connection() as conn:
        munis = [(r["code"], r["name"]) for r in await catalog_store.list_municipalities(conn)]
        modified = await conn.fetchval("SELECT max(updated_at) FROM challenges WHERE state <> 'draft'")
    doc = catalog.catalog(_base(request), munis, modified or _now(request))
    return Response(doc, media_type="application/ld+json", headers=LICENCE_LINK)


@get("/stats", operation_id="getStats", tags=["open data"], responses=responses(400, 503))
async def get_stats(
    request: Request,
    db: NamedDependency[Db],
    municipality: Municipality = None,
    category: Annotated[Category | None, QueryParameter()] = None,
    year: Annotated[int | None, QueryParameter(ge=2000, le=2200, description="Year of submission")] = None,
) -> Response[stats.Stats]:
    """Counts per state, outcomes, rejection grounds, days to decision, deadline compliance, overdue
    challenges and budget transferred, computed from the event log."""
    async with db.connection() as conn:
        result = await stats.cached(request.app.state, conn, municipality, category, year, _now(request))
    return json_response(request, result)


# --- the signed ledger ------------------------------------------------------------


@get("/ledger/keys", operation_id="listLedgerKeys", tags=["ledger"], responses=responses(503))
async def ledger_keys(request: Request, db: NamedDependency[Db]) -> Response[dict[str, Any]]:
    """The Ed25519 public keys that sign checkpoints (old ones stay listed)."""
    key = checkpoints.current_key(request.app.state)
    async with db.connection() as conn:
        current = await checkpoints.register_key(conn, key)
        found = await checkpoints.keys(conn, current)
    return json_response(request, {"algorithm": "Ed25519", "current": current, "keys": found})


@get("/ledger/checkpoints", operation_id="listLedgerCheckpoints", tags=["ledger"], responses=responses(400, 503))
async def ledger_checkpoints(
    request: Request,
    db: NamedDependency[Db],
    after: Annotated[int, QueryParameter(ge=0, le=MAX_INT, description="The last checkpoint id you have")] = 0,
    limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
) -> Response[dict[str, Any]]:
    """Signed checkpoints, oldest first, in pages."""
    async with db.connection() as conn:
        items = await checkpoints.list_after(conn, after, limit)
    nxt = next_url(request, _base(request), after=items[-1].id, limit=limit) if len(items) == limit else None
    return json_response(request, {"items": items, "next": nxt}, headers=link_header(nxt))


@get("/ledger/checkpoints/latest", operation_id="getLatestLedgerCheckpoint", tags=["ledger"], responses=responses(404, 503))
async def latest_checkpoint(request: Request, db: NamedDependency[Db]) -> Response[checkpoints.CheckpointView]:
    """The newest signed checkpoint."""
    async with db.connection() as conn:
        cp = await checkpoints.latest(conn)
    if cp is None:
        raise NotFound("No checkpoint has been made yet.")
    return json_response(request, cp)


@post("/ledger/checkpoints", operation_id="makeLedgerCheckpoint", tags=["ledger"], status_code=201,
      responses=responses(401, 403, 503), security=[{"bearer": []}])  # fmt: skip
async def make_checkpoint(request: Request, db: NamedDependency[Db], actor: NamedDependency[Actor]) -> Response[checkpoints.CheckpointView]:
    """Make a signed checkpoint now (admins only)."""
    if actor.role != "admin":
        raise Forbidden("Only an admin may make a checkpoint.")
    key = checkpoints.current_key(request.app.state)
    async with db.connection() as conn:
        cid = await checkpoints.make(conn, key, _now(request))
        cp = (await checkpoints.list_after(conn, cid - 1, 1))[0]
    return json_response(request, cp, status=201)


ROUTES = [
    discovery,
    list_exports,
    export_challenges_csv,
    export_challenges_ndjson,
    export_events_ndjson,
    get_dump_file,
    ocds_releases,
    ocds_record,
    ocds_extension,
    ocds_extension_schema,
    ocds_extension_codelist,
    ocds_docs,
    feed_all,
    feed_municipality,
    feed_challenge,
    get_catalog,
    get_stats,
    ledger_keys,
    ledger_checkpoints,
    latest_checkpoint,
    make_checkpoint,
]
