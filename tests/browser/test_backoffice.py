"""The back office in a real browser: a reviewer and a coordinator take a
challenge from submission through assessment and decision to an agreement and
a progress report; every back-office page passes axe-core in Dutch and English."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from registry.backoffice import service
from tests.browser.helpers import act, assert_accessible, file_challenge, open_page

PASSWORD = "staff password 123"
LANGS = ("nl", "en")


def _make_staff(database_url: str, code: str, role: str, name: str) -> tuple[int, str]:
    async def run():
        conn = await asyncpg.connect(database_url)
        try:
            email = f"{role}-{uuid.uuid4().hex[:6]}@{code.lower()}.example"
            user_id, _ = await service.create_staff(conn, email, role, code, PASSWORD, name)
            return user_id, email
        finally:
            await conn.close()

    return asyncio.run(run())


@pytest.fixture
def team(database_url, browser_place):
    return {role: _make_staff(database_url, browser_place.code, role, f"{role.title()} Test") for role in ("reviewer", "coordinator", "admin")}


def click_and_wait(driver, selector: str) -> None:
    """Click a submit button and wait until the next page has loaded."""
    old = driver.find_element(By.TAG_NAME, "html")
    driver.find_element(By.CSS_SELECTOR, selector).click()
    WebDriverWait(driver, 10).until(lambda d: _stale(old))
    WebDriverWait(driver, 10).until(lambda d: d.execute_script("return document.readyState") == "complete")


def _stale(element) -> bool:
    try:
        element.tag_name
        return False
    except Exception:
        return True


def login(driver, base: str, email: str, lang: str = "nl") -> None:
    open_page(driver, base, "/backoffice/login", lang)
    driver.find_element(By.ID, "f-email").send_keys(email)
    driver.find_element(By.ID, "f-password").send_keys(PASSWORD)
    click_and_wait(driver, "form.bo-form button[type=submit]")
    assert driver.current_url.rstrip("/").endswith("/backoffice"), driver.current_url


def logout(driver) -> None:
    click_and_wait(driver, ".bo-nav form button")


def take(driver, base: str, ref: str, action: str, check: str | None = None, **fields: str) -> None:
    """Open the action's form, fill it, continue, check the confirmation (axe), confirm."""
    open_page(driver, base, f"/backoffice/challenges/{ref}/actions/{action}")
    if check:
        assert_accessible(driver, f"backoffice-action-{action}-{check}")
    for name, value in fields.items():
        if name == "grounds":
            for g in value.split(","):
                driver.find_element(By.ID, f"g-{g}").click()
            continue
        element = driver.find_element(By.ID, f"f-{name}")
        if element.get_attribute("type") == "date":
            driver.execute_script("arguments[0].value = arguments[1]", element, value)
        else:
            element.send_keys(value)
    click_and_wait(driver, "form.bo-form button[type=submit]")
    assert driver.find_element(By.CSS_SELECTOR, "input[name=step]").get_attribute("value") == "confirm", driver.page_source[:2000]
    if check:
        assert_accessible(driver, f"backoffice-confirm-{action}-{check}")
    click_and_wait(driver, "form.bo-form button[type=submit]")
    assert "done=" in driver.current_url, [e.text for e in driver.find_elements(By.CSS_SELECTOR, ".notice, .field-error")]


def test_reviewer_and_coordinator_take_a_challenge_to_a_progress_report(driver, live_server, browser_place, team):
    base, place = live_server, browser_place
    challenge = file_challenge(base, place, title="Buurt veegt zelf")
    ref = challenge["ref"]
    reviewer_id, reviewer_email = team["reviewer"]
    _, coordinator_email = team["coordinator"]

    # The coordinator assigns the challenge to the reviewer from the queue and declares it admissible.
    login(driver, base, coordinator_email)
    assert ref in driver.page_source
    driver.find_element(By.ID, f"sel-{ref}").click()
    Select(driver.find_element(By.ID, "bulk-assignee")).select_by_value(str(reviewer_id))
    click_and_wait(driver, ".bulk button")
    assert "done=assigned" in driver.current_url
    take(driver, base, ref, "declare_admissible")
    logout(driver)

    # The reviewer assesses: five criteria, scores and motivations; asks a question.
    login(driver, base, reviewer_email)
    open_page(driver, base, f"/backoffice/challenges/{ref}")
    for i, code in enumerate(("social_value", "support", "cost", "quality", "continuity")):
        Select(driver.find_element(By.ID, f"f-score_{code}")).select_by_value(str(3 + i % 3))
        driver.find_element(By.ID, f"f-motivation_{code}").send_keys(f"Motivering voor {code}.")
    click_and_wait(driver, "#assessment ~ form button, section[aria-labelledby=assessment] form button")
    assert "done=assessment" in driver.current_url
    driver.find_element(By.ID, "f-body").send_keys("Intern: navragen bij Stadsbeheer.")
    click_and_wait(driver, "section[aria-labelledby=notes] form button")
    assert "Intern: navragen" in driver.page_source
    # A reviewer cannot decide: no accept button.
    assert f"/actions/accept" not in driver.page_source
    logout(driver)

    # The coordinator decides (the scores go public with it) and concludes the agreement.
    login(driver, base, coordinator_email)
    take(driver, base, ref, "accept")
    take(
        driver, base, ref, "conclude_agreement",
        budget_cents="95.000,00", starts_on="2027-03-01", ends_on="2028-02-29",
        conditions="Elk kwartaal een voortgangsrapportage.",
    )  # fmt: skip
    take(driver, base, ref, "start_operation")

    # The collective reports progress through the API; the case shows it.
    current = act(base, place, {"ref": ref, "version": _version(base, ref)}, "report_progress", "collective", report="Eerste kwartaal: 40 straten geveegd.")
    assert current["state"] == "in_operation"
    open_page(driver, base, f"/backoffice/challenges/{ref}")
    assert "40 straten geveegd" in driver.page_source
    import httpx

    events = httpx.get(f"{base}/api/v1/challenges/{ref}/events", timeout=10).json()["items"]
    accept = next(e for e in events if e["action"] == "accept")
    assert len(accept["data"]["scores"]) == 5
    assert all("Test" not in str(e) for e in events)  # no civil servant's name in public


def _version(base: str, ref: str) -> int:
    import httpx

    return httpx.get(f"{base}/api/v1/challenges/{ref}", timeout=10).json()["version"]


@pytest.mark.parametrize("lang", LANGS)
def test_every_back_office_page_is_accessible(driver, live_server, browser_place, team, lang):
    base, place = live_server, browser_place
    ref = file_challenge(base, place)["ref"]
    info = file_challenge(base, place)
    act(base, place, info, "request_information", "reviewer", questions="Hoeveel vrijwilligers?")

    open_page(driver, base, "/backoffice/login", lang)
    assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == lang
    assert_accessible(driver, f"backoffice-login-{lang}")
    # A wrong password: the message, still accessible.
    driver.find_element(By.ID, "f-email").send_keys(team["coordinator"][1])
    driver.find_element(By.ID, "f-password").send_keys("not the password")
    click_and_wait(driver, "form.bo-form button[type=submit]")
    assert_accessible(driver, f"backoffice-login-failed-{lang}")

    login(driver, base, team["coordinator"][1], lang)
    for path, name in (
        ("/backoffice", "queue"),
        ("/backoffice?overdue=1&state=submitted", "queue-filtered"),
        (f"/backoffice/challenges/{ref}", "case"),
        (f"/backoffice/challenges/{info['ref']}", "case-paused"),
        ("/backoffice/approvals", "approvals"),
        ("/backoffice/account", "account"),
    ):
        open_page(driver, base, path)
        assert_accessible(driver, f"backoffice-{name}-{lang}")
    # Forms with errors next to their fields.
    open_page(driver, base, f"/backoffice/challenges/{ref}/actions/declare_inadmissible")
    assert_accessible(driver, f"backoffice-action-form-{lang}")
    driver.find_element(By.ID, "f-reasons").send_keys("Geen plan.")  # but no ground chosen
    click_and_wait(driver, "form.bo-form button[type=submit]")
    assert driver.find_elements(By.ID, "err-grounds")
    assert_accessible(driver, f"backoffice-action-errors-{lang}")
    take(driver, base, ref, "request_information", check=lang, questions="Wie doet wat?")
    logout(driver)

    login(driver, base, team["admin"][1], lang)
    for path, name in (
        ("/backoffice/admin/settings", "settings"),
        ("/backoffice/admin/services", "services"),
        ("/backoffice/admin/staff", "staff"),
        ("/backoffice/admin/audit", "audit"),
    ):
        open_page(driver, base, path)
        assert_accessible(driver, f"backoffice-{name}-{lang}")
    open_page(driver, base, "/backoffice/admin/settings")
    field = driver.find_element(By.ID, "f-admissibility_days")
    field.clear()
    field.send_keys("0")  # the browser lets 0 through; the server refuses it
    click_and_wait(driver, "form.bo-form button[type=submit]")
    assert driver.find_elements(By.ID, "err-admissibility_days")
    assert_accessible(driver, f"backoffice-settings-errors-{lang}")
