"""Municipalities, services and collectives."""

from __future__ import annotations

import asyncpg
import msgspec

from registry.workflow import Settings as ProcedureSettings

CATEGORIES = (
    "renovation",
    "street_cleaning",
    "microcorporation",
    "green_maintenance",
    "neighbourhood_supervision",
    "other",
)
LEGAL_FORMS = ("association", "cooperative", "foundation", "informal_group")


async def create_municipality(
    conn: asyncpg.Connection, code: str, name: str, settings: ProcedureSettings | None = None
) -> None:
    settings_json = msgspec.json.encode(settings or ProcedureSettings()).decode()
    async with conn.transaction():
        await conn.execute(
            "INSERT INTO municipalities (code, name, settings) VALUES ($1, $2, $3::jsonb)",
            code,
            name,
            settings_json,
        )
        await conn.execute("INSERT INTO ledger_heads (municipality_code) VALUES ($1)", code)


async def create_service(
    conn: asyncpg.Connection,
    municipality: str,
    name: str,
    category: str,
    department: str,
    annual_budget_cents: int,
    description: str = "",
    challengeable: bool = True,
    exclusion_reason: str | None = None,
) -> int:
    return await conn.fetchval(
        "INSERT INTO services (municipality_code, name, category, department, annual_budget_cents,"
        " description, challengeable, exclusion_reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        " RETURNING id",
        municipality,
        name,
        category,
        department,
        annual_budget_cents,
        description,
        challengeable,
        exclusion_reason,
    )


async def create_collective(
    conn: asyncpg.Connection,
    municipality: str,
    name: str,
    legal_form: str,
    registration_number: str | None,
    neighbourhood: str,
    contact_name: str,
    email: str,
    phone: str = "",
    members: tuple[tuple[str, str], ...] = (),
) -> int:
    async with conn.transaction():
        collective_id = await conn.fetchval(
            "INSERT INTO collectives (municipality_code, name, legal_form, registration_number,"
            " neighbourhood) VALUES ($1, $2, $3, $4, $5) RETURNING id",
            municipality,
            name,
            legal_form,
            registration_number,
            neighbourhood,
        )
        await conn.execute(
            "INSERT INTO collective_contacts (collective_id, contact_name, email, phone)"
            " VALUES ($1, $2, $3, $4)",
            collective_id,
            contact_name,
            email,
            phone,
        )
        if members:
            await conn.executemany(
                "INSERT INTO collective_members (collective_id, name, email) VALUES ($1, $2, $3)",
                [(collective_id, n, e) for n, e in members],
            )
    return collective_id


MUNICIPALITY_COLUMNS = "m.code, m.name, m.settings::text AS settings"


async def list_municipalities(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"SELECT {MUNICIPALITY_COLUMNS},"
        " (SELECT count(*) FROM services s WHERE s.municipality_code = m.code) AS services,"
        " (SELECT count(*) FROM challenges c WHERE c.municipality_code = m.code AND c.state <> 'draft') AS challenges"
        " FROM municipalities m ORDER BY m.code"
    )


async def municipality_names(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """Code and name of every municipality, by code: without the counts of
    list_municipalities, which cost a scan of the challenges."""
    return await conn.fetch("SELECT code, name FROM municipalities ORDER BY code")


async def get_municipality(conn: asyncpg.Connection, code: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {MUNICIPALITY_COLUMNS},"
        " (SELECT count(*) FROM services s WHERE s.municipality_code = m.code) AS services,"
        " (SELECT count(*) FROM challenges c WHERE c.municipality_code = m.code AND c.state <> 'draft') AS challenges"
        " FROM municipalities m WHERE m.code = $1",
        code,
    )


SERVICE_COLUMNS = (
    "id, municipality_code, name, category, department, annual_budget_cents, description,"
    " challengeable, exclusion_reason"
)


async def list_services(conn: asyncpg.Connection, municipality: str | None) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"SELECT {SERVICE_COLUMNS} FROM services"
        " WHERE ($1::text IS NULL OR municipality_code = $1) ORDER BY municipality_code, id",
        municipality,
    )


async def get_service(conn: asyncpg.Connection, service_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(f"SELECT {SERVICE_COLUMNS} FROM services WHERE id = $1", service_id)


PUBLIC_COLLECTIVE_COLUMNS = "id, municipality_code, name, legal_form, registration_number, neighbourhood"


async def get_collective(conn: asyncpg.Connection, collective_id: int) -> asyncpg.Record | None:
    """The public profile only: contacts and members are in other tables."""
    return await conn.fetchrow(
        f"SELECT {PUBLIC_COLLECTIVE_COLUMNS},"
        " (SELECT count(*) FROM challenges c WHERE c.collective_id = collectives.id AND c.state <> 'draft') AS challenges"
        " FROM collectives WHERE id = $1",
        collective_id,
    )


async def list_collectives(conn: asyncpg.Connection, municipality: str | None) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"SELECT {PUBLIC_COLLECTIVE_COLUMNS} FROM collectives"
        " WHERE ($1::text IS NULL OR municipality_code = $1) ORDER BY id",
        municipality,
    )
