"""Accounts: registration, confirmation, login, sessions, password reset and
rate limits. Every function takes a connection first and is one transaction
(or part of the caller's)."""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from datetime import datetime, timedelta

import asyncpg
import msgspec

from registry.accounts import passwords
from registry.errors import Invalid, RegistryError

EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s.]{2,}$")

# Logins per client address in 5 minutes. A setting because a client address
# may be shared (a town hall's NAT, or a test machine running several suites).
LOGINS_PER_CLIENT = int(os.environ.get("REGISTRY_LOGINS_PER_CLIENT", "20"))

CONFIRM_TTL = timedelta(days=3)
RESET_TTL = timedelta(hours=2)
INVITE_TTL = timedelta(days=14)
SESSION_ABSOLUTE = timedelta(days=30)


class AccountError(RegistryError):
    """Login failed. Deliberately vague: it never says whether the address exists."""

    status = 400
    type = "login-failed"
    title = "Login failed"


class RateLimited(RegistryError):
    status = 429
    type = "too-many-requests"
    title = "Too many attempts"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after
        self.headers = {"Retry-After": str(retry_after)}


class SessionUser(msgspec.Struct, frozen=True):
    """The person behind a session. Private: never serialised publicly."""

    id: int
    email: str
    display_name: str
    locale: str
    confirmed: bool


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def normalise_email(email: str) -> str:
    value = email.strip().lower()
    if len(value) > 254 or not EMAIL.match(value):
        raise Invalid("Enter a valid e-mail address, like name@example.nl.", "email")
    return value


# --- rate limits ------------------------------------------------------------------


async def hit_rate_limit(
    conn: asyncpg.Connection, key: str, limit: int, window_s: int, now: datetime
) -> None:
    """Count one hit for ``key`` in the current fixed window; raise RateLimited
    past ``limit``. Old windows are pruned as a side effect, cheaply."""
    epoch = int(now.timestamp())
    start = epoch - epoch % window_s
    window_start = datetime.fromtimestamp(start, tz=now.tzinfo)
    hits = await conn.fetchval(
        "INSERT INTO rate_limits (key, window_start, hits) VALUES ($1, $2, 1)"
        " ON CONFLICT (key, window_start) DO UPDATE SET hits = rate_limits.hits + 1 RETURNING hits",
        key,
        window_start,
    )
    if hits == 1:
        await conn.execute("DELETE FROM rate_limits WHERE key = $1 AND window_start < $2", key, window_start)
    if hits > limit:
        raise RateLimited(
            "Too many attempts. Please wait a moment and try again.", retry_after=start + window_s - epoch
        )


# --- one-time e-mail links -----------------------------------------------------------


async def create_email_token(
    conn: asyncpg.Connection,
    purpose: str,
    email: str,
    user_id: int | None,
    now: datetime,
    ttl: timedelta,
    payload: dict | None = None,
) -> str:
    token = secrets.token_urlsafe(32)
    await conn.execute(
        "INSERT INTO email_tokens (token_hash, purpose, user_id, email, payload, created_at, expires_at)"
        " VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7)",
        _digest(token),
        purpose,
        user_id,
        email,
        msgspec.json.encode(payload or {}).decode(),
        now,
        now + ttl,
    )
    return token


async def use_email_token(conn: asyncpg.Connection, purpose: str, token: str, now: datetime) -> asyncpg.Record:
    """Spend a one-time link; raise Invalid when it is unknown, used or expired."""
    if not token or len(token) > 200:
        raise Invalid("This link is not valid.", "token")
    row = await conn.fetchrow(
        "UPDATE email_tokens SET used_at = $3 WHERE token_hash = $1 AND purpose = $2"
        " AND used_at IS NULL AND expires_at > $3 RETURNING user_id, email, payload::text AS payload",
        _digest(token),
        purpose,
        now,
    )
    if row is None:
        raise Invalid("This link is not valid any more: it was used already or it has expired.", "token")
    return row


# --- registration and login ------------------------------------------------------------


async def register(
    conn: asyncpg.Connection,
    email: str,
    password: str,
    display_name: str,
    locale: str,
    now: datetime,
) -> tuple[int | None, str | None]:
    """Create an unconfirmed account. Returns (user id, confirmation token), or
    (None, None) when the address is taken — callers answer the same either
    way, so that registration does not reveal who has an account."""
    email = normalise_email(email)
    problem = passwords.password_problem(password, email)
    if problem:
        raise Invalid(problem, "password")
    if len(display_name) > 200:
        raise Invalid("Use at most 200 characters for your name.", "display_name")
    password_hash = await passwords.hash_password(password)
    async with conn.transaction():
        user_id = await conn.fetchval(
            "INSERT INTO users (email, password_hash, display_name, locale, created_at)"
            " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (email) DO NOTHING RETURNING id",
            email,
            password_hash,
            display_name.strip(),
            locale if locale in ("nl", "en") else "nl",
            now,
        )
        if user_id is None:
            return None, None
        token = await create_email_token(conn, "confirm", email, user_id, now, CONFIRM_TTL)
    return user_id, token


async def confirm_email(conn: asyncpg.Connection, token: str, now: datetime) -> int:
    async with conn.transaction():
        row = await use_email_token(conn, "confirm", token, now)
        await conn.execute(
            "UPDATE users SET email_confirmed_at = coalesce(email_confirmed_at, $2) WHERE id = $1",
            row["user_id"],
            now,
        )
    return row["user_id"]


async def authenticate(
    conn: asyncpg.Connection, email: str, password: str, client: str, now: datetime
) -> SessionUser:
    """Check a password. Rate-limited per address and per client (IP), and as
    slow for unknown addresses as for known ones."""
    address = email.strip().lower()[:254]
    await hit_rate_limit(conn, f"login:client:{client}", LOGINS_PER_CLIENT, 300, now)
    await hit_rate_limit(conn, f"login:email:{address}", 5, 300, now)
    row = await conn.fetchrow(
        "SELECT id, email, password_hash, display_name, locale, email_confirmed_at, disabled_at"
        " FROM users WHERE email = $1",
        address,
    )
    # Over-long input is refused, but only after the same work as any other try.
    too_long = len(password) > passwords.MAX_LENGTH
    ok = await passwords.verify_password(row["password_hash"] if row else None, "" if too_long else password)
    ok = ok and not too_long
    if not ok or row is None or row["disabled_at"] is not None:
        raise AccountError("The e-mail address or the password is not right.")
    if passwords.needs_rehash(row["password_hash"]):
        new_hash = await passwords.hash_password(password)
        await conn.execute("UPDATE users SET password_hash = $2 WHERE id = $1", row["id"], new_hash)
    await conn.execute("UPDATE users SET last_login_at = $2 WHERE id = $1", row["id"], now)
    return SessionUser(row["id"], row["email"], row["display_name"], row["locale"], row["email_confirmed_at"] is not None)


# --- sessions ----------------------------------------------------------------------------


async def create_session(conn: asyncpg.Connection, user_id: int, idle_timeout: timedelta, now: datetime) -> str:
    token = secrets.token_urlsafe(32)
    await conn.execute(
        "INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at, idle_timeout_s, absolute_expiry)"
        " VALUES ($1, $2, $3, $3, $4, $5)",
        _digest(token),
        user_id,
        now,
        int(idle_timeout.total_seconds()),
        now + SESSION_ABSOLUTE,
    )
    return token


async def session_user(conn: asyncpg.Connection, token: str, now: datetime) -> SessionUser | None:
    """The user of a live session, sliding its idle expiry; None when expired."""
    if not token or len(token) > 200:
        return None
    # The expiry slides at most once a minute: most page views then only read,
    # and a read-only transaction commits without waiting for a WAL flush.
    row = await conn.fetchrow(
        "WITH live AS ("
        " SELECT s.token_hash, s.last_seen_at, u.id, u.email, u.display_name, u.locale, u.email_confirmed_at"
        " FROM sessions s JOIN users u ON u.id = s.user_id"
        " WHERE s.token_hash = $1 AND u.disabled_at IS NULL"
        " AND s.last_seen_at + make_interval(secs => s.idle_timeout_s) > $2 AND s.absolute_expiry > $2"
        "), touched AS ("
        " UPDATE sessions SET last_seen_at = $2 FROM live WHERE sessions.token_hash = live.token_hash"
        " AND live.last_seen_at < $2 - make_interval(secs => 60)"
        ") SELECT id, email, display_name, locale, email_confirmed_at FROM live",
        _digest(token),
        now,
    )
    if row is None:
        return None
    return SessionUser(row["id"], row["email"], row["display_name"], row["locale"], row["email_confirmed_at"] is not None)


async def end_session(conn: asyncpg.Connection, token: str) -> None:
    await conn.execute("DELETE FROM sessions WHERE token_hash = $1", _digest(token))


async def end_sessions_of(conn: asyncpg.Connection, user_id: int) -> None:
    await conn.execute("DELETE FROM sessions WHERE user_id = $1", user_id)


# --- passwords ----------------------------------------------------------------------------


async def request_password_reset(conn: asyncpg.Connection, email: str, client: str, now: datetime) -> tuple[int, str] | None:
    """A reset link for a known, enabled address, or None (callers answer the same)."""
    await hit_rate_limit(conn, f"reset:client:{client}", 10, 3600, now)
    address = normalise_email(email)
    await hit_rate_limit(conn, f"reset:email:{address}", 3, 3600, now)
    user_id = await conn.fetchval("SELECT id FROM users WHERE email = $1 AND disabled_at IS NULL", address)
    if user_id is None:
        return None
    return user_id, await create_email_token(conn, "reset", address, user_id, now, RESET_TTL)


async def reset_password(conn: asyncpg.Connection, token: str, new_password: str, now: datetime) -> int:
    async with conn.transaction():
        row = await use_email_token(conn, "reset", token, now)
        problem = passwords.password_problem(new_password, row["email"])
        if problem:
            raise Invalid(problem, "password")
        await _set_password(conn, row["user_id"], new_password)
        # A reset proves control of the address, and ends every other session.
        await conn.execute(
            "UPDATE users SET email_confirmed_at = coalesce(email_confirmed_at, $2) WHERE id = $1", row["user_id"], now
        )
    return row["user_id"]


async def change_password(conn: asyncpg.Connection, user_id: int, current: str, new: str) -> None:
    row = await conn.fetchrow("SELECT email, password_hash FROM users WHERE id = $1", user_id)
    if row is None or not await passwords.verify_password(row["password_hash"], current):
        raise Invalid("Your current password is not right.", "current_password")
    problem = passwords.password_problem(new, row["email"])
    if problem:
        raise Invalid(problem, "password")
    async with conn.transaction():
        await _set_password(conn, user_id, new)


async def _set_password(conn: asyncpg.Connection, user_id: int, password: str) -> None:
    await conn.execute("UPDATE users SET password_hash = $2 WHERE id = $1", user_id, await passwords.hash_password(password))
    await end_sessions_of(conn, user_id)
