"""The bulk exports: challenges as NDJSON and CSV, events as NDJSON.

Each generator takes a connection inside a (read-only, repeatable-read)
transaction and yields bytes; none holds more than one batch in memory.
Challenges go through the public serializer (registry.public), so an export
line is exactly what GET /api/v1/challenges/{ref} answers; events are built
by PostgreSQL exactly as in registry.store.events.PUBLIC_EVENT_SQL.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timezone

import asyncpg
import msgspec

from registry import ledger, public
from registry.opendata import streams
from registry.store.challenges import JOINS, PUBLIC_COLUMNS
from registry.store.events import PUBLIC_EVENT_SQL, RECORD_EVENT_SQL

_encode = msgspec.json.Encoder().encode


@dataclass(frozen=True)
class Filter:
    municipality: str | None = None
    updated_since: datetime | None = None

    @staticmethod
    def of(municipality: str | None, updated_since: datetime | None) -> "Filter":
        if updated_since is not None:
            if updated_since.tzinfo is None:
                updated_since = updated_since.replace(tzinfo=timezone.utc)
            try:
                updated_since = updated_since.astimezone(timezone.utc)
            except OverflowError:  # e.g. 0001-01-01T00:00:00+14:00: before any event, or after all of them
                updated_since = (datetime.min if updated_since.year == 1 else datetime.max).replace(tzinfo=timezone.utc)
        return Filter(municipality or None, updated_since)


def challenges_query(f: Filter) -> tuple[str, list]:
    """Public challenges (never drafts) in id order, with the public columns only."""
    where, args = ["c.state <> 'draft'"], []
    if f.municipality:
        args.append(f.municipality)
        where.append(f"c.municipality_code = ${len(args)}")
    if f.updated_since:
        args.append(f.updated_since)
        where.append(f"c.updated_at >= ${len(args)}")
    sql = (
        f"SELECT {PUBLIC_COLUMNS} {JOINS} JOIN municipalities m ON m.code = c.municipality_code"
        f" WHERE {' AND '.join(where)} ORDER BY c.id"
    )
    return sql, args


def events_query(f: Filter, record: bool = False) -> tuple[str, list]:
    """Every public event (also those about something other than a challenge),
    in the global id order of the change feed. ``record``: rebuild each
    document from the stored body and hash instead of reading the served copy."""
    where, args = ["true"], []
    if f.municipality:
        args.append(f.municipality)
        where.append(f"municipality_code = ${len(args)}")
    if f.updated_since:
        # occurred_at has one fixed-width format (docs/ledger.md), so text order is time order.
        args.append(ledger.format_time(f.updated_since))
        where.append(f"body->>'occurred_at' >= ${len(args)}")
    column = RECORD_EVENT_SQL if record else PUBLIC_EVENT_SQL
    return f"SELECT ({column})::text FROM events WHERE {' AND '.join(where)} ORDER BY id", args


async def events_ndjson(conn: asyncpg.Connection, f: Filter = Filter(), record: bool = False) -> AsyncIterator[bytes]:
    sql, args = events_query(f, record)
    async for chunk in streams.copy_lines(conn, sql, *args):
        yield chunk


async def challenge_views(conn: asyncpg.Connection, f: Filter, base: str, now: datetime) -> AsyncIterator[list[public.Challenge]]:
    sql, args = challenges_query(f)
    async for batch in streams.rows(conn, sql, *args, batch=500):
        yield [public.challenge(r, base, now) for r in batch]


async def challenges_ndjson(conn: asyncpg.Connection, f: Filter, base: str, now: datetime) -> AsyncIterator[bytes]:
    async for views in challenge_views(conn, f, base, now):
        yield b"".join(_encode(v) + b"\n" for v in views)


CSV_COLUMNS = (
    "ref", "url", "municipality", "municipality_name", "service_id", "service_name", "category",
    "department", "collective_id", "collective_name", "legal_form", "title", "summary", "area",
    "requested_budget_cents", "proposed_start", "duration_months", "support_count", "state", "status",
    "deadline_stage", "waiting_on", "due_at", "overdue", "overdue_days", "decision_outcome",
    "decision_grounds", "decision_reasons", "decision_modification", "decided_at",
    "agreement_budget_cents", "agreement_starts_on", "agreement_ends_on", "submitted_at", "created_at",
    "updated_at", "version",
)  # fmt: skip


def _iso(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return ledger.format_time(value)
    return value.isoformat()


def csv_row(c: public.Challenge) -> list:
    """One challenge as a flat row. The plan (long Markdown) is in the NDJSON export only."""
    d, a, dl = c.decision, c.agreement, c.deadline
    return [
        c.ref, c.url, c.municipality.code, c.municipality.name, c.service.id, c.service.name,
        c.service.category, c.service.department, c.collective.id, c.collective.name,
        c.collective.legal_form, c.title, c.summary, c.area, c.requested_budget_cents,
        _iso(c.proposed_start), c.duration_months, c.support_count, c.state, c.status,
        dl.stage or "", dl.waiting_on or "", _iso(dl.due_at), "true" if dl.overdue else "false",
        dl.overdue_days, d.outcome if d else "", " ".join(d.grounds) if d else "",
        (d.reasons or "") if d else "", (d.modification or "") if d else "", _iso(d.decided_at) if d else "",
        a.budget_cents if a else "", _iso(a.starts_on) if a else "", _iso(a.ends_on) if a else "",
        _iso(c.submitted_at), _iso(c.created_at), _iso(c.updated_at), c.version,
    ]  # fmt: skip


def _csv_bytes(rows: list[list]) -> bytes:
    out = io.StringIO()
    # RFC 4180: CRLF line ends, fields with a comma, quote or line break quoted.
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode("utf-8")


async def challenges_csv(conn: asyncpg.Connection, f: Filter, base: str, now: datetime) -> AsyncIterator[bytes]:
    yield _csv_bytes([list(CSV_COLUMNS)])
    async for views in challenge_views(conn, f, base, now):
        yield _csv_bytes([csv_row(v) for v in views])
