"""API bearer tokens: 256 random bits, stored as SHA-256."""

from __future__ import annotations

import hashlib
import secrets

import asyncpg
import msgspec

PREFIX = "rtc_"


class Actor(msgspec.Struct, frozen=True):
    """Who is acting: a token's role, scoped to one municipality (and collective)."""

    token_id: int
    role: str
    municipality: str
    collective_id: int | None = None


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


async def create_token(
    conn: asyncpg.Connection,
    role: str,
    municipality: str,
    collective_id: int | None = None,
    label: str = "",
) -> str:
    token = PREFIX + secrets.token_urlsafe(32)
    await conn.execute(
        "INSERT INTO api_tokens (token_hash, role, municipality_code, collective_id, label)"
        " VALUES ($1, $2, $3, $4, $5)",
        _digest(token),
        role,
        municipality,
        collective_id,
        label,
    )
    return token


async def actor_for(conn: asyncpg.Connection, token: str) -> Actor | None:
    if not token.startswith(PREFIX) or len(token) > 200:
        return None
    row = await conn.fetchrow(
        "SELECT id, role, municipality_code, collective_id FROM api_tokens"
        " WHERE token_hash = $1 AND revoked_at IS NULL",
        _digest(token),
    )
    if row is None:
        return None
    return Actor(row["id"], row["role"], row["municipality_code"], row["collective_id"])
