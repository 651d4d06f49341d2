"""Initiatives as open data: every public initiative as a Popolo Organization
(dicts of JSON values), for the NDJSON export and the bulk dumps
(registry/opendata). Hidden initiatives are included with ``status: hidden``,
their public reason and their text withheld — hiding is never silent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timezone

import asyncpg
import msgspec

from registry.initiatives import popolo
from registry.initiatives.store import PUBLIC_COLUMNS, PUBLIC_JOINS

BATCH = 500


async def public_initiatives(
    conn: asyncpg.Connection,
    base: str = "",
    now: datetime | None = None,
    municipality: str | None = None,
    snapshot: bool = True,
) -> AsyncIterator[dict]:
    """Every initiative in id order, as builtins ready for JSON. Reads in
    batches (keyset on the id) inside one repeatable-read transaction, so the
    export is one consistent snapshot and never holds more than a batch.
    ``snapshot=False``: the caller already holds such a transaction (a dump)."""
    now = now or datetime.now(timezone.utc)
    if snapshot:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            async for org in public_initiatives(conn, base, now, municipality, snapshot=False):
                yield org
        return
    last = 0
    while True:
        rows = await conn.fetch(
            f"SELECT {PUBLIC_COLUMNS} {PUBLIC_JOINS} WHERE i.collective_id > $1"
            " AND ($3::text IS NULL OR i.municipality_code = $3) ORDER BY i.collective_id LIMIT $2",
            last,
            BATCH,
            municipality,
        )
        for row in rows:
            yield msgspec.to_builtins(popolo.organization(row, base, now))
        if len(rows) < BATCH:
            return
        last = rows[-1]["id"]


async def ndjson(
    conn: asyncpg.Connection, base: str, now: datetime, municipality: str | None = None, snapshot: bool = True
) -> AsyncIterator[bytes]:
    encode = msgspec.json.Encoder().encode
    batch: list[bytes] = []
    async for org in public_initiatives(conn, base, now, municipality, snapshot):
        batch.append(encode(org))
        if len(batch) >= 200:
            yield b"\n".join(batch) + b"\n"
            batch = []
    if batch:
        yield b"\n".join(batch) + b"\n"
