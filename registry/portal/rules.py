"""Rules the portal adds to the procedure, consulted by registry.challenges for
every actor (API, back office, portal): a municipality's minimum support
before a challenge may be declared admissible."""

from __future__ import annotations

import asyncpg

from registry.workflow import DomainError


# Set with `registry portal minimum-support`. The back office keeps a minimum
# of its own (municipality_policies.minimum_support, schema 0006) that is not
# consulted yet: its tests expect it not to block; see docs/portal.md.
# Two places may set a minimum: the back office's municipality policy (set by
# its admins and published in the chain) and `registry portal minimum-support`.
# The stricter one counts.
MINIMUM_SQL = (
    "greatest("
    "coalesce((SELECT r.minimum_support FROM portal_municipality_rules r WHERE r.municipality_code = {m}), 0),"
    " coalesce((SELECT p.minimum_support FROM municipality_policies p WHERE p.municipality_code = {m}), 0))"
)


async def minimum_support(conn: asyncpg.Connection, municipality: str) -> int:
    return await conn.fetchval("SELECT " + MINIMUM_SQL.format(m="$1"), municipality)


async def set_minimum_support(conn: asyncpg.Connection, municipality: str, minimum: int) -> None:
    if not 0 <= minimum <= 1_000_000:
        raise ValueError("the minimum support must be between 0 and 1,000,000")
    await conn.execute(
        "INSERT INTO portal_municipality_rules (municipality_code, minimum_support) VALUES ($1, $2)"
        " ON CONFLICT (municipality_code) DO UPDATE SET minimum_support = EXCLUDED.minimum_support",
        municipality,
        minimum,
    )


async def check_minimum_support(conn: asyncpg.Connection, challenge_id: int, municipality: str) -> None:
    """Refuse ``declare_admissible`` while the support is below the municipality's minimum."""
    row = await conn.fetchrow(
        "SELECT c.support_count, " + MINIMUM_SQL.format(m="c.municipality_code") + " AS minimum_support"
        " FROM challenges c WHERE c.id = $1",
        challenge_id,
    )
    if row is not None and row["minimum_support"] and row["support_count"] < row["minimum_support"]:
        raise DomainError(
            "insufficient-support",
            f"This municipality needs at least {row['minimum_support']} supporters before assessment;"
            f" the challenge has {row['support_count']}.",
        )
