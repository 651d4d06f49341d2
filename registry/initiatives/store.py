"""SQL for initiative profiles. Public reads select public columns only:
nothing of collective_contacts, collective_members, portal_memberships,
initiative_reports, initiative_messages or initiative_confirmations."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from registry.initiatives import NOT_OPEN_STATES
from registry.initiatives.profile import Profile

_NOT_OPEN = ", ".join(f"'{s}'" for s in NOT_OPEN_STATES)  # constants, not input
OPEN_CHALLENGE = f"ch.collective_id = i.collective_id AND ch.state NOT IN ({_NOT_OPEN})"

PUBLIC_COLUMNS = f"""
    i.collective_id AS id, i.name, i.municipality_code, m.name AS municipality_name,
    c.legal_form, c.registration_number, i.neighbourhoods, i.founded_year, i.website,
    i.description, i.domains, i.reciprocity, i.members_count, i.offers, i.needs,
    i.verified_at, i.verified_note, i.hidden_at, i.hidden_reason, i.featured_at, i.featured_reason,
    i.created_at, i.updated_at, i.last_confirmed_at,
    (SELECT count(*) FROM challenges ch WHERE {OPEN_CHALLENGE}) AS open_challenges
"""
PUBLIC_JOINS = """
    FROM initiatives i
    JOIN collectives c ON c.id = i.collective_id
    JOIN municipalities m ON m.code = i.municipality_code
"""


async def insert_profile(conn: asyncpg.Connection, collective_id: int, p: Profile, now: datetime) -> None:
    """The initiative profile of an existing collective (its name and
    municipality are copied from the collective)."""
    await conn.execute(
        "INSERT INTO initiatives (collective_id, name, municipality_code, neighbourhoods, founded_year,"
        " website, description, domains, reciprocity, members_count, offers, needs, created_at,"
        " updated_at, last_confirmed_at)"
        " SELECT c.id, c.name, c.municipality_code, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $11"
        " FROM collectives c WHERE c.id = $1",
        collective_id,
        p.neighbourhoods,
        p.founded_year,
        p.website,
        p.description,
        p.domains,
        p.reciprocity,
        p.members_count,
        p.offers,
        p.needs,
        now,
    )


async def create(
    conn: asyncpg.Connection,
    *,
    municipality: str,
    profile: Profile,
    contact_name: str,
    contact_email: str,
    member_user_id: int | None,
    now: datetime,
) -> int:
    """A new collective with its initiative profile, its private contact and
    (when a resident registers it) the resident as its first member."""
    p = profile
    async with conn.transaction():
        collective_id = await conn.fetchval(
            "INSERT INTO collectives (municipality_code, name, legal_form, registration_number,"
            " neighbourhood, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            municipality,
            p.name,
            p.legal_form,
            p.registration_number,
            p.neighbourhoods[0] if p.neighbourhoods else "",
            now,
        )
        await conn.execute(
            "INSERT INTO collective_contacts (collective_id, contact_name, email) VALUES ($1, $2, $3)",
            collective_id,
            contact_name,
            contact_email,
        )
        await insert_profile(conn, collective_id, p, now)
        if member_user_id is not None:
            await conn.execute(
                "INSERT INTO portal_memberships (collective_id, user_id, joined_at) VALUES ($1, $2, $3)"
                " ON CONFLICT DO NOTHING",
                collective_id,
                member_user_id,
                now,
            )
    return collective_id


async def update(
    conn: asyncpg.Connection, collective_id: int, p: Profile, contact_email: str | None, now: datetime
) -> None:
    """A member's edit: the collective's public particulars, the profile, and
    (if given) the private contact address. Counts as a confirmation."""
    async with conn.transaction():
        await conn.execute(
            "UPDATE collectives SET name = $2, legal_form = $3, registration_number = $4,"
            " neighbourhood = $5 WHERE id = $1",
            collective_id,
            p.name,
            p.legal_form,
            p.registration_number,
            p.neighbourhoods[0] if p.neighbourhoods else "",
        )
        await conn.execute(
            "UPDATE initiatives SET name = $2, neighbourhoods = $3, founded_year = $4, website = $5,"
            " description = $6, domains = $7, reciprocity = $8, members_count = $9, offers = $10,"
            " needs = $11, updated_at = $12, last_confirmed_at = $12 WHERE collective_id = $1",
            collective_id,
            p.name,
            p.neighbourhoods,
            p.founded_year,
            p.website,
            p.description,
            p.domains,
            p.reciprocity,
            p.members_count,
            p.offers,
            p.needs,
            now,
        )
        if contact_email:
            await conn.execute(
                "INSERT INTO collective_contacts (collective_id, contact_name, email) VALUES ($1, '', $2)"
                " ON CONFLICT (collective_id) DO UPDATE SET email = EXCLUDED.email",
                collective_id,
                contact_email,
            )
        await conn.execute("DELETE FROM initiative_confirmations WHERE collective_id = $1", collective_id)


async def public_detail(conn: asyncpg.Connection, collective_id: int) -> asyncpg.Record | None:
    """One initiative, hidden ones included (the page says why it is hidden)."""
    return await conn.fetchrow(
        f"SELECT {PUBLIC_COLUMNS} {PUBLIC_JOINS} WHERE i.collective_id = $1", collective_id
    )


async def profile_for_edit(conn: asyncpg.Connection, collective_id: int) -> asyncpg.Record | None:
    """The profile plus the private contact address, for its own members' form only."""
    return await conn.fetchrow(
        f"SELECT {PUBLIC_COLUMNS}, cc.email AS contact_email {PUBLIC_JOINS}"
        " LEFT JOIN collective_contacts cc ON cc.collective_id = i.collective_id"
        " WHERE i.collective_id = $1",
        collective_id,
    )


async def collective_without_profile(conn: asyncpg.Connection, collective_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT c.id, c.name, c.legal_form, c.registration_number, c.neighbourhood, c.municipality_code"
        " FROM collectives c WHERE c.id = $1 AND NOT EXISTS (SELECT 1 FROM initiatives i WHERE i.collective_id = c.id)",
        collective_id,
    )


async def overview(conn: asyncpg.Connection, municipality: str) -> dict:
    """Counts of a municipality's visible initiatives, per domain and per
    neighbourhood (an initiative with several counts in each), in one query."""
    row = await conn.fetchrow(
        """
        WITH v AS (SELECT domains, neighbourhoods FROM initiatives
                   WHERE municipality_code = $1 AND hidden_at IS NULL)
        SELECT (SELECT count(*) FROM v) AS total,
               (SELECT coalesce(jsonb_agg(jsonb_build_array(d, n) ORDER BY n DESC, d), '[]')::text
                  FROM (SELECT d, count(*) AS n FROM v, unnest(v.domains) d GROUP BY d) x) AS domains,
               (SELECT coalesce(jsonb_agg(jsonb_build_array(h, n) ORDER BY n DESC, h), '[]')::text
                  FROM (SELECT h, count(*) AS n FROM v, unnest(v.neighbourhoods) h GROUP BY h) y) AS neighbourhoods
        """,
        municipality,
    )
    import json

    return {
        "total": row["total"],
        "domains": [tuple(x) for x in json.loads(row["domains"])],
        "neighbourhoods": [tuple(x) for x in json.loads(row["neighbourhoods"])],
    }


async def featured(conn: asyncpg.Connection, municipality: str, limit: int = 50) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"SELECT {PUBLIC_COLUMNS} {PUBLIC_JOINS}"
        " WHERE i.municipality_code = $1 AND i.featured_at IS NOT NULL AND i.hidden_at IS NULL"
        " ORDER BY i.featured_at DESC, i.collective_id LIMIT $2",
        municipality,
        limit,
    )


async def contact_of(conn: asyncpg.Connection, collective_id: int) -> str | None:
    """Private: the address messages are relayed to. Never shown to anyone."""
    return await conn.fetchval(
        "SELECT email FROM collective_contacts WHERE collective_id = $1", collective_id
    )
