"""The portal's texts are complete in Dutch; the sniffer, the amount parser,
the composed plan and the daily digest."""

from __future__ import annotations

import io
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file

from registry.portal import files, service
from registry.web import i18n

ROOT = Path(__file__).resolve().parents[2]
PORTAL_SOURCES = [
    *sorted((ROOT / "registry/web/templates/portal").glob("*.html")),
    ROOT / "registry/web/portal_pages.py",
    *sorted((ROOT / "registry/portal").glob("*.py")),
]


def portal_msgids() -> list[str]:
    found = []
    for path in PORTAL_SOURCES:
        method = "jinja2" if path.suffix == ".html" else "python"
        options = {"extensions": "jinja2.ext.i18n", "trimmed": "true", "newstyle_gettext": "true"} if method == "jinja2" else {}
        for _, message, _, _ in extract_from_file(method, str(path), keywords=i18n.KEYWORDS, options=options):
            found.append(message if isinstance(message, str) else message[0])
    return found


def test_every_portal_text_has_dutch():
    catalog = i18n.read_catalog("nl")
    ids = portal_msgids()
    assert len(ids) > 150
    missing = [m for m in ids if not (catalog.get(m) and catalog.get(m).string)]
    assert missing == [], f"untranslated (add them to registry/portal/translations_nl.py): {missing}"


def test_compiled_catalogue_is_current():
    """messages.mo holds the portal's texts (python -m registry.web.i18n compile)."""
    i18n.translations.cache_clear()
    assert i18n.translate("nl", "Answer the questions") == "De vragen beantwoorden"


@pytest.mark.parametrize("lang, expected", [("nl", "Registreren"), ("en", "Register")])
async def test_pages_follow_the_browser_language(new_client, lang, expected):
    c = new_client(lang)
    r = await c.get("/register")
    assert r.status_code == 200 and f"<h1>{expected}</h1>" in r.text and f'lang="{lang}"' in r.text


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


@pytest.mark.parametrize("content, expected", [
    (b"%PDF-1.7\n...", files.PDF),
    (b"\x89PNG\r\n\x1a\n....", files.PNG),
    (b"\xff\xd8\xff\xe0....", files.JPEG),
    (_zip({"mimetype": files.ODT.encode(), "content.xml": b"<x/>"}), files.ODT),
    (_zip({"[Content_Types].xml": b"<x/>", "word/document.xml": b"<x/>"}), files.DOCX),
    (_zip({"mimetype": b"application/vnd.oasis.opendocument.spreadsheet"}), None),
    (_zip({"hello.txt": b"hi"}), None),
    (b"PK\x03\x04 broken zip", None),
    (b"<html><script>alert(1)</script>", None),
    (b"GIF89a", None),
    (b"", None),
])  # fmt: skip
def test_sniffer(content, expected):
    assert files.sniff(content) == expected


def test_filenames_and_disposition():
    assert files.clean_filename("../../etc/passwd", files.PDF) == "passwd.pdf"
    assert files.clean_filename('C:\\a\\"plan".exe', files.DOCX) == "_plan_.docx"
    assert files.clean_filename("\x00\r\n", files.PNG) == "attachment.png"
    header = files.content_disposition("begroting €.pdf", inline=False)
    assert header.startswith('attachment; filename="begroting _.pdf"') and "filename*=UTF-8''begroting%20%E2%82%AC.pdf" in header


@pytest.mark.parametrize("text, cents", [
    ("12000", 1_200_000), ("12.000", 1_200_000), ("12,000", 1_200_000), ("12.000,50", 1_200_050),
    ("12,000.50", 1_200_050), ("€ 1 234,5", 123_450), ("0", 0), ("abc", None), ("", None), ("-5", None),
])  # fmt: skip
def test_parse_euros(text, cents):
    assert service.parse_euros(text) == cents


def test_composed_plan_in_the_filers_language():
    values = {"plan": "## Plan\nVegen.", "why_better": "Wij wonen er.", "help_wanted": ""}
    assert service.composed_plan(values, "nl") == "## Plan\nVegen.\n\n## Waarom wij het beter of goedkoper doen\n\nWij wonen er."
    assert "## Why we do it better or cheaper" in service.composed_plan(values, "en")


async def test_daily_digest(db, settings):
    from registry.portal import digest, store
    from registry import accounts
    from tests.conftest import make_place

    from .conftest import address

    now = datetime.now(timezone.utc)
    async with db.connection() as conn:
        place = await make_place(conn)
        email = address("digest")
        user_id, _ = await accounts.register(conn, email, "correct horse battery", "", "en", now)
        await conn.execute("UPDATE users SET email_confirmed_at = $2 WHERE id = $1", user_id, now)
        await store.set_frequency(conn, user_id, "daily")
        await store.add_member(conn, place.collective, user_id, None, now)
    from registry import challenges
    from registry.inputs import Filing
    from registry.store.tokens import Actor

    actor = Actor(None, "collective", place.code, place.collective)  # type: ignore[arg-type]
    ref = await challenges.file(db, actor, Filing(service=place.service, title="Digest", summary="s", plan="p",
                                requested_budget_cents=1, area="a", proposed_start=now.date(), duration_months=1,
                                submit=True), now, actor_label="user:test")  # fmt: skip
    async with db.connection() as conn:
        assert await conn.fetchval("SELECT count(*) FROM outbox WHERE to_address = $1", email) == 0
        assert await conn.fetchval("SELECT count(*) FROM digest_items WHERE user_id = $1 AND digested_at IS NULL", user_id) == 1
    assert await digest.send_due(db, settings, now) >= 1
    assert await digest.send_due(db, settings, now + timedelta(hours=1)) == 0  # once a day
    async with db.connection() as conn:
        mail = await conn.fetchrow("SELECT subject, body_text FROM outbox WHERE to_address = $1", email)
    assert mail["subject"] == "Your daily digest: 1 new steps" and ref in mail["body_text"]
