"""Log-in: password, throttling, the TOTP second factor, idle expiry, the
separate cookie, CSRF, and `registry staff create`."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from registry import accounts
from registry.backoffice import service, totp
from tests.backoffice.conftest import CSRF
from tests.conftest import BASE


async def _new_client(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE)


async def _login(client, email, password, next_="/backoffice"):
    page = await client.get("/backoffice/login")
    token = CSRF.search(page.text).group(1)
    return await client.post("/backoffice/login", data={"email": email, "password": password, "next": next_, "_csrf_token": token})


async def _staff(db, place, role="coordinator", clock=None):
    email = f"auth-{uuid.uuid4().hex[:8]}@example.nl"
    async with db.connection() as conn:
        user_id, _ = await service.create_staff(conn, email, role, place.code, "staff password 123")
    return user_id, email


def test_totp_matches_rfc_6238_vectors():
    secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # "12345678901234567890"
    for ts, code in ((59, "287082"), (1111111109, "081804"), (1234567890, "005924"), (2000000000, "279037")):
        assert totp.code_at(secret, datetime.fromtimestamp(ts, timezone.utc)) == code
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert totp.verify(secret, totp.code_at(secret, now - timedelta(seconds=30)), now)
    assert not totp.verify(secret, totp.code_at(secret, now - timedelta(seconds=90)), now)
    assert not totp.verify(secret, "12345", now) and not totp.verify(secret, "abcdef", now)


async def test_login_logout_and_wrong_password(app, db, bplace, clock):
    _, email = await _staff(db, bplace)
    async with await _new_client(app) as c:
        assert (await c.get("/backoffice")).headers["location"].startswith("/backoffice/login?next=")
        bad = await _login(c, email, "wrong password 1")
        assert bad.status_code == 400 and 'role="alert"' in bad.text and email in bad.text
        ok = await _login(c, email, "staff password 123", "/backoffice?state=submitted")
        assert ok.status_code == 303 and ok.headers["location"] == "/backoffice?state=submitted"
        cookie = ok.headers["set-cookie"]
        assert "rtc_staff=" in cookie and "Path=/backoffice" in cookie and "HttpOnly" in cookie and "Max-Age=1800" in cookie
        assert (await c.get("/backoffice")).status_code == 200
        # No CSRF token: refused.
        assert (await c.post("/backoffice/logout")).status_code == 403
        token = CSRF.search((await c.get("/backoffice")).text).group(1)
        assert (await c.post("/backoffice/logout", data={"_csrf_token": token})).status_code == 303
        assert (await c.get("/backoffice")).status_code == 303


async def test_login_is_throttled(app, db, bplace):
    _, email = await _staff(db, bplace)
    async with await _new_client(app) as c:
        codes = [(await _login(c, email, "wrong password 1")).status_code for _ in range(6)]
        assert codes[-1] == 429 and codes[:5] == [400] * 5


async def test_login_open_redirect_refused(app, db, bplace):
    _, email = await _staff(db, bplace)
    async with await _new_client(app) as c:
        r = await _login(c, email, "staff password 123", "//evil.example/")
        assert r.headers["location"] == "/backoffice"


async def test_session_expires_after_thirty_idle_minutes(app, db, bplace, clock):
    _, email = await _staff(db, bplace)
    async with await _new_client(app) as c:
        await _login(c, email, "staff password 123")
        clock.advance(minutes=25)
        assert (await c.get("/backoffice")).status_code == 200
        clock.advance(minutes=25)  # slid: still 5 minutes to go
        assert (await c.get("/backoffice")).status_code == 200
        clock.advance(minutes=31)
        assert (await c.get("/backoffice")).status_code == 303


async def test_resident_session_does_not_open_the_back_office(app, db, bplace, clock):
    user_id, _ = await _staff(db, bplace)
    async with db.connection() as conn:
        long_token = await accounts.create_session(conn, user_id, timedelta(days=14), clock())
    async with await _new_client(app) as c:
        c.cookies.set("rtc_staff", long_token)
        assert (await c.get("/backoffice")).status_code == 303
        c.cookies.set("rtc_session", long_token)
        assert (await c.get("/backoffice")).status_code == 303


async def test_a_resident_is_not_a_civil_servant(app, db, clock):
    email = f"resident-{uuid.uuid4().hex[:6]}@example.nl"
    async with db.connection() as conn:
        await accounts.register(conn, email, "resident password 1", "", "nl", clock())
    async with await _new_client(app) as c:
        assert (await _login(c, email, "resident password 1")).status_code == 400


async def test_totp_enrolment_and_login(app, db, bplace, clock):
    user_id, email = await _staff(db, bplace)
    async with await _new_client(app) as c:
        await _login(c, email, "staff password 123")
        page = await c.get("/backoffice/account")
        secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', page.text).group(1).replace(" ", "")
        token = CSRF.search(page.text).group(1)
        wrong = await c.post("/backoffice/account/totp", data={"code": "000000", "_csrf_token": token})
        assert wrong.status_code == 422 and 'aria-describedby="err-code"' in wrong.text
        ok = await c.post("/backoffice/account/totp", data={"code": totp.code_at(secret, clock()), "_csrf_token": token})
        assert ok.status_code == 303
    async with await _new_client(app) as c:
        r = await _login(c, email, "staff password 123")
        assert r.status_code == 303 and r.headers["location"].startswith("/backoffice/login/code")
        assert (await c.get("/backoffice")).status_code == 303  # no session yet
        page = await c.get("/backoffice/login/code")
        token = CSRF.search(page.text).group(1)
        bad = await c.post("/backoffice/login/code", data={"code": "123456", "_csrf_token": token, "next": "/backoffice"})
        assert bad.status_code == 422
        good = await c.post("/backoffice/login/code", data={"code": totp.code_at(secret, clock()), "_csrf_token": token, "next": "/backoffice"})
        assert good.status_code == 303 and good.headers["location"] == "/backoffice"
        assert (await c.get("/backoffice")).status_code == 200


def test_cli_staff_create(database_url, monkeypatch, capsys, db):
    from registry import cli
    from tests.conftest import make_place

    async def place():
        import asyncpg

        conn = await asyncpg.connect(database_url)
        try:
            return (await make_place(conn)).code
        finally:
            await conn.close()

    code = asyncio.run(place())
    monkeypatch.setenv("REGISTRY_DATABASE_URL", database_url)
    email = f"first-admin-{uuid.uuid4().hex[:6]}@example.nl"
    assert cli.main(["staff", "create", "--email", email, "--role", "admin", "--municipality", code]) == 0
    out = capsys.readouterr().out
    assert "password: " in out and len(out.split("password: ")[1].split()[0]) >= 10
    assert cli.main(["staff", "create", "--email", "x" + email, "--role", "reviewer", "--municipality", code, "--password", "given password 1"]) == 0
    assert "password:" not in capsys.readouterr().out
    with pytest.raises(SystemExit):
        cli.main(["staff", "create", "--email", email, "--role", "admin", "--municipality", "GM9999"])
