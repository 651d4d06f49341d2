"""Experiment, not app code: the registry with a one-round-trip ledger append.

``registry.store.events.append`` holds the global ledger lock over four round
trips (lock, read the head, insert, then COMMIT from the caller). Every one of
them waits for the worker's event loop, so under load the lock is held for
milliseconds and all writes of all municipalities queue behind it.

Here the same append is one call of a PL/pgSQL function: Python computes the
canonical body once with a placeholder where ``"prev_hash"`` and ``"seq"`` go
(they are adjacent top-level keys in sorted order, so the canonical text is
prefix + ``,"prev_hash":"<head>","seq":<n>,`` + suffix); the function takes
the lock, reads the head, splices, hashes with PostgreSQL's sha256() and
inserts. Same bytes, same hash, same chain.

    python bench/experiment_append.py --install      # creates the function in the bench database
    python bench/run.py --workers 1 --scenarios write --registry-target experiment_append:app
"""

from __future__ import annotations

import asyncio
import os
import sys

import asyncpg

from registry import ledger
from registry.store import events
from registry.workflow import Event

FUNCTION = f"""
CREATE OR REPLACE FUNCTION bench_append_event(
    m text, cid bigint, prefix text, suffix text, token bigint, subj text, label text
) RETURNS TABLE (event_id bigint, event_seq bigint, prev text, digest text)
LANGUAGE plpgsql AS $$
DECLARE
    head record;
    body text;
BEGIN
    PERFORM pg_advisory_xact_lock({events.LEDGER_LOCK});
    SELECT h.seq, h.hash INTO head FROM ledger_heads h WHERE h.municipality_code = m FOR UPDATE;
    body := prefix || ',"prev_hash":"' || head.hash || '","seq":' || (head.seq + 1) || ',' || suffix;
    event_id := nextval('event_ids');
    event_seq := head.seq + 1;
    prev := head.hash;
    digest := encode(sha256(convert_to(body, 'UTF8')), 'hex');
    INSERT INTO events (id, municipality_code, seq, challenge_id, body, prev_hash, hash, subject)
        VALUES (event_id, m, event_seq, cid, body::jsonb, prev, digest, subj);
    UPDATE ledger_heads SET seq = event_seq, hash = digest WHERE municipality_code = m;
    INSERT INTO event_actors (event_id, token_id, actor_label) VALUES (event_id, token, label);
    RETURN NEXT;
END $$;
"""

PLACEHOLDER = "x" * 64
MARKER = f',"prev_hash":"{PLACEHOLDER}","seq":0,'


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
    draft = ledger.event_body(event, municipality, 0, challenge_ref, PLACEHOLDER)
    text = ledger.canonical(draft).decode()
    prefix, found, suffix = text.partition(MARKER)
    assert found and MARKER not in suffix, "the canonical body has an unexpected shape"
    row = await conn.fetchrow(
        "SELECT * FROM bench_append_event($1, $2, $3, $4, $5, $6, $7)",
        municipality, challenge_id, prefix, suffix, token_id, subject, actor_label,
    )
    body = {**draft, "seq": row["event_seq"], "prev_hash": row["prev"]}
    return row["event_id"], body, row["digest"]


events._bench_original_append = events.append
if os.environ.get("BENCH_APPEND") != "nolock":
    events.append = append  # what registry.challenges calls

from registry.asgi import app  # noqa: E402,F401  (built after the patch; same app otherwise)


async def install(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(FUNCTION)
    finally:
        await conn.close()


if __name__ == "__main__":
    if "--install" in sys.argv:
        url = os.environ.get("REGISTRY_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/registry_bench")
        asyncio.run(install(url))
        print("installed bench_append_event()")


# Variant (BENCH_APPEND=nolock): the app's own append without the global advisory lock (the
# per-municipality ledger_heads row lock still serialises each chain). Shows
# what the global id order costs; it gives up that guarantee for /events.
async def append_without_global_lock(conn: asyncpg.Connection, **kw) -> tuple[int, dict, str]:
    real_execute = conn.execute

    class NoGlobalLock:
        def __getattr__(self, name):
            return getattr(conn, name)

        async def execute(self, query, *args, **kwargs):
            if "pg_advisory_xact_lock" in query:
                return "SELECT 1"
            return await real_execute(query, *args, **kwargs)

    return await _app_append(NoGlobalLock(), **kw)


_app_append = events._bench_original_append
if os.environ.get("BENCH_APPEND") == "nolock":
    events.append = append_without_global_lock
