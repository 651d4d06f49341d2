"""The public pages in a real browser: no WCAG 2.1 A/AA violation (axe-core)
in Dutch or English, usable with a keyboard, and user text stays inert."""

from __future__ import annotations

import pytest
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.browser.helpers import (
    act,
    assert_accessible,
    file_challenge,
    focused,
    open_page,
    press,
    tab_until,
)

LANGS = ("nl", "en")


@pytest.fixture
def decided(live_server, browser_place):
    """A challenge with a decision on grounds, a timeline and a pause: most of the page's parts."""
    c = file_challenge(live_server, browser_place)
    c = act(live_server, browser_place, c, "request_information", "reviewer", questions="Hoeveel **vrijwilligers**?")
    c = act(live_server, browser_place, c, "provide_information", "collective", answer="Veertien.")
    c = act(live_server, browser_place, c, "declare_admissible", "reviewer")
    c = act(live_server, browser_place, c, "reject", "reviewer", grounds=["NL-COST", "UK-2"], reasons="Te duur.")
    return c


@pytest.mark.parametrize("lang", LANGS)
def test_challenge_list_is_accessible(driver, live_server, browser_place, decided, lang):
    open_page(driver, live_server, f"/challenges?municipality={browser_place.code}", lang)
    assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == lang
    assert decided["ref"] in driver.page_source
    assert_accessible(driver, f"challenges-{lang}")


@pytest.mark.parametrize("lang", LANGS)
def test_challenge_page_is_accessible(driver, live_server, decided, lang):
    open_page(driver, live_server, f"/challenges/{decided['ref']}", lang)
    assert driver.find_element(By.TAG_NAME, "h1").text == decided["title"]
    assert_accessible(driver, f"challenge-{lang}")


@pytest.mark.parametrize("lang", LANGS)
def test_accessibility_statement_is_accessible(driver, live_server, lang):
    open_page(driver, live_server, "/accessibility", lang)
    heading = driver.find_element(By.TAG_NAME, "h1").text
    assert heading == {"nl": "Toegankelijkheidsverklaring", "en": "Accessibility statement"}[lang]
    assert_accessible(driver, f"accessibility-{lang}")


@pytest.mark.parametrize("lang", LANGS)
def test_error_page_is_accessible(driver, live_server, lang):
    open_page(driver, live_server, "/challenges/GM0000-2000-000001", lang)
    heading = driver.find_element(By.TAG_NAME, "h1").text
    assert heading == {"nl": "Pagina niet gevonden", "en": "Page not found"}[lang]
    assert_accessible(driver, f"error-404-{lang}")


def test_language_switch_without_javascript(driver, live_server):
    open_page(driver, live_server, "/accessibility")
    assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "nl"
    driver.find_element(By.CSS_SELECTOR, 'a[hreflang="en"]').click()
    assert driver.find_element(By.TAG_NAME, "h1").text == "Accessibility statement"
    # Remembered in the cookie: another page, without ?lang=, is English too.
    open_page(driver, live_server, "/challenges")
    assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"


def test_filters_work_with_the_keyboard_alone(driver, live_server, browser_place, decided):
    open_page(driver, live_server, f"/challenges?municipality={browser_place.code}")
    # The first Tab reaches the skip link, visibly.
    stops = tab_until(driver, lambda f: f.tag == "a")
    assert stops[-1].href == "#main"
    tab_until(driver, lambda f: f.id == "f-state")
    # Type to pick an option in the focused <select>, as a keyboard user does.
    press(driver, "Afgewezen")
    assert driver.find_element(By.ID, "f-state").get_attribute("value") == "rejected"
    tab_until(driver, lambda f: f.tag == "button")
    press(driver, Keys.ENTER)
    assert "state=rejected" in driver.current_url
    assert f"municipality={browser_place.code}" in driver.current_url
    assert decided["ref"] in driver.find_element(By.CSS_SELECTOR, "table.list").text
    # The focus is not trapped: Tab keeps moving through the page to its last link.
    stops = tab_until(driver, lambda f: f.href == "/accessibility")
    assert len(stops) > 5
    assert focused(driver).text in ("Toegankelijkheidsverklaring",)


PAYLOADS = {
    "title": '<script>window.__xss = "title"</script><img src=x onerror="window.__xss=\'title-img\'">',
    "summary": '"><svg onload="window.__xss=\'summary\'"></svg><b>bold</b> <!-- </p><script>window.__xss=1</script>',
    "plan": (
        "## Plan\n"
        "<script>window.__xss = 'plan'</script>\n\n"
        '<img src="x" onerror="window.__xss=\'plan-img\'">\n\n'
        "[click me](javascript:window.__xss='plan-link')\n\n"
        "[data](data:text/html,<script>window.__xss='data'</script>)\n\n"
        '<a href="javascript:window.__xss=1">raw link</a> <iframe src="javascript:window.__xss=2"></iframe>\n\n'
        "</div></section><style>body{display:none}</style><p onclick=\"window.__xss='p'\">broken"
    ),
    "area": "</dd><script>window.__xss='area'</script>",
}
ANSWER = "<script>window.__xss='answer'</script> [x](javascript:window.__xss='answer-link') <img src=x onerror=window.__xss=9>"


def _assert_inert(driver) -> None:
    try:
        alert = driver.switch_to.alert
        text = alert.text
        alert.dismiss()
        raise AssertionError(f"an alert was opened: {text!r}")
    except NoAlertPresentException:
        pass
    assert driver.execute_script("return typeof window.__xss") == "undefined"
    found = driver.execute_script(
        """
        const bad = [];
        for (const el of document.querySelectorAll('*')) {
          for (const a of el.attributes) {
            if (a.name.startsWith('on')) bad.push(el.tagName + ' ' + a.name);
            if (['href', 'src', 'action', 'formaction'].includes(a.name) && /^\\s*(javascript|data):/i.test(a.value))
              bad.push(el.tagName + ' ' + a.name + '=' + a.value);
          }
        }
        for (const sel of ['script', 'iframe', 'svg', 'object', 'embed', 'style', 'img[src="x"]'])
          for (const el of document.querySelectorAll(sel)) bad.push(el.outerHTML.slice(0, 80));
        return bad;
        """
    )
    assert found == [], found


def test_user_text_is_inert(driver, live_server, browser_place):
    c = file_challenge(live_server, browser_place, **PAYLOADS)
    c = act(live_server, browser_place, c, "request_information", "reviewer", questions=ANSWER)
    c = act(live_server, browser_place, c, "provide_information", "collective", answer=ANSWER)
    for path in (f"/challenges/{c['ref']}", f"/challenges?municipality={browser_place.code}"):
        open_page(driver, live_server, path)
        _assert_inert(driver)
        # The payloads are shown as text, for people to read.
        assert "<script>window.__xss" in driver.find_element(By.TAG_NAME, "main").text
    # Markdown still formats: the plan's heading, and the answer as a paragraph.
    open_page(driver, live_server, f"/challenges/{c['ref']}")
    assert driver.find_elements(By.CSS_SELECTOR, ".prose h2")
    assert_accessible(driver, "challenge-with-hostile-text")
