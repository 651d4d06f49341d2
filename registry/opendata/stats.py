"""Statistics computed from the event log, so they always agree with the
public timelines: a challenge's state is its last event's ``to_state``, a
decision's date is its event's ``occurred_at``, the deadline it was held to is
the ``due_at`` the previous event set.

Each challenge's facts are derived from its events by one SQL function,
``refresh_challenge_facts`` (schema/0010_challenge_facts.sql), and kept up
to date for the challenges with new events; the statistics aggregate those
facts, so a request costs a scan of one narrow row per challenge, not of
every event.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg
import msgspec

# Events reflected per refresh made on a request's path; the background task
# (registry/opendata_tasks.py) catches up in larger steps.
REQUEST_BATCH = 20_000

STATS_SQL = """
WITH sel AS MATERIALIZED (
    SELECT * FROM challenge_facts
    WHERE ($1::text IS NULL OR municipality_code = $1)
      AND ($2::text IS NULL OR category = $2)
      AND ($3::int IS NULL OR extract(year FROM submitted_at AT TIME ZONE 'UTC') = $3)
), overdue AS (
    SELECT waiting_on, extract(epoch FROM $4::timestamptz - due_at) / 86400 AS days
    FROM sel WHERE waiting_on IS NOT NULL AND due_at <= $4::timestamptz
)
SELECT
    (SELECT count(*) FROM sel) AS challenges,
    (SELECT coalesce(jsonb_object_agg(state, n), '{}') FROM (SELECT state, count(*) AS n FROM sel GROUP BY state) x)::text AS states,
    (SELECT count(*) FROM sel WHERE outcome IN ('accept', 'consent')) AS accepted,
    (SELECT count(*) FROM sel WHERE outcome IN ('reject', 'decline')) AS rejected,
    (SELECT count(*) FROM sel WHERE outcome = 'declare_inadmissible') AS inadmissible,
    (SELECT count(*) FROM sel WHERE decided_at IS NOT NULL) AS decided,
    (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM decided_at - submitted_at) / 86400)
       FROM sel WHERE decided_at IS NOT NULL) AS median_days,
    (SELECT percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM decided_at - submitted_at) / 86400)
       FROM sel WHERE decided_at IS NOT NULL) AS p90_days,
    (SELECT count(*) FROM sel WHERE in_time) AS within,
    (SELECT count(*) FROM sel WHERE NOT in_time) AS late,
    (SELECT count(*) FROM overdue) AS overdue,
    (SELECT count(*) FROM overdue WHERE waiting_on = 'municipality') AS overdue_municipality,
    (SELECT count(*) FROM overdue WHERE waiting_on = 'collective') AS overdue_collective,
    (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY days) FROM overdue) AS overdue_median_days,
    (SELECT max(days) FROM overdue) AS overdue_max_days,
    (SELECT count(*) FROM sel WHERE budget_cents IS NOT NULL) AS agreements,
    (SELECT coalesce(sum(budget_cents), 0) FROM sel) AS budget,
    (SELECT coalesce(jsonb_object_agg(ground, n), '{}')
       FROM (SELECT g AS ground, count(*) AS n
               FROM sel, jsonb_array_elements(sel.grounds) per_event, jsonb_array_elements_text(per_event) g
              GROUP BY g) x)::text AS grounds
"""


class Outcomes(msgspec.Struct, frozen=True):
    """Final outcomes; shares are of the challenges with an outcome (null when there are none)."""

    accepted: int
    rejected: int
    inadmissible: int
    accepted_share: float | None
    rejected_share: float | None
    inadmissible_share: float | None


class DaysToDecision(msgspec.Struct, frozen=True):
    """Days from submission to the municipality's first decision (inadmissible,
    accepted, modification proposed or rejected)."""

    decided: int
    median: float | None
    p90: float | None


class DeadlineCompliance(msgspec.Struct, frozen=True):
    """Whether each first decision came before the deadline then running."""

    decisions: int
    within: int
    late: int
    within_share: float | None


class Overdue(msgspec.Struct, frozen=True):
    """Challenges whose running deadline has passed, now."""

    count: int
    waiting_on_municipality: int
    waiting_on_collective: int
    median_days: float | None
    max_days: float | None


class Stats(msgspec.Struct, frozen=True):
    municipality: str | None
    category: str | None
    year: int | None
    computed_at: datetime
    last_event_id: int
    challenges: int
    states: dict[str, int]
    outcomes: Outcomes
    rejection_grounds: dict[str, int]
    days_to_decision: DaysToDecision
    deadline_compliance: DeadlineCompliance
    overdue: Overdue
    agreements: int
    budget_transferred_cents: int


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 1)


async def compute(
    conn: asyncpg.Connection, municipality: str | None, category: str | None, year: int | None, now: datetime, last_event_id: int
) -> Stats:
    r = await conn.fetchrow(STATS_SQL, municipality, category, year, now)
    finals = r["accepted"] + r["rejected"] + r["inadmissible"]
    decisions = r["within"] + r["late"]
    grounds = msgspec.json.decode(r["grounds"])
    return Stats(
        municipality=municipality,
        category=category,
        year=year,
        computed_at=now,
        last_event_id=last_event_id,
        challenges=r["challenges"],
        states=dict(sorted(msgspec.json.decode(r["states"]).items())),
        outcomes=Outcomes(
            r["accepted"], r["rejected"], r["inadmissible"],
            _share(r["accepted"], finals), _share(r["rejected"], finals), _share(r["inadmissible"], finals),
        ),  # fmt: skip
        rejection_grounds=dict(sorted(grounds.items(), key=lambda kv: (-kv[1], kv[0]))),
        days_to_decision=DaysToDecision(r["decided"], _round(r["median_days"]), _round(r["p90_days"])),
        deadline_compliance=DeadlineCompliance(decisions, r["within"], r["late"], _share(r["within"], decisions)),
        overdue=Overdue(
            r["overdue"], r["overdue_municipality"], r["overdue_collective"],
            _round(r["overdue_median_days"]), _round(r["overdue_max_days"]),
        ),  # fmt: skip
        agreements=r["agreements"],
        budget_transferred_cents=int(r["budget"]),
    )


_CACHE_SIZE = 256


async def refresh(conn: asyncpg.Connection, batch: int | None = REQUEST_BATCH) -> int:
    """Reflect up to ``batch`` more events (None: all) in the facts; returns the
    event id they are now up to date with."""
    upto = await conn.fetchval("SELECT refresh_challenge_facts($1::bigint)", batch)
    if upto is None:  # another session is refreshing; use what is committed
        upto = await conn.fetchval("SELECT last_event_id FROM challenge_facts_watermark")
    return upto


async def cached(app_state, conn: asyncpg.Connection, municipality: str | None, category: str | None, year: int | None, now: datetime) -> Stats:
    """Keep each answer until the facts move on (or the next minute, since
    "overdue now" moves with the clock)."""
    last = await refresh(conn)
    cache = app_state.get("opendata_stats_cache")
    if cache is None:
        cache = app_state.opendata_stats_cache = {}
    key = (municipality, category, year, last, now.replace(second=0, microsecond=0))
    hit = cache.get(key)
    if hit is None:
        if len(cache) >= _CACHE_SIZE:
            cache.clear()
        hit = cache[key] = await compute(conn, municipality, category, year, now, last)
    return hit
