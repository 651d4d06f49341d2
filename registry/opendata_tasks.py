"""The hourly signed checkpoint and the statistics' facts, run in every worker process.

Safe with several workers: ``checkpoints.make`` takes a transaction-level
advisory lock with try-lock semantics and re-checks, under it, that the latest
checkpoint is older than the interval, so exactly one worker makes each one.
A database outage is logged and retried on the next tick.
"""

from __future__ import annotations

import asyncio
import logging
import random

from litestar import Litestar

from registry.opendata import checkpoints, stats

log = logging.getLogger("registry.checkpoints")

INTERVAL_S = 3600
TICK_S = 60


async def hourly_checkpoint(app: Litestar, interval_s: float = INTERVAL_S, tick_s: float = TICK_S) -> None:
    await asyncio.sleep(random.uniform(0, min(tick_s, 5)))  # spread the workers' first attempts
    while True:
        try:
            key = checkpoints.current_key(app.state)
            async with app.state.db.connection() as conn:
                made = await checkpoints.make(conn, key, app.state.clock(), if_older_than_s=interval_s)
            if made:
                log.info("made ledger checkpoint %s", made)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - an outage must not end the task
            log.warning("could not make a ledger checkpoint; retrying in %ss", tick_s, exc_info=True)
        await asyncio.sleep(tick_s)


FACTS_TICK_S = 5
FACTS_BATCH = 200_000


async def statistics_facts(app: Litestar, tick_s: float = FACTS_TICK_S) -> None:
    """Keep the statistics' facts close behind the event log, so that a
    request rarely has more than a few events to reflect, and this worker's
    answers for the whole registry and the comparison page ready (they take
    1.5-2 s at ten million events; they are recomputed when the facts move or
    the minute turns). Safe with several workers: a refresh skips when another
    one is running."""
    await asyncio.sleep(random.uniform(0, min(tick_s, 2)))
    while True:
        try:
            async with app.state.db.connection() as conn:
                before = await conn.fetchval("SELECT last_event_id FROM challenge_facts_watermark")
                while (upto := await stats.refresh(conn, FACTS_BATCH)) != before:
                    before = upto
                now = app.state.clock()
                await stats.cached(app.state, conn, None, None, None, now)
                await stats.cached_by_municipality(app.state, conn, now)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - an outage must not end the task
            log.warning("could not refresh the statistics' facts; retrying in %ss", tick_s, exc_info=True)
        await asyncio.sleep(tick_s)


BACKGROUND = [hourly_checkpoint, statistics_facts]
