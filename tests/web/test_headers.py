"""Security headers on every response: pages, errors, static files and the API."""

from __future__ import annotations

import pytest

from registry.web import security

STRICT = {
    "content-security-policy": security.CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "strict-origin-when-cross-origin",
    "x-frame-options": "DENY",
}


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/challenges", 200),
        ("/accessibility", 200),
        ("/", 302),
        ("/static/site.css", 200),
        ("/challenges/GM0000-2000-0001", 404),
        ("/no/such/page", 404),
        ("/challenges?cursor=0", 400),
        ("/api/v1/challenges", 200),
        ("/api/v1/challenges/GM0000-2000-0001", 404),
        ("/api/v1/no-such-thing", 404),
        ("/api/v1/schema/openapi.json", 200),
    ],
)
async def test_headers_everywhere(client, path, status):
    r = await client.get(path)
    assert r.status_code == status
    for name, value in STRICT.items():
        assert r.headers.get(name) == value, (path, name)
    assert "camera=()" in r.headers["permissions-policy"]
    assert len(r.headers.get_list("content-security-policy")) == 1


async def test_post_and_problem_responses_have_them_too(client, place):
    r = await client.post("/api/v1/challenges", content=b"{nope", headers={**place.auth(), "Content-Type": "application/json"})
    assert r.status_code == 400
    assert r.headers["content-security-policy"] == security.CSP
    assert r.headers["x-frame-options"] == "DENY"


async def test_the_csp_forbids_inline_script_and_framing():
    for directive in ("script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "object-src 'none'",
                      "base-uri 'none'", "form-action 'self'", "default-src 'self'", "img-src 'self' data:"):
        assert directive in security.CSP
    assert "unsafe-inline" not in security.CSP and "unsafe-eval" not in security.CSP


async def test_the_openapi_browser_gets_a_policy_of_its_own(client):
    r = await client.get("/api/v1/schema")
    assert r.status_code == 200
    csp = r.headers["content-security-policy"]
    assert csp == security.SCHEMA_UI_CSP and "frame-ancestors 'none'" in csp
    assert r.headers["x-content-type-options"] == "nosniff"


def test_templates_have_no_inline_script_style_or_handlers():
    import re
    from pathlib import Path

    from registry.web import pages

    for path in sorted((pages.HERE / "templates").rglob("*.html")):
        source = path.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)", source, re.I), f"{path}: inline <script>"
        assert not re.search(r"<style\b", source, re.I), f"{path}: <style> block"
        assert not re.search(r"\sstyle\s*=", source, re.I), f"{path}: style= attribute"
        assert not re.search(r"\son[a-z]+\s*=", source, re.I), f"{path}: on*= handler"
        assert not re.search(r"javascript:", source, re.I), f"{path}: javascript: URL"
