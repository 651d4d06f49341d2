"""Browser fixtures: the real app served by uvicorn in a subprocess, and a
headless Debian Chromium driven by Selenium.

Chromium and chromium-driver come from Debian (``python3 dev.py test``
installs them when run as root; else ``apt-get install chromium
chromium-driver``). Without them every browser test is skipped, with a reason.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator

import pytest

from tests.conftest import Place
from tests.live.conftest import new_place, start_live_server

CHROMIUM = os.environ.get("REGISTRY_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("REGISTRY_TEST_CHROMEDRIVER", "/usr/bin/chromedriver")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,1024",
)


def _missing() -> str | None:
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (os.path.exists(path) and os.access(path, os.X_OK)):
            return f"{path} is not installed (apt-get install chromium chromium-driver, or run `python3 dev.py test` as root)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    return None


@pytest.fixture(scope="session")
def live_server(database_url: str) -> Iterator[str]:
    """The base URL of the real app (uvicorn) on the session's test database."""
    # The HTTP tests log in from 127.0.0.1 too, in the same database: give the
    # browser's server room, so the per-client login limit does not trip on them.
    with start_live_server(database_url, REGISTRY_LOGINS_PER_CLIENT="1000") as base:
        yield base


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """One headless Chromium for the session, with a fresh profile."""
    reason = _missing()
    if reason:
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="registry-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument("--lang=nl-NL")
    options.add_experimental_option("prefs", {"intl.accept_languages": "nl-NL,nl"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_script_timeout(60)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def driver(browser, live_server):
    """The session's browser with no cookies (so: Dutch unless a test asks for
    English), on a blank page at the start of each test."""
    browser.get(live_server + "/static/site.css")  # cookies can only be cleared on the site's origin
    browser.delete_all_cookies()
    yield browser
    browser.delete_all_cookies()


@pytest.fixture
def browser_place(database_url: str) -> Place:
    """A fresh municipality (tests/conftest.py ``Place``) in the live server's database."""
    return new_place(database_url)
