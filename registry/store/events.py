"""The hash-chained event log: appending, and reading the public timeline."""

from __future__ import annotations

from typing import NamedTuple

import asyncpg

from registry import ledger
from registry.workflow import Event

# Held from taking an event id until commit, so that global ids become
# visible in order: a mirror reading "after N" never skips an event. Callers
# append as the LAST write of their transaction, so the lock is held briefly.
LEDGER_LOCK = 0x52_43_45_56  # "RCEV"


async def append(
    conn: asyncpg.Connection,
    *,
    municipality: str,
    challenge_id: int | None,
    challenge_ref: str | None,
    event: Event,
    token_id: int | None,
    subject: str | None = None,
    actor_label: str = "",
) -> tuple[int, dict, str]:
    """Append one event to the municipality's chain. Must run inside the
    transaction that makes the change it records. Returns (id, body, hash).

    An event about something other than a challenge (an initiative, the
    municipality's settings) has no challenge and names its ``subject``."""
    # The municipality's head first: writers of one municipality queue here.
    head = await conn.fetchrow(
        "SELECT seq, hash FROM ledger_heads WHERE municipality_code = $1 FOR UPDATE", municipality
    )
    seq = head["seq"] + 1
    body = ledger.event_body(event, municipality, seq, challenge_ref, head["hash"])
    digest = ledger.hash_body(body)
    # Then, in one statement, the global lock and the global id: the lock is
    # held only from here to COMMIT, so writers of different municipalities
    # wait on each other for one round trip, not a whole transaction.
    event_id = await conn.fetchval(
        """
        WITH l AS (
            SELECT pg_advisory_xact_lock($10)
        ), n AS (
            SELECT nextval('event_ids') AS id FROM l
        ), e AS (
            INSERT INTO events (id, municipality_code, seq, challenge_id, body, prev_hash, hash, subject, doc)
            SELECT n.id, $1, $2, $3, $4::jsonb, $5, $6, $8,
                   ($4::jsonb || jsonb_build_object('id', n.id, 'hash', $6::text))::text
            FROM n
            RETURNING id
        ), h AS (
            UPDATE ledger_heads SET seq = $2, hash = $6 WHERE municipality_code = $1
        ), a AS (
            INSERT INTO event_actors (event_id, token_id, actor_label) SELECT id, $7, $9 FROM e
        )
        SELECT id FROM e
        """,
        municipality,
        seq,
        challenge_id,
        ledger.canonical(body).decode(),
        head["hash"],
        digest,
        token_id,
        subject,
        actor_label,
        LEDGER_LOCK,
    )
    return event_id, body, digest


# The public event: its hashed body plus the global id and the hash, stored
# as text when the event is written (schema/0009), so reading is a copy.
PUBLIC_EVENT_SQL = "doc"
# The same document rebuilt from the record itself (body, id, hash): what
# verification and dumps read, so that they check what is stored, not a copy.
RECORD_EVENT_SQL = "body || jsonb_build_object('id', id, 'hash', hash)"


async def challenge_events(conn: asyncpg.Connection, challenge_id: int) -> list[str]:
    rows = await conn.fetch(
        f"SELECT ({PUBLIC_EVENT_SQL})::text AS doc FROM events WHERE challenge_id = $1 ORDER BY id",
        challenge_id,
    )
    return [r["doc"] for r in rows]


class FeedPage(NamedTuple):
    docs: bytes  # the public documents, comma-separated: the inside of a JSON array
    count: int
    last_id: int | None


async def events_after(conn: asyncpg.Connection, after: int, limit: int, municipality: str | None = None) -> FeedPage:
    """A page of the change feed in one query and one value: PostgreSQL joins
    the stored documents, so Python neither decodes nor re-encodes them."""
    row = await conn.fetchrow(
        f"SELECT string_agg(convert_to({PUBLIC_EVENT_SQL}, 'UTF8'), '\\x2c'::bytea ORDER BY id) AS docs,"
        " count(*) AS n, max(id) AS last_id FROM ("
        f"  SELECT id, {PUBLIC_EVENT_SQL} FROM events"
        "   WHERE id > $1 AND ($3::text IS NULL OR municipality_code = $3) ORDER BY id LIMIT $2"
        ") page",
        after,
        limit,
        municipality,
    )
    return FeedPage(row["docs"] or b"", row["n"], row["last_id"])


async def chain(conn: asyncpg.Connection, municipality: str) -> list[tuple[dict, str]]:
    """The municipality's whole chain, in order, for verification."""
    import json

    rows = await conn.fetch(
        "SELECT body::text AS body, hash FROM events WHERE municipality_code = $1 ORDER BY seq",
        municipality,
    )
    return [(json.loads(r["body"]), r["hash"]) for r in rows]
