"""Statistics computed from the event log, so they always agree with the
public timelines: a challenge's state is its last event's ``to_state``, a
decision's date is its event's ``occurred_at``, the deadline it was held to is
the ``due_at`` the previous event set.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg
import msgspec

# The municipality's decisions on a challenge (time to decision, deadline compliance).
DECISION_ACTIONS = ("declare_inadmissible", "accept", "propose_modification", "reject")
# The final outcome, when there is one.
ACCEPTED = ("accept", "consent")
REJECTED = ("reject", "decline")
INADMISSIBLE = ("declare_inadmissible",)
GROUND_ACTIONS = ("reject", "declare_inadmissible")


def _list(items: tuple[str, ...]) -> str:
    return ", ".join(f"'{a}'" for a in items)


STATS_SQL = f"""
WITH ev AS (
    SELECT e.challenge_id, e.id,
           e.body->>'action' AS action,
           e.body->>'to_state' AS to_state,
           (e.body->>'occurred_at')::timestamptz AS at,
           (e.body->>'due_at')::timestamptz AS due_at,
           e.body->>'waiting_on' AS waiting_on,
           e.body->'data' AS data,
           lag((e.body->>'due_at')::timestamptz) OVER w AS prev_due
    FROM events e
    JOIN challenges c ON c.id = e.challenge_id
    JOIN services s ON s.id = c.service_id
    WHERE e.challenge_id IS NOT NULL
      AND ($1::text IS NULL OR e.municipality_code = $1)
      AND ($2::text IS NULL OR s.category = $2)
    WINDOW w AS (PARTITION BY e.challenge_id ORDER BY e.id)
), per AS (
    SELECT challenge_id,
           min(at) FILTER (WHERE action = 'submit') AS submitted_at,
           (array_agg(to_state ORDER BY id DESC))[1] AS state,
           (array_agg(due_at ORDER BY id DESC))[1] AS due_at,
           (array_agg(waiting_on ORDER BY id DESC))[1] AS waiting_on,
           min(at) FILTER (WHERE action IN ({_list(DECISION_ACTIONS)})) AS decided_at,
           (array_agg(at <= prev_due ORDER BY id)
               FILTER (WHERE action IN ({_list(DECISION_ACTIONS)}) AND prev_due IS NOT NULL))[1] AS in_time,
           (array_agg(action ORDER BY id DESC)
               FILTER (WHERE action IN ({_list(ACCEPTED + REJECTED + INADMISSIBLE)})))[1] AS outcome,
           sum((data->>'budget_cents')::bigint) FILTER (WHERE action = 'conclude_agreement') AS budget
    FROM ev GROUP BY challenge_id
), sel AS MATERIALIZED (
    SELECT * FROM per
    WHERE $3::int IS NULL OR extract(year FROM submitted_at AT TIME ZONE 'UTC') = $3
), overdue AS (
    SELECT waiting_on, extract(epoch FROM $4::timestamptz - due_at) / 86400 AS days
    FROM sel WHERE waiting_on IS NOT NULL AND due_at <= $4::timestamptz
)
SELECT
    (SELECT count(*) FROM sel) AS challenges,
    (SELECT coalesce(jsonb_object_agg(state, n), '{{}}') FROM (SELECT state, count(*) AS n FROM sel GROUP BY state) x)::text AS states,
    (SELECT count(*) FROM sel WHERE outcome IN ({_list(ACCEPTED)})) AS accepted,
    (SELECT count(*) FROM sel WHERE outcome IN ({_list(REJECTED)})) AS rejected,
    (SELECT count(*) FROM sel WHERE outcome IN ({_list(INADMISSIBLE)})) AS inadmissible,
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
    (SELECT count(*) FROM sel WHERE budget IS NOT NULL) AS agreements,
    (SELECT coalesce(sum(budget), 0) FROM sel) AS budget,
    (SELECT coalesce(jsonb_object_agg(ground, n), '{{}}')
       FROM (SELECT g AS ground, count(*) AS n
               FROM ev JOIN sel USING (challenge_id), jsonb_array_elements_text(ev.data->'grounds') g
              WHERE ev.action IN ({_list(GROUND_ACTIONS)}) GROUP BY g) x)::text AS grounds
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


async def cached(app_state, conn: asyncpg.Connection, municipality: str | None, category: str | None, year: int | None, now: datetime) -> Stats:
    """Stats are a scan of the event log: keep each answer until the next
    event (or the next minute, since "overdue now" moves with the clock)."""
    last = await conn.fetchval("SELECT coalesce(max(id), 0) FROM events")
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
