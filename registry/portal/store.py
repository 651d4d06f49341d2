"""The portal's SQL: memberships, profiles, drafts, support, attachments and
"my challenges". Private tables; the only public outputs are the support
count (challenges.support_count) and public attachments' name, type, size and
checksum."""

from __future__ import annotations

from datetime import date, datetime

import asyncpg
import msgspec

from registry.errors import StaleVersion

# --- collectives and memberships --------------------------------------------------------


async def add_profile(conn: asyncpg.Connection, collective_id: int, description: str) -> None:
    await conn.execute(
        "INSERT INTO portal_collective_profiles (collective_id, description) VALUES ($1, $2)"
        " ON CONFLICT (collective_id) DO UPDATE SET description = EXCLUDED.description",
        collective_id,
        description,
    )


async def add_member(conn: asyncpg.Connection, collective_id: int, user_id: int, invited_by: int | None, now: datetime) -> bool:
    """True when the user became a member now, False when they were one already."""
    status = await conn.execute(
        "INSERT INTO portal_memberships (collective_id, user_id, invited_by, joined_at) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT DO NOTHING",
        collective_id,
        user_id,
        invited_by,
        now,
    )
    return status.endswith(" 1")


async def remove_member(conn: asyncpg.Connection, collective_id: int, user_id: int) -> bool:
    status = await conn.execute(
        "DELETE FROM portal_memberships WHERE collective_id = $1 AND user_id = $2", collective_id, user_id
    )
    return status.endswith(" 1")


MEMBERSHIP_COLUMNS = """
    co.id, co.name, co.legal_form, co.registration_number, co.neighbourhood, co.municipality_code,
    m.name AS municipality_name, coalesce(p.description, '') AS description
"""
MEMBERSHIP_JOINS = """
    FROM portal_memberships pm
    JOIN collectives co ON co.id = pm.collective_id
    JOIN municipalities m ON m.code = co.municipality_code
    LEFT JOIN portal_collective_profiles p ON p.collective_id = co.id
"""


async def collectives_of(conn: asyncpg.Connection, user_id: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"SELECT {MEMBERSHIP_COLUMNS} {MEMBERSHIP_JOINS} WHERE pm.user_id = $1 ORDER BY co.name, co.id", user_id
    )


async def membership(conn: asyncpg.Connection, user_id: int, collective_id: int) -> asyncpg.Record | None:
    """The collective, if ``user_id`` is one of its members; None otherwise."""
    return await conn.fetchrow(
        f"SELECT {MEMBERSHIP_COLUMNS} {MEMBERSHIP_JOINS} WHERE pm.user_id = $1 AND pm.collective_id = $2",
        user_id,
        collective_id,
    )


async def members(conn: asyncpg.Connection, collective_id: int) -> list[asyncpg.Record]:
    """Private: the members' names and addresses, for the members themselves."""
    return await conn.fetch(
        "SELECT u.id, u.display_name, u.email, pm.joined_at FROM portal_memberships pm"
        " JOIN users u ON u.id = pm.user_id WHERE pm.collective_id = $1 ORDER BY pm.joined_at, u.id",
        collective_id,
    )


async def contact(conn: asyncpg.Connection, collective_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT contact_name, email, phone FROM collective_contacts WHERE collective_id = $1", collective_id
    )


async def public_profile(conn: asyncpg.Connection, collective_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT co.id, co.name, co.legal_form, co.registration_number, co.neighbourhood, co.municipality_code,"
        " m.name AS municipality_name, coalesce(p.description, '') AS description"
        " FROM collectives co JOIN municipalities m ON m.code = co.municipality_code"
        " LEFT JOIN portal_collective_profiles p ON p.collective_id = co.id WHERE co.id = $1",
        collective_id,
    )


# --- filing drafts ------------------------------------------------------------------------


class Draft(msgspec.Struct, frozen=True):
    id: int
    collective_id: int
    service_id: int
    fields: dict[str, str]
    revision: int
    challenge_ref: str | None
    municipality_code: str
    service_name: str
    challengeable: bool


DRAFT_SQL = """
    SELECT d.id, d.collective_id, d.service_id, d.fields::text AS fields, d.revision,
           c.ref AS challenge_ref, s.municipality_code, s.name AS service_name, s.challengeable
    FROM portal_drafts d
    JOIN services s ON s.id = d.service_id
    LEFT JOIN challenges c ON c.id = d.challenge_id
"""


def _draft(row: asyncpg.Record | None) -> Draft | None:
    if row is None:
        return None
    return Draft(
        row["id"], row["collective_id"], row["service_id"], msgspec.json.decode(row["fields"]), row["revision"],
        row["challenge_ref"], row["municipality_code"], row["service_name"], row["challengeable"],
    )  # fmt: skip


async def create_draft(conn: asyncpg.Connection, collective_id: int, service_id: int, user_id: int, now: datetime) -> int:
    return await conn.fetchval(
        "INSERT INTO portal_drafts (collective_id, service_id, created_by, created_at, updated_at)"
        " VALUES ($1, $2, $3, $4, $4) RETURNING id",
        collective_id,
        service_id,
        user_id,
        now,
    )


async def get_draft(conn: asyncpg.Connection, draft_id: int, user_id: int) -> Draft | None:
    """A draft of one of ``user_id``'s collectives."""
    return _draft(
        await conn.fetchrow(
            DRAFT_SQL + " WHERE d.id = $1 AND EXISTS (SELECT 1 FROM portal_memberships pm"
            " WHERE pm.collective_id = d.collective_id AND pm.user_id = $2)",
            draft_id,
            user_id,
        )
    )


async def drafts_of(conn: asyncpg.Connection, user_id: int) -> list[Draft]:
    rows = await conn.fetch(
        DRAFT_SQL + " JOIN portal_memberships pm ON pm.collective_id = d.collective_id AND pm.user_id = $1"
        " WHERE d.submitted_at IS NULL ORDER BY d.id DESC LIMIT 100",
        user_id,
    )
    return [_draft(r) for r in rows]  # type: ignore[misc]


async def save_draft(conn: asyncpg.Connection, draft_id: int, revision: int, fields: dict[str, str], now: datetime) -> int:
    """Merge ``fields`` into the draft if nobody saved it since ``revision``;
    returns the new revision, or raises StaleVersion."""
    new = await conn.fetchval(
        "UPDATE portal_drafts SET fields = fields || $3::jsonb, revision = revision + 1, updated_at = $4"
        " WHERE id = $1 AND revision = $2 AND submitted_at IS NULL RETURNING revision",
        draft_id,
        revision,
        msgspec.json.encode(fields).decode(),
        now,
    )
    if new is None:
        raise StaleVersion(
            "Another member saved this draft in the meantime, or it was submitted. Reload it and try again.",
            "revision",
        )
    return new


async def mark_draft_submitted(conn: asyncpg.Connection, draft_id: int, ref: str, now: datetime) -> None:
    await conn.execute(
        "UPDATE portal_drafts SET submitted_at = $3, challenge_id = (SELECT id FROM challenges WHERE ref = $2)"
        " WHERE id = $1",
        draft_id,
        ref,
        now,
    )
    await conn.execute(
        "UPDATE attachments SET challenge_id = (SELECT id FROM challenges WHERE ref = $2) WHERE draft_id = $1",
        draft_id,
        ref,
    )


async def delete_draft(conn: asyncpg.Connection, draft_id: int) -> None:
    await conn.execute("DELETE FROM portal_drafts WHERE id = $1 AND submitted_at IS NULL", draft_id)


async def update_draft(
    conn: asyncpg.Connection,
    ref: str,
    collective_id: int,
    expected_version: int,
    *,
    title: str,
    summary: str,
    plan: str,
    requested_budget_cents: int,
    area: str,
    proposed_start: date,
    duration_months: int,
    now: datetime,
) -> None:
    """Change the particulars of a challenge that is still a draft (filed
    through the API without submitting), for its own collective only. Drafts
    have no events, so the workflow version stays; ``expected_version`` must
    still match (a submitted challenge is refused)."""
    status = await conn.execute(
        "UPDATE challenges SET title = $4, summary = $5, plan = $6, requested_budget_cents = $7, area = $8,"
        " proposed_start = $9, duration_months = $10, updated_at = $11"
        " WHERE ref = $1 AND collective_id = $2 AND version = $3 AND state = 'draft'",
        ref, collective_id, expected_version, title, summary, plan, requested_budget_cents, area,
        proposed_start, duration_months, now,
    )  # fmt: skip
    if not status.endswith(" 1"):
        raise StaleVersion(f"The challenge {ref} is not a draft at version {expected_version} of your collective.")


# --- my challenges ------------------------------------------------------------------------

LIST_COLUMNS = """
    c.id, c.ref, c.title, c.state, c.version, c.due_at, c.waiting_on, c.support_count, c.updated_at,
    c.collective_id, co.name AS collective_name, c.municipality_code, s.name AS service_name
"""
# The one challenge's page also shows the last step (the questions asked) and the decision.
MY_COLUMNS = LIST_COLUMNS + """,
    c.workflow::text AS workflow,
    (SELECT e.body::text FROM events e WHERE e.challenge_id = c.id ORDER BY e.id DESC LIMIT 1) AS last_event
"""


async def my_challenges(conn: asyncpg.Connection, user_id: int, before_id: int | None, limit: int) -> list[asyncpg.Record]:
    """The challenges of every collective ``user_id`` belongs to, newest first (keyset on the id)."""
    return await conn.fetch(
        f"SELECT {LIST_COLUMNS} FROM portal_memberships pm"
        " JOIN challenges c ON c.collective_id = pm.collective_id"
        " JOIN collectives co ON co.id = c.collective_id JOIN services s ON s.id = c.service_id"
        " WHERE pm.user_id = $1 AND ($2::bigint IS NULL OR c.id < $2) ORDER BY c.id DESC LIMIT $3",
        user_id,
        before_id,
        limit,
    )


async def my_challenge(conn: asyncpg.Connection, user_id: int, ref: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {MY_COLUMNS} FROM challenges c"
        " JOIN portal_memberships pm ON pm.collective_id = c.collective_id AND pm.user_id = $1"
        " JOIN collectives co ON co.id = c.collective_id JOIN services s ON s.id = c.service_id"
        " WHERE c.ref = $2",
        user_id,
        ref,
    )


# --- support -----------------------------------------------------------------------------

SUPPORTABLE = ("submitted", "under_assessment", "information_requested", "accepted", "modification_proposed")


async def support(conn: asyncpg.Connection, challenge_id: int, user_id: int, notify: bool, now: datetime) -> bool:
    """Add one resident's support (once); the public count moves in the same
    transaction. False when they supported it already."""
    added = await conn.fetchval(
        "WITH s AS (INSERT INTO supports (challenge_id, user_id, notify, created_at) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT DO NOTHING RETURNING 1)"
        " UPDATE challenges SET support_count = support_count + 1 WHERE id = $1 AND EXISTS (SELECT 1 FROM s)"
        " RETURNING true",
        challenge_id,
        user_id,
        notify,
        now,
    )
    if not added:
        await conn.execute(
            "UPDATE supports SET notify = $3 WHERE challenge_id = $1 AND user_id = $2", challenge_id, user_id, notify
        )
    return bool(added)


async def withdraw_support(conn: asyncpg.Connection, challenge_id: int, user_id: int) -> bool:
    removed = await conn.fetchval(
        "WITH s AS (DELETE FROM supports WHERE challenge_id = $1 AND user_id = $2 RETURNING 1)"
        " UPDATE challenges SET support_count = support_count - 1 WHERE id = $1 AND EXISTS (SELECT 1 FROM s)"
        " RETURNING true",
        challenge_id,
        user_id,
    )
    return bool(removed)


async def support_of(conn: asyncpg.Connection, challenge_id: int, user_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT notify, created_at FROM supports WHERE challenge_id = $1 AND user_id = $2", challenge_id, user_id
    )


async def supportable(conn: asyncpg.Connection, ref: str) -> asyncpg.Record | None:
    """A public challenge's id, state, title, count and collective, for the support page."""
    return await conn.fetchrow(
        "SELECT c.id, c.ref, c.title, c.state, c.support_count, c.collective_id, co.name AS collective_name"
        " FROM challenges c JOIN collectives co ON co.id = c.collective_id WHERE c.ref = $1 AND c.state <> 'draft'",
        ref,
    )


# --- attachments -------------------------------------------------------------------------

ATTACHMENT_COLUMNS = "a.id, a.kind, a.filename, a.content_type, a.size_bytes, a.sha256, a.public, a.created_at"


async def add_attachment(
    conn: asyncpg.Connection,
    *,
    draft_id: int | None,
    challenge_id: int | None,
    kind: str,
    filename: str,
    content_type: str,
    content: bytes,
    sha256: str,
    public: bool,
    user_id: int,
    now: datetime,
) -> int:
    return await conn.fetchval(
        "INSERT INTO attachments (draft_id, challenge_id, kind, filename, content_type, size_bytes, sha256,"
        " public, content, uploaded_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        " RETURNING id",
        draft_id, challenge_id, kind, filename, content_type, len(content), sha256,
        public and kind != "signatures", content, user_id, now,
    )  # fmt: skip


async def attachments_of_draft(conn: asyncpg.Connection, draft_id: int) -> list[asyncpg.Record]:
    return await conn.fetch(f"SELECT {ATTACHMENT_COLUMNS} FROM attachments a WHERE a.draft_id = $1 ORDER BY a.id", draft_id)


async def attachments_of_challenge(conn: asyncpg.Connection, challenge_id: int, public_only: bool) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"SELECT {ATTACHMENT_COLUMNS} FROM attachments a WHERE a.challenge_id = $1 AND (a.public OR NOT $2)"
        " ORDER BY a.id",
        challenge_id,
        public_only,
    )


async def attachment_for(conn: asyncpg.Connection, attachment_id: int, user_id: int | None) -> asyncpg.Record | None:
    """The file, if it is public on a public challenge, or ``user_id`` is a
    member of the collective it belongs to."""
    return await conn.fetchrow(
        f"SELECT {ATTACHMENT_COLUMNS}, a.content FROM attachments a"
        " LEFT JOIN challenges c ON c.id = a.challenge_id"
        " LEFT JOIN portal_drafts d ON d.id = a.draft_id"
        " WHERE a.id = $1 AND ("
        "   (a.public AND c.state IS NOT NULL AND c.state <> 'draft')"
        "   OR EXISTS (SELECT 1 FROM portal_memberships pm WHERE pm.user_id = $2"
        "              AND pm.collective_id = coalesce(c.collective_id, d.collective_id)))",
        attachment_id,
        user_id,
    )


async def delete_draft_attachment(conn: asyncpg.Connection, attachment_id: int, draft_id: int) -> None:
    await conn.execute(
        "DELETE FROM attachments WHERE id = $1 AND draft_id = $2 AND challenge_id IS NULL", attachment_id, draft_id
    )


# --- notification preferences ------------------------------------------------------------


async def frequency(conn: asyncpg.Connection, user_id: int) -> str:
    return await conn.fetchval("SELECT frequency FROM notification_preferences WHERE user_id = $1", user_id) or "each"


async def set_frequency(conn: asyncpg.Connection, user_id: int, value: str) -> None:
    await conn.execute(
        "INSERT INTO notification_preferences (user_id, frequency) VALUES ($1, $2)"
        " ON CONFLICT (user_id) DO UPDATE SET frequency = EXCLUDED.frequency",
        user_id,
        value,
    )


async def set_locale(conn: asyncpg.Connection, user_id: int, locale: str) -> None:
    await conn.execute("UPDATE users SET locale = $2 WHERE id = $1", user_id, locale)


async def user_by_email(conn: asyncpg.Connection, email: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT id, email, display_name, locale, email_confirmed_at FROM users WHERE email = $1 AND disabled_at IS NULL",
        email,
    )


async def user_by_id(conn: asyncpg.Connection, user_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT id, email, display_name, locale FROM users WHERE id = $1", user_id)
