"""Random walks through the API by random roles; afterwards the stored state of
every challenge equals a replay of its stored public events, and the chain
recomputes. This checks the persistence, not only the engine."""

from __future__ import annotations

import json
import random

import msgspec

from registry import ledger, workflow
from registry.store import events
from tests.conftest import filing

FIELDS = {
    "declare_inadmissible": {"grounds": ["UK-2"], "reasons": "Onvolledig."},
    "request_information": {"questions": "Wie doet wat?"},
    "provide_information": {"answer": "Zie plan."},
    "propose_modification": {"modification": "Kleiner.", "reasons": "Proef."},
    "decline": {"reasons": "Nee."},
    "reject": {"grounds": ["NL-COST"], "reasons": "Te duur."},
    "conclude_agreement": {"budget_cents": 5_000_00, "starts_on": "2027-01-01", "ends_on": "2027-12-31",
                           "conditions": "Rapportage."},
    "report_progress": {"report": "Gaat goed."},
    "evaluate": {"evaluation": "Prima."},
    "renew": {"ends_on": "2029-12-31"},
    "terminate": {"reasons": "Gestopt."},
    "withdraw": {"reasons": "Anders besloten."},
}


async def test_random_walks_replay_to_the_stored_state(client, place, db, clock):
    rnd = random.Random(2026)
    refs = []
    for i in range(24):
        r = await client.post("/api/v1/challenges", json=filing(place, title=f"Wandeling {i}", submit=rnd.random() < 0.7),
                              headers=place.auth())
        refs.append(r.json()["ref"])
    outcomes = {"ok": 0, "refused": 0}
    for _ in range(240):
        ref = rnd.choice(refs)
        role = rnd.choice(["collective", "reviewer", "admin"])
        current = (await client.get(f"/api/v1/challenges/{ref}")).json()
        version = current.get("version", 1)  # drafts are not public: version 1
        allowed = workflow.allowed_actions(workflow.ChallengeState(state=current.get("state", "draft")), role)
        # Mostly plausible actions, sometimes anything at all.
        action = rnd.choice(allowed) if allowed and rnd.random() < 0.8 else rnd.choice(list(workflow.ACTIONS))
        if rnd.random() < 0.1:
            version += 1  # now and then a wrong version
        clock.advance(days=rnd.choice([0, 1, 3, 30]))
        r = await client.post(f"/api/v1/challenges/{ref}/actions/{action}",
                              json={"expected_version": version, **FIELDS.get(action, {})}, headers=place.auth(role))
        assert r.status_code in (200, 403, 404, 409, 422), r.text
        outcomes["ok" if r.status_code == 200 else "refused"] += 1
    assert outcomes["ok"] > 30, outcomes

    async with db.connection() as conn:
        rows = await conn.fetch(
            "SELECT id, ref, workflow::text AS workflow, m.settings::text AS settings FROM challenges c"
            " JOIN municipalities m ON m.code = c.municipality_code WHERE c.municipality_code = $1",
            place.code,
        )
        for row in rows:
            stored = msgspec.json.decode(row["workflow"], type=workflow.ChallengeState)
            settings = msgspec.json.decode(row["settings"], type=workflow.Settings)
            docs = [json.loads(d) for d in await events.challenge_events(conn, row["id"])]
            replayed = workflow.replay(
                (
                    workflow.Event(
                        action=d["action"], from_state=d["from_state"], to_state=d["to_state"],
                        actor_role=d["actor_role"], occurred_at=ledger.parse_time(d["occurred_at"]), data=d["data"],
                        due_at=ledger.parse_time(d["due_at"]) if d["due_at"] else None, waiting_on=d["waiting_on"],
                    )
                    for d in docs
                ),
                settings,
            )
            if stored.state == "draft":
                assert docs == [] and replayed == workflow.ChallengeState()
            else:
                assert replayed == stored, row["ref"]
        chain = await events.chain(conn, place.code)
        assert ledger.verify_chain(chain) is None
