"""Helpers for tests in a real browser (headless Debian Chromium via Selenium).

    from tests.browser.helpers import assert_accessible, open_page, tab_until

    def test_my_page(driver, live_server):
        open_page(driver, live_server, "/my/page", lang="en")
        assert_accessible(driver, "my-page-en")

The fixtures ``driver`` and ``live_server`` come from tests/browser/conftest.py;
tests that use them must live under tests/browser/ (or import the fixtures).
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
AXE = Path(__file__).parent / "vendor" / "axe.min.js"  # axe-core, vendored from npm (MPL-2.0)
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
WCAG_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")


def open_page(driver, base: str, path: str, lang: str | None = None) -> None:
    """Load ``base + path``, with ``?lang=`` when given (which also sets the cookie)."""
    url = base + path
    if lang:
        url += ("&" if "?" in url else "?") + f"lang={lang}"
    driver.get(url)


def screenshot(driver, name: str) -> Path:
    """Save a full-page PNG under test-artifacts/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / (re.sub(r"[^A-Za-z0-9_.-]+", "_", name) + ".png")
    try:
        shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
        path.write_bytes(base64.b64decode(shot["data"]))
    except Exception:  # not a Chromium driver: the viewport will do
        driver.save_screenshot(str(path))
    return path


def run_axe(driver, tags: tuple[str, ...] = WCAG_TAGS, rules: dict[str, Any] | None = None) -> list[dict]:
    """Run axe-core on the current page; its violations (empty when there are none).

    ``rules`` passes axe options per rule, e.g. ``{"color-contrast": {"enabled": False}}``
    (say why in a comment if you ever do that).
    """
    if not driver.execute_script("return typeof window.axe === 'object'"):
        driver.execute_script(AXE.read_text())
    options: dict[str, Any] = {"runOnly": {"type": "tag", "values": list(tags)}, "resultTypes": ["violations"]}
    if rules:
        options["rules"] = rules
    result = driver.execute_async_script(
        """
        const [options, done] = [arguments[0], arguments[arguments.length - 1]];
        axe.run(document, options)
          .then(r => done(JSON.stringify(r.violations.map(v => ({
              id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
              nodes: v.nodes.map(n => ({target: n.target, html: n.html, summary: n.failureSummary})),
          })))))
          .catch(e => done(JSON.stringify({error: String(e)})));
        """,
        options,
    )
    parsed = json.loads(result)
    if isinstance(parsed, dict):
        raise RuntimeError(f"axe-core failed: {parsed['error']}")
    return parsed


def format_violations(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']} <{v['helpUrl']}>")
        for node in v["nodes"][:10]:
            lines.append(f"    at {' '.join(map(str, node['target']))}: {node['html'][:200]}")
            if node.get("summary"):
                lines.append("      " + node["summary"].replace("\n", "\n      ")[:600])
    return "\n".join(lines)


def assert_accessible(driver, name: str, tags: tuple[str, ...] = WCAG_TAGS, rules: dict[str, Any] | None = None) -> None:
    """Fail listing every axe-core violation (WCAG 2.0/2.1 A and AA) on the
    current page. Always saves a screenshot as test-artifacts/screenshots/<name>.png."""
    shot = screenshot(driver, name)
    violations = run_axe(driver, tags, rules)
    assert not violations, (
        f"{len(violations)} accessibility violation(s) on {driver.current_url} ({name}, screenshot {shot}):\n"
        + format_violations(violations)
    )


# --- keyboard -------------------------------------------------------------------


@dataclass(frozen=True)
class Focused:
    """What has the keyboard focus, and whether one can see that it has."""

    tag: str
    id: str
    name: str
    text: str
    href: str
    visible_indicator: bool
    in_viewport: bool

    def describe(self) -> str:
        return f"<{self.tag} id={self.id!r} name={self.name!r} href={self.href!r}> {self.text[:60]!r}"


_FOCUSED = """
const el = document.activeElement;
if (!el || el === document.body) return null;
const s = getComputedStyle(el);
const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0;
const shadow = s.boxShadow && s.boxShadow !== 'none';
const r = el.getBoundingClientRect();
return {
  tag: el.tagName.toLowerCase(), id: el.id || '', name: el.getAttribute('name') || '',
  text: (el.innerText || el.value || '').trim(), href: el.getAttribute('href') || '',
  visible_indicator: outline || shadow,
  in_viewport: r.width > 0 && r.height > 0 && r.bottom > 0 && r.right > 0
               && r.top < window.innerHeight && r.left < window.innerWidth,
};
"""


def focused(driver) -> Focused | None:
    """The element with the keyboard focus (None: the page itself)."""
    info = driver.execute_script(_FOCUSED)
    return Focused(**info) if info else None


def press(driver, *keys: str) -> Focused | None:
    """Send keys to whatever has the focus (the page if nothing); return the new focus."""
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(driver).send_keys(*keys).perform()
    return focused(driver)


def tab(driver, shift: bool = False) -> Focused:
    """Press Tab (or Shift+Tab); assert that something visibly got the focus."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    chain = ActionChains(driver)
    if shift:
        chain.key_down(Keys.SHIFT).send_keys(Keys.TAB).key_up(Keys.SHIFT)
    else:
        chain.send_keys(Keys.TAB)
    chain.perform()
    now = focused(driver)
    assert now is not None, "Tab moved the focus out of the page"
    assert_focus_visible(now)
    return now


def assert_focus_visible(f: Focused) -> None:
    assert f.visible_indicator, f"no visible focus indicator (outline or box-shadow) on {f.describe()}"
    assert f.in_viewport, f"the focused element is off screen: {f.describe()}"


def tab_until(driver, match, limit: int = 60) -> list[Focused]:
    """Tab through the page until ``match(focused)`` is true; every stop on the
    way must show its focus. Returns the stops, the matching one last."""
    stops = []
    for _ in range(limit):
        stop = tab(driver)
        stops.append(stop)
        if match(stop):
            return stops
    raise AssertionError(f"not reached with {limit} Tabs; stops: {[s.describe() for s in stops]}")


# --- data ----------------------------------------------------------------------


def file_challenge(base: str, place, **overrides) -> dict:
    """File (and submit) a challenge through the live server's API; the JSON."""
    from tests.conftest import filing

    r = httpx.post(f"{base}/api/v1/challenges", json=filing(place, **overrides), headers=place.auth(), timeout=10)
    assert r.status_code == 201, r.text
    return r.json()


def act(base: str, place, challenge: dict, action: str, role: str, **fields) -> dict:
    """Take ``action`` on a challenge through the live server's API; the new JSON."""
    r = httpx.post(
        f"{base}/api/v1/challenges/{challenge['ref']}/actions/{action}",
        json={"expected_version": challenge["version"], **fields},
        headers=place.auth(role),
        timeout=10,
    )
    assert r.status_code == 200, r.text
    return r.json()
