"""OCDS packages validate with the official validator (libcoveocds, offline,
with the registry's extension as served by the registry), and compiling the
releases with ocdsmerge gives the registry's own current state."""

from __future__ import annotations

import zipfile
from pathlib import Path

import ocdsmerge
import pytest
import requests
from libcoveocds.api import ocds_json_output
from libcoveocds.config import LibCoveOCDSConfig
from ocdsextensionregistry import util as registry_util

from tests.conftest import BASE

STANDARD_ZIP = Path(__file__).resolve().parents[2].parent / "shared" / "ocds" / "ocds-1__1__5-schema.zip"
if not STANDARD_ZIP.exists():  # the checkout may sit elsewhere
    STANDARD_ZIP = Path("/work/shared/ocds/ocds-1__1__5-schema.zip")


STANDARD_URL = "https://standard.open-contracting.org/schema/1__1__5/"


def _response(url: str, body: bytes | None) -> requests.Response:
    response = requests.Response()
    response.encoding = "utf-8"
    response.url = url
    response.status_code = 200 if body is not None else 404
    response._content = body if body is not None else b"not found"
    return response


@pytest.fixture
async def validator(client, monkeypatch, tmp_path):
    base = f"{BASE}/api/v1/ocds/extension/"
    files = {}
    for name in ("extension.json", "release-schema.json", "codelists/+partyRole.csv"):
        r = await client.get(base + name)
        assert r.status_code == 200
        files[base + name] = r.content
    original = registry_util.session.get

    def get(url, *args, **kwargs):
        # The validator asks for the extension; answer with what the registry
        # served (no network: these machines are offline).
        if url.startswith(BASE):
            return _response(url, files.get(url))
        return original(url, *args, **kwargs)

    monkeypatch.setattr(registry_util.session, "get", get)

    # The record package schema refers to the release schemas by URL; the
    # validator's JSON-reference resolver fetches them with requests.get.
    with zipfile.ZipFile(STANDARD_ZIP) as z:
        standard = {f"{STANDARD_URL}{n.rsplit('/', 1)[1]}": z.read(n) for n in z.namelist() if n.endswith(".json")}
    plain_get = requests.get

    def standard_get(url, *args, **kwargs):
        if url.startswith(STANDARD_URL):
            return _response(url, standard.get(url))
        return plain_get(url, *args, **kwargs)

    monkeypatch.setattr(requests, "get", standard_get)
    config = LibCoveOCDSConfig({"standard_zip": f"file://{STANDARD_ZIP}", "context": "api"})

    def validate(package: dict) -> dict:
        # output_dir: where the validator writes its extended_schema.json scratch file.
        return ocds_json_output(str(tmp_path), json_data=package, lib_cove_ocds_config=config)

    return validate


def _assert_valid(result: dict) -> None:
    assert result["validation_errors"] == []
    assert result.get("invalid_extension", {}) == {}
    assert result["extensions"]["extensions"][0]["url"].endswith("extension.json") if result.get("extensions") else True
    closed = [v for v in result.get("additional_closed_codelist_values", {}).values()]
    assert closed == []
    opened = result.get("additional_open_codelist_values", {})
    assert not any("challenger" in v.get("values", []) for v in opened.values()), opened


async def test_release_packages_validate(client, busy, validator):
    r = await client.get(f"/api/v1/ocds/releases?municipality={busy.place.code}&limit=1000")
    assert r.status_code == 200
    package = r.json()
    assert package["extensions"] == [f"{BASE}/api/v1/ocds/extension/extension.json"]
    assert package["license"] == "https://creativecommons.org/publicdomain/zero/1.0/"
    tags = {t for rel in package["releases"] for t in rel["tag"]}
    assert {"planning", "planningUpdate", "award", "contract", "contractUpdate", "implementation",
            "contractAmendment", "contractTermination"} <= tags  # fmt: skip
    _assert_valid(validator(package))


async def test_releases_page_with_links(client, busy):
    r = await client.get(f"/api/v1/ocds/releases?municipality={busy.place.code}&limit=2")
    page = r.json()
    assert len(page["releases"]) == 2
    assert page["links"]["next"] in r.headers["link"]


async def test_record_packages_validate_and_compile_like_ocdsmerge(client, busy, validator):
    prefix = client._transport.app.state.settings.ocid_prefix
    merger = ocdsmerge.Merger(schema=_extended_schema())
    combined = None
    for name, ref in busy.refs.items():
        r = await client.get(f"/api/v1/ocds/records/{prefix}-{ref}")
        assert r.status_code == 200, r.text
        package = r.json()
        if combined is None:
            combined = package
        else:
            combined["records"] += package["records"]
        rec = package["records"][0]
        ours = rec["compiledRelease"]
        theirs = merger.create_compiled_release(rec["releases"])
        api = (await client.get(f"/api/v1/challenges/{ref}")).json()
        for compiled in (ours, theirs):
            assert compiled["challenge"]["state"] == api["state"], name
            assert compiled["challenge"]["status"] == api["status"], name
            assert compiled["tender"]["statusDetails"] == api["state"]
            assert compiled["challenge"]["deadline"].get("dueDate") == _ledger_time(api["deadline"]["due_at"])
            decision = compiled["challenge"].get("decision")
            if api["decision"]:
                assert decision["outcome"] == api["decision"]["outcome"], name
                assert decision.get("groundCodes", []) == api["decision"]["grounds"], name
                assert decision.get("modification") == api["decision"]["modification"], name
            if api["agreement"]:
                a = api["agreement"]
                award, contract = compiled["awards"][0], compiled["contracts"][0]
                assert award["value"]["amount"] * 100 == a["budget_cents"] == contract["value"]["amount"] * 100
                assert contract["period"] == {"startDate": a["starts_on"] + "T00:00:00Z", "endDate": a["ends_on"] + "T00:00:00Z"}
        assert {k: v for k, v in ours.items() if k != "id"} == {k: v for k, v in theirs.items() if k != "id"}
    _assert_valid(validator(combined))  # one validator run for all: it is slow


async def test_unknown_record_is_404(client):
    prefix = client._transport.app.state.settings.ocid_prefix
    r = await client.get(f"/api/v1/ocds/records/{prefix}-GM9999-2026-0001")
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    assert (await client.get("/api/v1/ocds/records/nonsense")).status_code == 400


def _ledger_time(api_time: str | None) -> str | None:
    if api_time is None:
        return None
    from datetime import datetime

    from registry.ledger import format_time

    return format_time(datetime.fromisoformat(api_time.replace("Z", "+00:00")))


def _extended_schema() -> dict:
    import json
    import zipfile

    from registry.opendata.ocds import release_schema

    with zipfile.ZipFile(STANDARD_ZIP) as z:
        name = next(n for n in z.namelist() if n.endswith("schema/release-schema.json"))
        schema = json.loads(z.read(name))
    patch = release_schema()
    schema["properties"].update(patch["properties"])
    schema["definitions"].update(patch["definitions"])
    return schema


async def test_dump_packages_in_parts_read_validate_and_equal_the_api(client, db, database_url, busy, clock, validator, tmp_path):
    import gzip
    import json
    import shutil
    import subprocess

    from registry.opendata import dump

    prefix = client._transport.app.state.settings.ocid_prefix
    async with db.connection() as conn:
        path = await dump.write(conn, tmp_path, base=BASE, prefix=prefix, now=clock(), workers=2,
                                database_url=database_url, range_size=3)  # fmt: skip
    packages = {}
    for name in ("ocds-release-package.json.gz", "ocds-record-package.json.gz"):
        data = (path / name).read_bytes()
        text = gzip.decompress(data)
        if shutil.which("zcat"):
            assert subprocess.run(["zcat", str(path / name)], capture_output=True, check=True).stdout == text
        packages[name] = json.loads(text)
    releases, records = packages["ocds-release-package.json.gz"], packages["ocds-record-package.json.gz"]
    assert releases["uri"] == f"{BASE}/api/v1/exports/dumps/{path.name}/ocds-release-package.json.gz"

    # By challenge, then event id (docs/opendata.md); the records in the same order.
    async with db.connection() as conn:
        by_challenge = await conn.fetch("SELECT c.ref FROM challenges c WHERE EXISTS (SELECT 1 FROM events e"
                                        " WHERE e.challenge_id = c.id) ORDER BY c.id")  # fmt: skip
    assert [rec["ocid"] for rec in records["records"]] == [f"{prefix}-{r['ref']}" for r in by_challenge]
    assert [rel for rec in records["records"] for rel in rec["releases"]] == releases["releases"]
    for rec in records["records"]:
        ids = [rel["challenge"]["ledger"]["eventId"] for rel in rec["releases"]]
        assert ids == sorted(ids)

    # Exactly what the API serves, release for release and record for record.
    ours = {f"{prefix}-{ref}" for ref in busy.refs.values()}
    api = (await client.get(f"/api/v1/ocds/releases?municipality={busy.place.code}&limit=1000")).json()["releases"]
    mine = [r for r in releases["releases"] if r["ocid"] in ours]
    assert sorted(mine, key=lambda r: r["challenge"]["ledger"]["eventId"]) == api
    mine_records = [rec for rec in records["records"] if rec["ocid"] in ours]
    assert len(mine_records) == len(ours)
    for rec in mine_records:
        assert rec == (await client.get(f"/api/v1/ocds/records/{rec['ocid']}")).json()["records"][0]

    _assert_valid(validator({**releases, "releases": mine}))
    _assert_valid(validator({**records, "records": mine_records}))


async def test_a_record_built_around_its_encoded_releases_is_the_encoded_record(db, busy):
    from registry.opendata import ocds

    async with db.connection() as conn:
        ids = await conn.fetch("SELECT id FROM challenges WHERE ref = any($1::text[])", list(busy.refs.values()))
        for row in ids:
            releases = await ocds.challenge_releases(conn, row["id"], "ocds-r2c0nl")
            encoded, rec = ocds.process_json(releases)
            assert encoded == [ocds._encode(r) for r in releases]
            assert rec == ocds._encode(ocds.record(releases))
    assert len(ids) == len(busy.refs)
