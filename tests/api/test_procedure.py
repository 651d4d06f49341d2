"""A challenge carried from filing to the end of its operation by the right
roles, through the API, with every step public."""

from __future__ import annotations

import json

from registry import ledger
from registry.web import vocabulary
from tests.conftest import filing


async def act(client, place, ref, action, role, version, **fields):
    r = await client.post(
        f"/api/v1/challenges/{ref}/actions/{action}",
        json={"expected_version": version, **fields},
        headers=place.auth(role),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["version"] == version + 1
    return body


def recompute(events: list[dict]) -> list[tuple[dict, str]]:
    return [({k: v for k, v in e.items() if k not in ("id", "hash")}, e["hash"]) for e in events]


async def test_filing_to_renewal_and_end(client, place, clock):
    r = await client.post("/api/v1/challenges", json=filing(place), headers=place.auth())
    assert r.status_code == 201, r.text
    c = r.json()
    ref = c["ref"]
    assert ref.startswith(f"{place.code}-{clock.now.year}-")
    assert r.headers["location"].endswith(f"/api/v1/challenges/{ref}")
    assert c["state"] == "submitted" and c["status"] == "open"
    assert c["deadline"]["waiting_on"] == "municipality" and c["deadline"]["stage"] == "admissibility"

    steps = [
        ("declare_admissible", "reviewer", {}),
        ("request_information", "reviewer", {"questions": "Hoeveel vrijwilligers?"}),
        ("provide_information", "collective", {"answer": "Veertien."}),
        ("accept", "admin", {}),
        ("conclude_agreement", "reviewer", {"budget_cents": 100_000_00, "starts_on": "2027-03-01",
                                            "ends_on": "2028-03-01", "conditions": "Kwartaalrapportage."}),
        ("accept_agreement", "collective", {}),
        ("start_operation", "reviewer", {}),
        ("report_progress", "collective", {"report": "Eerste kwartaal goed verlopen."}),
        ("evaluate", "reviewer", {"evaluation": "Doelen gehaald."}),
        ("renew", "reviewer", {"ends_on": "2029-03-01"}),
        ("evaluate", "reviewer", {"evaluation": "Weer goed."}),
        ("end", "reviewer", {}),
    ]
    version = c["version"]
    states = []
    for action, role, fields in steps:
        clock.advance(days=3)
        c = await act(client, place, ref, action, role, version, **fields)
        version = c["version"]
        states.append(c["state"])
    assert states == ["under_assessment", "information_requested", "under_assessment", "accepted", "agreed",
                      "agreed", "in_operation", "in_operation", "evaluated", "in_operation", "evaluated", "ended"]
    assert c["status"] == "closed"
    assert c["agreement"]["ends_on"] == "2029-03-01"
    assert c["agreement"]["accepted_by_collective_at"] is not None
    assert c["decision"]["outcome"] == "accepted"

    r = await client.get(f"/api/v1/challenges/{ref}/events")
    assert r.status_code == 200
    events = r.json()["items"]
    assert [e["action"] for e in events] == ["submit"] + [s[0] for s in steps]
    assert [e["actor_role"] for e in events][:3] == ["collective", "reviewer", "reviewer"]
    assert events[2]["data"] == {"questions": "Hoeveel vrijwilligers?"}
    # The timeline recomputes: each hash from its body, each body linked to the previous.
    for body, digest in recompute(events):
        assert ledger.hash_body(body) == digest
    assert all(b["prev_hash"] == a["hash"] for a, b in zip(events, events[1:]))

    page = await client.get(f"/challenges/{ref}")
    assert page.status_code == 200
    for action, _, _ in steps:  # the timeline, in Dutch by default
        assert vocabulary.label("action", action, "nl") in page.text
    assert "Hoeveel vrijwilligers?" in page.text and "Doelen gehaald." in page.text


async def test_rejection_publishes_grounds_and_reasons(client, place):
    c = (await client.post("/api/v1/challenges", json=filing(place), headers=place.auth())).json()
    c = await act(client, place, c["ref"], "declare_admissible", "reviewer", c["version"])
    c = await act(client, place, c["ref"], "reject", "reviewer", c["version"],
                  grounds=["NL-COST", "UK-2"], reasons="Duurder dan nu; begroting onvolledig.")
    assert c["state"] == "rejected" and c["status"] == "closed"
    assert c["decision"] == {"outcome": "rejected", "grounds": ["NL-COST", "UK-2"],
                             "reasons": "Duurder dan nu; begroting onvolledig.", "modification": None,
                             "decided_at": c["decision"]["decided_at"], "scores": []}
    assert c["deadline"]["due_at"] is None
    page = (await client.get(f"/challenges/{c['ref']}")).text
    assert "NL-COST" in page and "Duurder dan nu" in page


async def test_scores_are_published_with_the_decision(client, place):
    c = (await client.post("/api/v1/challenges", json=filing(place), headers=place.auth())).json()
    c = await act(client, place, c["ref"], "declare_admissible", "reviewer", c["version"])
    scores = [{"criterion": "social_value", "score": 4, "motivation": "Veel bewoners doen mee."},
              {"criterion": "cost", "score": 2, "motivation": "Iets duurder dan nu."}]
    c = await act(client, place, c["ref"], "accept", "reviewer", c["version"], scores=scores)
    assert c["decision"]["scores"] == scores
    events = (await client.get(f"/api/v1/challenges/{c['ref']}/events")).json()["items"]
    assert events[-1]["data"]["scores"] == scores
    page = (await client.get(f"/challenges/{c['ref']}?lang=en")).text
    assert "Added social value" in page and "Veel bewoners doen mee." in page and "2/5" in page


async def test_modification_consent_and_decline(client, place):
    refs = []
    for answer in ("consent", "decline"):
        c = (await client.post("/api/v1/challenges", json=filing(place), headers=place.auth())).json()
        c = await act(client, place, c["ref"], "declare_admissible", "reviewer", c["version"])
        c = await act(client, place, c["ref"], "propose_modification", "reviewer", c["version"],
                      modification="Eerst één straat.", reasons="Proef.")
        assert c["deadline"]["waiting_on"] == "collective"
        extra = {"reasons": "Te klein."} if answer == "decline" else {}
        c = await act(client, place, c["ref"], answer, "collective", c["version"], **extra)
        refs.append(c)
    assert refs[0]["state"] == "accepted" and refs[1]["state"] == "rejected"


async def test_information_request_pauses_the_clock(client, place, clock):
    c = (await client.post("/api/v1/challenges", json=filing(place), headers=place.auth())).json()
    clock.advance(days=10)
    c = await act(client, place, c["ref"], "request_information", "reviewer", c["version"], questions="Begroting?")
    assert c["deadline"]["waiting_on"] == "collective"
    assert c["deadline"]["paused_stage"] == "admissibility"
    assert c["deadline"]["paused_remaining_days"] == 20.0
    clock.advance(days=15)
    c = await act(client, place, c["ref"], "provide_information", "collective", c["version"], answer="Bijgevoegd.")
    # 20 days were left when the clock paused; they are left again now.
    from datetime import datetime

    due = datetime.fromisoformat(c["deadline"]["due_at"].replace("Z", "+00:00"))
    assert abs((due - clock.now).total_seconds() - 20 * 86400) < 1


async def test_lapse_only_after_the_answer_deadline(client, place, clock):
    c = (await client.post("/api/v1/challenges", json=filing(place), headers=place.auth())).json()
    c = await act(client, place, c["ref"], "request_information", "reviewer", c["version"], questions="Wie?")
    r = await client.post(f"/api/v1/challenges/{c['ref']}/actions/lapse", json={"expected_version": c["version"]},
                          headers=place.auth("reviewer"))
    assert r.status_code == 409 and r.json()["type"].endswith("/not-yet-due")
    clock.advance(days=29)
    c = await act(client, place, c["ref"], "lapse", "reviewer", c["version"])
    assert c["state"] == "lapsed"


async def test_overdue_is_exposed(client, place, clock):
    c = (await client.post("/api/v1/challenges", json=filing(place), headers=place.auth())).json()
    assert c["deadline"]["overdue"] is False
    clock.advance(days=45)
    c = (await client.get(f"/api/v1/challenges/{c['ref']}")).json()
    assert c["deadline"]["overdue"] is True and c["deadline"]["overdue_days"] == 15
    listed = (await client.get(f"/api/v1/challenges?municipality={place.code}")).json()["items"]
    assert listed[0]["overdue"] is True


async def test_draft_is_private_until_submitted(client, place):
    r = await client.post("/api/v1/challenges", json=filing(place, submit=False), headers=place.auth())
    assert r.status_code == 201
    draft = r.json()
    assert draft["state"] == "draft"
    assert (await client.get(f"/api/v1/challenges/{draft['ref']}")).status_code == 404
    assert (await client.get(f"/api/v1/challenges?municipality={place.code}")).json()["items"] == []
    assert (await client.get(f"/challenges/{draft['ref']}")).status_code == 404
    c = await act(client, place, draft["ref"], "submit", "collective", draft["version"])
    assert c["state"] == "submitted"
    events = (await client.get(f"/api/v1/challenges/{c['ref']}/events")).json()["items"]
    assert events[0]["action"] == "submit"
    assert events[0]["data"]["title"] == "Schone straten door de buurt zelf"


async def test_public_reads(client, place):
    c = (await client.post("/api/v1/challenges", json=filing(place), headers=place.auth())).json()
    m = (await client.get(f"/api/v1/municipalities/{place.code}")).json()
    assert m["code"] == place.code and m["settings"]["admissibility_days"] == 30 and m["challenges"] == 1
    assert any(x["code"] == place.code for x in (await client.get("/api/v1/municipalities")).json())
    services = (await client.get(f"/api/v1/services?municipality={place.code}")).json()
    assert {s["challengeable"] for s in services} == {True, False}
    excluded = next(s for s in services if not s["challengeable"])
    assert excluded["exclusion_reason"] == "enforcement"
    col = (await client.get(f"/api/v1/collectives/{place.collective}")).json()
    assert col == {"id": place.collective, "municipality": place.code, "name": "Buurtcoöperatie Test",
                   "legal_form": "cooperative", "registration_number": "12345678",
                   "neighbourhood": "Centrum", "challenges": 1}
    r = await client.get(f"/api/v1/challenges/{c['ref']}", headers={"Origin": "https://watchdog.example"})
    assert r.headers["access-control-allow-origin"] == "*"
    assert json.loads(r.text)["support_count"] == 0


async def test_progress_reports_are_scheduled_and_flagged(client, place, clock):
    from datetime import datetime, timedelta

    c = (await client.post("/api/v1/challenges", json=filing(place), headers=place.auth())).json()
    for action, role, fields in [
        ("declare_admissible", "reviewer", {}), ("accept", "reviewer", {}),
        ("conclude_agreement", "reviewer", {"budget_cents": 1_000_00, "starts_on": clock.now.date().isoformat(),
                                            "ends_on": (clock.now.date() + timedelta(days=365)).isoformat(),
                                            "conditions": "Elk kwartaal een verslag.", "report_every_months": 3}),
    ]:
        c = await act(client, place, c["ref"], action, role, c["version"], **fields)
    assert c["reporting"] == {"every_months": 3, "received": 0, "last_report_at": None, "next_due_at": None,
                              "overdue": False}  # nothing due before operation starts
    c = await act(client, place, c["ref"], "start_operation", "reviewer", c["version"])
    due = datetime.fromisoformat(c["reporting"]["next_due_at"].replace("Z", "+00:00"))
    assert 89 <= (due.date() - clock.now.date()).days <= 92 and not c["reporting"]["overdue"]
    clock.advance(days=100)
    c = (await client.get(f"/api/v1/challenges/{c['ref']}")).json()
    assert c["reporting"]["overdue"] is True
    page = (await client.get(f"/challenges/{c['ref']}?lang=en")).text
    assert "every 3 months" in page and "overdue" in page
    c = await act(client, place, c["ref"], "report_progress", "collective", c["version"], report="Kwartaal 1.")
    assert c["reporting"]["received"] == 1 and c["reporting"]["overdue"] is False
    due = datetime.fromisoformat(c["reporting"]["next_due_at"].replace("Z", "+00:00"))
    assert 89 <= (due - clock.now).days <= 92
