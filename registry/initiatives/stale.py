"""Profiles nobody edited or confirmed for two years are shown as "possibly
inactive" (computed when read: registry.initiatives.popolo.status_of), and
their contact is asked, once per half year at most, to confirm with a
one-time link (stored hashed in initiative_confirmations)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import asyncpg

from registry.web.i18n import N_
from registry.errors import Invalid
from registry.initiatives import INACTIVE_AFTER_DAYS

ASK_AGAIN_AFTER = timedelta(days=180)
LINK_TTL = timedelta(days=90)


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


async def ask_stale(conn: asyncpg.Connection, base: str, now: datetime, limit: int = 100) -> int:
    """Ask up to ``limit`` stale initiatives to confirm; returns how many were asked.
    Safe to run in several workers at once: rows are claimed with SKIP LOCKED,
    and each mail has a dedupe key."""
    from registry.notifications.outbox import enqueue

    asked = 0
    async with conn.transaction():
        rows = await conn.fetch(
            "SELECT i.collective_id, i.name, cc.email FROM initiatives i"
            " JOIN collective_contacts cc ON cc.collective_id = i.collective_id"
            " LEFT JOIN initiative_confirmations ic ON ic.collective_id = i.collective_id"
            " WHERE i.hidden_at IS NULL AND i.last_confirmed_at < $1"
            " AND (ic.asked_at IS NULL OR ic.asked_at < $2)"
            " ORDER BY i.last_confirmed_at LIMIT $3 FOR UPDATE OF i SKIP LOCKED",
            now - timedelta(days=INACTIVE_AFTER_DAYS),
            now - ASK_AGAIN_AFTER,
            limit,
        )
        for row in rows:
            token = secrets.token_urlsafe(32)
            await conn.execute(
                "INSERT INTO initiative_confirmations (collective_id, token_hash, asked_at, expires_at)"
                " VALUES ($1, $2, $3, $4) ON CONFLICT (collective_id) DO UPDATE"
                " SET token_hash = EXCLUDED.token_hash, asked_at = EXCLUDED.asked_at, expires_at = EXCLUDED.expires_at",
                row["collective_id"],
                _digest(token),
                now,
                now + LINK_TTL,
            )
            link = f"{base}/initiatives/{row['collective_id']}/confirm?token={token}"
            await enqueue(
                conn,
                to=row["email"],
                subject=f"Is {row['name']} nog actief? / Is {row['name']} still active?",
                text=(
                    f"{row['name']} staat in het Uitdaagrecht-register, maar het profiel is al twee jaar niet bijgewerkt.\n"
                    f"Daarom staat het nu als 'mogelijk niet meer actief'. Nog actief? Bevestig het hier: {link}\n"
                    "Of log in en werk het profiel bij.\n\n"
                    f"{row['name']} is listed in the registry, but its profile has not been updated for two years,\n"
                    f"so it is shown as 'possibly inactive'. Still active? Confirm here: {link}\n"
                ),
                dedupe_key=f"initiative-confirm:{row['collective_id']}:{now.date().isoformat()}",
            )
            asked += 1
    return asked


async def confirm(conn: asyncpg.Connection, collective_id: int, token: str, now: datetime) -> None:
    """Spend a confirmation link: the initiative counts as active again."""
    if not token or len(token) > 200:
        raise Invalid(N_("This link is not valid."), "token")
    async with conn.transaction():
        done = await conn.fetchval(
            "DELETE FROM initiative_confirmations WHERE collective_id = $1 AND token_hash = $2 AND expires_at > $3"
            " RETURNING collective_id",
            collective_id,
            _digest(token),
            now,
        )
        if done is None:
            raise Invalid(N_("This link is not valid any more: it was used already or it has expired."), "token")
        await conn.execute("UPDATE initiatives SET last_confirmed_at = $2 WHERE collective_id = $1", collective_id, now)


async def confirmation_pending(conn: asyncpg.Connection, collective_id: int, token: str, now: datetime) -> bool:
    return bool(await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM initiative_confirmations WHERE collective_id = $1 AND token_hash = $2"
        " AND expires_at > $3)",
        collective_id, _digest(token or ""), now,
    ))
