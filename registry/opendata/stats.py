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

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import asyncpg
import msgspec

from registry.store import catalog
from registry.workflow.procedure import STATES

# Events reflected per refresh made on a request's path; the background task
# (registry/opendata_tasks.py) catches up in larger steps.
REQUEST_BATCH = 20_000

# The figures in one pass over the facts: every count is a FILTERed aggregate,
# so one scan answers one municipality, or (grouped) every municipality and
# the total at once for the comparison page.
_STATE_COUNTS = ",\n    ".join(
    f"count(*) FILTER (WHERE state = '{state}') AS \"state:{state}\"" for state in sorted(STATES)
)
_OVERDUE = "waiting_on IS NOT NULL AND due_at <= $4::timestamptz"
_FILTERS = """
    WHERE ($1::text IS NULL OR municipality_code = $1)
      AND ($2::text IS NULL OR category = $2)
      AND ($3::int IS NULL OR extract(year FROM submitted_at AT TIME ZONE 'UTC') = $3)"""


def _figures_sql(grouped: bool) -> str:
    return f"""
SELECT {"CASE WHEN grouping(municipality_code) = 0 THEN municipality_code END" if grouped else "$1::text"} AS municipality,
    count(*) AS challenges,
    {_STATE_COUNTS},
    count(*) FILTER (WHERE outcome IN ('accept', 'consent')) AS accepted,
    count(*) FILTER (WHERE outcome IN ('reject', 'decline')) AS rejected,
    count(*) FILTER (WHERE outcome = 'declare_inadmissible') AS inadmissible,
    count(decided_at) AS decided,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM decided_at - submitted_at) / 86400)
        FILTER (WHERE decided_at IS NOT NULL) AS median_days,
    percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM decided_at - submitted_at) / 86400)
        FILTER (WHERE decided_at IS NOT NULL) AS p90_days,
    count(*) FILTER (WHERE in_time) AS within,
    count(*) FILTER (WHERE NOT in_time) AS late,
    count(*) FILTER (WHERE {_OVERDUE}) AS overdue,
    count(*) FILTER (WHERE {_OVERDUE} AND waiting_on = 'municipality') AS overdue_municipality,
    count(*) FILTER (WHERE {_OVERDUE} AND waiting_on = 'collective') AS overdue_collective,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM $4::timestamptz - due_at) / 86400)
        FILTER (WHERE {_OVERDUE}) AS overdue_median_days,
    max(extract(epoch FROM $4::timestamptz - due_at) / 86400) FILTER (WHERE {_OVERDUE}) AS overdue_max_days,
    count(budget_cents) AS agreements,
    coalesce(sum(budget_cents), 0) AS budget
FROM challenge_facts{_FILTERS}
{"GROUP BY GROUPING SETS ((municipality_code), ())" if grouped else ""}"""


def _grounds_sql(grouped: bool) -> str:
    return f"""
SELECT {"CASE WHEN grouping(municipality_code) = 0 THEN municipality_code END" if grouped else "$1::text"} AS municipality,
       g AS ground, count(*) AS n
FROM challenge_facts, jsonb_array_elements(grounds) per_event, jsonb_array_elements_text(per_event) g{_FILTERS}
  AND grounds <> '[]'
GROUP BY {"GROUPING SETS ((municipality_code, g), (g))" if grouped else "g"}"""


FIGURES_SQL, FIGURES_BY_MUNICIPALITY_SQL = _figures_sql(False), _figures_sql(True)
GROUNDS_SQL, GROUNDS_BY_MUNICIPALITY_SQL = _grounds_sql(False), _grounds_sql(True)


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


def _stats(r: Any, grounds: dict[str, int], municipality: str | None, category: str | None, year: int | None,
           now: datetime, last_event_id: int) -> Stats:
    finals = r["accepted"] + r["rejected"] + r["inadmissible"]
    decisions = r["within"] + r["late"]
    states = {state: r[f"state:{state}"] for state in sorted(STATES) if r[f"state:{state}"]}
    return Stats(
        municipality=municipality,
        category=category,
        year=year,
        computed_at=now,
        last_event_id=last_event_id,
        challenges=r["challenges"],
        states=states,
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


async def compute(
    conn: asyncpg.Connection, municipality: str | None, category: str | None, year: int | None, now: datetime, last_event_id: int
) -> Stats:
    args = (municipality, category, year, now)
    r = await conn.fetchrow(FIGURES_SQL, *args)
    grounds = {g["ground"]: g["n"] for g in await conn.fetch(GROUNDS_SQL, *args[:3])}
    return _stats(r, grounds, municipality, category, year, now, last_event_id)


async def compute_by_municipality(
    conn: asyncpg.Connection, codes: list[str], category: str | None, year: int | None, now: datetime, last_event_id: int
) -> tuple[dict[str, Stats], Stats]:
    """Every municipality's figures and the total, in two scans of the facts."""
    args = (None, category, year, now)
    rows = {r["municipality"]: r for r in await conn.fetch(FIGURES_BY_MUNICIPALITY_SQL, *args)}
    grounds: dict[str | None, dict[str, int]] = {}
    for g in await conn.fetch(GROUNDS_BY_MUNICIPALITY_SQL, *args[:3]):
        grounds.setdefault(g["municipality"], {})[g["ground"]] = g["n"]

    def one(code: str | None) -> Stats:
        # A municipality without any challenge that has events has no row: zeros.
        return _stats(rows.get(code, _EMPTY), grounds.get(code, {}), code, category, year, now, last_event_id)

    return {code: one(code) for code in codes}, one(None)


_EMPTY: dict[str, Any] = {
    "challenges": 0, "accepted": 0, "rejected": 0, "inadmissible": 0, "decided": 0, "median_days": None,
    "p90_days": None, "within": 0, "late": 0, "overdue": 0, "overdue_municipality": 0, "overdue_collective": 0,
    "overdue_median_days": None, "overdue_max_days": None, "agreements": 0, "budget": 0,
    **{f"state:{state}": 0 for state in STATES},
}  # fmt: skip


_CACHE_SIZE = 256


async def refresh(conn: asyncpg.Connection, batch: int | None = REQUEST_BATCH) -> int:
    """Reflect up to ``batch`` more events (None: all) in the facts; returns the
    event id they are now up to date with."""
    upto = await conn.fetchval("SELECT refresh_challenge_facts($1::bigint)", batch)
    if upto is None:  # another session is refreshing; use what is committed
        upto = await conn.fetchval("SELECT last_event_id FROM challenge_facts_watermark")
    return upto


async def _cached(app_state, key: tuple, now: datetime, make: Callable[[], Awaitable[Any]]) -> Any:
    """``make()``'s answer under ``key`` (which names the facts' watermark),
    kept until the facts move on or the minute turns ("overdue now" moves with
    the clock)."""
    cache = app_state.get("opendata_stats_cache")
    if cache is None:
        cache = app_state.opendata_stats_cache = {}
    key = (*key, now.replace(second=0, microsecond=0))
    hit = cache.get(key)
    if hit is None:
        if len(cache) >= _CACHE_SIZE:
            cache.clear()
        hit = cache[key] = await make()
    return hit


async def cached(app_state, conn: asyncpg.Connection, municipality: str | None, category: str | None, year: int | None, now: datetime) -> Stats:
    last = await refresh(conn)
    return await _cached(app_state, (municipality, category, year, last), now,
                         lambda: compute(conn, municipality, category, year, now, last))


async def cached_by_municipality(app_state, conn: asyncpg.Connection, now: datetime) -> tuple[dict[str, Stats], Stats]:
    """The comparison: every municipality and the total, cached like ``cached``."""
    last = await refresh(conn)
    codes = [m["code"] for m in await catalog.municipality_names(conn)]
    return await _cached(app_state, ("by municipality", tuple(codes), last), now,
                         lambda: compute_by_municipality(conn, codes, None, None, now, last))
