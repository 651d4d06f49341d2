"""A municipality with challenges in many states, made through the API."""

from __future__ import annotations

from dataclasses import dataclass, field
import pytest

from tests.conftest import filing

AGREEMENT = {"budget_cents": 99_000_00, "starts_on": "2027-03-01", "ends_on": "2028-03-01",
             "conditions": "Kwartaalrapportage aan de gemeente."}  # fmt: skip

PATHS = {
    "submitted": [],
    "assessed": [("declare_admissible", "reviewer", {})],
    "rejected": [("declare_admissible", "reviewer", {}),
                 ("reject", "reviewer", {"grounds": ["NL-COST", "NL-CONTINUITY"], "reasons": "Te duur."})],
    "inadmissible": [("declare_inadmissible", "reviewer", {"grounds": ["NL-NOT-CURRENT-TASK"], "reasons": "Geen taak."})],
    "withdrawn": [("withdraw", "collective", {"reasons": "We stoppen."})],
    "asked": [("request_information", "reviewer", {"questions": "Hoeveel leden?"}),
              ("provide_information", "collective", {"answer": "Dertig."}), ("declare_admissible", "reviewer", {})],
    "declined": [("declare_admissible", "reviewer", {}),
                 ("propose_modification", "reviewer", {"modification": "Eerst een proef.", "reasons": "Risico."}),
                 ("decline", "collective", {"reasons": "Niet haalbaar."})],
    "running": [("declare_admissible", "reviewer", {}),
                ("propose_modification", "reviewer", {"modification": "Halve begroting.", "reasons": "Risico."}),
                ("consent", "collective", {}), ("conclude_agreement", "reviewer", AGREEMENT),
                ("start_operation", "reviewer", {}), ("report_progress", "collective", {"report": "Alles gaat goed."}),
                ("report_progress", "collective", {"report": "Nog steeds goed."})],
    "renewed": [("declare_admissible", "reviewer", {}), ("accept", "reviewer", {}),
                ("conclude_agreement", "reviewer", AGREEMENT), ("start_operation", "reviewer", {}),
                ("evaluate", "reviewer", {"evaluation": "Doelen gehaald."}),
                ("renew", "reviewer", {"ends_on": "2030-03-01"})],
    "terminated": [("declare_admissible", "reviewer", {}), ("accept", "reviewer", {}),
                   ("conclude_agreement", "reviewer", AGREEMENT), ("start_operation", "reviewer", {}),
                   ("terminate", "collective", {"reasons": "Te weinig vrijwilligers."})],
    "ended": [("declare_admissible", "reviewer", {}), ("accept", "reviewer", {}),
              ("conclude_agreement", "reviewer", AGREEMENT), ("start_operation", "reviewer", {}),
              ("evaluate", "reviewer", {"evaluation": "Klaar."}), ("end", "reviewer", {})],
    "agreement_withdrawn": [("declare_admissible", "reviewer", {}), ("accept", "reviewer", {}),
                            ("conclude_agreement", "reviewer", AGREEMENT), ("withdraw", "collective", {"reasons": "Toch niet."})],
}  # fmt: skip


@dataclass
class Busy:
    place: object
    refs: dict[str, str] = field(default_factory=dict)


async def act(client, place, ref: str, action: str, role: str, fields: dict) -> dict:
    version = (await client.get(f"/api/v1/challenges/{ref}")).json()["version"]
    r = await client.post(f"/api/v1/challenges/{ref}/actions/{action}", json={"expected_version": version, **fields},
                          headers=place.auth(role))  # fmt: skip
    assert r.status_code == 200, r.text
    return r.json()


async def make_busy(client, place, clock) -> Busy:
    busy = Busy(place)
    for name, steps in PATHS.items():
        r = await client.post("/api/v1/challenges", json=filing(place, title=f"Uitdaging {name}"), headers=place.auth())
        assert r.status_code == 201, r.text
        ref = r.json()["ref"]
        busy.refs[name] = ref
        for action, role, fields in steps:
            clock.advance(days=3, hours=1)
            await act(client, place, ref, action, role, fields)
    return busy


@pytest.fixture
async def busy(client, place, clock) -> Busy:
    clock.advance(days=-200)
    made = await make_busy(client, place, clock)
    clock.advance(days=200 - 3 * 40)
    return made


@pytest.fixture(scope="session")
def opendata_settings(settings, tmp_path_factory):
    """The test settings with a data directory (signing key, dumps) of their own."""
    import dataclasses

    return dataclasses.replace(settings, data_dir=tmp_path_factory.mktemp("registry-data"))


@pytest.fixture
async def client(opendata_settings, db, clock):
    import httpx

    from registry.app import create_app
    from tests.conftest import BASE

    app = create_app(opendata_settings, db=db, clock=clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as c:
        yield c


@pytest.fixture
async def scratch_url(server_url):
    """A database of its own, for tests that tamper with the ledger as a superuser."""
    import uuid

    import asyncpg

    from registry import db as dbmod
    from tests.conftest import _with_database

    name = f"registry_tamper_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(server_url)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    url = _with_database(server_url, name)
    await dbmod.migrate_url(url)
    yield url
    conn = await asyncpg.connect(server_url)
    await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await conn.close()
