"""Accounts against a real PostgreSQL: registration, confirmation, login,
sessions, resets and rate limits."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest

from registry import accounts
from registry.accounts import passwords
from registry.errors import Invalid

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)
PASSWORD = "correct horse battery"


def address() -> str:
    return f"resident-{uuid.uuid4().hex[:8]}@example.nl"


async def test_register_confirm_login(db):
    email = address()
    async with db.connection() as conn:
        user_id, token = await accounts.register(conn, email.upper(), PASSWORD, "Test Bewoner", "en", NOW)
        assert user_id and token
        stored = await conn.fetchval("SELECT password_hash FROM users WHERE id = $1", user_id)
        assert stored.startswith("$argon2id$") and PASSWORD not in stored
        # The same address again: no account, no token, no error that reveals it.
        assert await accounts.register(conn, email, PASSWORD, "Ander", "nl", NOW) == (None, None)
        user = await accounts.authenticate(conn, email, PASSWORD, "10.0.0.1", NOW)
        assert user.email == email and not user.confirmed and user.locale == "en"
        assert await accounts.confirm_email(conn, token, NOW) == user_id
        with pytest.raises(Invalid):
            await accounts.confirm_email(conn, token, NOW)  # single use
        assert (await accounts.authenticate(conn, email, PASSWORD, "10.0.0.1", NOW)).confirmed


@pytest.mark.parametrize(
    "email, password, field",
    [("not-an-address", PASSWORD, "email"), ("a@b", PASSWORD, "email"), (None, "short", "password"),
     (None, "aaaaaaaaaaaaaa", "password"), (None, "x" * 2000, "password")],
)
async def test_registration_refuses_bad_input(db, email, password, field):
    async with db.connection() as conn:
        with pytest.raises(Invalid) as err:
            await accounts.register(conn, email or address(), password, "", "nl", NOW)
        assert err.value.field == field


async def test_wrong_password_is_vague_and_rate_limited(db):
    email = address()
    async with db.connection() as conn:
        await accounts.register(conn, email, PASSWORD, "", "nl", NOW)
        for _ in range(5):
            with pytest.raises(accounts.AccountError) as err:
                await accounts.authenticate(conn, email, "wrong password!", "10.0.0.2", NOW)
            assert "e-mail address or the password" in err.value.detail
        with pytest.raises(accounts.RateLimited) as limited:
            await accounts.authenticate(conn, email, PASSWORD, "10.0.0.2", NOW)
        assert 0 < limited.value.retry_after <= 300
        # A later window lets the right password in again.
        later = NOW + timedelta(minutes=6)
        assert (await accounts.authenticate(conn, email, PASSWORD, "10.0.0.2", later)).email == email
        # Unknown addresses fail the same way.
        with pytest.raises(accounts.AccountError):
            await accounts.authenticate(conn, address(), PASSWORD, "10.0.0.3", NOW)


async def test_sessions_slide_and_expire(db):
    email = address()
    async with db.connection() as conn:
        user_id, _ = await accounts.register(conn, email, PASSWORD, "", "nl", NOW)
        token = await accounts.create_session(conn, user_id, timedelta(minutes=30), NOW)
        assert (await accounts.session_user(conn, token, NOW + timedelta(minutes=20))).id == user_id
        # Sliding: 20 + 25 minutes is fine because the first visit renewed it.
        assert await accounts.session_user(conn, token, NOW + timedelta(minutes=45)) is not None
        assert await accounts.session_user(conn, token, NOW + timedelta(minutes=80)) is None
        assert await accounts.session_user(conn, "forged", NOW) is None
        stored = await conn.fetchval("SELECT count(*) FROM sessions WHERE token_hash = $1", token.encode())
        assert stored == 0  # only a hash of the token is kept
        token2 = await accounts.create_session(conn, user_id, timedelta(minutes=30), NOW)
        await accounts.end_session(conn, token2)
        assert await accounts.session_user(conn, token2, NOW) is None


async def test_password_reset_ends_sessions(db):
    email = address()
    async with db.connection() as conn:
        user_id, _ = await accounts.register(conn, email, PASSWORD, "", "nl", NOW)
        session = await accounts.create_session(conn, user_id, timedelta(days=1), NOW)
        assert await accounts.request_password_reset(conn, address(), "10.0.0.4", NOW) is None
        uid, token = await accounts.request_password_reset(conn, email, "10.0.0.4", NOW)
        with pytest.raises(Invalid):
            await accounts.reset_password(conn, token, "short", NOW)
        # A failed attempt does not spend the link (the transaction rolled back).
        assert await accounts.reset_password(conn, token, "a new long passphrase", NOW) == user_id
        assert await accounts.session_user(conn, session, NOW) is None
        with pytest.raises(accounts.AccountError):
            await accounts.authenticate(conn, email, PASSWORD, "10.0.0.4", NOW)
        assert (await accounts.authenticate(conn, email, "a new long passphrase", "10.0.0.4", NOW)).confirmed
        with pytest.raises(Invalid):
            await accounts.reset_password(conn, token, "another long passphrase", NOW)
        expired_uid, expired = await accounts.request_password_reset(conn, email, "10.0.0.4", NOW)
        with pytest.raises(Invalid):
            await accounts.reset_password(conn, expired, "another long passphrase", NOW + timedelta(hours=3))


def test_password_rules():
    assert passwords.password_problem("short") is not None
    assert passwords.password_problem("me@example.nl", "me@example.nl") is not None
    assert passwords.password_problem(PASSWORD) is None
