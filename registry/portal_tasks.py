"""The portal's background work, run for the app's lifetime in every worker
process (registry.areas): delivering the mail outbox and the daily digests.
Several processes may run these at once: claims use FOR UPDATE SKIP LOCKED."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timezone

log = logging.getLogger("registry.portal")

POLL_S = 2.0
DIGEST_POLL_S = 600.0
MAX_PAUSE_S = 60.0


async def _forever(app, work, pause: float) -> None:
    failures = 0
    while True:
        try:
            busy = await work(app)
            failures = 0
        except asyncio.CancelledError:
            raise
        except Exception:  # the database or the mail server is away: wait, try again
            failures += 1
            log.exception("portal background work failed (%s in a row)", failures)
            busy = False
        wait = 0 if busy else min(pause * (2 ** min(failures, 5)), MAX_PAUSE_S if failures else pause)
        await asyncio.sleep(wait)


async def _mail_round(app) -> bool:
    from registry.notifications.delivery import BATCH, deliver_pending

    db = app.state.db
    if db is None:
        return False
    report = await deliver_pending(db, app.state.settings, datetime.now(timezone.utc))
    # A full batch that all went out: there may be more right away.
    return report.sent >= BATCH


async def _digest_round(app) -> bool:
    from registry.portal import digest

    db = app.state.db
    if db is None:
        return False
    await digest.send_due(db, app.state.settings, datetime.now(timezone.utc))
    return False


async def mail_worker(app) -> None:
    await _forever(app, _mail_round, POLL_S)


async def digest_worker(app) -> None:
    await _forever(app, _digest_round, DIGEST_POLL_S)


BACKGROUND = [mail_worker, digest_worker]
