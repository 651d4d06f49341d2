"""No private field ever leaves the registry: unique markers in every private
column, then every public endpoint, page, export, feed, OCDS package,
catalogue and dump is searched for them."""

from __future__ import annotations

import gzip
import uuid

from registry.opendata import dump
from registry.store import catalog, tokens
from tests.conftest import BASE, make_place
from tests.opendata.conftest import make_busy


async def test_no_private_field_appears_anywhere(client, db, clock, tmp_path):
    tag = uuid.uuid4().hex[:12]
    markers = {f: f"PRIV{tag}{f}" for f in (
        "contact_name", "contact_email", "contact_phone", "member_name", "member_email",
        "note", "actor_label", "token_label", "other_contact",
    )}  # fmt: skip
    async with db.connection() as conn:
        place = await make_place(conn)
        await conn.execute(
            "UPDATE collective_contacts SET contact_name = $2, email = $3, phone = $4 WHERE collective_id = $1",
            place.collective, markers["contact_name"], markers["contact_email"] + "@example.invalid", markers["contact_phone"],
        )
        await conn.execute("UPDATE collective_contacts SET contact_name = $2 WHERE collective_id = $1", place.other_collective, markers["other_contact"])
        await conn.execute(
            "INSERT INTO collective_members (collective_id, name, email) VALUES ($1, $2, $3)",
            place.collective, markers["member_name"], markers["member_email"] + "@example.invalid",
        )
        await tokens.create_token(conn, "reviewer", place.code, None, markers["token_label"])
        # The collective is also a citizen initiative, whose relay address is the private contact.
        from registry.initiatives import store as initiative_store
        from registry.initiatives.profile import Profile

        await initiative_store.insert_profile(conn, place.collective, Profile(
            name="Buurtcoöperatie Test", legal_form="cooperative", registration_number="12345678",
            neighbourhoods=["Centrum"], description="Wij vegen samen.", domains=["green"],
            reciprocity="strangers_for_strangers", members_count=12, offers=["bezems"], needs=["vrijwilligers"],
        ), clock())
    busy = await make_busy(client, place, clock)
    async with db.connection() as conn:
        ids = await conn.fetch("SELECT id FROM challenges WHERE municipality_code = $1", place.code)
        for r in ids:
            await conn.execute("INSERT INTO challenge_notes (challenge_id, body) VALUES ($1, $2)", r["id"], markers["note"])
        await conn.execute(
            "UPDATE event_actors SET actor_label = $2 WHERE event_id IN (SELECT id FROM events WHERE municipality_code = $1)",
            place.code, markers["actor_label"],
        )
    code = place.code
    ref = busy.refs["running"]
    r = await client.post("/api/v1/ledger/checkpoints", headers=place.auth("admin"))
    assert r.status_code == 201
    prefix = client._transport.app.state.settings.ocid_prefix

    urls = [
        "/api/v1", "/api/v1/exports", "/api/v1/catalog", "/api/v1/stats", f"/api/v1/stats?municipality={code}",
        f"/api/v1/exports/challenges.csv", f"/api/v1/exports/challenges.ndjson", "/api/v1/exports/events.ndjson",
        f"/api/v1/exports/challenges.csv?municipality={code}", f"/api/v1/ocds/releases?municipality={code}&limit=1000",
        f"/api/v1/ocds/records/{prefix}-{ref}", "/api/v1/feeds/events.atom", f"/api/v1/feeds/municipalities/{code}/events.atom",
        f"/api/v1/feeds/challenges/{ref}/events.atom", "/api/v1/ledger/keys", "/api/v1/ledger/checkpoints",
        "/api/v1/ledger/checkpoints/latest", "/api/v1/ocds/extension/extension.json", "/api/v1/ocds/extension/release-schema.json",
        f"/api/v1/challenges?municipality={code}", f"/api/v1/challenges/{ref}", f"/api/v1/challenges/{ref}/events",
        f"/api/v1/events?municipality={code}&limit=1000", f"/api/v1/municipalities/{code}", f"/api/v1/collectives/{place.collective}",
        "/statistics", f"/statistics/{code}", f"/challenges?municipality={code}", f"/challenges/{ref}",
        "/api/v1/exports/initiatives.ndjson", f"/api/v1/initiatives/{place.collective}", f"/initiatives/{place.collective}",
    ]  # fmt: skip
    for url in urls:
        r = await client.get(url)
        assert r.status_code == 200, (url, r.status_code)
        for m in markers.values():
            assert m not in r.text, (url, m)
    assert f"PRIV{tag}" not in "".join([(await client.get(u)).text for u in urls])

    root = tmp_path / "exports"
    async with db.connection() as conn:
        path = await dump.write(conn, root, base=BASE, prefix=prefix, now=clock())
    files = list(path.iterdir())
    assert {f.name for f in files} >= set(dump.FILES) | {"manifest.json"}
    assert b"Buurtco\xc3\xb6peratie Test" in gzip.decompress((path / "initiatives.ndjson.gz").read_bytes())
    for f in files:
        data = f.read_bytes()
        if f.suffix == ".gz":
            data = gzip.decompress(data)
        assert f"PRIV{tag}".encode() not in data, f.name
    # The same bytes, served from the data directory by the API:
    app_settings = client._transport.app.state.settings
    assert app_settings.data_dir != tmp_path  # the test dump above was written elsewhere; the API lists its own dir
    async with db.connection() as conn:
        served = await dump.write(conn, app_settings.data_dir / "exports", base=BASE, prefix=prefix, now=clock())
    listing = (await client.get("/api/v1/exports")).json()
    assert served.name in [d["name"] for d in listing["dumps"]]
    for f in next(d for d in listing["dumps"] if d["name"] == served.name)["files"]:
        r = await client.get(f["url"].removeprefix(BASE))
        assert r.status_code == 200 and len(r.content) == f["bytes"]
        body = gzip.decompress(r.content) if f["name"].endswith(".gz") else r.content
        assert f"PRIV{tag}".encode() not in body
    assert (await client.get(f"/api/v1/exports/dumps/{served.name}/secret.txt")).status_code == 404
    assert (await client.get("/api/v1/exports/dumps/..%2F..%2Fetc/passwd")).status_code in (400, 404)
    _ = catalog  # the public store functions are what the pages use
