"""Back-office queue benchmark: one municipality with 100,000 open challenges.

Measures, in the same run and the same process, the queue page (sorted by due
date, with a filter, as a logged-in coordinator) and the public JSON list, each
N times sequentially through the real app (ASGI, in process: no network), and
prints p50/p99 in milliseconds.

    python bench/backoffice/run.py                  # seeds once into registry_bench_backoffice
    python bench/backoffice/run.py --reset --n 500

Uses REGISTRY_BENCH_DATABASE_URL, else the embedded server (a database of its own).
Never run in CI.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("REGISTRY_ARGON2_FAST", "1")

import asyncpg  # noqa: E402
import httpx  # noqa: E402

from registry import accounts, db as dbmod  # noqa: E402
from registry.app import create_app  # noqa: E402
from registry.backoffice import service  # noqa: E402
from registry.settings import Settings  # noqa: E402
from registry.store import catalog  # noqa: E402

CODE = "GM0900"
DB_NAME = "registry_bench_backoffice"
OPEN = ["submitted", "under_assessment", "information_requested", "accepted", "modification_proposed", "agreed", "in_operation", "evaluated"]


def database_url() -> str:
    base = os.environ.get("REGISTRY_BENCH_DATABASE_URL") or dbmod.resolve_url(Settings())
    return urlunsplit(urlsplit(base)._replace(path="/" + DB_NAME))


async def ensure_database(url: str, reset: bool) -> None:
    admin = urlunsplit(urlsplit(url)._replace(path="/postgres"))
    conn = await asyncpg.connect(admin)
    try:
        if reset:
            await conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", DB_NAME):
            await conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    finally:
        await conn.close()
    await dbmod.migrate_url(url)


async def seed(url: str, n: int) -> None:
    conn = await asyncpg.connect(url)
    try:
        if await conn.fetchval("SELECT 1 FROM municipalities WHERE code = $1", CODE):
            return
        t0 = time.perf_counter()
        await catalog.create_municipality(conn, CODE, "Benchstad")
        services = [
            await catalog.create_service(conn, CODE, f"Dienst {i}", "other", f"Afdeling {i % 4}", 1_000_00)
            for i in range(12)
        ]
        collective = await catalog.create_collective(conn, CODE, "Bench collectief", "association", None, "", "x", "x@example.nl")
        await conn.execute(
            """
            INSERT INTO challenges (ref, municipality_code, service_id, collective_id, title, summary, plan,
                requested_budget_cents, area, proposed_start, duration_months, state, version, workflow,
                due_at, waiting_on, submitted_at)
            SELECT $1 || '-2026-' || lpad(g::text, 6, '0'), $1, ($2::bigint[])[1 + g % 12], $3,
                'Uitdaging ' || g, 'Samenvatting', 'Plan', 100000, 'Wijk', '2027-01-01', 12,
                ($4::text[])[1 + (g * 7) % 8], 2, '{}'::jsonb,
                now() + make_interval(hours => (g * 37) % 4000 - 1000), 'municipality', now()
            FROM generate_series(1, $5) g
            """,
            CODE, services, collective, OPEN, n,
        )  # fmt: skip
        await conn.execute("ANALYZE challenges")
        print(f"seeded {n} open challenges in {time.perf_counter() - t0:.1f} s", flush=True)
    finally:
        await conn.close()


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


async def measure(url: str, n: int) -> dict[str, tuple[float, float]]:
    settings = Settings(database_url=url, pool_max=4, migrate_on_start=False)
    pool = await dbmod.create_pool(url, settings)
    db = dbmod.Db(pool, 5)
    now = lambda: datetime.now(timezone.utc)  # noqa: E731
    async with db.connection() as conn:
        if not await conn.fetchval("SELECT 1 FROM users WHERE email = 'bench-coordinator@example.nl'"):
            await service.create_staff(conn, "bench-coordinator@example.nl", "coordinator", CODE, "bench password 1")
        user_id = await conn.fetchval("SELECT id FROM users WHERE email = 'bench-coordinator@example.nl'")
        token = await accounts.create_session(conn, user_id, service.STAFF_IDLE, now())
    app = create_app(settings, db=db, clock=now, run_background=False)
    targets = {
        "queue, due date order, no filter": "/backoffice",
        "queue, filter state=under_assessment": "/backoffice?state=under_assessment",
        "queue, filter overdue=1 + department": "/backoffice?overdue=1&department=Afdeling%202",
        "public JSON list (municipality)": f"/api/v1/challenges?municipality={CODE}",
    }
    results = {}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as c:
        c.cookies.set("rtc_staff", token)
        for name, path in targets.items():
            for _ in range(20):  # warm up
                assert (await c.get(path)).status_code == 200
            times = []
            for _ in range(n):
                t = time.perf_counter()
                r = await c.get(path)
                times.append((time.perf_counter() - t) * 1000)
                assert r.status_code == 200
            results[name] = (statistics.median(times), pct(times, 99))
    await pool.close()
    return results


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--challenges", type=int, default=100_000)
    p.add_argument("--n", type=int, default=300)
    p.add_argument("--reset", action="store_true")
    args = p.parse_args()
    url = database_url()
    asyncio.run(ensure_database(url, args.reset))
    asyncio.run(seed(url, args.challenges))
    results = asyncio.run(measure(url, args.n))
    print(f"\n{args.challenges} open challenges in {CODE}, {args.n} sequential requests each (in-process ASGI)")
    print(f"| request | p50 ms | p99 ms |\n|---|---|---|")
    for name, (p50, p99) in results.items():
        print(f"| {name} | {p50:.1f} | {p99:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
