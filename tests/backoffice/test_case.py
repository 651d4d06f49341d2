"""The case page, action forms with confirmation, the assessment published with
the decision, information requests with the paused clock, the conflict message."""

from __future__ import annotations

import asyncio
import json

from tests.backoffice.conftest import act, api_act, file_challenge, score_all, version_of


async def test_case_page_shows_private_data_and_logs_the_reading(people, api, bplace, db):
    ref = await file_challenge(api, bplace)
    coord = await people(bplace, "coordinator")
    r = await coord.get(f"/backoffice/challenges/{ref}")
    assert r.status_code == 200, r.text
    for marker in ("MARKER-CONTACT-NAME", "marker-contact@example.invalid", "MARKER-MEMBER-NAME", "+31600000001"):
        assert marker in r.text
    assert "Declare admissible" in r.text or "Ontvankelijk verklaren" in r.text
    async with db.connection() as conn:
        n = await conn.fetchval(
            "SELECT count(*) FROM audit_log l JOIN challenges c ON c.id = l.challenge_id"
            " WHERE c.ref = $1 AND l.operation = 'read_private' AND l.user_id = $2", ref, coord.user_id,
        )  # fmt: skip
    assert n == 1


async def test_notes_are_private(people, api, bplace):
    ref = await file_challenge(api, bplace)
    coord = await people(bplace, "coordinator")
    r = await coord.post(f"/backoffice/challenges/{ref}/notes", {"body": "MARKER-NOTE vertrouwelijk"})
    assert r.status_code == 303
    assert "MARKER-NOTE" in (await coord.get(f"/backoffice/challenges/{ref}")).text
    blank = await coord.post(f"/backoffice/challenges/{ref}/notes", {"body": "   "})
    assert blank.status_code == 422 and 'aria-describedby="err-body"' in blank.text
    for path in (f"/challenges/{ref}", f"/api/v1/challenges/{ref}", f"/api/v1/challenges/{ref}/events", "/api/v1/events?limit=1000"):
        text = (await api.get(path)).text
        assert "MARKER-NOTE" not in text and "MARKER-STAFF" not in text and "MARKER-CONTACT" not in text


async def test_decision_with_confirmation_publishes_scores(people, api, bplace):
    ref = await file_challenge(api, bplace)
    coord = await people(bplace, "coordinator")
    r = await act(coord, api, ref, "declare_admissible")
    assert r.status_code == 303, r.text
    # Without scores a decision on the merits is refused, next to the form.
    refused = await act(coord, api, ref, "accept")
    assert refused.status_code == 422 and "social_value" in refused.text
    await score_all(coord, ref, 5)
    version = await version_of(api, ref)
    review = await coord.post(f"/backoffice/challenges/{ref}/actions/accept", {"expected_version": version, "step": "review"})
    assert review.status_code == 200 and 'value="confirm"' in review.text
    assert await version_of(api, ref) == version  # nothing happened before the confirmation
    done = await coord.post(f"/backoffice/challenges/{ref}/actions/accept", {"expected_version": version, "step": "confirm"})
    assert done.status_code == 303
    events = (await api.get(f"/api/v1/challenges/{ref}/events")).json()["items"]
    accept = events[-1]
    assert accept["action"] == "accept" and accept["actor_role"] == "reviewer"
    scores = accept["data"]["scores"]
    assert [s["criterion"] for s in scores] == ["social_value", "support", "cost", "quality", "continuity"]
    assert all(s["score"] == 5 and s["motivation"].startswith("MOTIVATION-") for s in scores)
    assert "MARKER-STAFF" not in json.dumps(events)


async def test_reject_needs_grounds_and_reasons_and_keeps_input(people, api, bplace):
    ref = await file_challenge(api, bplace)
    coord = await people(bplace, "coordinator")
    await api_act(api, bplace, ref, "declare_admissible")
    await score_all(coord, ref, 2)
    version = await version_of(api, ref)
    r = await coord.post(f"/backoffice/challenges/{ref}/actions/reject", {"expected_version": version, "reasons": "Te duur MARKER-TYPED"})
    assert r.status_code == 422
    assert 'id="err-grounds"' in r.text and "MARKER-TYPED" in r.text
    r = await act(coord, api, ref, "reject", grounds=["NL-COST", "UK-2"], reasons="Te duur voor de gemeente.")
    assert r.status_code == 303
    last = (await api.get(f"/api/v1/challenges/{ref}/events")).json()["items"][-1]
    assert last["data"]["grounds"] == ["NL-COST", "UK-2"] and len(last["data"]["scores"]) == 5


async def test_information_request_shows_the_paused_clock(people, api, bplace):
    ref = await file_challenge(api, bplace)
    coord = await people(bplace, "coordinator")
    r = await act(coord, api, ref, "request_information", questions="Wie doet het snoeiwerk?")
    assert r.status_code == 303
    page = await coord.get(f"/backoffice/challenges/{ref}")
    assert 'class="paused"' in page.text and "Wie doet het snoeiwerk?" in page.text


async def test_agreement_form_takes_euros_and_dates(people, api, bplace):
    ref = await file_challenge(api, bplace)
    coord = await people(bplace, "coordinator")
    await api_act(api, bplace, ref, "declare_admissible")
    await score_all(coord, ref)
    assert (await act(coord, api, ref, "accept")).status_code == 303
    bad = await act(coord, api, ref, "conclude_agreement", budget_cents="veel", starts_on="2027-03-01", ends_on="2027-01-01", conditions="Elk kwartaal een rapportage.")
    assert bad.status_code == 422 and 'id="err-budget_cents"' in bad.text
    bad = await act(coord, api, ref, "conclude_agreement", budget_cents="12.500,50", starts_on="2027-03-01", ends_on="2027-01-01", conditions="Elk kwartaal.")
    assert bad.status_code == 422 and 'id="err-ends_on"' in bad.text
    form = await coord.get(f"/backoffice/challenges/{ref}/actions/conclude_agreement")
    assert 'name="report_every_months"' in form.text
    bad = await act(coord, api, ref, "conclude_agreement", budget_cents="12.500,50", starts_on="2027-03-01", ends_on="2028-02-29", conditions="Elk kwartaal.", report_every_months="vaak")
    assert bad.status_code == 422
    ok = await act(coord, api, ref, "conclude_agreement", budget_cents="12.500,50", starts_on="2027-03-01", ends_on="2028-02-29", conditions="Elk kwartaal.", report_every_months="3")
    assert ok.status_code == 303, ok.text
    c = (await api.get(f"/api/v1/challenges/{ref}")).json()
    assert c["state"] == "agreed" and c["agreement"]["budget_cents"] == 1_250_050
    assert c["agreement"]["report_every_months"] == 3 and c["reporting"]["every_months"] == 3


async def test_two_coordinators_deciding_at_once_one_decision_one_conflict(people, api, bplace, db):
    ref = await file_challenge(api, bplace)
    first, second = await people(bplace, "coordinator"), await people(bplace, "coordinator")
    await api_act(api, bplace, ref, "declare_admissible")
    await score_all(first, ref)
    version = await version_of(api, ref)
    await first.get("/backoffice"), await second.get("/backoffice")
    for p in (first, second):  # both have their CSRF token before the race
        await p.post(f"/backoffice/challenges/{ref}/actions/accept", {"expected_version": version, "step": "review"})
    results = await asyncio.gather(
        first.post(f"/backoffice/challenges/{ref}/actions/accept", {"expected_version": version, "step": "confirm"}),
        second.post(
            f"/backoffice/challenges/{ref}/actions/reject",
            {"expected_version": version, "step": "confirm", "grounds": "NL-COST", "reasons": "Te duur."},
        ),
    )
    statuses = sorted(r.status_code for r in results)
    assert statuses == [303, 409], [r.status_code for r in results]
    conflict = next(r for r in results if r.status_code == 409)
    assert 'role="alert"' in conflict.text and ("in the meantime" in conflict.text or "ondertussen" in conflict.text)
    events = (await api.get(f"/api/v1/challenges/{ref}/events")).json()["items"]
    assert sum(e["action"] in ("accept", "reject") for e in events) == 1


async def test_a_form_from_before_someone_elses_action_gets_the_conflict_message(people, api, bplace):
    ref = await file_challenge(api, bplace)
    first, second = await people(bplace, "coordinator"), await people(bplace, "coordinator")
    version = await version_of(api, ref)
    assert (await act(first, api, ref, "declare_admissible")).status_code == 303
    late = await second.post(
        f"/backoffice/challenges/{ref}/actions/declare_inadmissible",
        {"expected_version": version, "step": "confirm", "grounds": "UK-2", "reasons": "Geen plan."},
    )
    assert late.status_code == 409 and "notice-conflict" in late.text
    assert (await api.get(f"/api/v1/challenges/{ref}")).json()["state"] == "under_assessment"


async def test_private_attachments_on_the_case_page(people, api, bplace, other, db, clock):
    from registry.portal import store as portal_store

    ref = await file_challenge(api, bplace)
    coord = await people(bplace, "coordinator")
    async with db.connection() as conn:
        challenge_id = await conn.fetchval("SELECT id FROM challenges WHERE ref = $1", ref)
        uploader = (await people(bplace, "reviewer")).user_id
        file_id = await portal_store.add_attachment(
            conn, draft_id=None, challenge_id=challenge_id, kind="signatures", filename="handtekeningen.pdf",
            content_type="application/pdf", content=b"%PDF-1.4 MARKER-SIGNATORY", sha256="0" * 64, public=True,
            user_id=uploader, now=clock(),
        )
    page = await coord.get(f"/backoffice/challenges/{ref}")
    assert "handtekeningen.pdf" in page.text and f"/attachments/{file_id}" in page.text
    r = await coord.get(f"/backoffice/challenges/{ref}/attachments/{file_id}")
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    assert r.headers["content-disposition"].startswith("attachment") and r.headers["x-content-type-options"] == "nosniff"
    # Signature lists are never public, whatever was asked for.
    assert (await api.get(f"/attachments/{file_id}")).status_code == 404
    stranger = await people(other, "coordinator")
    assert (await stranger.get(f"/backoffice/challenges/{ref}/attachments/{file_id}")).status_code == 404
    assert (await coord.get(f"/backoffice/challenges/{ref}/attachments/999999999")).status_code == 404
    async with db.connection() as conn:
        logged = await conn.fetchval(
            "SELECT count(*) FROM audit_log WHERE operation = 'read_attachment' AND user_id = $1", coord.user_id
        )
    assert logged == 1
