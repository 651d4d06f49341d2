"""The pages: directory, initiative, overview, registering and editing, the
contact relay through a real SMTP server on loopback, reports, confirmation."""

from __future__ import annotations

import re
from datetime import timedelta

from registry.initiatives import stale
from tests.conftest import make_place
from tests.initiatives.conftest import CONTACT, NOW, csrf_of, deliver, log_in, make_initiative, post_form

PRIVATE = ("MARKER", "marker-", "example.invalid")


def assert_private(text: str) -> None:
    for marker in PRIVATE:
        assert marker not in text, f"{marker!r} leaked"


async def test_directory_search_and_filters(client, db, place):
    async with db.connection() as conn:
        coop = await make_initiative(conn, place.code, "Energiecoöperatie Zonnedak", domains=["energy"],
                                     neighbourhoods=["Oost"], offers=["Een bakfiets op zaterdag"])
        await make_initiative(conn, place.code, "Voedselbank Oost", domains=["food"], neighbourhoods=["Oost"])
    r = await client.get("/initiatives", params={"q": "energie coöperatie", "municipality": place.code})
    assert r.status_code == 200 and f'href="/initiatives/{coop}"' in r.text and "Voedselbank" not in r.text
    r = await client.get("/initiatives", params={"municipality": place.code, "domain": "food", "reciprocity": "",
                                                 "neighbourhood": "Oost", "open_challenge": "", "q": ""})
    assert "Voedselbank Oost" in r.text and "Zonnedak" not in r.text
    assert (await client.get("/initiatives", params={"domain": "space"})).status_code == 400
    assert (await client.get("/initiatives", params={"cursor": "nonsense"})).status_code == 200
    assert_private(r.text)


async def test_initiative_page_and_markdown_is_sanitised(client, db, place):
    async with db.connection() as conn:
        ident = await make_initiative(conn, place.code, "Buurthuis De Boog", domains=["culture"], members_count=35,
                                      description="**Open** huis <script>alert('x')</script> [site](javascript:alert(1))",
                                      offers=["Een zaal voor 20 mensen op dinsdagavond"], needs=["Vrijwilligers"])
    r = await client.get(f"/initiatives/{ident}")
    assert r.status_code == 200
    assert "<strong>Open</strong>" in r.text and "<script>alert" not in r.text and "href=\"javascript" not in r.text
    assert "Een zaal voor 20 mensen op dinsdagavond" in r.text and "35" in r.text
    assert_private(r.text)
    assert (await client.get("/initiatives/999999999")).status_code == 404
    en = await client.get(f"/initiatives/{ident}?lang=en")
    assert "What we offer" in en.text


async def test_overview_with_chart_table_and_featured(client, db, place):
    async with db.connection() as conn:
        a = await make_initiative(conn, place.code, "Zorgcirkel Noord", domains=["care"], neighbourhoods=["Noord"])
        await make_initiative(conn, place.code, "Zorgcoöperatie Zuid", domains=["care", "housing"], neighbourhoods=["Zuid"])
    await client.post(f"/api/v1/initiatives/{a}/actions/feature", json={"reasons": "Steunt 40 mantelzorgers."},
                      headers=place.auth("reviewer"))
    r = await client.get(f"/municipalities/{place.code}/initiatives")
    assert r.status_code == 200
    assert '<svg' in r.text and 'role="img"' in r.text and "<table" in r.text
    assert "Steunt 40 mantelzorgers." in r.text
    assert re.search(r"<th scope=\"row\">Zorg en welzijn</th><td class=\"num\">2</td>", r.text), r.text
    assert (await client.get("/municipalities/GM9999/initiatives")).status_code == 404


async def test_register_edit_and_membership(client, db, place):
    assert (await client.get("/initiatives/new")).status_code in (302, 303)
    user_id, _ = await log_in(client, db)
    form = {"name": "", "municipality": place.code, "legal_form": "cooperative", "registration_number": "1234",
            "domains": ["energy", "sharing"], "offers": "Advies over isolatie\nEen ladder", "contact_email": "nope",
            "description": "Wij <em>delen</em>"}
    r = await post_form(client, "/initiatives/new", form)
    assert r.status_code == 422
    assert 'id="e-name"' in r.text and 'id="e-registration_number"' in r.text and 'id="e-contact_email"' in r.text
    assert 'aria-describedby="e-name"' in r.text
    no_domain = await post_form(client, "/initiatives/new", {k: v for k, v in form.items() if k != "domains"})
    assert no_domain.status_code == 422 and 'id="e-domains"' in no_domain.text and "Advies over isolatie" in r.text and 'value="energy" checked' in r.text
    form.update(name="Deelcoöperatie Testbuurt", registration_number="1234 5678",
                contact_email="MARKER-relay@example.invalid".lower())
    r = await post_form(client, "/initiatives/new", form)
    assert r.status_code == 303, r.text[:2000]
    ident = int(r.headers["location"].split("/")[2].split("?")[0])
    async with db.connection() as conn:
        row = await conn.fetchrow("SELECT c.registration_number, pm.user_id FROM collectives c"
                                  " JOIN portal_memberships pm ON pm.collective_id = c.id WHERE c.id = $1", ident)
    assert row["registration_number"] == "12345678" and row["user_id"] == user_id
    page = await client.get(f"/initiatives/{ident}")
    assert f"/initiatives/{ident}/edit" in page.text
    assert_private(page.text)
    edit = await client.get(f"/initiatives/{ident}/edit")
    assert "marker-relay@example.invalid" in edit.text  # the member's own form shows the private address
    r = await post_form(client, f"/initiatives/{ident}/edit", {**form, "name": "Deelcoöperatie De Buurt", "needs": "Een zolder"})
    assert r.status_code == 303
    assert "Deelcoöperatie De Buurt" in (await client.get(f"/initiatives/{ident}")).text
    # Someone else may not edit.
    await log_in(client, db)
    assert (await client.get(f"/initiatives/{ident}/edit")).status_code == 403


async def test_profile_for_an_existing_collective(client, db, place):
    user_id, _ = await log_in(client, db)
    async with db.connection() as conn:
        await conn.execute("INSERT INTO portal_memberships (collective_id, user_id) VALUES ($1, $2)", place.collective, user_id)
    page = await client.get(f"/initiatives/new?collective={place.collective}")
    assert "Buurtcoöperatie Test" in page.text
    r = await client.post("/initiatives/new", data={
        "_csrf_token": csrf_of(page.text), "collective": str(place.collective), "name": "Buurtcoöperatie Test",
        "legal_form": "cooperative", "registration_number": "12345678", "domains": "green", "contact_email": "a@b.nl"})
    assert r.status_code == 303 and r.headers["location"].startswith(f"/initiatives/{place.collective}")
    # The other collective is not theirs.
    r = await post_form(client, "/initiatives/new", {"collective": str(place.other_collective), "name": "X",
                                                     "domains": "green", "contact_email": "a@b.nl"})
    assert r.status_code == 422


async def test_contact_relay_through_smtp(client, db, place, smtp_inbox, mail_settings):
    async with db.connection() as conn:
        ident = await make_initiative(conn, place.code, "Broodfonds Relay", domains=["work_and_income"])
    assert (await client.get(f"/initiatives/{ident}/contact")).status_code in (302, 303)
    _, resident = await log_in(client, db)
    r = await post_form(client, f"/initiatives/{ident}/contact", {"message": ""})
    assert r.status_code == 422 and 'id="e-message"' in r.text
    r = await post_form(client, f"/initiatives/{ident}/contact", {"message": "Mag ik aansluiten bij het broodfonds?"})
    assert r.status_code == 200 and "on its way" in r.text or "onderweg" in r.text
    await deliver(db, mail_settings)
    [mail] = smtp_inbox.to(CONTACT)
    text = mail.get_body(("plain",)).get_content()
    assert "Mag ik aansluiten bij het broodfonds?" in text
    assert resident not in mail.as_string() and "MARKER-RESIDENT-NAME" not in mail.as_string()
    link = re.search(r"https?://\S+/initiatives/replies/(\S+)", text)
    token = link.group(1)
    # The contact answers once, without logging in.
    client.cookies.clear()
    r = await post_form(client, f"/initiatives/replies/{token}", {"message": "Welkom! Kom dinsdag langs."})
    assert r.status_code == 200
    await deliver(db, mail_settings)
    [answer] = smtp_inbox.to(resident)
    assert "Welkom! Kom dinsdag langs." in answer.get_body(("plain",)).get_content()
    assert CONTACT not in answer.as_string()
    assert (await client.get(f"/initiatives/replies/{token}")).status_code == 410


async def test_contact_is_rate_limited_and_needs_a_confirmed_address(client, db, place):
    async with db.connection() as conn:
        ident = await make_initiative(conn, place.code, "Zorgcirkel Limiet", domains=["care"])
    await log_in(client, db, confirmed=False)
    r = await post_form(client, f"/initiatives/{ident}/contact", {"message": "Hallo"})
    assert r.status_code == 422
    await log_in(client, db)
    codes = [(await post_form(client, f"/initiatives/{ident}/contact", {"message": f"Hallo {n}"})).status_code for n in range(6)]
    assert codes == [200] * 5 + [429]


async def test_report_form(client, db, place):
    async with db.connection() as conn:
        ident = await make_initiative(conn, place.code, "Verdacht Initiatief", domains=["other"])
    r = await post_form(client, f"/initiatives/{ident}/report", {"reason": ""})
    assert r.status_code == 422
    r = await post_form(client, f"/initiatives/{ident}/report", {"reason": "MARKER-REPORT reclame"})
    assert r.status_code == 200
    assert "MARKER-REPORT" not in (await client.get(f"/initiatives/{ident}")).text
    async with db.connection() as conn:
        assert await conn.fetchval("SELECT count(*) FROM initiative_reports WHERE collective_id = $1", ident) == 1


async def test_stale_profiles_are_asked_to_confirm(client, db, clock, smtp_inbox, mail_settings):
    async with db.connection() as conn:
        place = await make_place(conn)
        old = NOW - timedelta(days=800)
        contact = "stale-contact@example.nl"
        ident = await make_initiative(conn, place.code, "Oude Moestuin", domains=["food"], now=old, contact=contact)
    org = (await client.get(f"/api/v1/initiatives/{ident}")).json()
    assert org["status"] == "possibly_inactive"
    async with db.connection() as conn:
        assert await stale.ask_stale(conn, "http://registry.test", clock.now) >= 1
        assert await stale.ask_stale(conn, "http://registry.test", clock.now) == 0  # asked once
    await deliver(db, mail_settings)
    [mail] = smtp_inbox.to(contact)
    link = re.search(r"http://registry.test(/initiatives/\d+/confirm\?token=\S+)", mail.get_body(("plain",)).get_content()).group(1)
    page = await client.get(link)
    assert page.status_code == 200
    token = link.split("token=")[1]
    r = await client.post(f"/initiatives/{ident}/confirm", data={"_csrf_token": csrf_of(page.text), "token": token})
    assert r.status_code == 200
    assert (await client.get(f"/api/v1/initiatives/{ident}")).json()["status"] == "active"
    assert (await client.get(link)).status_code == 410
