"""The authorisation matrix, over HTTP: every staff role × every workflow action
and back-office operation × own or other municipality. A civil servant of one
municipality never sees the private data of another's challenge nor acts on it."""

from __future__ import annotations

import uuid

import httpx
import pytest

from registry import accounts
from registry.app import create_app
from registry.backoffice import authz, service
from tests.backoffice.conftest import Person, file_challenge
from tests.conftest import BASE, FakeClock, make_place

ROLES = ("reviewer", "coordinator", "admin")
PRIVATE = ("MARKER-CONTACT-NAME", "marker-contact@example.invalid", "MARKER-MEMBER-NAME", "MARKER-WORLD-NOTE")


@pytest.fixture(scope="module")
async def world(settings, db):
    clock = FakeClock()
    app = create_app(settings, db=db, clock=clock)
    places, staff, refs, clients = {}, {}, {}, []
    async with db.connection() as conn:
        for side in ("own", "other"):
            places[side] = await make_place(conn)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as api:
        for side, place in places.items():
            refs[side] = await file_challenge(api, place)
            for role in ROLES:
                email = f"m-{role}-{uuid.uuid4().hex[:8]}@{place.code.lower()}.example"
                async with db.connection() as conn:
                    user_id, _ = await service.create_staff(conn, email, role, place.code, "staff password 123", f"MARKER-STAFF-{role}")
                    token = await accounts.create_session(conn, user_id, service.STAFF_IDLE, clock())
                client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE)
                client.cookies.set("rtc_staff", token)
                clients.append(client)
                staff[(side, role)] = Person(user_id, email, role, place.code, client)
        async with db.connection() as conn:
            for side in ("own", "other"):  # each side's challenge is its reviewer's
                cid = await conn.fetchval("SELECT id FROM challenges WHERE ref = $1", refs[side])
                await conn.execute("INSERT INTO assignments (challenge_id, user_id) VALUES ($1, $2)", cid, staff[(side, "reviewer")].user_id)
                await conn.execute("INSERT INTO challenge_notes (challenge_id, body) VALUES ($1, 'MARKER-WORLD-NOTE')", cid)
                svc = places[side].service
                refs[f"{side}-service"] = svc
        yield {"places": places, "staff": staff, "refs": refs, "api": api}
    for c in clients:
        await c.aclose()


OPERATIONS = [
    "view_case", "add_note", "score", "assign", "export_queue", "view_queue", "approve",
    "manage_settings", "manage_services", "manage_staff", "view_audit",
]  # fmt: skip
MATRIX = [(role, op, side) for role in ROLES for op in [*OPERATIONS, *(f"act:{a}" for a in authz.STAFF_ACTIONS)] for side in ("own", "other")]


def allowed(role: str, op: str) -> bool:
    if op.startswith("act:"):
        action = op[4:]
        return role == "coordinator" or (role == "reviewer" and action not in authz.DECISIONS)
    return role in authz.OPERATIONS[op]


async def attempt(world, person: Person, op: str, side: str) -> httpx.Response:
    ref = world["refs"][side]
    other_staff = world["staff"][(side, "coordinator")]
    if op == "view_case":
        return await person.get(f"/backoffice/challenges/{ref}")
    if op == "add_note":
        return await person.post(f"/backoffice/challenges/{ref}/notes", {"body": "matrix note"})
    if op == "score":
        return await person.post(f"/backoffice/challenges/{ref}/assessment", {"score_cost": "3", "motivation_cost": "Redelijk."})
    if op == "assign":
        return await person.post("/backoffice/assign", {"ref": ref, "assignee": str(world["staff"][(side, "reviewer")].user_id)})
    if op == "export_queue":
        return await person.get("/backoffice/queue.csv")
    if op == "view_queue":
        return await person.get("/backoffice")
    if op == "approve":
        return await person.get("/backoffice/approvals")
    if op == "manage_settings":
        return await person.get("/backoffice/admin/settings")
    if op == "manage_services":
        svc = world["refs"][f"{side}-service"]
        return await person.post("/backoffice/admin/services", {
            "service_id": str(svc), "name": f"Straatreiniging {uuid.uuid4().hex[:4]}", "category": "street_cleaning",
            "department": "Stadsbeheer", "budget": "500000", "challengeable": "1",
        })  # fmt: skip
    if op == "manage_staff":
        return await person.post("/backoffice/admin/staff", {"disable": str(other_staff.user_id)} if side == "other" else
                                 {"email": f"new-{uuid.uuid4().hex[:6]}@example.nl", "role": "reviewer"})
    if op == "view_audit":
        return await person.get("/backoffice/admin/audit")
    action = op[4:]
    form = await person.get(f"/backoffice/challenges/{ref}/actions/{action}")
    if form.status_code != 200:
        return form
    version = (await world["api"].get(f"/api/v1/challenges/{ref}")).json()["version"]
    return await person.post(f"/backoffice/challenges/{ref}/actions/{action}", {"expected_version": str(version), "step": "review"})


@pytest.mark.parametrize("role,op,side", MATRIX, ids=[f"{r}-{o}-{s}" for r, o, s in MATRIX])
async def test_matrix(world, role, op, side):
    person = world["staff"][("own", role)]
    r = await attempt(world, person, op, side)
    scoped = op in ("view_case", "add_note", "score", "assign") or op.startswith("act:") or op in ("manage_services", "manage_staff")
    if side == "other" and scoped:
        # Another municipality's challenge (or service, or civil servant) does not exist for you.
        assert r.status_code == (403 if not allowed(role, op) and op in ("manage_services", "manage_staff") else 404), (r.status_code, r.text[:300])
    elif allowed(role, op):
        assert r.status_code in (200, 303, 422), (r.status_code, r.text[:500])
    else:
        assert r.status_code == 403, (r.status_code, r.text[:300])
    if side == "other":
        for marker in PRIVATE:
            assert marker not in r.text


async def test_other_municipality_never_listed(world):
    for role in ROLES:
        person = world["staff"][("own", role)]
        queue = await person.get("/backoffice")
        assert world["refs"]["other"] not in queue.text and world["refs"]["own"] in queue.text
        csv = await person.get("/backoffice/queue.csv")
        assert world["refs"]["other"] not in csv.text
        if role == "admin":
            audit = await person.get("/backoffice/admin/audit.csv")
            assert world["refs"]["other"] not in audit.text


async def test_reviewer_acts_only_on_assigned(world, db):
    own = world["places"]["own"]
    ref = await file_challenge(world["api"], own)
    reviewer = world["staff"][("own", "reviewer")]
    r = await reviewer.get(f"/backoffice/challenges/{ref}/actions/request_information")
    assert r.status_code == 403
    r = await reviewer.post(f"/backoffice/challenges/{ref}/notes", {"body": "x"})
    assert r.status_code == 403
    assert (await reviewer.get(f"/backoffice/challenges/{ref}")).status_code == 200  # may read


async def test_department_scope(world, db):
    own = world["places"]["own"]
    async with db.connection() as conn:
        user_id, _ = await service.create_staff(conn, f"dep-{uuid.uuid4().hex[:6]}@example.nl", "coordinator", own.code,
                                                "staff password 123", "", ("Sociaal Domein",))
        token = await accounts.create_session(conn, user_id, service.STAFF_IDLE, FakeClock()())
    person = world["staff"][("own", "coordinator")]
    person.client.cookies.set("rtc_staff", token)
    try:
        r = await person.get(f"/backoffice/challenges/{world['refs']['own']}")
        assert r.status_code == 404  # Stadsbeheer is not their department
        assert world["refs"]["own"] not in (await person.get("/backoffice")).text
    finally:
        person.client.cookies.clear()
