"""The daily digest: one mail a day with the steps of every challenge a person
follows, for those who chose it instead of a mail per step."""

from __future__ import annotations

from datetime import datetime, timedelta


from registry.db import Db
from registry.notifications import outbox
from registry.notifications.steps import base_url
from registry.settings import Settings

DAY = timedelta(days=1)


async def send_due(db: Db, settings: Settings, now: datetime) -> int:
    """Queue a digest for everyone with pending items whose last digest is a
    day old. Safe in several processes: users are claimed with SKIP LOCKED and
    the mail's dedupe key names the user and the day."""
    from registry.portal import mails

    queued = 0
    while True:
        async with db.transaction() as conn:
            user = await conn.fetchrow(
                "SELECT p.user_id, u.email, u.locale FROM notification_preferences p JOIN users u ON u.id = p.user_id"
                " WHERE p.frequency = 'daily' AND (p.last_digest_at IS NULL OR p.last_digest_at <= $1)"
                " AND EXISTS (SELECT 1 FROM digest_items d WHERE d.user_id = p.user_id AND d.digested_at IS NULL)"
                " ORDER BY p.user_id LIMIT 1 FOR UPDATE OF p SKIP LOCKED",
                now - DAY,
            )
            if user is None:
                return queued
            items = await conn.fetch(
                "UPDATE digest_items d SET digested_at = $2 FROM events e, challenges c"
                " WHERE d.user_id = $1 AND d.digested_at IS NULL AND e.id = d.event_id AND c.id = e.challenge_id"
                " RETURNING d.event_id, c.ref, c.title, e.body->>'action' AS action, e.body->>'occurred_at' AS occurred_at",
                user["user_id"],
                now,
            )
            await conn.execute(
                "UPDATE notification_preferences SET last_digest_at = $2 WHERE user_id = $1", user["user_id"], now
            )
            items = sorted(items, key=lambda r: r["event_id"])
            subject, text = mails.digest(user["locale"], [dict(r) for r in items], base_url())
            await outbox.enqueue(
                conn, to=user["email"], subject=subject, text=text, locale=user["locale"],
                dedupe_key=f"digest:{user['user_id']}:{now.date().isoformat()}:{items[-1]['event_id']}",
            )
            queued += 1


