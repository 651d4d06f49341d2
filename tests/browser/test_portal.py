"""The residents' portal in a real browser (headless Chromium), in Dutch and in
English: register, confirm by the link that arrived at a real SMTP server,
create a collective, file a challenge in steps with the keyboard alone and an
attachment, gather support from two other residents, answer an information
request a reviewer sent through the API, consent to a modification, and see
the timeline on the public page. axe-core on every page (zero violations);
screenshots of every step in test-artifacts/screenshots/portal-*.png.
Then: titles, names, plans and answers with markup render inert."""

from __future__ import annotations

import asyncio
import re
import tempfile
import time
import uuid
from datetime import datetime, timezone

import httpx
import pytest
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.browser.helpers import assert_accessible, press, screenshot, tab_until
from tests.live.conftest import new_place, start_live_server
from tests.portal.conftest import SmtpServer, _create_database, _drop_database

PASSWORD = "correct horse battery"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture(scope="module")
def portal_site(server_url):
    """A live server on a database of its own, mailing through an SMTP server on loopback."""
    name = f"registry_portal_browser_{uuid.uuid4().hex[:8]}"
    url = asyncio.run(_create_database(server_url, name))
    smtp = SmtpServer()
    smtp.start()
    data_dir = tempfile.mkdtemp(prefix="registry-portal-live-")
    try:
        with start_live_server(url, REGISTRY_BACKGROUND="1", REGISTRY_SMTP_HOST="127.0.0.1", REGISTRY_SMTP_PORT=str(smtp.port),
                               REGISTRY_SMTP_STARTTLS="0", REGISTRY_DATA_DIR=data_dir) as base:  # fmt: skip
            yield {"base": base, "url": url, "smtp": smtp}
    finally:
        smtp.stop()
        asyncio.run(_drop_database(server_url, name))


@pytest.fixture
def site(browser, portal_site):
    browser.get(portal_site["base"] + "/static/site.css")
    browser.delete_all_cookies()
    yield {**portal_site, "driver": browser}
    browser.delete_all_cookies()


def wait_for_mail(smtp: SmtpServer, to: str, subject_part: str = "", timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for msg in smtp.inbox.to(to):
            if subject_part in msg["Subject"]:
                return msg
        time.sleep(0.2)
    raise AssertionError(f"no mail to {to} with {subject_part!r}; arrived: {[(m['To'], m['Subject']) for m in smtp.inbox.messages]}")


def link_from(msg) -> str:
    text = msg.get_body(("plain",)).get_content()
    return re.search(r"https?://\S+?(/(?:confirm|invite)\?token=[A-Za-z0-9_\-]+)", text).group(1)


class Journey:
    def __init__(self, site, lang: str) -> None:
        self.d = site["driver"]
        self.base = site["base"]
        self.smtp = site["smtp"]
        self.lang = lang
        self.n = 0

    def go(self, path: str) -> None:
        self.d.get(self.base + path)

    def check(self, name: str) -> None:
        """axe-core on the page, and a screenshot of the step."""
        self.n += 1
        assert_accessible(self.d, f"portal-{self.lang}-{self.n:02d}-{name}")

    def wait_url(self, pattern: str, timeout: float = 10) -> re.Match:
        """Wait for the navigation a click or Enter started; the URL's match."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = re.search(pattern, self.d.current_url)
            if m and self.d.execute_script("return document.readyState") == "complete":
                return m
            time.sleep(0.05)
        raise AssertionError(f"still on {self.d.current_url}, expected {pattern}")

    def fill(self, field_id: str, text: str) -> None:
        el = self.d.find_element(By.ID, field_id)
        el.clear()
        el.send_keys(text)

    def type_with_keyboard(self, field_id: str, text: str) -> None:
        """Tab to the field (every stop shows its focus) and type."""
        tab_until(self.d, lambda f: f.id == field_id, limit=80)
        from selenium.webdriver.common.action_chains import ActionChains

        ActionChains(self.d).key_down(Keys.CONTROL).send_keys("a").key_up(Keys.CONTROL).send_keys(Keys.DELETE).perform()
        press(self.d, text)

    def navigating(self, start) -> None:
        """Do ``start()`` (a click, a key) and wait until the next page has loaded."""
        from selenium.webdriver.support import expected_conditions as ec
        from selenium.webdriver.support.ui import WebDriverWait

        old = self.d.find_element(By.TAG_NAME, "html")
        start()
        WebDriverWait(self.d, 10).until(ec.staleness_of(old))
        WebDriverWait(self.d, 10).until(lambda d: d.execute_script("return document.readyState") == "complete")

    def press_button(self, text: str) -> None:
        """Tab to a button by its text and press Enter."""
        tab_until(self.d, lambda f: f.tag == "button" and f.text == text, limit=80)
        self.navigating(lambda: press(self.d, Keys.ENTER))

    def click(self, by: str, locator: str) -> None:
        """Click an element that starts a navigation, and wait for the next page.
        Chromium now and then loses a node right after a full-page screenshot
        ("Node with given id does not belong to the document"): then the
        element is looked up again and clicked once more."""
        from selenium.common.exceptions import StaleElementReferenceException, WebDriverException

        from selenium.webdriver.support import expected_conditions as ec
        from selenium.webdriver.support.ui import WebDriverWait

        page = self.d.find_element(By.TAG_NAME, "html")
        try:
            self.navigating(lambda: self.d.find_element(by, locator).click())
        except (StaleElementReferenceException, WebDriverException) as exc:
            if not isinstance(exc, StaleElementReferenceException) and "does not belong to the document" not in str(exc):
                raise
            time.sleep(0.3)
            if ec.staleness_of(page)(self.d):
                # The click went through after all: the next page is there.
                WebDriverWait(self.d, 10).until(lambda d: d.execute_script("return document.readyState") == "complete")
                return
            self.navigating(lambda: self.d.find_element(by, locator).click())

    def submit(self, button_text: str | None = None) -> None:
        if button_text:
            self.click(By.XPATH, f"//main//button[normalize-space()='{button_text}']")
        else:
            self.click(By.CSS_SELECTOR, "main form[method=post] button[type=submit]")

    def log_in(self, email: str) -> None:
        self.go("/login")
        self.fill("f-email", email)
        self.fill("f-password", PASSWORD)
        self.navigating(lambda: self.d.find_element(By.ID, "f-password").send_keys(Keys.ENTER))
        self.wait_url("/my/challenges")

    def log_out(self) -> None:
        self.click(By.CSS_SELECTOR, "form[action='/logout'] button")


T = {
    "nl": {"save_next": "Opslaan en verder", "preview": "Voorbeeld", "upload": "Uploaden", "submit": "De uitdaging indienen",
           "support": "Ik steun deze uitdaging", "answer": "De vragen beantwoorden", "consent": "Met de wijziging instemmen",
           "register": "Registreren", "create": "Collectief oprichten", "consented": "Met aanpassing ingestemd",
           "invite": "Uitnodiging versturen"},
    "en": {"save_next": "Save and continue", "preview": "Preview", "upload": "Upload", "submit": "Submit the challenge",
           "support": "I support this challenge", "answer": "Answer the questions", "consent": "Agree to the modification",
           "register": "Register", "create": "Create the collective", "consented": "Modification agreed to",
           "invite": "Send the invitation"},
}  # fmt: skip


def confirmed_resident(database_url: str, email: str, locale: str) -> None:
    import asyncpg

    from registry import accounts

    async def work():
        conn = await asyncpg.connect(database_url)
        try:
            now = datetime.now(timezone.utc)
            user_id, _ = await accounts.register(conn, email, PASSWORD, "", locale, now)
            await conn.execute("UPDATE users SET email_confirmed_at = $2 WHERE id = $1", user_id, now)
        finally:
            await conn.close()

    asyncio.run(work())


def api(base: str, place, ref: str, action: str, version: int, **fields) -> dict:
    r = httpx.post(f"{base}/api/v1/challenges/{ref}/actions/{action}", headers=place.auth("reviewer"),
                   json={"expected_version": version, **fields}, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_the_collectives_journey_in_the_browser(site, lang, tmp_path):
    j = Journey(site, lang)
    d = j.d
    t = T[lang]
    place = new_place(site["url"])
    email = f"founder-{uuid.uuid4().hex[:8]}@example.nl"

    # Register (an error first: it shows next to the field, the input kept), confirm by the mailed link.
    j.go(f"/register?lang={lang}")
    j.check("register")
    j.fill("f-display_name", "Fatima")
    j.fill("f-email", email)
    j.fill("f-password", "short")
    j.fill("f-password_again", "short")
    j.submit(t["register"])
    assert d.find_element(By.ID, "f-password-error").is_displayed()
    assert d.find_element(By.ID, "f-email").get_attribute("value") == email
    j.check("register-error")
    j.fill("f-password", PASSWORD)
    j.fill("f-password_again", PASSWORD)
    j.submit(t["register"])
    j.check("register-sent")
    mail = wait_for_mail(j.smtp, email)
    assert mail["Content-Language"] == lang
    j.go(link_from(mail))
    j.check("confirmed")

    # Log in, create a collective (errors first).
    j.log_in(email)
    j.check("my-challenges-empty")
    j.go("/collectives/new")
    j.check("collective-new")
    j.submit(t["create"])
    assert d.find_element(By.ID, "f-name-error").is_displayed()
    j.check("collective-new-errors")
    from selenium.webdriver.support.ui import Select

    Select(d.find_element(By.ID, "f-municipality")).select_by_value(place.code)
    j.fill("f-name", f"Buurtcoöperatie {lang.upper()}")
    Select(d.find_element(By.ID, "f-legal_form")).select_by_value("cooperative")
    j.fill("f-registration_number", "12345678")
    j.fill("f-neighbourhood", "Oost")
    j.fill("f-description", "Wij **vegen** de buurt.")
    j.fill("f-contact_name", "Fatima")
    j.fill("f-contact_email", email)
    j.submit(t["create"])
    collective_id = j.wait_url(r"/my/collectives/(\d+)").group(1)
    j.check("collective")

    # File: the municipality, the service (excluded ones with their reason), then the steps, keyboard only.
    j.go("/file")
    j.check("file-start")
    j.click(By.CSS_SELECTOR, f"a[href='/file/{collective_id}']")
    assert "enforcement" in d.page_source
    j.check("file-services")
    j.click(By.CSS_SELECTOR, f"form[action='/file/{collective_id}/{place.service}'] button")
    j.wait_url(r"/drafts/\d+/what$")
    j.check("step-what")
    j.type_with_keyboard("f-title", "Schone straten in Oost")
    j.type_with_keyboard("f-summary", "Wij vegen zelf, vaker en goedkoper.")
    j.type_with_keyboard("f-area", "Oost")
    j.type_with_keyboard("f-proposed_start", "1 maart")  # not a date: an error, nothing lost
    j.type_with_keyboard("f-duration_months", "12")
    j.press_button(t["save_next"])
    assert d.find_element(By.ID, "f-proposed_start-error").is_displayed()
    assert d.find_element(By.ID, "f-title").get_attribute("value") == "Schone straten in Oost"
    j.check("step-what-error")
    j.type_with_keyboard("f-proposed_start", "2027-03-01")
    j.press_button(t["save_next"])
    j.wait_url("/why$")
    j.check("step-why")
    for field, text in (("f-why_better", "Wij wonen er."), ("f-experience", "Tien jaar buurtwerk."),
                        ("f-expected_support", "212 handtekeningen."), ("f-quality_continuity", "Een reservelijst.")):
        j.type_with_keyboard(field, text)
    j.press_button(t["save_next"])
    j.wait_url("/money$")
    j.check("step-money")
    j.type_with_keyboard("f-cost_estimate", "Bezems en hesjes: 2.000 euro.")
    j.type_with_keyboard("f-requested_budget", "12.000")
    j.press_button(t["save_next"])
    j.wait_url("/plan$")
    j.type_with_keyboard("f-plan", "## Plan\n\nTwee keer per week **vegen**.")
    j.press_button(t["preview"])
    assert d.find_element(By.CSS_SELECTOR, ".preview strong").text == "vegen"
    j.check("step-plan-preview")
    j.press_button(t["save_next"])
    j.wait_url("/review$")
    j.check("step-review")

    # An attachment (a PDF chosen from disk), public.
    pdf = tmp_path / "plan.pdf"
    pdf.write_bytes(PDF)
    d.find_element(By.ID, "f-file").send_keys(str(pdf))
    d.find_element(By.ID, "f-public").click()
    j.press_button(t["upload"])
    assert "plan.pdf" in d.page_source
    j.check("attachment")
    j.press_button(t["submit"])
    ref = j.wait_url(r"/my/challenges/([A-Z0-9-]+)").group(1)
    j.check("submitted")

    # Two other residents support it.
    j.log_out()
    for i in (1, 2):
        other = f"supporter{i}-{uuid.uuid4().hex[:8]}@example.nl"
        confirmed_resident(site["url"], other, lang)
        j.log_in(other)
        j.go(f"/challenges/{ref}/support")
        j.submit(t["support"])
        j.check(f"supported-{i}")
        j.log_out()
    assert httpx.get(f"{j.base}/api/v1/challenges/{ref}").json()["support_count"] == 2

    # A reviewer asks for information through the API; the founder answers in the browser.
    c = httpx.get(f"{j.base}/api/v1/challenges/{ref}").json()
    c = api(j.base, place, ref, "declare_admissible", c["version"])
    c = api(j.base, place, ref, "request_information", c["version"], questions="Hoeveel vrijwilligers doen mee?")
    wait_for_mail(j.smtp, email, ref)
    j.log_in(email)
    j.go("/my/challenges")
    assert t["answer"] in d.page_source
    j.check("my-challenges-information")
    j.go(f"/my/challenges/{ref}")
    assert "Hoeveel vrijwilligers doen mee?" in d.page_source
    j.check("information-requested")
    j.fill("f-provide_information-answer", "Veertien, en er is een wachtlijst.")
    j.submit(t["answer"])
    j.check("answered")

    # A modification is proposed; the collective consents.
    c = httpx.get(f"{j.base}/api/v1/challenges/{ref}").json()
    c = api(j.base, place, ref, "propose_modification", c["version"], modification="Eerst één straat, zes maanden.",
            reasons="Eerst ervaring opdoen.")
    j.go(f"/my/challenges/{ref}")
    assert "Eerst één straat, zes maanden." in d.page_source
    j.check("modification-proposed")
    j.submit(t["consent"])
    assert httpx.get(f"{j.base}/api/v1/challenges/{ref}").json()["state"] == "accepted"

    # The public page: the timeline with every step, nothing about people.
    j.go(f"/challenges/{ref}")
    timeline = d.find_element(By.CSS_SELECTOR, ".timeline").text
    assert t["consented"] in timeline and "Veertien" in timeline
    assert email not in d.page_source and "Fatima" not in d.page_source
    j.check("public-timeline")
    j.go(f"/challenges/{ref}/support")
    j.check("public-support")
    j.go(f"/collectives/{collective_id}")
    j.check("public-collective")
    j.go("/account")
    j.check("account")
    j.go("/password/forgot")
    j.check("password-forgot")


XSS = {
    "title": '<script>window.__xss="title"</script><img src=x onerror="window.__xss=\'img\'">',
    "plan": '## Plan\n<script>window.__xss="plan"</script>\n[klik](javascript:window.__xss="link") '
            '<a href="javascript:window.__xss=1">a</a> <b onmouseover="window.__xss=1">b</b> <svg onload="window.__xss=2">',
    "answer": '"><svg/onload=window.__xss="answer"> </textarea><script>window.__xss="ta"</script>',
}


def test_markup_renders_inert(site):
    d = site["driver"]
    base = site["base"]
    place = new_place(site["url"])
    email = f"xss-{uuid.uuid4().hex[:8]}@example.nl"
    confirmed_resident(site["url"], email, "nl")
    j = Journey(site, "xss")
    j.log_in(email)
    # A collective whose name is markup, and a challenge full of it.
    j.go("/collectives/new")
    from selenium.webdriver.support.ui import Select

    Select(d.find_element(By.ID, "f-municipality")).select_by_value(place.code)
    j.fill("f-name", XSS["title"][:190])
    Select(d.find_element(By.ID, "f-legal_form")).select_by_value("informal_group")
    j.fill("f-description", XSS["plan"])
    j.fill("f-contact_name", "<i>x</i>")
    j.fill("f-contact_email", email)
    j.submit(T["nl"]["create"])
    collective_id = j.wait_url(r"/my/collectives/(\d+)").group(1)
    j.go(f"/file/{collective_id}")
    j.click(By.CSS_SELECTOR, f"form[action='/file/{collective_id}/{place.service}'] button")
    draft = j.wait_url(r"/drafts/(\d+)/").group(1)
    values = {"what": {"f-title": XSS["title"], "f-summary": XSS["answer"], "f-area": "<u>Oost</u>",
                       "f-proposed_start": "2027-03-01", "f-duration_months": "12"},
              "why": {"f-why_better": XSS["plan"], "f-experience": "x", "f-expected_support": "x", "f-quality_continuity": "x"},
              "money": {"f-cost_estimate": XSS["plan"], "f-requested_budget": "1"},
              "plan": {"f-plan": XSS["plan"]}}  # fmt: skip
    for step, fields in values.items():
        j.go(f"/drafts/{draft}/{step}")
        for field, text in fields.items():
            j.fill(field, text)
        j.click(By.CSS_SELECTOR, "button[value=next]")
    j.click(By.CSS_SELECTOR, f"form[action='/drafts/{draft}/submit'] button")
    ref = j.wait_url(r"/my/challenges/([A-Z0-9-]+)").group(1)
    c = httpx.get(f"{base}/api/v1/challenges/{ref}").json()
    c = api(base, place, ref, "request_information", c["version"], questions=XSS["answer"])
    j.go(f"/my/challenges/{ref}")
    j.fill("f-provide_information-answer", XSS["answer"])
    j.submit(T["nl"]["answer"])
    for path in (f"/my/challenges/{ref}", f"/challenges/{ref}", f"/challenges/{ref}/support", f"/collectives/{collective_id}",
                 f"/my/collectives/{collective_id}", "/my/challenges", "/challenges"):
        j.go(path)
        time.sleep(0.1)
        try:
            alert = d.switch_to.alert
            pytest.fail(f"an alert ran on {path}: {alert.text}")
        except NoAlertPresentException:
            pass
        assert d.execute_script("return window.__xss === undefined"), path
        assert not d.find_elements(By.CSS_SELECTOR, "main img, main svg, main script, main [onerror], main [onload], main [onmouseover]"), path
        assert not d.find_elements(By.CSS_SELECTOR, "a[href^='javascript']"), path
        screenshot(d, f"portal-xss-{path.strip('/').replace('/', '-')}")
