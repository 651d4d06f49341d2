"""Care by the municipality: verifying, hiding, unhiding, featuring an
initiative. Each is one transaction that changes the profile AND appends a
public event to the municipality's hash chain, so that hiding is never silent.
Reports by anyone are private rows until a civil servant acts on them.

Who: a reviewer or admin of the initiative's own municipality (an API token,
or a back-office staff member mapped onto the same roles by the caller).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from registry.web.i18n import N_
from registry.errors import Forbidden, Invalid, NotFound, RegistryError
from registry.store import events
from registry.workflow import Event

CARE_ROLES = ("reviewer", "admin")
MAX_REASON = 2000


class CareConflict(RegistryError):
    status = 409
    type = "illegal-transition"
    title = "Not possible in the initiative's current state"


@dataclass(frozen=True)
class Carer:
    """Who acts: a role in one municipality; ``token_id`` / ``label`` go to the
    private event_actors row, never into the public event."""

    role: str
    municipality: str
    token_id: int | None = None
    label: str = ""


ACTIONS = ("verify", "hide", "unhide", "feature", "unfeature")


def _reason(value: str | None, required: bool) -> str | None:
    text = (value or "").replace("\x00", "").strip()
    if len(text) > MAX_REASON:
        raise Invalid(N_("Use at most 2,000 characters."), "reasons")
    if required and not text:
        raise Invalid(N_("Give the public reason."), "reasons")
    return text or None


async def act(
    conn: asyncpg.Connection, carer: Carer, collective_id: int, action: str, reasons: str | None, now: datetime
) -> None:
    """Take one care action; raises NotFound, Forbidden, Invalid or CareConflict."""
    if action not in ACTIONS:
        raise NotFound(f"There is no action {action!r} on initiatives.")
    if carer.role not in CARE_ROLES:
        raise Forbidden(N_("Only a reviewer or an admin of the municipality may do this."))
    reason = _reason(reasons, required=action in ("hide", "unhide", "feature"))
    async with conn.transaction():
        row = await conn.fetchrow(
            "SELECT collective_id, name, municipality_code, verified_at, hidden_at, featured_at"
            " FROM initiatives WHERE collective_id = $1 FOR UPDATE",
            collective_id,
        )
        if row is None:
            raise NotFound(f"There is no initiative {collective_id}.")
        if row["municipality_code"] != carer.municipality:
            raise Forbidden(N_("This initiative belongs to another municipality."))
        hidden, featured = row["hidden_at"] is not None, row["featured_at"] is not None
        if action == "verify":
            if row["verified_at"] is not None:
                raise CareConflict(N_("This initiative is verified already."))
            states = ("unverified", "verified")
            sql = "UPDATE initiatives SET verified_at = $2, verified_note = $3 WHERE collective_id = $1"
        elif action == "hide":
            if hidden:
                raise CareConflict(N_("This initiative is hidden already."))
            states = ("visible", "hidden")
            sql = ("UPDATE initiatives SET hidden_at = $2, hidden_reason = $3, featured_at = NULL,"
                   " featured_reason = NULL WHERE collective_id = $1")
        elif action == "unhide":
            if not hidden:
                raise CareConflict(N_("This initiative is not hidden."))
            states = ("hidden", "visible")
            sql = "UPDATE initiatives SET hidden_at = NULL, hidden_reason = NULL WHERE collective_id = $1"
        elif action == "feature":
            if hidden:
                raise CareConflict(N_("A hidden initiative cannot be featured."))
            states = ("featured" if featured else "not_featured", "featured")
            sql = "UPDATE initiatives SET featured_at = $2, featured_reason = $3 WHERE collective_id = $1"
        else:  # unfeature
            if not featured:
                raise CareConflict(N_("This initiative is not featured."))
            states = ("featured", "not_featured")
            sql = "UPDATE initiatives SET featured_at = NULL, featured_reason = NULL WHERE collective_id = $1"
        params = (collective_id, now, reason) if "$3" in sql else (collective_id,)
        await conn.execute(sql, *params)
        if action == "hide":
            await conn.execute(
                "UPDATE initiative_reports SET handled_at = $2, outcome = 'hidden'"
                " WHERE collective_id = $1 AND handled_at IS NULL",
                collective_id,
                now,
            )
        data = {"initiative": collective_id, "name": row["name"]}
        if reason is not None:
            data["reasons"] = reason
        await events.append(
            conn,
            municipality=row["municipality_code"],
            challenge_id=None,
            challenge_ref=None,
            event=Event(
                action=f"{action}_initiative",
                from_state=states[0],
                to_state=states[1],
                actor_role=carer.role,
                occurred_at=now,
                data=data,
                due_at=None,
                waiting_on=None,
            ),
            token_id=carer.token_id,
            subject=f"initiative:{collective_id}",
            actor_label=carer.label,
        )


async def initiative_events(conn: asyncpg.Connection, collective_id: int) -> list[str]:
    """The public care events of one initiative, as JSON documents."""
    rows = await conn.fetch(
        f"SELECT ({events.PUBLIC_EVENT_SQL})::text AS doc FROM events WHERE subject = $1 ORDER BY id",
        f"initiative:{collective_id}",
    )
    return [r["doc"] for r in rows]


# --- reports ------------------------------------------------------------------------


async def report(
    conn: asyncpg.Connection, collective_id: int, reason: str, reporter_user_id: int | None, now: datetime
) -> int:
    text = (reason or "").replace("\x00", "").strip()
    if not text:
        raise Invalid(N_("Say what is wrong with this initiative."), "reason")
    if len(text) > MAX_REASON:
        raise Invalid(N_("Use at most 2,000 characters."), "reason")
    report_id = await conn.fetchval(
        "INSERT INTO initiative_reports (collective_id, reason, reporter_user_id, created_at)"
        " SELECT collective_id, $2, $3, $4 FROM initiatives WHERE collective_id = $1 RETURNING id",
        collective_id,
        text,
        reporter_user_id,
        now,
    )
    if report_id is None:
        raise NotFound(f"There is no initiative {collective_id}.")
    return report_id


async def open_reports(conn: asyncpg.Connection, municipality: str, limit: int = 200) -> list[asyncpg.Record]:
    """Private: a municipality's reports nobody has acted on yet (for civil servants)."""
    return await conn.fetch(
        "SELECT r.id, r.collective_id, i.name, r.reason, r.created_at FROM initiative_reports r"
        " JOIN initiatives i ON i.collective_id = r.collective_id"
        " WHERE i.municipality_code = $1 AND r.handled_at IS NULL ORDER BY r.id LIMIT $2",
        municipality,
        limit,
    )


async def dismiss_report(conn: asyncpg.Connection, carer: Carer, report_id: int, now: datetime) -> None:
    if carer.role not in CARE_ROLES:
        raise Forbidden(N_("Only a reviewer or an admin of the municipality may do this."))
    done = await conn.fetchval(
        "UPDATE initiative_reports r SET handled_at = $3, outcome = 'dismissed' FROM initiatives i"
        " WHERE r.id = $1 AND i.collective_id = r.collective_id AND i.municipality_code = $2"
        " AND r.handled_at IS NULL RETURNING r.id",
        report_id,
        carer.municipality,
        now,
    )
    if done is None:
        raise NotFound(f"There is no open report {report_id} in your municipality.")
