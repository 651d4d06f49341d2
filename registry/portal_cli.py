"""``registry mail …`` and ``registry portal …``: deliver the outbox now, queue
the daily digests, set a municipality's minimum support."""

from __future__ import annotations

import argparse
import asyncio
from datetime import datetime, timezone


def register_cli(subparsers) -> None:
    mail = subparsers.add_parser("mail", help="the mail outbox")
    mail_sub = mail.add_subparsers(dest="mail_command", required=True)
    send = mail_sub.add_parser("send-pending", help="deliver every mail that is due (SMTP, or DATA_DIR/mail/)")
    send.set_defaults(fn=cmd_send_pending)
    digest = mail_sub.add_parser("digest", help="queue the daily digests that are due, then deliver")
    digest.set_defaults(fn=cmd_digest)
    status = mail_sub.add_parser("status", help="how many mails wait, failed or went out")
    status.set_defaults(fn=cmd_status)

    portal = subparsers.add_parser("portal", help="the residents' portal")
    portal_sub = portal.add_subparsers(dest="portal_command", required=True)
    minimum = portal_sub.add_parser("minimum-support", help="support a challenge needs before it may be declared admissible")
    minimum.add_argument("--municipality", required=True)
    minimum.add_argument("count", type=int)
    minimum.set_defaults(fn=cmd_minimum_support)


async def _with_db(fn):
    from registry import db as dbmod
    from registry.settings import Settings

    settings = Settings()
    url = dbmod.resolve_url(settings)
    pool = await dbmod.create_pool(url, settings)
    try:
        return await fn(dbmod.Db(pool, settings.db_timeout), settings)
    finally:
        await pool.close()


def cmd_send_pending(args: argparse.Namespace) -> int:
    from registry.notifications.delivery import deliver_pending

    async def run(db, settings):
        total = failed = 0
        while True:
            report = await deliver_pending(db, settings, datetime.now(timezone.utc))
            total += report.sent
            failed += report.failed + report.gave_up
            if not report.sent:
                return total, failed

    sent, failed = asyncio.run(_with_db(run))
    print(f"sent {sent} mail(s); {failed} failed attempt(s) will be retried or were given up")
    return 0


def cmd_digest(args: argparse.Namespace) -> int:
    from registry.portal import digest

    async def run(db, settings):
        return await digest.send_due(db, settings, datetime.now(timezone.utc))

    print(f"queued {asyncio.run(_with_db(run))} digest(s)")
    return cmd_send_pending(args)


def cmd_status(args: argparse.Namespace) -> int:
    async def run(db, settings):
        async with db.connection() as conn:
            return await conn.fetchrow(
                "SELECT count(*) FILTER (WHERE sent_at IS NULL AND failed_at IS NULL) AS waiting,"
                " count(*) FILTER (WHERE failed_at IS NOT NULL) AS failed, count(*) FILTER (WHERE sent_at IS NOT NULL) AS sent"
                " FROM outbox"
            )

    row = asyncio.run(_with_db(run))
    print(f"waiting {row['waiting']}, sent {row['sent']}, given up {row['failed']}")
    return 0


def cmd_minimum_support(args: argparse.Namespace) -> int:
    from registry.portal import rules

    async def run(db, settings):
        async with db.connection() as conn:
            if await conn.fetchval("SELECT 1 FROM municipalities WHERE code = $1", args.municipality) is None:
                raise SystemExit(f"error: there is no municipality {args.municipality}")
            await rules.set_minimum_support(conn, args.municipality, args.count)

    asyncio.run(_with_db(run))
    print(f"{args.municipality}: a challenge needs {args.count} supporter(s) before it may be declared admissible")
    return 0
