"""Mail on every step of a challenge: to the collective's members and to
supporters who asked for it, each in their own language, written to the
outbox in the transaction that records the step (registry.challenges._take).
People who chose a daily digest get a digest item instead."""

from __future__ import annotations

from functools import lru_cache

import asyncpg

from registry.notifications import outbox
from registry.workflow import Event

# Members and opted-in supporters, through two index lookups (never a scan of users).
RECIPIENTS_SQL = """
WITH who AS (
    SELECT user_id, true AS member FROM portal_memberships WHERE collective_id = $2
    UNION ALL
    SELECT user_id, false FROM supports WHERE challenge_id = $1 AND notify
)
SELECT u.id, u.email, u.locale, coalesce(p.frequency, 'each') AS frequency, bool_or(who.member) AS member
FROM who
JOIN users u ON u.id = who.user_id
LEFT JOIN notification_preferences p ON p.user_id = u.id
WHERE u.disabled_at IS NULL AND u.email_confirmed_at IS NOT NULL
GROUP BY u.id, u.email, u.locale, p.frequency
"""


@lru_cache(maxsize=1)
def base_url() -> str:
    from registry.settings import Settings

    return Settings().base_url.rstrip("/")


async def after_step(conn: asyncpg.Connection, row, event: Event, event_id: int) -> None:
    recipients = await conn.fetch(RECIPIENTS_SQL, row["id"], row["collective_id"])
    if not recipients:
        return
    from registry.portal import mails

    daily = [r["id"] for r in recipients if r["frequency"] == "daily"]
    if daily:
        await conn.executemany(
            "INSERT INTO digest_items (user_id, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            [(uid, event_id) for uid in daily],
        )
    for r in recipients:
        if r["frequency"] == "daily":
            continue
        subject, text = mails.step(r["locale"], row, event, member=r["member"], base=base_url())
        await outbox.enqueue(
            conn, to=r["email"], subject=subject, text=text, locale=r["locale"],
            dedupe_key=f"step:{event_id}:{r['id']}",
        )
