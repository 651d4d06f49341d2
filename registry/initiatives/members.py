"""Who may edit an initiative profile: the collective's members, as the portal
records them (``portal_memberships``, schema/0005_portal.sql)."""

from __future__ import annotations

import asyncpg


async def may_edit(conn: asyncpg.Connection, user_id: int, collective_id: int) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM portal_memberships WHERE user_id = $1 AND collective_id = $2)",
            user_id,
            collective_id,
        )
    )


async def collectives_of(conn: asyncpg.Connection, user_id: int) -> list[asyncpg.Record]:
    """The collectives a resident belongs to, and whether each has a profile yet."""
    return await conn.fetch(
        "SELECT c.id, c.name, c.municipality_code,"
        " EXISTS (SELECT 1 FROM initiatives i WHERE i.collective_id = c.id) AS has_profile"
        " FROM portal_memberships pm JOIN collectives c ON c.id = pm.collective_id"
        " WHERE pm.user_id = $1 ORDER BY c.name, c.id",
        user_id,
    )
