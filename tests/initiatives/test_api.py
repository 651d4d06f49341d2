"""The initiatives API: Popolo output, pages, care actions as chain events,
reports, the NDJSON export, and privacy (marker strings never leak)."""

from __future__ import annotations

import json

import pytest

from registry import ledger
from registry.initiatives import care
from registry.store import events
from tests.conftest import filing, make_place
from tests.initiatives.conftest import CONTACT, NOW, make_initiative

PRIVATE = ("MARKER", "marker-", "+31600000001", "example.invalid")


def assert_private(text: str) -> None:
    for marker in PRIVATE:
        assert marker not in text, f"{marker!r} leaked"


@pytest.fixture
async def kvk(db, place):
    async with db.connection() as conn:
        ident = await make_initiative(
            conn, place.code, "Energiecoöperatie Testwijk", legal_form="cooperative", registration_number="87654321",
            founded_year=2014, website="https://energie.example.nl", domains=["energy"], neighbourhoods=["Centrum"],
            members_count=140, offers=["Advies"], needs=["Een dak"], description="# Wij\n<script>alert(1)</script>",
        )
    return ident


async def test_popolo_detail(client, place, kvk):
    r = await client.get(f"/api/v1/initiatives/{kvk}")
    assert r.status_code == 200
    org = r.json()
    assert org["id"] == str(kvk) and org["name"] == "Energiecoöperatie Testwijk"
    assert org["identifiers"] == [{"scheme": "NL-KVK", "identifier": "87654321"}]
    assert org["classification"] == "cooperative" and org["founding_date"] == "2014"
    assert org["links"] == [{"url": "https://energie.example.nl", "note": "website"}]
    assert org["members_count"] == 140 and org["status"] == "active" and org["challenges"] == []
    assert org["municipality"]["code"] == place.code
    assert "contact_details" not in org and "memberships" not in org
    assert_private(r.text)
    assert (await client.get(f"/api/v1/initiatives/{kvk}", headers={"If-None-Match": r.headers["etag"]})).status_code == 304


async def test_detail_lists_challenges_of_the_collective(client, db, place):
    async with db.connection() as conn:
        await conn.execute(
            "INSERT INTO initiatives (collective_id, name, municipality_code, domains)"
            " SELECT id, name, municipality_code, '{other}' FROM collectives WHERE id = $1", place.collective)
    filed = await client.post("/api/v1/challenges", json=filing(place), headers=place.auth())
    assert filed.status_code == 201
    org = (await client.get(f"/api/v1/initiatives/{place.collective}")).json()
    assert [c["ref"] for c in org["challenges"]] == [filed.json()["ref"]]
    assert org["challenges"][0]["state"] == "submitted" and org["open_challenges"] == 1
    listed = (await client.get("/api/v1/initiatives", params={"municipality": place.code, "open_challenge": "true"})).json()
    assert [i["id"] for i in listed["items"]] == [str(place.collective)]
    assert_private((await client.get(f"/api/v1/initiatives/{place.collective}")).text)


async def test_list_search_and_pages(client, db, place, kvk):
    async with db.connection() as conn:
        for n in range(4):
            await make_initiative(conn, place.code, f"Buurtmoestuin {n}", domains=["food", "green"])
    r = await client.get("/api/v1/initiatives", params={"municipality": place.code, "q": "energie coöperatie"})
    assert [i["id"] for i in r.json()["items"]] == [str(kvk)]
    names, url = [], f"/api/v1/initiatives?municipality={place.code}&domain=food&limit=3"
    while url:
        page = await client.get(url)
        assert page.status_code == 200
        names += [i["name"] for i in page.json()["items"]]
        url = page.json()["next"]
        if url:
            assert page.headers["link"].startswith("<")
    assert names == [f"Buurtmoestuin {n}" for n in range(4)]


@pytest.mark.parametrize(
    "query",
    ["limit=0", "limit=101", "domain=space", "reciprocity=x", "municipality=Amsterdam", "cursor=%25%25",
     "cursor=bm9wZQ", "open_challenge=maybe", "q=" + "x" * 201, "q=a%00b", "neighbourhood=a%00"],
)
async def test_bad_parameters_are_400(client, query):
    r = await client.get(f"/api/v1/initiatives?{query}")
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith("application/problem+json")


async def test_unknown_initiative_is_404(client):
    assert (await client.get("/api/v1/initiatives/999999999")).status_code == 404
    assert (await client.get("/api/v1/initiatives/0")).status_code == 400


async def test_care_actions_are_chain_events(client, db, place, kvk, other_place):
    url = f"/api/v1/initiatives/{kvk}/actions"
    assert (await client.post(f"{url}/verify", json={})).status_code == 401
    assert (await client.post(f"{url}/verify", json={}, headers=place.auth("collective"))).status_code == 403
    assert (await client.post(f"{url}/verify", json={}, headers=other_place.auth("reviewer"))).status_code == 403
    r = await client.post(f"{url}/verify", json={"reasons": "KvK-uittreksel gezien."}, headers=place.auth("reviewer"))
    assert r.status_code == 200 and r.json()["verification"]["verified"] is True
    assert (await client.post(f"{url}/verify", json={}, headers=place.auth("reviewer"))).status_code == 409
    assert (await client.post(f"{url}/hide", json={}, headers=place.auth("admin"))).status_code == 422
    assert (await client.post(f"{url}/hide", json={"reasons": "x", "extra": 1}, headers=place.auth("admin"))).status_code == 422
    r = await client.post(f"{url}/feature", json={"reasons": "Eerste energiecoöperatie van de wijk."}, headers=place.auth("admin"))
    assert r.json()["featured"]["reason"] == "Eerste energiecoöperatie van de wijk."
    r = await client.post(f"{url}/hide", json={"reasons": "Reclame voor een commercieel bedrijf."}, headers=place.auth("admin"))
    org = r.json()
    assert org["status"] == "hidden" and org["hidden_reason"].startswith("Reclame") and org["description"] == ""
    assert org["featured"] is None
    listed = (await client.get("/api/v1/initiatives", params={"municipality": place.code})).json()
    assert str(kvk) not in [i["id"] for i in listed["items"]]
    r = await client.post(f"{url}/unhide", json={"reasons": "Aangepast."}, headers=place.auth("reviewer"))
    assert r.json()["status"] == "active"

    timeline = (await client.get(f"/api/v1/initiatives/{kvk}/events")).json()["items"]
    assert [e["action"] for e in timeline] == [
        "verify_initiative", "feature_initiative", "hide_initiative", "unhide_initiative"]
    assert timeline[2]["data"] == {"initiative": kvk, "name": "Energiecoöperatie Testwijk",
                                   "reasons": "Reclame voor een commercieel bedrijf."}
    assert timeline[2]["actor_role"] == "admin" and timeline[2]["challenge"] is None
    async with db.connection() as conn:
        assert ledger.verify_chain(await events.chain(conn, place.code)) is None
    assert_private(json.dumps(timeline))


async def test_reports_are_private_until_acted_on(client, db, place, kvk):
    async with db.connection() as conn:
        await care.report(conn, kvk, "MARKER-REPORT Dit is geen buurtinitiatief.", None, NOW)
    assert "MARKER-REPORT" not in (await client.get(f"/api/v1/initiatives/{kvk}")).text
    assert (await client.get("/api/v1/initiative-reports")).status_code == 401
    assert (await client.get("/api/v1/initiative-reports", headers=place.auth("collective"))).status_code == 403
    reports = (await client.get("/api/v1/initiative-reports", headers=place.auth("reviewer"))).json()
    assert [r["initiative"] for r in reports] == [kvk]
    r = await client.post(f"/api/v1/initiative-reports/{reports[0]['id']}/dismiss", headers=place.auth("reviewer"))
    assert r.status_code == 204
    assert (await client.get("/api/v1/initiative-reports", headers=place.auth("reviewer"))).json() == []


async def test_ndjson_export(client, db, place, kvk):
    async with db.connection() as conn:
        await make_initiative(conn, place.code, "Buurthuis De Linde", domains=["culture"])
    r = await client.get("/api/v1/exports/initiatives.ndjson", params={"municipality": place.code})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in r.text.splitlines()]
    assert [o["name"] for o in lines] == ["Energiecoöperatie Testwijk", "Buurthuis De Linde"]
    assert lines[0] == {k: v for k, v in (await client.get(f"/api/v1/initiatives/{kvk}")).json().items() if k != "challenges"}
    assert_private(r.text)
    assert CONTACT not in r.text
