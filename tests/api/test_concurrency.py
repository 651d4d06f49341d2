"""Concurrent writers: one wins a race, the others get 409; chains never fork."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from registry import ledger
from registry.store import events
from tests.conftest import filing


async def _chain_is_linear(db, code: str) -> list[tuple[dict, str]]:
    async with db.connection() as conn:
        chain = await events.chain(conn, code)
    assert ledger.verify_chain(chain) is None
    assert [b["seq"] for b, _ in chain] == list(range(1, len(chain) + 1))
    return chain


async def test_twenty_conflicting_actions_one_wins(client, place, db):
    c = (await client.post("/api/v1/challenges", json=filing(place), headers=place.auth())).json()
    c = (await client.post(f"/api/v1/challenges/{c['ref']}/actions/declare_admissible",
                           json={"expected_version": c["version"]}, headers=place.auth("reviewer"))).json()
    actions = ["accept", "reject", "propose_modification", "request_information"] * 5

    def body(action):
        extra = {
            "accept": {},
            "reject": {"grounds": ["NL-COST"], "reasons": "Te duur."},
            "propose_modification": {"modification": "Kleiner.", "reasons": "Proef."},
            "request_information": {"questions": "Waarom?"},
        }[action]
        return {"expected_version": c["version"], **extra}

    responses = await asyncio.gather(*(
        client.post(f"/api/v1/challenges/{c['ref']}/actions/{a}", json=body(a), headers=place.auth("reviewer"))
        for a in actions
    ))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [409] * 19, statuses
    losers = [r.json() for r in responses if r.status_code == 409]
    assert all(p["type"].endswith("/stale-version") for p in losers)
    timeline = (await client.get(f"/api/v1/challenges/{c['ref']}/events")).json()["items"]
    assert len(timeline) == 3  # submit, declare_admissible, and the one winner
    chain = await _chain_is_linear(db, place.code)
    assert len(chain) == 3


async def test_twenty_challenges_of_one_municipality_at_once(client, place, db):
    filed = await asyncio.gather(*(
        client.post("/api/v1/challenges", json=filing(place, title=f"Uitdaging {i}"), headers=place.auth())
        for i in range(20)
    ))
    assert all(r.status_code == 201 for r in filed)
    refs = [r.json()["ref"] for r in filed]
    assert len(set(refs)) == 20
    acted = await asyncio.gather(*(
        client.post(f"/api/v1/challenges/{ref}/actions/declare_admissible",
                    json={"expected_version": 2}, headers=place.auth("reviewer"))
        for ref in refs
    ))
    assert [r.status_code for r in acted] == [200] * 20
    chain = await _chain_is_linear(db, place.code)
    assert len(chain) == 40
    # The global order agrees with every municipality's own order.
    ids = [b for b, _ in chain]
    feed = (await client.get(f"/api/v1/events?municipality={place.code}&limit=1000")).json()["items"]
    assert [e["seq"] for e in feed] == [b["seq"] for b in ids]


async def test_events_are_immutable_in_the_database(database_url, client, place):
    await client.post("/api/v1/challenges", json=filing(place), headers=place.auth())
    conn = await asyncpg.connect(database_url)  # the application's own role
    try:
        for sql in (
            "UPDATE events SET body = body WHERE municipality_code = $1",
            "DELETE FROM events WHERE municipality_code = $1",
        ):
            with pytest.raises(asyncpg.exceptions.InsufficientPrivilegeError, match="immutable"):
                await conn.execute(sql, place.code)
        with pytest.raises(asyncpg.exceptions.InsufficientPrivilegeError, match="immutable"):
            await conn.execute("TRUNCATE events CASCADE")
        # A second event may never claim the same predecessor: no fork, even by hand.
        row = await conn.fetchrow("SELECT * FROM events WHERE municipality_code = $1", place.code)
        with pytest.raises(asyncpg.exceptions.UniqueViolationError):
            await conn.execute(
                "INSERT INTO events (id, municipality_code, seq, challenge_id, body, prev_hash, hash, doc)"
                " VALUES (nextval('event_ids'), $1, 99, $2, '{}', $3, $4, '{}')",
                place.code, row["challenge_id"], row["prev_hash"], "f" * 64,
            )
    finally:
        await conn.close()
