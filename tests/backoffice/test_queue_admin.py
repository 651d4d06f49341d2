"""The queue (order, overdue marks, filters, assignment, CSV, pages), four eyes,
and the administration: settings published in the chain, criteria, services,
staff, audit log."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta, timezone

import msgspec

from registry import ledger, workflow
from registry.api.bodies import ACTION_BODIES
from registry.store import events
from tests.backoffice.conftest import act, api_act, file_challenge, score_all, version_of


async def test_queue_order_overdue_filters_and_csv(people, api, bplace, clock):
    early = await file_challenge(api, bplace, title="Eerste MARKER-Q1")
    clock.advance(days=10)
    late = await file_challenge(api, bplace, title="Tweede MARKER-Q2")
    await api_act(api, bplace, late, "request_information", questions="Vraag?")  # waits on the collective, 28 days
    clock.advance(days=25)  # `early` is overdue (30 days), `late` is not
    coord = await people(bplace, "coordinator")
    page = await coord.get("/backoffice")
    assert page.status_code == 200
    assert page.text.index(early) < page.text.index(late)
    start = page.text.rindex("<tr", 0, page.text.index(early))
    row = page.text[start : page.text.index("</tr>", start)]
    assert 'class="late"' in row and "overdue-flag" in row
    only_late = await coord.get("/backoffice?overdue=1")
    assert early in only_late.text and late not in only_late.text
    by_state = await coord.get("/backoffice?state=information_requested")
    assert late in by_state.text and early not in by_state.text
    by_dep = await coord.get("/backoffice?department=Nergens")
    assert early not in by_dep.text
    nobody = await coord.get("/backoffice?assignee=none")
    assert early in nobody.text
    r = await coord.get("/backoffice/queue.csv?overdue=1")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [x["ref"] for x in rows] == [early] and rows[0]["overdue"] == "yes"
    assert "MARKER-CONTACT" not in r.text


async def test_bulk_assign_and_keyset_pages(people, api, bplace, db):
    refs = [await file_challenge(api, bplace) for _ in range(3)]
    coord = await people(bplace, "coordinator")
    reviewer = await people(bplace, "reviewer", name="Rita Reviewer")
    r = await coord.post("/backoffice/assign", {"ref": refs[:2], "assignee": str(reviewer.user_id), "back": "/backoffice"})
    assert r.status_code == 303 and "done=assigned" in r.headers["location"]
    mine = await coord.get(f"/backoffice?assignee={reviewer.user_id}")
    assert refs[0] in mine.text and refs[1] in mine.text and refs[2] not in mine.text
    assert "Rita Reviewer" in mine.text
    # A reviewer cannot assign.
    assert (await reviewer.post("/backoffice/assign", {"ref": refs[2], "assignee": str(reviewer.user_id)})).status_code == 403
    # Keyset pagination: 50 per page, the next link carries the cursor.
    async with db.connection() as conn:
        await conn.execute(
            "INSERT INTO challenges (ref, municipality_code, service_id, collective_id, title, summary, plan,"
            " requested_budget_cents, area, proposed_start, duration_months, state, version, workflow, due_at)"
            " SELECT $1 || '-2030-' || lpad(g::text, 4, '0'), $1, $2, $3, 'Bulk', 's', 'p', 1, 'a', '2027-01-01', 12,"
            " 'submitted', 2, '{}'::jsonb, now() + make_interval(days => g) FROM generate_series(1, 60) g",
            bplace.code, bplace.service, bplace.collective,
        )  # fmt: skip
    first = await coord.get("/backoffice")
    nxt = re.search(r'href="([^"]+)" rel="next"', first.text).group(1).replace("&amp;", "&")
    second = await coord.get(nxt)
    firsts = set(re.findall(rf"{bplace.code}-\d{{4}}-\d{{4}}", first.text))
    seconds = set(re.findall(rf"{bplace.code}-\d{{4}}-\d{{4}}", second.text))
    assert len(firsts) == 50 and firsts.isdisjoint(seconds) and len(firsts | seconds) == 63
    assert (await coord.get("/backoffice?after=garbage")).status_code == 422


async def test_four_eyes(people, api, bplace, db):
    admin = await people(bplace, "admin")
    r = await admin.post("/backoffice/admin/settings", {
        "admissibility_days": "30", "decision_days": "70", "information_days": "28", "agreement_days": "56",
        "minimum_support": "0", "four_eyes": "1",
    })  # fmt: skip
    assert r.status_code == 303
    ref = await file_challenge(api, bplace)
    first, second = await people(bplace, "coordinator"), await people(bplace, "coordinator")
    r = await act(first, api, ref, "declare_admissible")
    assert r.status_code == 303 and "done=pending" in r.headers["location"]
    assert (await api.get(f"/api/v1/challenges/{ref}")).json()["state"] == "submitted"  # not yet
    queue = await first.get("/backoffice/approvals")
    assert "a colleague must approve" in queue.text or "collega" in queue.text
    approval_id = re.search(r'action="/backoffice/approvals/(\d+)"', (await second.get("/backoffice/approvals")).text).group(1)
    own = await first.post(f"/backoffice/approvals/{approval_id}", {"decision": "approve"})
    assert own.status_code == 403
    ok = await second.post(f"/backoffice/approvals/{approval_id}", {"decision": "approve"})
    assert ok.status_code == 303 and "done=approved" in ok.headers["location"]
    assert (await api.get(f"/api/v1/challenges/{ref}")).json()["state"] == "under_assessment"
    again = await second.post(f"/backoffice/approvals/{approval_id}", {"decision": "approve"})
    assert again.status_code == 404
    # Non-decisions take effect at once.
    assert "done=request_information" in (await act(first, api, ref, "request_information", questions="Wie?")).headers["location"]
    async with db.connection() as conn:
        ops = [r["operation"] for r in await conn.fetch(
            "SELECT operation FROM audit_log l JOIN challenges c ON c.id = l.challenge_id WHERE c.ref = $1 ORDER BY l.id", ref)]
    assert ops.count("prepare") == 1 and ops.count("approve") == 1 and ops.count("act") == 1


async def test_settings_change_is_published_and_applies_to_new_clocks(people, api, bplace, db, clock):
    running = await file_challenge(api, bplace)
    due_before = (await api.get(f"/api/v1/challenges/{running}")).json()["deadline"]["due_at"]
    admin = await people(bplace, "admin")
    bad = await admin.post("/backoffice/admin/settings", {"admissibility_days": "nul", "decision_days": "70",
                           "information_days": "28", "agreement_days": "56", "extra_grounds": "gm parking!"})
    assert bad.status_code == 422 and 'id="err-admissibility_days"' in bad.text and 'id="err-extra_grounds"' in bad.text
    r = await admin.post("/backoffice/admin/settings", {
        "admissibility_days": "14", "decision_days": "70", "information_days": "28", "agreement_days": "56",
        "working_days": "1", "extra_grounds": "GM-PARKING", "minimum_support": "25",
        "submission_windows": "2020-01-01 2099-12-31",
    })  # fmt: skip
    assert r.status_code == 303
    async with db.connection() as conn:
        row = await conn.fetchrow("SELECT body::text AS body, subject FROM events WHERE subject = $1 ORDER BY id DESC LIMIT 1",
                                  f"municipality:{bplace.code}")
        assert ledger.verify_chain(await events.chain(conn, bplace.code)) is None
    body = msgspec.json.decode(row["body"])
    assert body["action"] == "change_settings" and body["challenge"] is None
    assert body["data"]["admissibility_days"] == {"from": 30, "to": 14}
    assert body["data"]["extra_grounds"] == {"from": [], "to": ["GM-PARKING"]}
    assert body["data"]["minimum_support"] == {"from": 0, "to": 25}
    assert "MARKER-STAFF" not in row["body"]
    assert (await api.get(f"/api/v1/challenges/{running}")).json()["deadline"]["due_at"] == due_before
    new = await file_challenge(api, bplace)
    due_new = datetime.fromisoformat((await api.get(f"/api/v1/challenges/{new}")).json()["deadline"]["due_at"].replace("Z", "+00:00"))
    assert due_new - clock() < timedelta(days=21)  # 14 working days
    # The municipality's own ground is offered on a rejection form.
    coord = await people(bplace, "coordinator")
    # The minimum support of 25 now holds back assessment, for API and back office alike.
    version = (await api.get(f"/api/v1/challenges/{new}")).json()["version"]
    held = await api.post(f"/api/v1/challenges/{new}/actions/declare_admissible",
                          json={"expected_version": version}, headers=bplace.auth("reviewer"))
    assert held.status_code == 409 and held.json()["type"].endswith("/insufficient-support")
    async with db.connection() as conn:
        await conn.execute("UPDATE challenges SET support_count = 25 WHERE ref = $1", new)
    await api_act(api, bplace, new, "declare_admissible")
    assert "GM-PARKING" in (await coord.get(f"/backoffice/challenges/{new}/actions/reject")).text


async def test_criteria_services_staff_and_audit(people, api, bplace, db):
    admin = await people(bplace, "admin")
    page = await admin.get("/backoffice/admin/settings")
    assert "social_value" in page.text
    form = {"code": ["social_value", "support", "cost", "quality", "continuity"]}
    for c in form["code"]:
        form[f"label_{c}"] = c.title()
        form[f"weight_{c}"] = "2"
        form[f"active_{c}"] = "1"
    bad = await admin.post("/backoffice/admin/criteria", {**form, "new_code": "Local Economy", "new_label": "Lokale economie"})
    assert bad.status_code == 422 and 'id="err-new_code"' in bad.text
    ok = await admin.post("/backoffice/admin/criteria", {**form, "new_code": "local_economy", "new_label": "Lokale economie", "new_weight": "3"})
    assert ok.status_code == 303
    coord = await people(bplace, "coordinator")
    ref = await file_challenge(api, bplace)
    await api_act(api, bplace, ref, "declare_admissible")
    await score_all(coord, ref)
    assert (await act(coord, api, ref, "accept")).status_code == 422  # local_economy is not scored
    await coord.post(f"/backoffice/challenges/{ref}/assessment", {"score_local_economy": "3", "motivation_local_economy": "Lokale banen."})
    assert (await act(coord, api, ref, "accept")).status_code == 303
    scores = (await api.get(f"/api/v1/challenges/{ref}/events")).json()["items"][-1]["data"]["scores"]
    assert scores[-1] == {"criterion": "local_economy", "score": 3, "motivation": "Lokale banen."}

    # Services: excluded needs a reason; budgets in euros.
    r = await admin.post("/backoffice/admin/services", {"name": "Parkbeheer", "category": "green_maintenance",
                         "department": "Groen", "budget": "250.000,00", "challengeable": ""})
    assert r.status_code == 422 and 'id="err-exclusion_reason"' in r.text and "Parkbeheer" in r.text
    r = await admin.post("/backoffice/admin/services", {"name": "Parkbeheer", "category": "green_maintenance",
                         "department": "Groen", "budget": "250.000,00", "challengeable": "1"})
    assert r.status_code == 303
    services = (await api.get(f"/api/v1/services?municipality={bplace.code}")).json()
    assert any(s["name"] == "Parkbeheer" and s["annual_budget_cents"] == 25_000_000 and s["department"] == "Groen" for s in services)

    # Staff: a new reviewer gets a password shown once.
    r = await admin.post("/backoffice/admin/staff", {"email": "nieuw-MARKER@example.nl", "role": "reviewer", "departments": "Groen"})
    assert r.status_code == 200 and "<code>" in r.text and "nieuw-marker@example.nl" in r.text
    # Audit log: who did what, exportable; not for coordinators.
    audit = await admin.get("/backoffice/admin/audit")
    assert audit.status_code == 200 and "read_private" in audit.text and "MARKER-STAFF-coordinator" in audit.text
    export = await admin.get("/backoffice/admin/audit.csv")
    assert export.status_code == 200 and "change_criteria" in export.text and "save_staff" in export.text
    assert (await coord.get("/backoffice/admin/audit")).status_code == 403


def test_engine_scores_are_optional_validated_and_replayable():
    from tests.workflow.conftest import SUBMISSION

    now = datetime(2026, 3, 2, 9, tzinfo=timezone.utc)
    s = workflow.Settings()
    t1 = workflow.take(workflow.ChallengeState(), "submit", "collective", SUBMISSION, now, s)
    t2 = workflow.take(t1.state, "declare_admissible", "reviewer", {}, now, s)
    plain = workflow.take(t2.state, "accept", "reviewer", {}, now, s)
    assert "scores" not in plain.event.data
    assert workflow.take(t2.state, "accept", "reviewer", {"scores": []}, now, s).event.data == {}
    scores = [{"criterion": "cost", "score": 4, "motivation": "  Goedkoper.  "}]
    t3 = workflow.take(t2.state, "accept", "reviewer", {"scores": scores}, now, s)
    assert t3.event.data == {"scores": [{"criterion": "cost", "score": 4, "motivation": "Goedkoper."}]}
    assert workflow.replay([t1.event, t2.event, t3.event], s) == t3.state
    for bad in ([{"criterion": "cost", "score": 6, "motivation": "x"}], [{"criterion": "cost", "score": 3, "motivation": " "}],
                [{"criterion": "Cost!", "score": 3, "motivation": "x"}], [{"criterion": "cost", "score": True, "motivation": "x"}],
                [{"criterion": "cost", "score": 3, "motivation": "x", "extra": 1}], "cost=3",
                [{"criterion": "cost", "score": 3, "motivation": "x"}] * 2):
        try:
            workflow.take(t2.state, "accept", "reviewer", {"scores": bad}, now, s)
        except workflow.DomainError as e:
            assert (e.code, e.field) == ("invalid-field", "scores")
        else:
            raise AssertionError(bad)
    # Only the decisions on the merits take scores.
    try:
        workflow.take(t1.state, "declare_admissible", "reviewer", {"scores": scores}, now, s)
    except workflow.DomainError as e:
        assert e.code == "unknown-field"
    assert "scores" in ACTION_BODIES["reject"].__struct_fields__
    assert "scores" not in ACTION_BODIES["declare_admissible"].__struct_fields__


async def test_api_accepts_scores(api, bplace):
    ref = await file_challenge(api, bplace)
    await api_act(api, bplace, ref, "declare_admissible")
    scores = [{"criterion": "social_value", "score": 5, "motivation": "Veel meerwaarde."}]
    body = await api_act(api, bplace, ref, "accept", scores=scores)
    assert body["state"] == "accepted"
    assert (await api.get(f"/api/v1/challenges/{ref}/events")).json()["items"][-1]["data"]["scores"] == scores
    ref2 = await file_challenge(api, bplace)
    await api_act(api, bplace, ref2, "declare_admissible")
    v = await version_of(api, ref2)
    r = await api.post(f"/api/v1/challenges/{ref2}/actions/accept", json={"expected_version": v, "scores": [{"criterion": "x", "score": 9, "motivation": "m"}]}, headers=bplace.auth("reviewer"))
    assert r.status_code in (400, 422)
    spec = (await api.get("/api/v1/openapi.json")).json()
    assert "scores" in spec["components"]["schemas"]["AcceptBody"]["properties"]
