"""Public reads: keyset pagination, ETags, the global change feed, privacy."""

from __future__ import annotations

import re

from registry import ledger
from tests.conftest import filing


async def _file_many(client, place, n):
    refs = []
    for i in range(n):
        r = await client.post("/api/v1/challenges", json=filing(place, title=f"Uitdaging {i}"), headers=place.auth())
        refs.append(r.json()["ref"])
    return refs


async def test_keyset_pagination_walks_everything_once(client, place):
    refs = await _file_many(client, place, 7)
    url = f"/api/v1/challenges?municipality={place.code}&limit=3"
    seen = []
    pages = 0
    while url:
        r = await client.get(url)
        assert r.status_code == 200
        page = r.json()
        seen += [c["ref"] for c in page["items"]]
        pages += 1
        if page["next"]:
            assert r.headers["link"] == f'<{page["next"]}>; rel="next"'
            assert "cursor=" in page["next"] and "offset" not in page["next"]
        else:
            assert "link" not in r.headers
        url = page["next"]
    assert pages == 3
    assert seen == list(reversed(refs))


async def test_filters(client, place, other_place):
    refs = await _file_many(client, place, 2)
    await client.post(f"/api/v1/challenges/{refs[0]}/actions/declare_admissible",
                      json={"expected_version": 2}, headers=place.auth("reviewer"))
    got = (await client.get(f"/api/v1/challenges?municipality={place.code}&state=under_assessment")).json()["items"]
    assert [c["ref"] for c in got] == [refs[0]]
    got = (await client.get(f"/api/v1/challenges?municipality={place.code}&category=street_cleaning")).json()["items"]
    assert len(got) == 2
    got = (await client.get(f"/api/v1/challenges?municipality={place.code}&category=renovation")).json()["items"]
    assert got == []
    got = (await client.get(f"/api/v1/challenges?municipality={other_place.code}")).json()["items"]
    assert got == []
    got = (await client.get(f"/api/v1/challenges?municipality={place.code}&updated_since=2999-01-01T00:00:00Z")).json()
    assert got["items"] == []
    page = await client.get(f"/challenges?municipality={place.code}&state=under_assessment")
    assert refs[0] in page.text and refs[1] not in page.text


async def test_etag_and_not_modified(client, place):
    (ref,) = await _file_many(client, place, 1)
    r = await client.get(f"/api/v1/challenges/{ref}")
    etag = r.headers["etag"]
    again = await client.get(f"/api/v1/challenges/{ref}", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    await client.post(f"/api/v1/challenges/{ref}/actions/declare_admissible",
                      json={"expected_version": 2}, headers=place.auth("reviewer"))
    changed = await client.get(f"/api/v1/challenges/{ref}", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    lst = await client.get(f"/api/v1/challenges?municipality={place.code}")
    assert (await client.get(f"/api/v1/challenges?municipality={place.code}",
                             headers={"If-None-Match": lst.headers["etag"]})).status_code == 304


async def test_global_feed_mirrors_everything_in_order(client, place):
    await _file_many(client, place, 3)
    first = (await client.get("/api/v1/events?limit=1")).json()
    after = first["items"][0]["id"] - 1
    mirrored = []
    url = f"/api/v1/events?after={after}&limit=2"
    while url:
        page = (await client.get(url)).json()
        mirrored += page["items"]
        url = page["next"]
    ids = [e["id"] for e in mirrored]
    assert ids == sorted(ids) and len(ids) == len(set(ids))
    mine = [e for e in mirrored if e["municipality"] == place.code]
    assert len(mine) == 3
    for e in mine:
        body = {k: v for k, v in e.items() if k not in ("id", "hash")}
        assert ledger.hash_body(body) == e["hash"]


async def test_feed_page_etag_changes_exactly_when_the_page_does(client, place):
    (ref,) = await _file_many(client, place, 1)
    url = f"/api/v1/events?municipality={place.code}&limit=5"
    r = await client.get(url)
    assert r.json()["next"] is None and len(r.json()["items"]) == 1
    etag = r.headers["etag"]
    assert (await client.get(url, headers={"If-None-Match": etag})).status_code == 304
    # Another query is another tag, even with the same events on it.
    other = await client.get(url + "&after=0")
    assert other.status_code == 200 and other.headers["etag"] != etag
    # A new event lands on this (not yet full) page: the old tag no longer matches.
    await client.post(f"/api/v1/challenges/{ref}/actions/declare_admissible",
                      json={"expected_version": 2}, headers=place.auth("reviewer"))
    changed = await client.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert [e["action"] for e in changed.json()["items"]] == ["submit", "declare_admissible"]
    empty = await client.get(f"/api/v1/events?municipality={place.code}&after={changed.json()['items'][-1]['id']}")
    assert empty.json() == {"items": [], "next": None}


async def test_no_person_ever_reaches_a_public_response(client, place):
    (ref,) = await _file_many(client, place, 1)
    await client.post(f"/api/v1/challenges/{ref}/actions/request_information",
                      json={"expected_version": 2, "questions": "Wie?"}, headers=place.auth("reviewer"))
    urls = [
        f"/api/v1/challenges/{ref}", f"/api/v1/challenges/{ref}/events", "/api/v1/challenges",
        f"/api/v1/collectives/{place.collective}", f"/api/v1/collectives/{place.other_collective}",
        "/api/v1/events?limit=1000", f"/api/v1/municipalities/{place.code}", "/api/v1/municipalities",
        f"/api/v1/services?municipality={place.code}", "/challenges", f"/challenges/{ref}",
        f"/challenges?municipality={place.code}", "/api/v1/openapi.json",
    ]
    for url in urls:
        r = await client.get(url)
        assert r.status_code == 200, url
        assert not re.search(r"MARKER|marker-|\+31600000001|rtc_", r.text), url


async def test_openapi_document(client):
    doc = (await client.get("/api/v1/openapi.json")).json()
    assert doc["openapi"].startswith("3.1")
    paths = doc["paths"]
    assert "/api/v1/challenges/{ref}/actions/reject" in paths
    reject = paths["/api/v1/challenges/{ref}/actions/reject"]["post"]
    assert {"200", "400", "401", "403", "404", "409", "422", "503"} <= set(reject["responses"])
    schema_ref = reject["requestBody"]["content"]["application/json"]["schema"]["$ref"].split("/")[-1]
    body = doc["components"]["schemas"][schema_ref]
    assert set(body["required"]) == {"expected_version", "grounds", "reasons"}
    assert body.get("additionalProperties") is False
