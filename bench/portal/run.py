"""Portal benchmark: the public challenge page and "my challenges" beside the
JSON detail of the same challenge, in the same run, with 100,000 challenges.

Seeds with bench/seed.py (once) into a database of its own, makes a resident
who belongs to the collective with the most challenges, then measures through
the real app in process (ASGI, no network: server time), each endpoint
interleaved with the others so that drift hits all alike:

- sequentially (one request at a time): server time per request;
- under load (``--concurrency`` requests in flight): latency with queueing.

Prints p50/p99 in milliseconds and the page weights; never run in CI.

    python bench/portal/run.py                    # 100,000 challenges, 400 requests per endpoint
    python bench/portal/run.py --n 300 --concurrency 16

Uses REGISTRY_BENCH_DATABASE_URL (a server URL), else the embedded server.
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

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("REGISTRY_ARGON2_FAST", "1")

import asyncpg  # noqa: E402
import logging  # noqa: E402
import httpx  # noqa: E402

from registry import accounts, db as dbmod  # noqa: E402
from registry.app import create_app  # noqa: E402
from registry.portal import store  # noqa: E402
from registry.settings import Settings  # noqa: E402
from registry.web.auth import SESSION_COOKIE, RESIDENT_IDLE  # noqa: E402

DB_NAME = "registry_bench_portal"
EMAIL = "bench-resident@example.nl"


def database_url() -> str:
    base = os.environ.get("REGISTRY_BENCH_DATABASE_URL") or dbmod.resolve_url(Settings())
    return urlunsplit(urlsplit(base)._replace(path="/" + DB_NAME))


async def resident(url: str) -> tuple[str, str, str]:
    """A session of a member of the busiest collective, and a challenge of it."""
    conn = await asyncpg.connect(url)
    try:
        now = datetime.now(timezone.utc)
        row = await conn.fetchrow(
            "SELECT collective_id, count(*) AS n FROM challenges WHERE state <> 'draft'"
            " GROUP BY collective_id ORDER BY n DESC LIMIT 1"
        )
        user_id = await conn.fetchval("SELECT id FROM users WHERE email = $1", EMAIL)
        if user_id is None:
            user_id, _ = await accounts.register(conn, EMAIL, "bench password 123", "Bench", "nl", now)
            await conn.execute("UPDATE users SET email_confirmed_at = $2 WHERE id = $1", user_id, now)
        await store.add_member(conn, row["collective_id"], user_id, None, now)
        ref = await conn.fetchval(
            "SELECT ref FROM challenges WHERE collective_id = $1 AND state = 'in_operation' ORDER BY id DESC LIMIT 1",
            row["collective_id"],
        ) or await conn.fetchval(
            "SELECT ref FROM challenges WHERE collective_id = $1 AND state <> 'draft' ORDER BY id DESC LIMIT 1",
            row["collective_id"],
        )
        token = await accounts.create_session(conn, user_id, RESIDENT_IDLE, now)
        total = await conn.fetchval("SELECT count(*) FROM challenges")
        events = await conn.fetchval("SELECT count(*) FROM events WHERE challenge_id = (SELECT id FROM challenges WHERE ref = $1)", ref)
        print(f"{total} challenges; the resident's collective has {row['n']}; measuring {ref} ({events} events)")
        return token, ref, str(row["collective_id"])
    finally:
        await conn.close()


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


async def measure(url: str, n: int, concurrency: int) -> None:
    token, ref, _ = await resident(url)
    settings = Settings(database_url=url, pool_min=4, pool_max=max(10, concurrency + 4))
    pool = await dbmod.create_pool(url, settings)
    app = create_app(settings, db=dbmod.Db(pool, 10), run_background=False)
    transport = httpx.ASGITransport(app=app)
    endpoints = {
        "JSON detail /api/v1/challenges/{ref}": f"/api/v1/challenges/{ref}",
        "public page /challenges/{ref}": f"/challenges/{ref}",
        "my challenges /my/challenges": "/my/challenges",
        "support page /challenges/{ref}/support": f"/challenges/{ref}/support",
    }
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        client.cookies.set(SESSION_COOKIE, token)
        sizes = {}
        for name, path in endpoints.items():
            r = await client.get(path)
            assert r.status_code == 200, (path, r.status_code, r.text[:300])
            sizes[name] = len(r.content)
            for _ in range(20):  # warm up
                await client.get(path)

        async def one(path: str) -> float:
            t = time.perf_counter()
            r = await client.get(path)
            elapsed = (time.perf_counter() - t) * 1000
            assert r.status_code == 200
            return elapsed

        sequential: dict[str, list[float]] = {k: [] for k in endpoints}
        for _ in range(n):
            for name, path in endpoints.items():
                sequential[name].append(await one(path))

        loaded: dict[str, list[float]] = {k: [] for k in endpoints}
        names = list(endpoints)
        queue = [names[i % len(names)] for i in range(n * len(names))]

        async def worker() -> None:
            while queue:
                name = queue.pop()
                loaded[name].append(await one(endpoints[name]))

        t0 = time.perf_counter()
        await asyncio.gather(*[worker() for _ in range(concurrency)])
        wall = time.perf_counter() - t0

    await pool.close()
    json_p50 = statistics.median(sequential[names[0]])
    print(f"\n{n} requests per endpoint; under load: {concurrency} in flight, {n * len(names) / wall:.0f} requests/s in total\n")
    print("| endpoint | p50 ms | p99 ms | p50 under load | p99 under load | p50 vs JSON | bytes |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name in names:
        s, l = sequential[name], loaded[name]
        print(f"| {name} | {statistics.median(s):.2f} | {pct(s, 99):.2f} | {statistics.median(l):.2f} | {pct(l, 99):.2f}"
              f" | {statistics.median(s) / json_p50:.2f}× | {sizes[name]:,} |")


def main() -> int:
    logging.getLogger("httpx").setLevel(logging.WARNING)
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--challenges", type=int, default=100_000)
    p.add_argument("--n", type=int, default=400, help="requests per endpoint")
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--reset", action="store_true")
    args = p.parse_args()
    url = database_url()
    import seed  # bench/seed.py: 100,000 challenges with their chained events (only if the database is empty)

    argv = ["--database-url", url, "--challenges", str(args.challenges)] + (["--reset"] if args.reset else [])
    seed.cli(argv)
    asyncio.run(measure(url, args.n, args.concurrency))
    return 0


if __name__ == "__main__":
    sys.exit(main())
