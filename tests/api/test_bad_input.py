"""Bad input of every kind gets a clear problem+json and changes nothing."""

from __future__ import annotations

import pytest

from tests.conftest import filing

PROBLEM = "application/problem+json"


async def _filed(client, place):
    r = await client.post("/api/v1/challenges", json=filing(place), headers=place.auth())
    assert r.status_code == 201
    return r.json()


async def _snapshot(client, ref):
    c = (await client.get(f"/api/v1/challenges/{ref}")).json()
    events = (await client.get(f"/api/v1/challenges/{ref}/events")).json()["items"]
    return c["version"], c["state"], len(events)


def _problem(r, status, type_suffix=None, field=None):
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body = r.json()
    assert body["status"] == status and body["detail"] and body["title"]
    if type_suffix:
        assert body["type"].endswith("/" + type_suffix), body
    if field:
        assert body.get("field") == field, body
    return body


@pytest.mark.parametrize(
    "content, status, type_suffix, field",
    [
        (b"{", 400, "malformed-json", None),
        (b"not json at all", 400, "malformed-json", None),
        (b'{"expected_version": "1", "questions": "x"}', 400, "invalid-request", "expected_version"),
        (b'{"expected_version": 1.5, "questions": "x"}', 400, "invalid-request", "expected_version"),
        (b'{"expected_version": 99999999999999999999999, "questions": "x"}', 400, "invalid-request", "expected_version"),
        (b'{"expected_version": 2}', 400, "invalid-request", "questions"),
        (b'{"expected_version": 2, "questions": ""}', 400, "invalid-request", "questions"),
        (b'{"expected_version": 2, "questions": "   "}', 422, "missing-field", "questions"),
        (b'{"expected_version": 2, "questions": "a\\u0000b"}', 400, "invalid-request", "questions"),
        (b'{"expected_version": 2, "questions": "\\ud800"}', 400, "malformed-json", None),
        (b'{"expected_version": 2, "questions": "x", "sneaky": true}', 422, "unknown-field", "sneaky"),
        (b'[1, 2, 3]', 400, "invalid-request", None),
        (b"null", 400, "invalid-request", None),
    ],
)
async def test_malformed_action_bodies(client, place, content, status, type_suffix, field):
    c = await _filed(client, place)
    before = await _snapshot(client, c["ref"])
    r = await client.post(
        f"/api/v1/challenges/{c['ref']}/actions/request_information",
        content=content,
        headers={**place.auth("reviewer"), "Content-Type": "application/json"},
    )
    _problem(r, status, type_suffix, field)
    assert await _snapshot(client, c["ref"]) == before


async def test_huge_strings_are_refused(client, place):
    c = await _filed(client, place)
    before = await _snapshot(client, c["ref"])
    r = await client.post(
        f"/api/v1/challenges/{c['ref']}/actions/request_information",
        json={"expected_version": c["version"], "questions": "x" * 20_001},
        headers=place.auth("reviewer"),
    )
    _problem(r, 400, field="questions")
    r = await client.post(
        f"/api/v1/challenges/{c['ref']}/actions/request_information",
        content=b'{"expected_version":1,"questions":"' + b"x" * 2_000_000 + b'"}',
        headers={**place.auth("reviewer"), "Content-Type": "application/json"},
    )
    _problem(r, 413)
    assert await _snapshot(client, c["ref"]) == before


async def test_stale_version_and_double_submit(client, place):
    c = await _filed(client, place)
    url = f"/api/v1/challenges/{c['ref']}/actions/declare_admissible"
    r1 = await client.post(url, json={"expected_version": c["version"]}, headers=place.auth("reviewer"))
    assert r1.status_code == 200
    before = await _snapshot(client, c["ref"])
    r2 = await client.post(url, json={"expected_version": c["version"]}, headers=place.auth("reviewer"))
    _problem(r2, 409, "stale-version", "expected_version")
    assert "version 3" in r2.json()["detail"]
    assert await _snapshot(client, c["ref"]) == before


async def test_illegal_transition_is_a_conflict(client, place):
    c = await _filed(client, place)
    r = await client.post(
        f"/api/v1/challenges/{c['ref']}/actions/start_operation",
        json={"expected_version": c["version"]},
        headers=place.auth("reviewer"),
    )
    body = _problem(r, 409, "illegal-transition")
    assert "submitted" in body["detail"]


async def test_roles_and_municipalities(client, place, other_place):
    c = await _filed(client, place)
    before = await _snapshot(client, c["ref"])
    url = f"/api/v1/challenges/{c['ref']}/actions/"
    # A collective may not decide on its own challenge.
    r = await client.post(url + "declare_admissible", json={"expected_version": 2}, headers=place.auth())
    _problem(r, 403, "forbidden-role")
    # Another collective of the same municipality may not act for this one.
    r = await client.post(url + "withdraw", json={"expected_version": 2, "reasons": "x"},
                          headers=place.auth("other_collective"))
    _problem(r, 403, "forbidden")
    # A reviewer of another municipality may not act here at all.
    for role in ("reviewer", "admin", "collective"):
        r = await client.post(url + "declare_admissible", json={"expected_version": 2}, headers=other_place.auth(role))
        _problem(r, 403, "forbidden")
    # No token, a bad scheme, an unknown token.
    for headers in ({}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer rtc_nope"}):
        r = await client.post(url + "declare_admissible", json={"expected_version": 2}, headers=headers)
        _problem(r, 401, "unauthenticated")
    assert await _snapshot(client, c["ref"]) == before


async def test_filing_errors(client, place, other_place):
    r = await client.post("/api/v1/challenges", json=filing(place), headers=place.auth("reviewer"))
    _problem(r, 403)
    r = await client.post("/api/v1/challenges", json=filing(place, service=place.excluded_service), headers=place.auth())
    body = _problem(r, 422, field="service")
    assert "enforcement" in body["detail"]
    r = await client.post("/api/v1/challenges", json=filing(other_place), headers=place.auth())
    _problem(r, 422, field="service")
    r = await client.post("/api/v1/challenges", json=filing(place, service=2**53 - 1), headers=place.auth())
    _problem(r, 422, field="service")
    r = await client.post("/api/v1/challenges", json=filing(place, title="  "), headers=place.auth())
    _problem(r, 422, field="title")
    r = await client.post("/api/v1/challenges", json=filing(place, proposed_start="2027-02-30"), headers=place.auth())
    _problem(r, 400, field="proposed_start")
    r = await client.post("/api/v1/challenges", json=filing(place, requested_budget_cents=-1), headers=place.auth())
    _problem(r, 400, field="requested_budget_cents")
    listed = (await client.get(f"/api/v1/challenges?municipality={place.code}")).json()["items"]
    assert listed == []


async def test_unknown_things(client, place):
    _problem(await client.get("/api/v1/challenges/GM0001-2026-0001"), 404, "not-found")
    _problem(await client.get("/api/v1/challenges/nonsense"), 400)
    _problem(await client.get("/api/v1/municipalities/GM9999"), 404)
    _problem(await client.get("/api/v1/collectives/999999999"), 404)
    _problem(await client.get("/api/v1/collectives/0"), 400)
    _problem(await client.get("/api/v1/challenges?state=flying"), 400)
    _problem(await client.get("/api/v1/challenges?limit=100000"), 400)
    _problem(await client.get("/api/v1/challenges?cursor=-5"), 400)
    _problem(await client.get("/api/v1/events?after=abc"), 400)
    _problem(await client.get("/api/v1/nothing-here"), 404)
    c = await _filed(client, place)
    r = await client.post(f"/api/v1/challenges/{c['ref']}/actions/fly", json={"expected_version": 1},
                          headers=place.auth("reviewer"))
    assert r.status_code in (404, 405)
    assert r.headers["content-type"].startswith(PROBLEM)
    page = await client.get("/challenges/GM0001-2026-0001")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")


async def test_dates_out_of_range_and_unknown_grounds(client, place):
    c = await _filed(client, place)
    url = f"/api/v1/challenges/{c['ref']}/actions/"
    r = await client.post(url + "declare_inadmissible", json={"expected_version": 2, "grounds": ["1"], "reasons": "x"},
                          headers=place.auth("reviewer"))
    _problem(r, 422, "invalid-field", "grounds")
    c = (await client.post(url + "declare_admissible", json={"expected_version": 2}, headers=place.auth("reviewer"))).json()
    c = (await client.post(url + "accept", json={"expected_version": 3}, headers=place.auth("reviewer"))).json()
    before = await _snapshot(client, c["ref"])
    r = await client.post(url + "conclude_agreement", headers=place.auth("reviewer"), json={
        "expected_version": 4, "budget_cents": 1, "starts_on": "0001-01-01", "ends_on": "0002-01-01", "conditions": "x"})
    _problem(r, 422, "invalid-field", "starts_on")
    assert await _snapshot(client, c["ref"]) == before
