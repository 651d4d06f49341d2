"""The public pages in Dutch and English: how the locale is chosen, the
language switch, and the locale-aware filters."""

from __future__ import annotations

import re

import pytest

from registry.web import i18n, vocabulary
from tests.conftest import filing


async def _challenge(client, place, **overrides) -> dict:
    r = await client.post("/api/v1/challenges", json=filing(place, **overrides), headers=place.auth())
    assert r.status_code == 201, r.text
    return r.json()


def _lang(html: str) -> str:
    return re.search(r'<html lang="([a-z]+)">', html).group(1)


@pytest.mark.parametrize(
    ("headers", "query", "expected"),
    [
        ({}, "", "nl"),
        ({"Accept-Language": "en-GB,en;q=0.9"}, "", "en"),
        ({"Accept-Language": "de-DE, en;q=0.5, nl;q=0.8"}, "", "nl"),
        ({"Accept-Language": "fr, de"}, "", "nl"),
        ({"Accept-Language": "en", "Cookie": "lang=nl"}, "", "nl"),
        ({"Accept-Language": "nl", "Cookie": "lang=en"}, "", "en"),
        ({"Cookie": "lang=en"}, "?lang=nl", "nl"),
        ({}, "?lang=xx", "nl"),
    ],
)
async def test_locale_choice(client, headers, query, expected):
    r = await client.get(f"/challenges{query}", headers=headers)
    assert r.status_code == 200
    assert _lang(r.text) == expected
    assert r.headers["content-language"] == expected
    assert "Accept-Language" in r.headers["vary"]


async def test_lang_parameter_sets_a_cookie(client):
    r = await client.get("/challenges?lang=en")
    [cookie] = [c for c in r.headers.get_list("set-cookie") if c.startswith("lang=")]
    assert cookie.startswith("lang=en;")
    assert "SameSite=Lax" in cookie and "HttpOnly" in cookie and "Secure" not in cookie
    assert "Right-to-Challenge Registry" in r.text
    # The client keeps the cookie: the next page is English without ?lang=.
    r = await client.get("/accessibility")
    assert _lang(r.text) == "en" and "Accessibility statement" in r.text
    assert not [c for c in r.headers.get_list("set-cookie") if c.startswith("lang=")]
    client.cookies.clear()


async def test_lang_cookie_is_secure_over_https(settings, db, clock):
    import httpx

    from registry.app import create_app

    app = create_app(settings, db=db, clock=clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://registry.test") as c:
        r = await c.get("/challenges?lang=en")
    [cookie] = [c for c in r.headers.get_list("set-cookie") if c.startswith("lang=")]
    assert "Secure" in cookie


async def test_language_switch_on_every_page(client, place):
    c = await _challenge(client, place)
    for path in ("/challenges", f"/challenges/{c['ref']}", "/accessibility", "/challenges/GM0000-2000-0001"):
        nl = (await client.get(path)).text
        assert 'hreflang="en" lang="en">English</a>' in nl, path
        assert f'href="{path}?lang=en"' in nl
        en = (await client.get(path, headers={"Accept-Language": "en"})).text
        assert 'hreflang="nl" lang="nl">Nederlands</a>' in en, path


async def test_language_switch_keeps_the_filters(client, place):
    from html import unescape
    from urllib.parse import parse_qs, urlsplit

    r = await client.get(f"/challenges?municipality={place.code}&state=submitted")
    href = unescape(re.search(r'<a href="([^"]*)" hreflang="en"', r.text).group(1))
    url = urlsplit(href)
    assert url.path == "/challenges"
    assert parse_qs(url.query) == {"municipality": [place.code], "state": ["submitted"], "lang": ["en"]}


async def test_challenge_page_in_dutch_and_english(client, place):
    c = await _challenge(client, place, requested_budget_cents=123_456, proposed_start="2027-03-01")
    nl = (await client.get(f"/challenges/{c['ref']}")).text
    assert "Kenmerk" in nl and "Ingediend" in nl and "Straatreiniging" in nl and "coöperatie" in nl
    assert "€\xa01.234,56" in nl and "1 maart 2027" in nl and "wacht op de gemeente" in nl
    en = (await client.get(f"/challenges/{c['ref']}?lang=en")).text
    assert "Reference" in en and "Submitted" in en and "Street cleaning" in en and "cooperative" in en
    assert "€1,234.56" in en and "March 1, 2027" in en and "waiting on the municipality" in en
    client.cookies.clear()


async def test_error_page_is_translated(client):
    nl = await client.get("/challenges/GM0000-2000-0001")
    assert nl.status_code == 404
    assert "Pagina niet gevonden" in nl.text and '<span lang="en">There is no public challenge' in nl.text
    en = await client.get("/no/such/page", headers={"Accept-Language": "en"})
    assert en.status_code == 404 and "Page not found" in en.text and _lang(en.text) == "en"


def test_money_numbers_and_dates():
    from datetime import date, datetime, timezone

    assert i18n.format_money(123456, "nl") == "€\xa01.234,56"
    assert i18n.format_money(123456, "en") == "€1,234.56"
    assert i18n.format_money(None, "nl") == ""
    assert i18n.format_number(1234567.5, "nl") == "1.234.567,5"
    assert i18n.format_number(1234567.5, "en") == "1,234,567.5"
    assert i18n.format_date(date(2027, 3, 1), "nl") == "1 maart 2027"
    assert i18n.format_date("2027-03-01", "en") == "March 1, 2027"
    # Shown in Dutch time: 23:30 UTC on 31 Dec is already New Year in Amsterdam.
    moment = datetime(2026, 12, 31, 23, 30, tzinfo=timezone.utc)
    assert i18n.format_datetime(moment, "nl") == "1 januari 2027 00:30"
    assert i18n.format_datetime("2027-07-01T10:00:00Z", "en").startswith("July 1, 2027 12:00")


def test_accept_language_parsing():
    assert i18n.from_accept_language("nl-NL,nl;q=0.9,en-US;q=0.8") == "nl"
    assert i18n.from_accept_language("en-US,en;q=0.9,nl;q=0.8") == "en"
    assert i18n.from_accept_language("en;q=0, nl;q=0.1") == "nl"
    assert i18n.from_accept_language("*") is None
    assert i18n.from_accept_language("garbage;;q=x,,") is None
    assert i18n.from_accept_language(None) is None


def test_vocabulary_labels():
    assert vocabulary.label("state", "under_assessment", "nl") == "In beoordeling"
    assert vocabulary.label("state", "under_assessment", "en") == "Under assessment"
    assert vocabulary.label("action", "declare_admissible", "nl") == "Ontvankelijk verklaard"
    assert vocabulary.label("state", "no_such_state", "nl") == "no such state"
    assert vocabulary.ground_label("NL-COST", "nl") == "Duurder dan de huidige uitvoering"
    assert vocabulary.ground_label("NL-COST", "en") == "More expensive than the current execution"
    assert i18n.translate("nl", "waiting on %(party)s", party="x") == "wacht op x"


async def test_the_filter_form_with_empty_options(client, place):
    """What the form submits when a <select> is left at "all": empty values mean "any"."""
    c = await _challenge(client, place)
    r = await client.get("/challenges?municipality=&state=&category=")
    assert r.status_code == 200, r.text
    r = await client.get(f"/challenges?municipality={place.code}&state=submitted&category=")
    assert r.status_code == 200 and c["ref"] in r.text
    assert (await client.get("/challenges?state=nonsense")).status_code == 400
