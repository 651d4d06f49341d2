"""The portal's part of ``registry seed --demo``: residents who belong to the
demo collectives (so that "my challenges" shows challenges in every state),
and one resident who only supports. Their log-ins are printed and listed in
the README."""

from __future__ import annotations

from datetime import datetime, timezone

import asyncpg

from registry import accounts
from registry.portal import store

PASSWORD = "uitdaagrecht-demo"
CITIES = {"GM0363": "amsterdam", "GM0599": "rotterdam", "GM0344": "utrecht"}


async def seed(conn: asyncpg.Connection) -> list[str]:
    now = datetime.now(timezone.utc)
    lines = ["demo residents (password for all: %s):" % PASSWORD]
    for code, city in CITIES.items():
        # The first and the fourth demo collective: between them they have
        # a draft, an information request and a proposed modification.
        found = await conn.fetch("SELECT id, name FROM collectives WHERE municipality_code = $1 ORDER BY id LIMIT 4", code)
        collectives = [found[i] for i in (0, 3) if i < len(found)]
        if not collectives:
            continue
        for n, locale in ((1, "nl"), (2, "en")):
            email = f"bewoner{n}.{city}@demo.uitdaagrecht.example"
            user_id = await _resident(conn, email, f"Demo-bewoner {n} {city.title()}", locale, now)
            for c in collectives:
                await store.add_member(conn, c["id"], user_id, None, now)
            lines.append(f"  {email} ({locale}) member of " + ", ".join(c["name"] for c in collectives))
    email = "supporter@demo.uitdaagrecht.example"
    await _resident(conn, email, "Demo-supporter", "nl", now)
    lines.append(f"  {email} (nl) supports challenges, member of none")
    return lines


async def _resident(conn: asyncpg.Connection, email: str, name: str, locale: str, now: datetime) -> int:
    user_id, _ = await accounts.register(conn, email, PASSWORD, name, locale, now)
    if user_id is None:
        user_id = await conn.fetchval("SELECT id FROM users WHERE email = $1", email)
    await conn.execute("UPDATE users SET email_confirmed_at = coalesce(email_confirmed_at, $2) WHERE id = $1", user_id, now)
    return user_id
