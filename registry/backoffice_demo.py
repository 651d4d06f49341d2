"""Demo civil servants for `registry seed --demo`: every role in every demo
municipality, with known passwords (listed in the README). Idempotent."""

from __future__ import annotations

from registry.backoffice import service
from registry.backoffice import store as bo

DEMO_PASSWORD = "demo-backoffice-2026"
MUNICIPALITIES = {"GM0363": "amsterdam", "GM0599": "rotterdam", "GM0344": "utrecht"}
ROLE_NAMES = {"reviewer": "Beoordelaar", "coordinator": "Coördinator", "admin": "Beheerder"}


def demo_email(code: str, role: str) -> str:
    return f"{role}@{MUNICIPALITIES[code]}.example"


async def seed(conn) -> list[str]:
    lines = ["", "back office (/backoffice/login), password for everyone: " + DEMO_PASSWORD]
    for code, city in MUNICIPALITIES.items():
        if await conn.fetchval("SELECT 1 FROM municipalities WHERE code = $1", code) is None:
            continue
        for role, title in ROLE_NAMES.items():
            email = demo_email(code, role)
            exists = await conn.fetchval("SELECT 1 FROM users WHERE email = $1", email)
            if not exists:
                await service.create_staff(
                    conn, email, role, code, DEMO_PASSWORD, f"{title} {city.capitalize()}"
                )
            lines.append(f"  {code} {role:<12} {email}")
        await bo.criteria(conn, code)  # the reference's five criteria
    return lines
