"""The demo civil servants: every role in every demo municipality, known passwords."""

from registry import accounts
from registry.backoffice_demo import DEMO_PASSWORD, demo_email, seed
from registry.store import catalog


async def test_demo_staff_log_in(db, clock):
    async with db.connection() as conn:
        tr = conn.transaction()
        await tr.start()
        try:
            for code in ("GM0363", "GM0599", "GM0344"):
                if not await conn.fetchval("SELECT 1 FROM municipalities WHERE code = $1", code):
                    await catalog.create_municipality(conn, code, code)
            lines = await seed(conn)
            assert sum("@" in line for line in lines) == 9
            assert await seed(conn)  # idempotent
            for code in ("GM0363", "GM0599", "GM0344"):
                for role in ("reviewer", "coordinator", "admin"):
                    user = await accounts.authenticate(conn, demo_email(code, role), DEMO_PASSWORD, "demo-test", clock())
                    assert await conn.fetchval("SELECT role FROM staff WHERE user_id = $1", user.id) == role
        finally:
            await tr.rollback()
