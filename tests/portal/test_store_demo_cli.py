"""Editing an API-filed draft, the demo residents, the CLI, page weight and
the privacy of "who did what"."""

from __future__ import annotations

import re
from datetime import date, datetime, timezone

import pytest

from registry.errors import StaleVersion
from registry.portal import store
from tests.conftest import filing, make_place

from .conftest import form_post


async def test_update_draft_only_in_draft_and_at_its_version(client, db):
    async with db.connection() as conn:
        place = await make_place(conn)
    r = await client.post("/api/v1/challenges", headers=place.auth(), json=filing(place, submit=False))
    ref = r.json()["ref"]
    now = datetime.now(timezone.utc)
    particulars = dict(title="Nieuw", summary="S", plan="P", requested_budget_cents=5, area="A",
                       proposed_start=date(2027, 5, 1), duration_months=6, now=now)
    async with db.connection() as conn:
        with pytest.raises(StaleVersion):
            await store.update_draft(conn, ref, place.other_collective, 1, **particulars)  # not theirs
        with pytest.raises(StaleVersion):
            await store.update_draft(conn, ref, place.collective, 2, **particulars)  # stale
        await store.update_draft(conn, ref, place.collective, 1, **particulars)
    r = await client.post(f"/api/v1/challenges/{ref}/actions/submit", headers=place.auth(), json={"expected_version": 1})
    assert r.status_code == 200 and r.json()["title"] == "Nieuw"
    async with db.connection() as conn:
        with pytest.raises(StaleVersion):
            await store.update_draft(conn, ref, place.collective, 2, **particulars)  # submitted


async def test_demo_residents(client, db, portal_database_url):
    from registry import demo

    await demo.seed(portal_database_url)  # the foundation's demo, then every area's (ours included)
    r = await form_post(client, "/login", {"email": "bewoner1.amsterdam@demo.uitdaagrecht.example", "password": "uitdaagrecht-demo"})
    assert r.status_code == 303
    page = await client.get("/my/challenges")
    assert page.status_code == 200
    assert len(re.findall(r'href="/my/challenges/GM0363-', page.text)) >= 4
    assert "De vragen beantwoorden" in page.text or "Met de wijziging instemmen" in page.text
    # Page weight (no attachments): the portal's pages stay small.
    assert len(page.content) <= 60 * 1024
    ref = re.search(r'href="/my/challenges/(GM0363-[0-9-]+)"', page.text).group(1)
    for url in (f"/my/challenges/{ref}", f"/challenges/{ref}/support", "/file", "/account"):
        r = await client.get(url)
        assert r.status_code == 200 and len(r.content) <= 60 * 1024, url


def test_cli(capsys, portal_database_url, monkeypatch, tmp_path):
    from registry import cli

    monkeypatch.setenv("REGISTRY_DATABASE_URL", portal_database_url)
    monkeypatch.setenv("REGISTRY_SMTP_HOST", "")
    monkeypatch.setenv("REGISTRY_DATA_DIR", str(tmp_path))
    assert cli.main(["mail", "status"]) == 0
    assert cli.main(["mail", "send-pending"]) == 0
    assert "sent" in capsys.readouterr().out
    assert cli.main(["mail", "digest"]) == 0
    with pytest.raises(SystemExit):
        cli.main(["portal", "minimum-support", "--municipality", "GM9999", "3"])


async def test_who_acted_is_private(client, db):
    """event_actors records the member; nothing of it reaches the public API."""
    async with db.connection() as conn:
        labels = await conn.fetch("SELECT actor_label FROM event_actors WHERE actor_label LIKE 'user:%' LIMIT 5")
    for row in labels:
        assert row["actor_label"].startswith("user:")
    feed = await client.get("/api/v1/events")
    assert feed.status_code in (200, 404) and "user:" not in feed.text
