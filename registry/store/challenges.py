"""Challenges: filing, locking for an action, and the public reads."""

from __future__ import annotations

from datetime import date, datetime

import asyncpg
import msgspec

from registry.workflow import ChallengeState, Transition

# Public columns only: nothing from collective_contacts, collective_members,
# event_actors or challenge_notes is ever selected here.
PUBLIC_COLUMNS = """
    c.id, c.ref, c.municipality_code, m.name AS municipality_name,
    c.service_id, s.name AS service_name, s.category, s.department,
    c.collective_id, co.name AS collective_name, co.legal_form,
    c.title, c.summary, c.plan, c.requested_budget_cents, c.area, c.proposed_start,
    c.duration_months, c.support_count, c.state, c.version, c.workflow::text AS workflow,
    c.due_at, c.waiting_on, c.submitted_at, c.created_at, c.updated_at
"""
SUMMARY_COLUMNS = """
    c.id, c.ref, c.municipality_code, c.title,
    c.service_id, s.name AS service_name, s.category, s.department,
    c.collective_id, co.name AS collective_name, co.legal_form,
    c.requested_budget_cents, c.support_count, c.state, c.version,
    c.due_at, c.waiting_on, c.submitted_at, c.updated_at
"""
JOINS = """
    FROM challenges c
    JOIN services s ON s.id = c.service_id
    JOIN collectives co ON co.id = c.collective_id
"""


async def next_reference(conn: asyncpg.Connection, municipality: str, year: int) -> str:
    number = await conn.fetchval(
        "INSERT INTO reference_counters (municipality_code, year, last) VALUES ($1, $2, 1)"
        " ON CONFLICT (municipality_code, year) DO UPDATE SET last = reference_counters.last + 1"
        " RETURNING last",
        municipality,
        year,
    )
    return f"{municipality}-{year}-{number:04d}"


async def insert_draft(
    conn: asyncpg.Connection,
    *,
    ref: str,
    municipality: str,
    service_id: int,
    collective_id: int,
    title: str,
    summary: str,
    plan: str,
    requested_budget_cents: int,
    area: str,
    proposed_start: date,
    duration_months: int,
    state: ChallengeState,
    now: datetime,
) -> int:
    return await conn.fetchval(
        "INSERT INTO challenges (ref, municipality_code, service_id, collective_id, title, summary,"
        " plan, requested_budget_cents, area, proposed_start, duration_months, state, version,"
        " workflow, created_at, updated_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14::jsonb, $15, $15)"
        " RETURNING id",
        ref,
        municipality,
        service_id,
        collective_id,
        title,
        summary,
        plan,
        requested_budget_cents,
        area,
        proposed_start,
        duration_months,
        state.state,
        state.version,
        msgspec.json.encode(state).decode(),
        now,
    )


async def lock_for_action(conn: asyncpg.Connection, ref: str) -> asyncpg.Record | None:
    """The challenge row, locked until the end of the transaction, with what
    the engine needs: its workflow state and the municipality's settings."""
    return await conn.fetchrow(
        "SELECT c.id, c.ref, c.municipality_code, c.collective_id, c.version, c.state,"
        " c.workflow::text AS workflow, m.settings::text AS settings,"
        " c.service_id, c.title, c.summary, c.plan, c.requested_budget_cents, c.area,"
        " c.proposed_start, c.duration_months"
        " FROM challenges c JOIN municipalities m ON m.code = c.municipality_code"
        " WHERE c.ref = $1 FOR UPDATE OF c",
        ref,
    )


async def apply_transition(
    conn: asyncpg.Connection, challenge_id: int, transition: Transition
) -> None:
    state = transition.state
    await conn.execute(
        "UPDATE challenges SET state = $2, version = $3, workflow = $4::jsonb, due_at = $5,"
        " waiting_on = $6, updated_at = $7, submitted_at = $8 WHERE id = $1",
        challenge_id,
        state.state,
        state.version,
        msgspec.json.encode(state).decode(),
        state.clock.due_at,
        state.clock.waiting_on,
        transition.event.occurred_at,
        state.submitted_at,
    )


async def public_detail(
    conn: asyncpg.Connection, ref: str, include_draft_of: int | None = None
) -> asyncpg.Record | None:
    """One challenge with everything the public may see. Drafts are visible only
    to their own collective (``include_draft_of``)."""
    return await conn.fetchrow(
        f"SELECT {PUBLIC_COLUMNS} {JOINS} JOIN municipalities m ON m.code = c.municipality_code"
        " WHERE c.ref = $1 AND (c.state <> 'draft' OR c.collective_id = $2)",
        ref,
        include_draft_of,
    )


class ListFilter(msgspec.Struct, frozen=True):
    municipality: str | None = None
    state: str | None = None
    category: str | None = None
    service: int | None = None
    collective: int | None = None
    updated_since: datetime | None = None


# Only the conditions in use go into the query, so that PostgreSQL can plan
# each combination with the right index instead of one generic plan.
_CONDITIONS = (
    ("municipality", "c.municipality_code = ${}"),
    ("state", "c.state = ${}"),
    ("category", "s.category = ${}"),
    ("service", "c.service_id = ${}"),
    ("collective", "c.collective_id = ${}"),
    ("updated_since", "c.updated_at >= ${}"),
)


async def public_list(
    conn: asyncpg.Connection, f: ListFilter, before_id: int | None, limit: int
) -> list[asyncpg.Record]:
    """Newest first; keyset pagination on the id (``before_id`` is the cursor)."""
    where = ["c.state <> 'draft'"]
    args: list = []
    for name, condition in _CONDITIONS:
        value = getattr(f, name)
        if value is not None:
            args.append(value)
            where.append(condition.format(len(args)))
    if before_id is not None:
        args.append(before_id)
        where.append(f"c.id < ${len(args)}")
    args.append(limit)
    sql = f"SELECT {SUMMARY_COLUMNS} {JOINS} WHERE {' AND '.join(where)} ORDER BY c.id DESC LIMIT ${len(args)}"
    return await conn.fetch(sql, *args)
