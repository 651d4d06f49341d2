"""SQL of the back office, explicit columns, one query where one will do."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any, AsyncIterator

import asyncpg
import msgspec

from registry.workflow import END_STATES

CLOSED = tuple(sorted(END_STATES | {"draft"}))
# Must match the partial indexes of schema/0006_backoffice.sql.
OPEN_CONDITION = "c.state NOT IN ('draft', 'inadmissible', 'lapsed', 'rejected', 'ended', 'returned', 'withdrawn')"
DUE_KEY = "coalesce(c.due_at, 'infinity'::timestamptz)"

# The reference's criteria (NL practice), seeded for a municipality on first use.
DEFAULT_CRITERIA = (
    ("social_value", "Maatschappelijke meerwaarde / added social value"),
    ("support", "Draagvlak / support"),
    ("cost", "Kosten / cost"),
    ("quality", "Kwaliteit / quality"),
    ("continuity", "Continuïteit / continuity"),
)


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


# --- staff --------------------------------------------------------------------------

STAFF_COLUMNS = (
    "u.id AS user_id, u.email, u.display_name, st.municipality_code, st.role, st.departments,"
    " st.totp_enabled_at IS NOT NULL AS totp_enabled"
)


async def staff_of(conn: asyncpg.Connection, user_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {STAFF_COLUMNS} FROM staff st JOIN users u ON u.id = st.user_id"
        " WHERE st.user_id = $1 AND u.disabled_at IS NULL",
        user_id,
    )


async def staff_session(conn: asyncpg.Connection, token: str, max_idle_s: int) -> asyncpg.Record | None:
    """The civil servant of a live back-office session (short idle timeout only:
    a resident's long session never opens the back office)."""
    return await conn.fetchrow(
        f"SELECT {STAFF_COLUMNS} FROM sessions s JOIN staff st ON st.user_id = s.user_id"
        " JOIN users u ON u.id = s.user_id"
        " WHERE s.token_hash = $1 AND s.idle_timeout_s <= $2 AND u.disabled_at IS NULL",
        digest(token),
        max_idle_s,
    )


async def list_staff(conn: asyncpg.Connection, municipality: str) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"SELECT {STAFF_COLUMNS}, u.disabled_at FROM staff st JOIN users u ON u.id = st.user_id"
        " WHERE st.municipality_code = $1 ORDER BY st.role, u.email",
        municipality,
    )


async def upsert_staff(
    conn: asyncpg.Connection, user_id: int, municipality: str, role: str, departments: list[str]
) -> None:
    await conn.execute(
        "INSERT INTO staff (user_id, municipality_code, role, departments) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (user_id) DO UPDATE SET role = EXCLUDED.role, departments = EXCLUDED.departments"
        " WHERE staff.municipality_code = EXCLUDED.municipality_code",
        user_id,
        municipality,
        role,
        departments,
    )


async def totp_secret(conn: asyncpg.Connection, user_id: int) -> tuple[str | None, bool]:
    row = await conn.fetchrow("SELECT totp_secret, totp_enabled_at FROM staff WHERE user_id = $1", user_id)
    return (row["totp_secret"], row["totp_enabled_at"] is not None) if row else (None, False)


async def set_totp(conn: asyncpg.Connection, user_id: int, secret: str | None, enabled_at: datetime | None) -> None:
    await conn.execute(
        "UPDATE staff SET totp_secret = $2, totp_enabled_at = $3 WHERE user_id = $1", user_id, secret, enabled_at
    )


async def create_login_step(conn: asyncpg.Connection, token: str, user_id: int, expires_at: datetime) -> None:
    await conn.execute(
        "INSERT INTO staff_login_steps (token_hash, user_id, expires_at) VALUES ($1, $2, $3)",
        digest(token),
        user_id,
        expires_at,
    )


async def login_step(conn: asyncpg.Connection, token: str, now: datetime) -> int | None:
    """The user waiting for their second factor; counts the attempt (max 5)."""
    return await conn.fetchval(
        "UPDATE staff_login_steps SET attempts = attempts + 1"
        " WHERE token_hash = $1 AND expires_at > $2 AND attempts < 5 RETURNING user_id",
        digest(token),
        now,
    )


async def end_login_step(conn: asyncpg.Connection, token: str) -> None:
    await conn.execute("DELETE FROM staff_login_steps WHERE token_hash = $1", digest(token))


# --- the case -----------------------------------------------------------------------

CASE_COLUMNS = """
    c.id, c.ref, c.municipality_code, c.state, c.version, c.due_at, c.waiting_on,
    c.workflow::text AS workflow, c.collective_id, c.service_id,
    s.department, a.user_id AS assignee_id
"""


async def case(conn: asyncpg.Connection, ref: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {CASE_COLUMNS} FROM challenges c JOIN services s ON s.id = c.service_id"
        " LEFT JOIN assignments a ON a.challenge_id = c.id WHERE c.ref = $1 AND c.state <> 'draft'",
        ref,
    )


async def cases_by_ref(conn: asyncpg.Connection, refs: list[str]) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"SELECT {CASE_COLUMNS} FROM challenges c JOIN services s ON s.id = c.service_id"
        " LEFT JOIN assignments a ON a.challenge_id = c.id WHERE c.ref = ANY($1) AND c.state <> 'draft'",
        refs,
    )


async def contacts(conn: asyncpg.Connection, collective_id: int) -> tuple[asyncpg.Record | None, list[asyncpg.Record]]:
    contact = await conn.fetchrow(
        "SELECT contact_name, email, phone FROM collective_contacts WHERE collective_id = $1", collective_id
    )
    members = await conn.fetch(
        "SELECT name, email FROM collective_members WHERE collective_id = $1 ORDER BY id", collective_id
    )
    return contact, list(members)


async def notes(conn: asyncpg.Connection, challenge_id: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT n.id, n.body, n.created_at, u.display_name, u.email FROM challenge_notes n"
        " LEFT JOIN users u ON u.id = n.author_user_id WHERE n.challenge_id = $1 ORDER BY n.id",
        challenge_id,
    )


async def add_note(conn: asyncpg.Connection, challenge_id: int, user_id: int, body: str, now: datetime) -> int:
    return await conn.fetchval(
        "INSERT INTO challenge_notes (challenge_id, body, created_at, author_user_id) VALUES ($1, $2, $3, $4)"
        " RETURNING id",
        challenge_id,
        body,
        now,
        user_id,
    )


async def assign(
    conn: asyncpg.Connection, challenge_ids: list[int], user_id: int | None, by: int, now: datetime
) -> None:
    if user_id is None:
        await conn.execute("DELETE FROM assignments WHERE challenge_id = ANY($1)", challenge_ids)
        return
    await conn.execute(
        "INSERT INTO assignments (challenge_id, user_id, assigned_by, assigned_at)"
        " SELECT unnest($1::bigint[]), $2, $3, $4"
        " ON CONFLICT (challenge_id) DO UPDATE SET user_id = EXCLUDED.user_id,"
        " assigned_by = EXCLUDED.assigned_by, assigned_at = EXCLUDED.assigned_at",
        challenge_ids,
        user_id,
        by,
        now,
    )


# --- the queue ----------------------------------------------------------------------


class QueueFilter(msgspec.Struct, frozen=True):
    state: str | None = None
    service: int | None = None
    department: str | None = None
    assignee: int | None = None  # 0: nobody
    overdue: bool = False


QUEUE_COLUMNS = """
    c.id, c.ref, c.title, c.state, c.version, c.due_at, c.waiting_on, c.submitted_at,
    s.id AS service_id, s.name AS service_name, s.department, co.name AS collective_name,
    a.user_id AS assignee_id, u.display_name AS assignee_name, u.email AS assignee_email
"""


def _queue_sql(
    municipality: str,
    departments: tuple[str, ...],
    f: QueueFilter,
    now: datetime,
    after: tuple[datetime | None, int] | None,
    limit: int | None,
) -> tuple[str, list[Any]]:
    args: list[Any] = [municipality]
    where = ["c.municipality_code = $1", OPEN_CONDITION]

    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    if departments:
        where.append(f"s.department = ANY({arg(list(departments))}::text[])")
    if f.state:
        where.append(f"c.state = {arg(f.state)}")
    if f.service:
        where.append(f"c.service_id = {arg(f.service)}")
    if f.department:
        where.append(f"s.department = {arg(f.department)}")
    if f.assignee == 0:
        where.append("a.user_id IS NULL")
    elif f.assignee:
        where.append(f"a.user_id = {arg(f.assignee)}")
    if f.overdue:
        where.append(f"c.due_at <= {arg(now)}")
    if after is not None:
        due, last_id = after
        where.append(f"({DUE_KEY}, c.id) > (coalesce({arg(due)}::timestamptz, 'infinity'::timestamptz), {arg(last_id)})")
    sql = (
        f"SELECT {QUEUE_COLUMNS} FROM challenges c JOIN services s ON s.id = c.service_id"
        " JOIN collectives co ON co.id = c.collective_id"
        " LEFT JOIN assignments a ON a.challenge_id = c.id LEFT JOIN users u ON u.id = a.user_id"
        f" WHERE {' AND '.join(where)} ORDER BY {DUE_KEY}, c.id"
    )
    if limit is not None:
        sql += f" LIMIT {arg(limit)}"
    return sql, args


async def queue(
    conn: asyncpg.Connection,
    municipality: str,
    departments: tuple[str, ...],
    f: QueueFilter,
    now: datetime,
    after: tuple[datetime | None, int] | None,
    limit: int,
) -> list[asyncpg.Record]:
    """Open challenges by due date (the overdue ones come first by nature),
    keyset-paginated on (due date, id)."""
    sql, args = _queue_sql(municipality, departments, f, now, after, limit)
    return await conn.fetch(sql, *args)


async def queue_stream(
    conn: asyncpg.Connection, municipality: str, departments: tuple[str, ...], f: QueueFilter, now: datetime
) -> AsyncIterator[asyncpg.Record]:
    """The whole view, row by row (inside a transaction): for the CSV download."""
    sql, args = _queue_sql(municipality, departments, f, now, None, None)
    async for row in conn.cursor(sql, *args, prefetch=500):
        yield row


async def handlers(conn: asyncpg.Connection, municipality: str) -> list[asyncpg.Record]:
    """Civil servants a challenge can be assigned to."""
    return await conn.fetch(
        "SELECT u.id, u.email, u.display_name, st.role, st.departments FROM staff st JOIN users u ON u.id = st.user_id"
        " WHERE st.municipality_code = $1 AND st.role IN ('reviewer', 'coordinator') AND u.disabled_at IS NULL"
        " ORDER BY u.display_name, u.email",
        municipality,
    )


async def departments(conn: asyncpg.Connection, municipality: str) -> list[str]:
    rows = await conn.fetch(
        "SELECT DISTINCT department FROM services WHERE municipality_code = $1 AND department <> '' ORDER BY 1",
        municipality,
    )
    return [r["department"] for r in rows]


# --- criteria and scores --------------------------------------------------------------


async def criteria(conn: asyncpg.Connection, municipality: str, include_inactive: bool = False) -> list[asyncpg.Record]:
    """The municipality's criteria; the reference's five on first use."""
    sql = (
        "SELECT code, label, weight, position, active FROM assessment_criteria WHERE municipality_code = $1"
        " AND (active OR $2) ORDER BY position, code"
    )
    rows = await conn.fetch(sql, municipality, include_inactive)
    if not rows and not await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM assessment_criteria WHERE municipality_code = $1)", municipality
    ):
        await seed_criteria(conn, municipality)
        rows = await conn.fetch(sql, municipality, include_inactive)
    return list(rows)


async def seed_criteria(conn: asyncpg.Connection, municipality: str) -> None:
    await conn.executemany(
        "INSERT INTO assessment_criteria (municipality_code, code, label, weight, position)"
        " VALUES ($1, $2, $3, 1, $4) ON CONFLICT DO NOTHING",
        [(municipality, code, label, i) for i, (code, label) in enumerate(DEFAULT_CRITERIA)],
    )


async def upsert_criterion(
    conn: asyncpg.Connection, municipality: str, code: str, label: str, weight: int, position: int, active: bool
) -> None:
    await conn.execute(
        "INSERT INTO assessment_criteria (municipality_code, code, label, weight, position, active)"
        " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (municipality_code, code) DO UPDATE SET"
        " label = EXCLUDED.label, weight = EXCLUDED.weight, position = EXCLUDED.position, active = EXCLUDED.active",
        municipality,
        code,
        label,
        weight,
        position,
        active,
    )


async def scores(conn: asyncpg.Connection, challenge_id: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT criterion, score, motivation, updated_at FROM assessment_scores WHERE challenge_id = $1 ORDER BY criterion",
        challenge_id,
    )


async def save_scores(
    conn: asyncpg.Connection, challenge_id: int, items: list[tuple[str, int, str]], user_id: int, now: datetime
) -> None:
    await conn.executemany(
        "INSERT INTO assessment_scores (challenge_id, criterion, score, motivation, user_id, updated_at)"
        " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (challenge_id, criterion) DO UPDATE SET"
        " score = EXCLUDED.score, motivation = EXCLUDED.motivation, user_id = EXCLUDED.user_id,"
        " updated_at = EXCLUDED.updated_at",
        [(challenge_id, c, s, m, user_id, now) for c, s, m in items],
    )


# --- policies, approvals, audit --------------------------------------------------------


async def policy(conn: asyncpg.Connection, municipality: str) -> asyncpg.Record:
    row = await conn.fetchrow(
        "SELECT four_eyes, minimum_support FROM municipality_policies WHERE municipality_code = $1", municipality
    )
    return row or {"four_eyes": False, "minimum_support": 0}  # type: ignore[return-value]


async def set_policy(conn: asyncpg.Connection, municipality: str, four_eyes: bool, minimum_support: int) -> None:
    await conn.execute(
        "INSERT INTO municipality_policies (municipality_code, four_eyes, minimum_support) VALUES ($1, $2, $3)"
        " ON CONFLICT (municipality_code) DO UPDATE SET four_eyes = EXCLUDED.four_eyes,"
        " minimum_support = EXCLUDED.minimum_support",
        municipality,
        four_eyes,
        minimum_support,
    )


APPROVAL_COLUMNS = """
    p.id, p.challenge_id, c.ref, c.title, p.action, p.fields::text AS fields, p.expected_version,
    p.prepared_by, u.display_name AS prepared_by_name, u.email AS prepared_by_email, p.prepared_at,
    s.department, p.municipality_code
"""
APPROVAL_JOINS = """
    FROM pending_approvals p JOIN challenges c ON c.id = p.challenge_id
    JOIN services s ON s.id = c.service_id JOIN users u ON u.id = p.prepared_by
"""


async def pending_for(conn: asyncpg.Connection, challenge_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {APPROVAL_COLUMNS} {APPROVAL_JOINS} WHERE p.challenge_id = $1 AND p.decided_at IS NULL", challenge_id
    )


async def pending_list(conn: asyncpg.Connection, municipality: str) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"SELECT {APPROVAL_COLUMNS} {APPROVAL_JOINS} WHERE p.municipality_code = $1 AND p.decided_at IS NULL"
        " ORDER BY p.id",
        municipality,
    )


async def approval(conn: asyncpg.Connection, approval_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {APPROVAL_COLUMNS} {APPROVAL_JOINS} WHERE p.id = $1 AND p.decided_at IS NULL", approval_id
    )


async def prepare(
    conn: asyncpg.Connection, challenge_id: int, municipality: str, action: str, fields: dict,
    expected_version: int, user_id: int, now: datetime,
) -> int | None:
    """A pending approval, or None when one is pending already."""
    return await conn.fetchval(
        "INSERT INTO pending_approvals (challenge_id, municipality_code, action, fields, expected_version,"
        " prepared_by, prepared_at) VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7)"
        " ON CONFLICT (challenge_id) WHERE decided_at IS NULL DO NOTHING RETURNING id",
        challenge_id,
        municipality,
        action,
        msgspec.json.encode(fields).decode(),
        expected_version,
        user_id,
        now,
    )


async def claim_approval(conn: asyncpg.Connection, approval_id: int, user_id: int, outcome: str, now: datetime) -> bool:
    """Decide a pending approval once: two approvers at the same moment, one wins."""
    return (
        await conn.fetchval(
            "UPDATE pending_approvals SET decided_by = $2, decided_at = $3, outcome = $4"
            " WHERE id = $1 AND decided_at IS NULL RETURNING id",
            approval_id,
            user_id,
            now,
            outcome,
        )
        is not None
    )


async def set_approval_outcome(conn: asyncpg.Connection, approval_id: int, outcome: str) -> None:
    await conn.execute("UPDATE pending_approvals SET outcome = $2 WHERE id = $1", approval_id, outcome)


async def audit(
    conn: asyncpg.Connection, municipality: str, user_id: int | None, operation: str,
    challenge_id: int | None, detail: dict, now: datetime,
) -> None:
    await conn.execute(
        "INSERT INTO audit_log (municipality_code, user_id, operation, challenge_id, detail, occurred_at)"
        " VALUES ($1, $2, $3, $4, $5::jsonb, $6)",
        municipality,
        user_id,
        operation,
        challenge_id,
        msgspec.json.encode(detail).decode(),
        now,
    )


AUDIT_COLUMNS = """
    l.id, l.occurred_at, l.operation, l.detail::text AS detail, c.ref,
    u.email, u.display_name
"""
AUDIT_JOINS = "FROM audit_log l LEFT JOIN challenges c ON c.id = l.challenge_id LEFT JOIN users u ON u.id = l.user_id"


async def audit_page(conn: asyncpg.Connection, municipality: str, before: int | None, limit: int) -> list[asyncpg.Record]:
    """Newest first, keyset on the id."""
    return await conn.fetch(
        f"SELECT {AUDIT_COLUMNS} {AUDIT_JOINS} WHERE l.municipality_code = $1 AND ($2::bigint IS NULL OR l.id < $2)"
        " ORDER BY l.id DESC LIMIT $3",
        municipality,
        before,
        limit,
    )


async def audit_stream(conn: asyncpg.Connection, municipality: str) -> AsyncIterator[asyncpg.Record]:
    async for row in conn.cursor(
        f"SELECT {AUDIT_COLUMNS} {AUDIT_JOINS} WHERE l.municipality_code = $1 ORDER BY l.id", municipality, prefetch=500
    ):
        yield row
