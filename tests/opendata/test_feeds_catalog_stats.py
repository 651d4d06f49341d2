"""Atom feeds, the DCAT catalogue, the discovery document, statistics and their pages."""

from __future__ import annotations

import statistics
import xml.etree.ElementTree as ET
from datetime import datetime

import rdflib

ATOM = "{http://www.w3.org/2005/Atom}"


async def test_atom_feeds(client, busy, db, clock):
    from registry.store import events
    from registry.workflow import Event

    code = busy.place.code
    async with db.transaction() as conn:
        await events.append(conn, municipality=code, challenge_id=None, challenge_ref=None, subject="initiative:7",
                            token_id=None, event=Event("verify_initiative", "unverified", "verified", "admin", clock(), {}, None, None))  # fmt: skip
    ref = busy.refs["running"]
    r = await client.get(f"/api/v1/feeds/challenges/{ref}/events.atom")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/atom+xml")
    feed = ET.fromstring(r.content)
    entries = feed.findall(f"{ATOM}entry")
    timeline = (await client.get(f"/api/v1/challenges/{ref}/events")).json()["items"]
    assert len(entries) == len(timeline)
    assert entries[0].find(f"{ATOM}updated").text == timeline[-1]["occurred_at"]  # newest first
    assert all(e.find(f"{ATOM}id").text for e in entries)
    assert feed.find(f"{ATOM}link[@rel='self']").get("href").endswith(f"/feeds/challenges/{ref}/events.atom")

    r = await client.get(f"/api/v1/feeds/municipalities/{code}/events.atom")
    titles = [e.find(f"{ATOM}title").text for e in ET.fromstring(r.content).findall(f"{ATOM}entry")]
    assert titles[0].startswith("initiative:7: verify initiative")  # events about other things are in the feeds
    assert ET.fromstring((await client.get("/api/v1/feeds/events.atom")).content).tag == f"{ATOM}feed"
    for url in (f"/api/v1/feeds/municipalities/GM0000/events.atom", "/api/v1/feeds/challenges/GM0000-2026-0001/events.atom"):
        assert (await client.get(url)).status_code == 404
    # ... in the events export too, but not in OCDS
    exported = (await client.get(f"/api/v1/exports/events.ndjson?municipality={code}")).text
    assert '"verify_initiative"' in exported
    releases = (await client.get(f"/api/v1/ocds/releases?municipality={code}&limit=1000")).json()["releases"]
    assert all(rel["challenge"]["action"] != "verify_initiative" for rel in releases)


async def test_catalog_is_dcat_and_parses_as_rdf(client, busy):
    r = await client.get("/api/v1/catalog")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/ld+json")
    g = rdflib.Graph().parse(data=r.text, format="json-ld")
    DCAT, DCT = rdflib.Namespace("http://www.w3.org/ns/dcat#"), rdflib.Namespace("http://purl.org/dc/terms/")
    DONL = rdflib.Namespace("https://data.overheid.nl/ns/donl#")
    OVERHEID = rdflib.Namespace("http://standaarden.overheid.nl/owms/terms/")
    datasets = list(g.subjects(rdflib.RDF.type, DCAT.Dataset))
    assert len(datasets) >= 5
    titles = {str(g.value(ds, DCT.title)) for ds in datasets}
    assert "Citizen initiatives" in titles
    for ds in datasets:
        for p in (DCT.identifier, DCT.title, DCT.description, DONL.metadataLanguage, DCT.language, DCAT.theme,
                  DCT.modified, OVERHEID.authority, DCT.publisher, DCAT.contactPoint, DCAT.distribution):
            assert g.value(ds, p) is not None, (ds, p)
        for dist in g.objects(ds, DCAT.distribution):
            for p in (DCAT.accessURL, DCT.license, DCT.title, DCT.description, DCT.language, DCT["format"]):
                assert g.value(dist, p) is not None, (dist, p)
            assert "publicdomain/zero" in str(g.value(dist, DCT.license))


async def test_discovery_document(client):
    r = await client.get("/api/v1")
    assert r.status_code == 200
    doc = r.json()
    assert doc["licence"]["id"] == "CC0-1.0" and doc["api_version"]
    paths = {(e["method"], e["path"]) for e in doc["endpoints"]}
    for p in ("/api/v1/challenges", "/api/v1/exports/events.ndjson", "/api/v1/ocds/releases", "/api/v1/stats",
              "/api/v1/ledger/checkpoints/latest", "/api/v1/catalog"):
        assert ("GET", p) in paths
    assert ("POST", "/api/v1/ledger/checkpoints") in paths
    formats = {e["path"]: e["formats"] for e in doc["endpoints"]}
    assert formats["/api/v1/exports/challenges.csv"] == ["text/csv"]


def _time(s: str | None) -> datetime | None:
    return datetime.fromisoformat(s.replace("Z", "+00:00")) if s else None


async def test_stats_agree_with_the_timelines(client, busy, clock):
    code = busy.place.code
    r = await client.get(f"/api/v1/stats?municipality={code}")
    assert r.status_code == 200
    s = r.json()
    # The same figures, recomputed from the public timelines.
    states, grounds, days, within, late, budget, overdue = {}, {}, [], 0, 0, 0, 0
    outcome = {}
    for ref in busy.refs.values():
        tl = (await client.get(f"/api/v1/challenges/{ref}/events")).json()["items"]
        states[tl[-1]["to_state"]] = states.get(tl[-1]["to_state"], 0) + 1
        submitted = _time(tl[0]["occurred_at"])
        first = next((i for i, e in enumerate(tl) if e["action"] in ("declare_inadmissible", "accept", "propose_modification", "reject")), None)
        if first is not None:
            e = tl[first]
            days.append((_time(e["occurred_at"]) - submitted).total_seconds() / 86400)
            if _time(e["occurred_at"]) <= _time(tl[first - 1]["due_at"]):
                within += 1
            else:
                late += 1
        for e in tl:
            if e["action"] in ("reject", "declare_inadmissible"):
                for g in e["data"]["grounds"]:
                    grounds[g] = grounds.get(g, 0) + 1
            if e["action"] == "conclude_agreement":
                budget += e["data"]["budget_cents"]
        finals = [e["action"] for e in tl if e["action"] in ("accept", "consent", "reject", "decline", "declare_inadmissible")]
        if finals:
            kind = {"accept": "accepted", "consent": "accepted", "reject": "rejected", "decline": "rejected"}.get(finals[-1], "inadmissible")
            outcome[kind] = outcome.get(kind, 0) + 1
        if tl[-1]["waiting_on"] and _time(tl[-1]["due_at"]) <= clock():
            overdue += 1
        api = (await client.get(f"/api/v1/challenges/{ref}")).json()
        assert api["state"] == tl[-1]["to_state"]
        assert api["deadline"]["overdue"] == bool(tl[-1]["waiting_on"] and _time(tl[-1]["due_at"]) <= clock())
    assert s["challenges"] == len(busy.refs)
    assert s["states"] == states
    assert s["rejection_grounds"] == grounds
    assert s["days_to_decision"]["decided"] == len(days)
    assert s["days_to_decision"]["median"] == round(statistics.median(days), 1)
    assert (s["deadline_compliance"]["within"], s["deadline_compliance"]["late"]) == (within, late)
    assert s["budget_transferred_cents"] == budget
    assert s["overdue"]["count"] == overdue
    assert {k: s["outcomes"][k] for k in ("accepted", "rejected", "inadmissible")} == {
        k: outcome.get(k, 0) for k in ("accepted", "rejected", "inadmissible")}
    # Filters
    assert (await client.get(f"/api/v1/stats?municipality={code}&category=renovation")).json()["challenges"] == 0
    assert (await client.get(f"/api/v1/stats?municipality={code}&year=2001")).json()["challenges"] == 0
    assert (await client.get("/api/v1/stats?year=1999")).status_code == 400
    assert (await client.get("/api/v1/stats?category=cooking")).status_code == 400


async def test_statistics_pages_are_accessible_svg_without_javascript(client, busy):
    code = busy.place.code
    for url in (f"/statistics/{code}?lang=en", "/statistics?lang=en"):
        r = await client.get(url)
        assert r.status_code == 200, r.text
        html = r.text
        assert "<script" not in html.lower()
        assert html.count("<svg") >= 2
        assert html.count("<svg") == html.count("<title id=") == html.count("<desc id=")
        assert html.count('role="img"') == html.count("<svg")
        assert html.count("<table") >= html.count("<svg")
        assert "cannot show" in html
    html = (await client.get(f"/statistics/{code}?lang=en")).text
    assert "NL-COST" in html and "Rejection grounds" in html
    dutch = (await client.get(f"/statistics/{code}?lang=nl")).text
    assert "Afwijzingsgronden" in dutch and "Wat deze cijfers niet laten zien" in dutch
    assert (await client.get("/statistics/GM0000")).status_code == 404


async def test_stats_facts_follow_new_events_and_equal_a_recount(client, busy, db):
    """The facts behind the statistics are refreshed for the challenges with
    new events, and reflecting the events a few at a time gives exactly what
    reflecting them at once gives."""
    from registry.opendata import stats

    code = busy.place.code
    before = (await client.get(f"/api/v1/stats?municipality={code}")).json()
    submitted = [r for r in busy.refs.values() if (await client.get(f"/api/v1/challenges/{r}")).json()["state"] == "submitted"]
    ref = submitted[0]
    r = await client.post(f"/api/v1/challenges/{ref}/actions/declare_admissible",
                          json={"expected_version": 2}, headers=busy.place.auth("reviewer"))
    assert r.status_code == 200, r.text
    after = (await client.get(f"/api/v1/stats?municipality={code}")).json()
    assert after["last_event_id"] > before["last_event_id"]
    assert after["states"].get("submitted", 0) == before["states"]["submitted"] - 1
    assert after["states"]["under_assessment"] == before["states"].get("under_assessment", 0) + 1

    query = "SELECT * FROM challenge_facts WHERE municipality_code = $1 ORDER BY challenge_id"
    async with db.connection() as conn:
        whole = [dict(r) for r in await conn.fetch(query, code)]
        assert len(whole) == len(busy.refs)
        first = await conn.fetchval("SELECT min(id) FROM events WHERE municipality_code = $1", code)
        async with conn.transaction():  # rewind, as if these events had never been reflected
            await conn.execute("DELETE FROM challenge_facts WHERE municipality_code = $1", code)
            await conn.execute("UPDATE challenge_facts_watermark SET last_event_id = $1", first - 1)
        steps, upto = 0, first - 1
        while (nxt := await stats.refresh(conn, 3)) != upto:
            assert nxt - upto <= 3 or steps == 0  # at most 3 events' worth a step
            upto, steps = nxt, steps + 1
        assert steps >= len(busy.refs) // 3
        assert [dict(r) for r in await conn.fetch(query, code)] == whole


async def test_comparison_figures_equal_each_municipality_alone(client, busy, other_place, db, clock):
    """The comparison page's one grouped pass gives each municipality exactly
    the figures it gets alone, zeros where nothing happened, and the total."""
    from registry.opendata import stats

    now = clock()
    async with db.connection() as conn:
        last = await stats.refresh(conn, None)
        each, total = await stats.compute_by_municipality(conn, [busy.place.code, other_place.code], None, None, now, last)
        assert each[busy.place.code] == await stats.compute(conn, busy.place.code, None, None, now, last)
        assert each[busy.place.code].challenges == len(busy.refs)
        assert each[other_place.code] == await stats.compute(conn, other_place.code, None, None, now, last)
        assert each[other_place.code].challenges == 0 and each[other_place.code].states == {}
        assert total == await stats.compute(conn, None, None, None, now, last)
    page = await client.get("/statistics")
    assert page.status_code == 200 and busy.place.code in page.text


async def test_background_task_keeps_the_registry_wide_figures_ready(db, settings, busy, clock):
    """The facts task also computes the whole registry's figures and the
    comparison, so that visitors of those pages do not wait for them."""
    import asyncio

    import httpx

    from registry.app import create_app
    from registry.opendata_tasks import statistics_facts

    app = create_app(settings, db=db, clock=clock)
    task = asyncio.create_task(statistics_facts(app, tick_s=0.05))
    try:
        for _ in range(400):  # until it has (bounded, however busy the machine)
            await asyncio.sleep(0.05)
            cache = app.state.get("opendata_stats_cache") or {}
            kinds = {k[0] for k in cache}
            if "by municipality" in kinds and None in kinds:
                break
        assert "by municipality" in kinds and None in kinds, list(cache)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    ready = dict(app.state.opendata_stats_cache)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://registry.test") as c:
        assert (await c.get("/statistics")).status_code == 200
        assert (await c.get("/api/v1/stats")).status_code == 200
    # Both answered from what the task computed, unless the minute turned in between.
    if all(k[-1] == clock().replace(second=0, microsecond=0) for k in ready):
        assert app.state.opendata_stats_cache == ready
