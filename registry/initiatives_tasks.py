"""Background work of the initiatives area (wired in by registry.areas):
asking possibly inactive initiatives to confirm they are still active."""

from __future__ import annotations

import asyncio
import logging

from registry.initiatives import stale

log = logging.getLogger("registry.initiatives")

EVERY_S = 3600  # once an hour; the work is idempotent (SKIP LOCKED, dedupe keys)
RETRY_S = 60  # after a failure, e.g. the database being down


async def ask_inactive(app) -> None:
    """Runs for the app's lifetime in every worker; never dies of an outage."""
    await asyncio.sleep(5)
    while True:
        delay = EVERY_S
        try:
            db = app.state.db
            base = app.state.settings.base_url.rstrip("/")
            async with db.connection() as conn:
                while await stale.ask_stale(conn, base, app.state.clock(), limit=100) == 100:
                    pass
        except asyncio.CancelledError:
            raise
        except Exception:  # the database may be down: try again soon
            log.warning("asking inactive initiatives failed; retrying in %ss", RETRY_S, exc_info=True)
            delay = RETRY_S
        await asyncio.sleep(delay)


BACKGROUND = [ask_inactive]
