"""The transactional outbox: a mail is a row written in the same transaction as
the change it reports, so that it is sent if and only if the change commits."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from registry.accounts.service import normalise_email

LOCALES = ("nl", "en")


async def enqueue(
    conn: asyncpg.Connection,
    *,
    to: str,
    subject: str,
    text: str,
    html: str | None = None,
    locale: str = "nl",
    dedupe_key: str | None = None,
) -> int | None:
    """Queue one mail inside the caller's transaction; returns its id, or None
    when a mail with the same ``dedupe_key`` was queued before (nothing is
    inserted then). Delivery happens later, with retries (registry.notifications.delivery)."""
    address = normalise_email(to)
    # Header injection: a subject is one line.
    subject = " ".join(subject.split())[:900]
    return await conn.fetchval(
        "INSERT INTO outbox (to_address, subject, body_text, body_html, locale, dedupe_key)"
        " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
        address,
        subject,
        text,
        html,
        locale if locale in LOCALES else "nl",
        dedupe_key,
    )



async def pending_count(conn: asyncpg.Connection) -> int:
    return await conn.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL")


async def claim(conn: asyncpg.Connection, now: datetime, limit: int, lease_s: int) -> list[asyncpg.Record]:
    """Take up to ``limit`` due mails for this worker: each claimed row's next
    attempt moves ``lease_s`` ahead, so no other worker takes it meanwhile, and
    SKIP LOCKED lets concurrent claimers pass each other without waiting."""
    return await conn.fetch(
        """
        UPDATE outbox o SET attempts = o.attempts + 1, next_attempt_at = $1 + make_interval(secs => $3)
        FROM (
            SELECT id FROM outbox
            WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $1
            ORDER BY next_attempt_at, id
            LIMIT $2
            FOR UPDATE SKIP LOCKED
        ) due
        WHERE o.id = due.id
        RETURNING o.id, o.to_address, o.subject, o.body_text, o.body_html, o.locale, o.attempts, o.created_at
        """,
        now,
        limit,
        lease_s,
    )


async def mark_sent(conn: asyncpg.Connection, mail_id: int, now: datetime) -> None:
    await conn.execute("UPDATE outbox SET sent_at = $2, last_error = NULL WHERE id = $1", mail_id, now)


async def mark_failed_attempt(
    conn: asyncpg.Connection, mail_id: int, error: str, next_attempt_at: datetime | None, now: datetime
) -> None:
    """Record a failed attempt: try again at ``next_attempt_at``, or give up (None)."""
    await conn.execute(
        "UPDATE outbox SET last_error = $2, next_attempt_at = coalesce($3, next_attempt_at),"
        " failed_at = CASE WHEN $3::timestamptz IS NULL THEN $4::timestamptz END WHERE id = $1",
        mail_id,
        error[:2000],
        next_attempt_at,
        now,
    )
