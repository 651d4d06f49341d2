"""The initiatives pages in a real browser: no WCAG 2.1 A/AA violation
(axe-core) in Dutch or English, the forms with their errors included, and the
search works without JavaScript."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta, timezone

import asyncpg
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from registry import accounts
from registry.initiatives import care, store
from registry.initiatives.profile import Profile
from registry.web.auth import SESSION_COOKIE
from tests.browser.helpers import assert_accessible, open_page

LANGS = ("nl", "en")


def _run(database_url: str, work):
    async def main():
        conn = await asyncpg.connect(database_url)
        try:
            await conn.execute("SET TIME ZONE 'UTC'")
            return await work(conn)
        finally:
            await conn.close()

    return asyncio.run(main())


@pytest.fixture
def initiatives(database_url, browser_place):
    """Three initiatives in the place's municipality, one featured, one verified."""
    now = datetime.now(timezone.utc)

    async def work(conn):
        ids = []
        for name, domains, hood, offers in (
            ("Energiecoöperatie Zonnedak", ["energy"], "Noord", ["Advies over zonnepanelen"]),
            ("Zorgcirkel De Linde", ["care"], "Zuid", ["Maaltijden op dinsdag"]),
            ("Buurthuis Het Anker", ["culture", "youth"], "Noord", ["Een zaal voor 20 mensen"]),
        ):
            ids.append(await store.create(
                conn, municipality=browser_place.code,
                profile=Profile(name=name, legal_form="foundation", registration_number="12345678", domains=domains,
                                neighbourhoods=[hood], offers=offers, needs=["Vrijwilligers"], members_count=40,
                                reciprocity="strangers_for_strangers", description="Wij **doen** het samen."),
                contact_name="MARKER", contact_email="marker@example.invalid", member_user_id=None, now=now))
        carer = care.Carer("admin", browser_place.code)
        await care.act(conn, carer, ids[0], "verify", "KvK gecontroleerd.", now)
        await care.act(conn, carer, ids[0], "feature", "Het eerste zonnedak op een school.", now)
        return ids

    return _run(database_url, work)


def log_in(driver, live_server, database_url, member_of: int | None = None) -> None:
    async def work(conn):
        email = f"browser-{uuid.uuid4().hex[:8]}@example.nl"
        now = datetime.now(timezone.utc)
        user_id, token = await accounts.register(conn, email, "correct horse battery", "Bewoner", "nl", now)
        await accounts.confirm_email(conn, token, now)
        if member_of:
            await conn.execute("INSERT INTO portal_memberships (collective_id, user_id) VALUES ($1, $2)", member_of, user_id)
        return await accounts.create_session(conn, user_id, timedelta(hours=1), now)

    session = _run(database_url, work)
    driver.get(live_server + "/static/site.css")
    driver.add_cookie({"name": SESSION_COOKIE, "value": session, "path": "/"})


@pytest.mark.parametrize("lang", LANGS)
def test_directory_is_accessible_and_searches_without_script(driver, live_server, browser_place, initiatives, lang):
    open_page(driver, live_server, f"/initiatives?municipality={browser_place.code}", lang)
    assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == lang
    assert_accessible(driver, f"initiatives-directory-{lang}")
    box = driver.find_element(By.ID, "f-q")
    box.send_keys("energie cooperatie")
    box.submit()
    WebDriverWait(driver, 10).until(EC.url_contains("q="))
    cards = driver.find_elements(By.CSS_SELECTOR, ".initiative-card h2")
    assert [c.text for c in cards] == ["Energiecoöperatie Zonnedak"]
    assert_accessible(driver, f"initiatives-search-{lang}")


@pytest.mark.parametrize("lang", LANGS)
def test_initiative_page_is_accessible(driver, live_server, initiatives, lang):
    open_page(driver, live_server, f"/initiatives/{initiatives[0]}", lang)
    assert driver.find_element(By.TAG_NAME, "h1").text == "Energiecoöperatie Zonnedak"
    assert "marker" not in driver.page_source.lower()
    assert_accessible(driver, f"initiative-{lang}")


@pytest.mark.parametrize("lang", LANGS)
def test_overview_with_chart_is_accessible(driver, live_server, browser_place, initiatives, lang):
    open_page(driver, live_server, f"/municipalities/{browser_place.code}/initiatives", lang)
    assert driver.find_elements(By.CSS_SELECTOR, "svg[role=img] title")
    assert "Het eerste zonnedak op een school." in driver.page_source
    assert_accessible(driver, f"initiatives-overview-{lang}")


@pytest.mark.parametrize("lang", LANGS)
def test_register_form_with_errors_is_accessible(driver, live_server, database_url, lang):
    log_in(driver, live_server, database_url)
    open_page(driver, live_server, "/initiatives/new", lang)
    assert_accessible(driver, f"initiative-new-{lang}")
    driver.find_element(By.ID, "f-registration_number").send_keys("123")
    driver.find_element(By.CSS_SELECTOR, "form.profile-form button[type=submit]").click()
    WebDriverWait(driver, 10).until(EC.presence_of_element_located((By.CSS_SELECTOR, ".error-summary")))
    field = driver.find_element(By.ID, "f-registration_number")
    assert field.get_attribute("aria-invalid") == "true" and field.get_attribute("value") == "123"
    assert_accessible(driver, f"initiative-new-errors-{lang}")


@pytest.mark.parametrize("lang", LANGS)
def test_contact_and_report_forms_are_accessible(driver, live_server, database_url, initiatives, lang):
    open_page(driver, live_server, f"/initiatives/{initiatives[1]}/report", lang)
    assert_accessible(driver, f"initiative-report-{lang}")
    log_in(driver, live_server, database_url, member_of=initiatives[1])
    open_page(driver, live_server, f"/initiatives/{initiatives[1]}/contact", lang)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()  # empty: an error
    WebDriverWait(driver, 10).until(EC.presence_of_element_located((By.CSS_SELECTOR, ".error-summary")))
    assert driver.find_element(By.ID, "f-message").get_attribute("aria-invalid") == "true"
    assert_accessible(driver, f"initiative-contact-errors-{lang}")
    open_page(driver, live_server, f"/initiatives/{initiatives[1]}/edit", lang)
    assert_accessible(driver, f"initiative-edit-{lang}")
