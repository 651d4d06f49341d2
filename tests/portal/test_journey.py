"""The collective's journey over HTTP: create a collective, invite a member,
file in steps with a draft, preview and attachment, submit; support; answer an
information request sent through the API; consent to a modification; mails
to members and opted-in supporters; who did what recorded privately."""

from __future__ import annotations

import io
import re
import zipfile

import pytest

from tests.conftest import make_place

from .conftest import csrf_of, form_post, last_mail, link_in, sign_up

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _odt() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.text", compress_type=zipfile.ZIP_STORED)
        z.writestr("content.xml", "<office:document-content/>")
    return buf.getvalue()


ODT = _odt()


def odt_bytes() -> bytes:
    return ODT


@pytest.fixture
async def municipality(db):
    async with db.connection() as conn:
        return await make_place(conn)


async def create_collective(client, place, name="Buurtcoöperatie Portaal") -> int:
    r = await form_post(client, "/collectives/new", {
        "municipality": place.code, "name": name, "legal_form": "cooperative", "registration_number": "87654321",
        "neighbourhood": "Oost", "description": "Wij **vegen**.", "contact_name": "MARKER-PORTAL-CONTACT",
        "contact_email": "marker-portal@example.invalid", "contact_phone": "+31 6 1234 5678",
    })  # fmt: skip
    assert r.status_code == 303, r.text
    return int(re.search(r"/my/collectives/(\d+)", r.headers["location"]).group(1))


WHAT = {"title": "Wij vegen de Dapperbuurt", "summary": "Schoner en goedkoper.", "area": "Dapperbuurt",
        "proposed_start": "2027-03-01", "duration_months": "12"}
WHY = {"why_better": "Wij wonen er.", "experience": "Tien jaar buurtwerk.", "expected_support": "200 handtekeningen.",
       "quality_continuity": "Een reservelijst van vrijwilligers.", "help_wanted": "Bezems."}
MONEY = {"cost_estimate": "| post | bedrag |\n|---|---|\n| bezems | 500 |", "requested_budget": "12.000,50"}
PLAN = {"plan": "## Plan\nTwee keer per week, <script>alert(1)</script> [x](javascript:alert(1))"}


async def start_draft(client, collective_id: int, place) -> int:
    page = await client.get(f"/file/{collective_id}")
    assert page.status_code == 200 and "Parkeren" in page.text and "enforcement" in page.text
    r = await client.post(f"/file/{collective_id}/{place.service}", data={"_csrf_token": csrf_of(page.text)})
    assert r.status_code == 303
    return int(re.search(r"/drafts/(\d+)/what", r.headers["location"]).group(1))


async def save_step(client, draft_id: int, step: str, values: dict, intent="next"):
    page = await client.get(f"/drafts/{draft_id}/{step}")
    assert page.status_code == 200, page.text
    revision = re.search(r'name="revision" value="(\d+)"', page.text).group(1)
    return await client.post(f"/drafts/{draft_id}/{step}", data={
        **values, "revision": revision, "intent": intent, "_csrf_token": csrf_of(page.text)})


async def upload(client, url_page: str, post_url: str, content: bytes, name: str, kind="plan", public=True):
    page = await client.get(url_page)
    data = {"kind": kind, "_csrf_token": csrf_of(page.text)}
    if public:
        data["public"] = "1"
    return await client.post(post_url, data=data, files={"file": (name, content, "application/octet-stream")})


async def test_the_collectives_journey(client, new_client, db, municipality, smtp_server, mail_settings):
    place = municipality
    founder = await sign_up(client, db, name="MARKER-FOUNDER-NAME")
    collective_id = await create_collective(client, place)

    # Invite a second member, who accepts.
    member_client = new_client("en")
    member = await sign_up(member_client, db, name="MARKER-MEMBER2")
    r = await form_post(client, f"/my/collectives/{collective_id}", {"email": member}, post_url=f"/my/collectives/{collective_id}/invite")
    assert r.status_code == 303
    invite = await last_mail(db, member)
    assert invite["locale"] == "en" and "Invitation" in invite["subject"]
    link = link_in(invite["body_text"])
    r = await form_post(member_client, link, {"token": link.split("=", 1)[1]}, post_url="/invite")
    assert r.status_code == 303 and r.headers["location"] == f"/my/collectives/{collective_id}"

    # File in steps. A problem keeps what was typed; it is saved as a draft anyway.
    draft_id = await start_draft(client, collective_id, place)
    r = await save_step(client, draft_id, "what", {**WHAT, "proposed_start": "1 maart"})
    assert r.status_code == 422 and 'id="f-proposed_start-error"' in r.text and 'value="1 maart"' in r.text
    assert 'value="Wij vegen de Dapperbuurt"' in r.text
    r = await save_step(client, draft_id, "what", WHAT)
    assert r.status_code == 303 and r.headers["location"].endswith("/why")
    assert (await save_step(client, draft_id, "why", WHY)).status_code == 303
    assert (await save_step(client, draft_id, "money", MONEY)).status_code == 303
    r = await save_step(client, draft_id, "plan", PLAN, intent="preview")
    assert r.status_code == 200 and "<h2>Plan</h2>" in r.text
    assert "<script>alert(1)" not in r.text and 'href="javascript:' not in r.text
    assert (await save_step(client, draft_id, "plan", PLAN)).status_code == 303

    # Two members editing at once: the second save is refused, its text kept.
    page = await client.get(f"/drafts/{draft_id}/what")
    stale = re.search(r'name="revision" value="(\d+)"', page.text).group(1)
    assert (await save_step(member_client, draft_id, "what", {**WHAT, "title": "Door lid 2"})).status_code == 303
    r = await client.post(f"/drafts/{draft_id}/what", data={**WHAT, "title": "Door de oprichter", "revision": stale,
                                                            "intent": "next", "_csrf_token": csrf_of(page.text)})
    assert r.status_code == 422 and 'value="Door de oprichter"' in r.text and 'id="f-revision"' in r.text
    assert (await save_step(client, draft_id, "what", WHAT)).status_code == 303

    # Attachments: type from the content; a fake PDF is refused, a signature list never public.
    review = f"/drafts/{draft_id}/review"
    r = await upload(client, review, f"/drafts/{draft_id}/attachments", b"MZ\x90\x00 not a pdf", "plan.pdf")
    assert r.status_code == 422 and 'id="f-file-error"' in r.text
    r = await upload(client, review, f"/drafts/{draft_id}/attachments", odt_bytes(), "../../begroting.odt", kind="budget")
    assert r.status_code == 303
    r = await upload(client, review, f"/drafts/{draft_id}/attachments", PNG, "handtekeningen.png", kind="signatures")
    assert r.status_code == 303

    # Submit.
    page = await client.get(review)
    assert page.status_code == 200 and "begroting.odt" in page.text
    r = await client.post(f"/drafts/{draft_id}/submit", data={"_csrf_token": csrf_of(page.text)})
    assert r.status_code == 303, r.text
    ref = re.search(r"/my/challenges/([A-Z0-9-]+)", r.headers["location"]).group(1)
    public = (await client.get(f"/api/v1/challenges/{ref}")).json()
    assert public["state"] == "submitted" and public["requested_budget_cents"] == 1200050
    assert "Tien jaar buurtwerk." in public["plan"] and "Waarom wij het beter of goedkoper doen" in public["plan"] or \
        "Why we do it better or cheaper" in public["plan"]
    async with db.connection() as conn:
        label = await conn.fetchval(
            "SELECT a.actor_label FROM event_actors a JOIN events e ON e.id = a.event_id"
            " JOIN challenges c ON c.id = e.challenge_id WHERE c.ref = $1", ref)
        founder_id = await conn.fetchval("SELECT id FROM users WHERE email = $1", founder)
    assert label == f"user:{founder_id}"

    # The public attachment list: the ODT, not the signatures; files served safely.
    support_page = await client.get(f"/challenges/{ref}/support")
    assert "begroting.odt" in support_page.text and "handtekeningen" not in support_page.text
    odt_id = re.search(r'/attachments/(\d+)">begroting.odt', support_page.text).group(1)
    anon = new_client()
    r = await anon.get(f"/attachments/{odt_id}")
    assert r.status_code == 200 and r.content == odt_bytes()
    assert r.headers["content-type"].startswith("application/vnd.oasis.opendocument.text")
    assert r.headers["content-disposition"].startswith("attachment;")
    assert r.headers["x-content-type-options"] == "nosniff"
    mine = await client.get(f"/my/challenges/{ref}")
    sig_id = re.search(r'/attachments/(\d+)">handtekeningen.png', mine.text).group(1)
    assert (await anon.get(f"/attachments/{sig_id}")).status_code == 404
    r = await client.get(f"/attachments/{sig_id}")
    assert r.status_code == 200 and r.headers["content-disposition"].startswith("inline;")

    # Support from two residents; once each; one opts in to mail.
    supporters = []
    for i, notify in enumerate(("1", "")):
        c = new_client()
        email = await sign_up(c, db, name=f"MARKER-SUPPORTER-{i}")
        r = await form_post(c, f"/challenges/{ref}/support", {"notify": notify})
        assert r.status_code == 303
        r = await form_post(c, f"/challenges/{ref}/support", {"notify": notify})
        assert r.status_code == 303
        supporters.append((c, email))
    assert (await client.get(f"/api/v1/challenges/{ref}")).json()["support_count"] == 2
    c3 = new_client()
    await sign_up(c3, db)
    await form_post(c3, f"/challenges/{ref}/support", {})
    await form_post(c3, f"/challenges/{ref}/support", {"intent": "withdraw"})
    assert (await client.get(f"/api/v1/challenges/{ref}")).json()["support_count"] == 2

    # The reviewer asks for information through the API; members and the opted-in supporter get mail.
    version = public["version"]
    for action, body in (("declare_admissible", {}), ("request_information", {"questions": "Hoeveel vrijwilligers?"})):
        r = await client.post(f"/api/v1/challenges/{ref}/actions/{action}", headers=place.auth("reviewer"),
                              json={"expected_version": version, **body})
        assert r.status_code == 200, r.text
        version += 1
    mail = await last_mail(db, member)
    assert mail["locale"] == "en" and "Information requested" in mail["subject"] and "Hoeveel vrijwilligers?" in mail["body_text"]
    assert "Informatie gevraagd" in (await last_mail(db, founder))["subject"]
    assert ref in (await last_mail(db, supporters[0][1]))["subject"]
    assert ref not in ((await last_mail(db, supporters[1][1])) or {"subject": ""})["subject"]

    # "My challenges" shows what it waits on and the action; the member answers.
    r = await member_client.get("/my/challenges")
    assert r.status_code == 200 and ref in r.text and "Answer the questions" in r.text
    page = await member_client.get(f"/my/challenges/{ref}")
    assert "Hoeveel vrijwilligers?" in page.text
    r = await member_client.post(f"/my/challenges/{ref}/actions/provide_information",
                                 data={"expected_version": str(version), "answer": "  ", "_csrf_token": csrf_of(page.text)})
    assert r.status_code == 422 and 'id="f-provide_information-answer-error"' in r.text
    r = await member_client.post(f"/my/challenges/{ref}/actions/provide_information",
                                 data={"expected_version": str(version), "answer": "Veertien.", "_csrf_token": csrf_of(page.text)})
    assert r.status_code == 303, r.text
    version += 1
    # A stale form is refused with a message, not a 500.
    r = await member_client.post(f"/my/challenges/{ref}/actions/withdraw",
                                 data={"expected_version": "1", "reasons": "x", "_csrf_token": csrf_of(page.text)})
    assert r.status_code == 409

    # A modification is proposed; the founder consents.
    r = await client.post(f"/api/v1/challenges/{ref}/actions/propose_modification", headers=place.auth("reviewer"),
                          json={"expected_version": version, "modification": "Eerst één straat.", "reasons": "Proef."})
    assert r.status_code == 200, r.text
    version += 1
    page = await client.get(f"/my/challenges/{ref}")
    assert "Eerst één straat." in page.text
    r = await client.post(f"/my/challenges/{ref}/actions/consent",
                          data={"expected_version": str(version), "_csrf_token": csrf_of(page.text)})
    assert r.status_code == 303
    detail = (await client.get(f"/api/v1/challenges/{ref}")).json()
    assert detail["state"] == "accepted"

    # Mail really goes out through SMTP.
    from registry.notifications.delivery import deliver_pending
    from datetime import datetime, timedelta, timezone

    while (await deliver_pending(db, mail_settings, datetime.now(timezone.utc) + timedelta(seconds=5))).sent:
        pass
    assert any(ref in m["Subject"] for m in smtp_server.inbox.to(member))

    # Nothing private on the public page, the API or the feed.
    for url in (f"/challenges/{ref}", f"/api/v1/challenges/{ref}", f"/api/v1/challenges/{ref}/events",
                f"/challenges/{ref}/support", f"/collectives/{collective_id}"):
        text = (await anon.get(url)).text
        for marker in ("MARKER", "marker-portal", founder, member, "user:"):
            assert marker not in text, (url, marker)


async def test_minimum_support_refuses_admissibility(client, new_client, db, municipality):
    from registry.portal import rules

    place = municipality
    async with db.connection() as conn:
        await rules.set_minimum_support(conn, place.code, 1)
    r = await client.post("/api/v1/challenges", headers=place.auth(), json={
        "service": place.service, "title": "t", "summary": "s", "plan": "p", "requested_budget_cents": 1, "area": "a",
        "proposed_start": "2027-01-01", "duration_months": 1, "submit": True})
    ref = r.json()["ref"]
    r = await client.post(f"/api/v1/challenges/{ref}/actions/declare_admissible", headers=place.auth("reviewer"),
                          json={"expected_version": 2})
    assert r.status_code == 409 and "insufficient-support" in r.json()["type"]
    await sign_up(client, db)
    assert (await form_post(client, f"/challenges/{ref}/support", {})).status_code == 303
    r = await client.post(f"/api/v1/challenges/{ref}/actions/declare_admissible", headers=place.auth("reviewer"),
                          json={"expected_version": 2})
    assert r.status_code == 200


async def test_strangers_cannot_see_or_act(client, new_client, db, municipality):
    place = municipality
    await sign_up(client, db)
    collective_id = await create_collective(client, place)
    draft_id = await start_draft(client, collective_id, place)
    stranger = new_client()
    await sign_up(stranger, db)
    assert (await stranger.get(f"/my/collectives/{collective_id}")).status_code == 404
    assert (await stranger.get(f"/drafts/{draft_id}/what")).status_code == 404
    assert (await stranger.get(f"/file/{collective_id}")).status_code == 404
    r = await form_post(stranger, "/account", {"expected_version": "1", "reasons": "x"},
                        post_url=f"/my/challenges/{place.code}-2026-0001/actions/withdraw")
    assert r.status_code == 404


async def test_upload_size_limits(client, db, municipality):
    place = municipality
    await sign_up(client, db)
    collective_id = await create_collective(client, place)
    draft_id = await start_draft(client, collective_id, place)
    review = f"/drafts/{draft_id}/review"
    big = b"%PDF-1.4\n" + b"0" * (10 * 1024 * 1024)
    r = await upload(client, review, f"/drafts/{draft_id}/attachments", big, "big.pdf")
    assert r.status_code == 422 and 'id="f-file-error"' in r.text
    r = await upload(client, review, f"/drafts/{draft_id}/attachments", big[: 10 * 1024 * 1024], "ok.pdf")
    assert r.status_code == 303
    r = await upload(client, review, f"/drafts/{draft_id}/attachments", big + b"0" * (2 * 1024 * 1024), "huge.pdf")
    assert r.status_code == 413
    async with db.connection() as conn:
        row = await conn.fetchrow("SELECT size_bytes, sha256, content_type FROM attachments WHERE draft_id = $1", draft_id)
    import hashlib

    assert row["size_bytes"] == 10 * 1024 * 1024 and row["content_type"] == "application/pdf"
    assert row["sha256"] == hashlib.sha256(big[: 10 * 1024 * 1024]).hexdigest()
