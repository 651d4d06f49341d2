"""Back-office test helpers: civil servants with live sessions, a browser-like
client per person (own cookies, CSRF token), and challenges walked into a state."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import httpx
import pytest

from registry import accounts
from registry.app import create_app
from registry.backoffice import service
from tests.conftest import BASE, Place, filing, make_place

CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')


@dataclass
class Person:
    user_id: int
    email: str
    role: str
    municipality: str
    client: httpx.AsyncClient
    csrf: str = ""

    async def get(self, path: str, **kw) -> httpx.Response:
        return await self.client.get(path, **kw)

    async def post(self, path: str, data: dict | list | None = None, **kw) -> httpx.Response:
        if not self.csrf:
            page = await self.client.get("/backoffice/login")
            self.csrf = CSRF.search(page.text).group(1)
        items = list(data.items()) if isinstance(data, dict) else list(data or [])
        expanded = []
        for k, v in items:
            for one in v if isinstance(v, list) else [v]:
                expanded.append((k, str(one)))
        expanded.append(("_csrf_token", self.csrf))
        return await self.client.post(
            path, content=httpx.QueryParams(expanded).__str__().encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"}, **kw,
        )  # fmt: skip


@pytest.fixture
async def app(settings, db, clock):
    return create_app(settings, db=db, clock=clock)


@pytest.fixture
async def people(app, db, clock):
    """people(place, role, departments=()) -> a logged-in civil servant with an own client."""
    clients: list[httpx.AsyncClient] = []

    async def make(place: Place | str, role: str, departments: tuple[str, ...] = (), name: str = "") -> Person:
        code = place if isinstance(place, str) else place.code
        email = f"{role}-{uuid.uuid4().hex[:8]}@{code.lower()}.example"
        async with db.connection() as conn:
            user_id, _ = await service.create_staff(
                conn, email, role, code, "staff password 123", name or f"MARKER-STAFF-{role}", departments, clock()
            )
            token = await accounts.create_session(conn, user_id, service.STAFF_IDLE, clock())
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE)
        client.cookies.set("rtc_staff", token)
        clients.append(client)
        return Person(user_id, email, role, code, client)

    yield make
    for c in clients:
        await c.aclose()


@pytest.fixture
async def api(app):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as c:
        yield c


async def file_challenge(api: httpx.AsyncClient, place: Place, **overrides) -> str:
    r = await api.post("/api/v1/challenges", json=filing(place, **overrides), headers=place.auth())
    assert r.status_code == 201, r.text
    return r.json()["ref"]


async def api_act(api: httpx.AsyncClient, place: Place, ref: str, action: str, role: str = "reviewer", **fields) -> dict:
    version = (await api.get(f"/api/v1/challenges/{ref}")).json()["version"]
    r = await api.post(
        f"/api/v1/challenges/{ref}/actions/{action}", json={"expected_version": version, **fields}, headers=place.auth(role)
    )
    assert r.status_code == 200, r.text
    return r.json()


async def version_of(api: httpx.AsyncClient, ref: str) -> int:
    return (await api.get(f"/api/v1/challenges/{ref}")).json()["version"]


async def score_all(person: Person, ref: str, score: int = 4) -> None:
    form = {}
    for code in ("social_value", "support", "cost", "quality", "continuity"):
        form[f"score_{code}"] = str(score)
        form[f"motivation_{code}"] = f"MOTIVATION-{code} goed onderbouwd"
    r = await person.post(f"/backoffice/challenges/{ref}/assessment", form)
    assert r.status_code == 303, r.text


async def act(person: Person, api: httpx.AsyncClient, ref: str, action: str, **fields) -> httpx.Response:
    """Take an action through the back office: review, then confirm."""
    version = await version_of(api, ref)
    data = {"expected_version": version, **fields}
    review = await person.post(f"/backoffice/challenges/{ref}/actions/{action}", {**data, "step": "review"})
    if review.status_code != 200:
        return review
    return await person.post(f"/backoffice/challenges/{ref}/actions/{action}", {**data, "step": "confirm"})


@pytest.fixture
async def bplace(db) -> Place:
    async with db.connection() as conn:
        return await make_place(conn)


@pytest.fixture
async def other(db) -> Place:
    async with db.connection() as conn:
        return await make_place(conn)
