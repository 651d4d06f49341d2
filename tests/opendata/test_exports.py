"""Streamed exports: CSV per RFC 4180, NDJSON equal to the API, filters."""

from __future__ import annotations

import csv
import io
import json

from registry.opendata.exports import CSV_COLUMNS


async def test_challenges_ndjson_equals_the_api(client, busy):
    code = busy.place.code
    r = await client.get(f"/api/v1/exports/challenges.ndjson?municipality={code}")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/x-ndjson")
    assert "creativecommons.org/publicdomain/zero" in r.headers["link"]
    lines = r.content.split(b"\n")
    assert lines[-1] == b""
    docs = [json.loads(line) for line in lines[:-1]]
    assert sorted(d["ref"] for d in docs) == sorted(busy.refs.values())
    for d in docs:
        assert d == (await client.get(f"/api/v1/challenges/{d['ref']}")).json()


async def test_challenges_csv_is_rfc4180(client, busy):
    code = busy.place.code
    r = await client.get(f"/api/v1/exports/challenges.csv?municipality={code}")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    text = r.content.decode("utf-8")
    assert text.startswith(",".join(CSV_COLUMNS) + "\r\n")
    assert text.endswith("\r\n")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert len(rows) == len(busy.refs)
    assert text.count("\r\n") == len(rows) + 1  # every record ends with CRLF; line breaks inside fields are quoted
    by_ref = {row["ref"]: row for row in rows}
    rejected = by_ref[busy.refs["rejected"]]
    assert rejected["state"] == "rejected" and rejected["decision_grounds"] == "NL-COST NL-CONTINUITY"
    running = by_ref[busy.refs["running"]]
    assert running["agreement_budget_cents"] == "9900000" and running["status"] == "open"
    assert running["collective_name"] == "Buurtcoöperatie Test"


async def test_events_ndjson_equals_the_change_feed_and_filters(client, busy, clock):
    code = busy.place.code
    r = await client.get(f"/api/v1/exports/events.ndjson?municipality={code}")
    exported = [json.loads(x) for x in r.content.splitlines()]
    feed = (await client.get(f"/api/v1/events?municipality={code}&limit=1000")).json()["items"]
    assert exported == feed
    assert [e["seq"] for e in exported] == list(range(1, len(exported) + 1))
    since = exported[-3]["occurred_at"]
    r = await client.get(f"/api/v1/exports/events.ndjson", params={"municipality": code, "updated_since": since})
    assert [json.loads(x) for x in r.content.splitlines()] == exported[-3:]
    r = await client.get(f"/api/v1/exports/challenges.ndjson", params={"municipality": code, "updated_since": "2999-01-01T00:00:00Z"})
    assert r.status_code == 200 and r.content == b""


async def test_bad_parameters_are_problems(client):
    for url in ("/api/v1/exports/events.ndjson?municipality=XX", "/api/v1/exports/challenges.csv?updated_since=yesterday"):
        r = await client.get(url)
        assert r.status_code == 400
        assert r.headers["content-type"] == "application/problem+json"


async def test_exports_listing(client):
    r = await client.get("/api/v1/exports")
    assert r.status_code == 200
    body = r.json()
    assert body["licence"]["id"] == "CC0-1.0"
    assert {x["name"] for x in body["live"]} == {"challenges.csv", "challenges.ndjson", "events.ndjson"}
