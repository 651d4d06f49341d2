"""Initiatives search benchmark: 100,000 initiatives in 20 municipalities.

Measures, in the same run and under the same concurrent load, the directory
search (``GET /api/v1/initiatives?q=…``: full text + trigram, ranked, with and
without filters) and the plain initiative detail (``GET /api/v1/initiatives/{id}``)
as the baseline, through the real app (ASGI, in process: no network), with
CONCURRENCY requests in flight, and prints p50/p99 in milliseconds. Also
prints EXPLAIN ANALYZE times of the search SQL alone.

    python bench/initiatives/run.py                  # seeds once into registry_bench_initiatives
    python bench/initiatives/run.py --reset --n 400 --concurrency 8

Uses REGISTRY_BENCH_DATABASE_URL, else the embedded server (a database of its own).
Never run in CI.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import asyncpg  # noqa: E402
import httpx  # noqa: E402

from registry import db as dbmod  # noqa: E402
from registry.app import create_app  # noqa: E402
from registry.initiatives import search  # noqa: E402
from registry.settings import Settings  # noqa: E402
from registry.store import catalog  # noqa: E402

DB_NAME = "registry_bench_initiatives"
MUNICIPALITIES = [f"GM{1000 + i:04d}" for i in range(20)]
KINDS = ["Broodfonds", "Energiecoöperatie", "Zorgcirkel", "Buurthuis", "Voedseltuin", "Repaircafé", "Deelkast",
         "Buurtpreventie", "Opschoondag", "Taalcafé", "Speeltuinvereniging", "Wooncoöperatie", "Huiswerkklas"]
HOODS = ["Noord", "Zuid", "Oost", "West", "Centrum", "Lindenhof", "De Pijp", "Kralingen", "Lombok", "Zuilen",
         "Overvecht", "Delfshaven", "Charlois", "Feijenoord", "Watergraafsmeer", "Slotermeer", "Osdorp", "Hoograven",
         "Transwijk", "Tuinwijk", "Vogelbuurt", "Bloemenbuurt", "Rivierenwijk", "Schildersbuurt", "Dichtersbuurt",
         "Staatsliedenbuurt", "Spoorzone", "Havenkwartier", "Parkwijk", "Bomenbuurt"]
OFFERS = ["Een bakfiets op zaterdag", "Een zaal voor 20 mensen op dinsdagavond", "Advies over zonnepanelen",
          "Maaltijden op dinsdag", "Gereedschap lenen", "Huiswerkbegeleiding", "Koffie-ochtend op woensdag",
          "Groenten voor de voedselbank", "Een busje op zaterdag", "Rondleidingen"]
NEEDS = ["Vrijwilligers die kunnen voorlezen met kinderen", "Een opslagruimte", "Nieuwe leden", "Een dak voor zonnepanelen",
         "Tuinders op maandag", "Een penningmeester", "Subsidie voor materiaal", "Een waterpomp"]
DOMAINS = ["work_and_income", "energy", "care", "culture", "food", "sharing", "sharing", "safety", "green", "culture",
           "youth", "housing", "youth"]
QUERIES = [
    ("compound", {"q": "energiecooperatie"}),
    ("split compound", {"q": "energie coöperatie"}),
    ("typo", {"q": "enrgiecooperatie"}),
    ("stemmed words", {"q": "vrijwilligers voorlezen"}),
    ("rare word + municipality", {"q": "bakfiets", "municipality": "GM1003"}),
    ("word + domain + neighbourhood", {"q": "repaircafe", "domain": "sharing", "neighbourhood": "Lombok"}),
]


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
        if await conn.fetchval("SELECT count(*) FROM initiatives") >= n:
            return
        t0 = time.perf_counter()
        for code in MUNICIPALITIES:
            await catalog.create_municipality(conn, code, f"Benchstad {code}")
        # One statement each: collectives, then their profiles (the trigger
        # builds the search documents), then the private contacts.
        await conn.execute(
            """
            INSERT INTO collectives (municipality_code, name, legal_form, registration_number, neighbourhood)
            SELECT ($1::text[])[1 + g % 20], ($2::text[])[1 + g % 13] || ' ' || ($3::text[])[1 + (g / 13) % 30] || ' ' || g,
                   (ARRAY['association','cooperative','foundation','informal_group'])[1 + g % 4],
                   CASE WHEN g % 4 = 3 THEN NULL ELSE lpad((10000000 + g)::text, 8, '0') END,
                   ($3::text[])[1 + (g / 13) % 30]
            FROM generate_series(1, $4) g
            """,
            MUNICIPALITIES, KINDS, HOODS, n,
        )
        await conn.execute(
            """
            INSERT INTO initiatives (collective_id, name, municipality_code, neighbourhoods, founded_year, description,
                domains, reciprocity, members_count, offers, needs)
            SELECT c.id, c.name, c.municipality_code, ARRAY[c.neighbourhood], 1990 + c.id % 35,
                   'Wij zijn ' || c.name || '. Bewoners doen het samen voor de buurt, met vrijwilligers en buren.',
                   ARRAY[($1::text[])[1 + c.id % 13]],
                   (ARRAY['acquaintances_for_each_other','acquaintances_for_acquaintances','strangers_for_each_other','strangers_for_strangers'])[1 + c.id % 4],
                   c.id % 400,
                   ARRAY[($2::text[])[1 + c.id % 10], ($2::text[])[1 + (c.id / 10) % 10]],
                   ARRAY[($3::text[])[1 + c.id % 8]]
            FROM collectives c WHERE NOT EXISTS (SELECT 1 FROM initiatives i WHERE i.collective_id = c.id)
            """,
            DOMAINS, OFFERS, NEEDS,
        )
        await conn.execute(
            "INSERT INTO collective_contacts (collective_id, contact_name, email)"
            " SELECT id, 'x', 'contact-' || id || '@bench.example' FROM collectives ON CONFLICT DO NOTHING"
        )
        await conn.execute("VACUUM ANALYZE initiatives")
        print(f"seeded {n} initiatives in {time.perf_counter() - t0:.1f}s")
    finally:
        await conn.close()


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


async def explain(url: str) -> list[tuple[str, float, int]]:
    """The search SQL alone: execution time (ms) and matches, per query."""
    conn = await asyncpg.connect(url)
    out = []
    try:
        for label, params in QUERIES:
            q = search.Query(q=params["q"], municipality=params.get("municipality"),
                             domain=params.get("domain"), neighbourhood=params.get("neighbourhood"))
            best = None
            for _ in range(5):
                t0 = time.perf_counter()
                rows, _ = await search.search(conn, q, None, 20)
                ms = (time.perf_counter() - t0) * 1000
                best = ms if best is None else min(best, ms)
            out.append((label, best, len(rows)))
    finally:
        await conn.close()
    return out


async def measure(url: str, n: int, concurrency: int) -> dict[str, list[float]]:
    settings = Settings(database_url=url, base_url="http://bench", pool_min=concurrency, pool_max=concurrency + 2, db_timeout=30)
    pool = await dbmod.create_pool(url, settings)
    app = create_app(settings, db=dbmod.Db(pool, 30), run_background=False)
    ids = [r["collective_id"] for r in await pool.fetch("SELECT collective_id FROM initiatives ORDER BY random() LIMIT 2000")]
    rnd = random.Random(6)
    jobs: list[tuple[str, str, dict]] = []
    for i in range(n):
        label, params = QUERIES[i % len(QUERIES)]
        jobs.append(("search: " + label, "/api/v1/initiatives", params))
        jobs.append(("search (all kinds)", "/api/v1/initiatives", params))
        jobs.append(("detail (baseline)", f"/api/v1/initiatives/{rnd.choice(ids)}", {}))
    rnd.shuffle(jobs)
    times: dict[str, list[float]] = {}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=60) as client:
        for _, path, params in jobs[:60]:  # warm-up
            await client.get(path, params=params)
        queue: asyncio.Queue = asyncio.Queue()
        for job in jobs:
            queue.put_nowait(job)

        async def worker() -> None:
            while not queue.empty():
                label, path, params = queue.get_nowait()
                t0 = time.perf_counter()
                r = await client.get(path, params=params)
                elapsed = (time.perf_counter() - t0) * 1000
                assert r.status_code == 200, (path, params, r.status_code, r.text[:200])
                times.setdefault(label, []).append(elapsed)

        t0 = time.perf_counter()
        await asyncio.gather(*[worker() for _ in range(concurrency)])
        wall = time.perf_counter() - t0
    await pool.close()
    print(f"{len(jobs)} requests, {concurrency} in flight, {len(jobs) / wall:.0f} requests/s overall")
    return times


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reset", action="store_true")
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--n", type=int, default=300, help="search requests per kind of query… roughly")
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    url = database_url()
    await ensure_database(url, args.reset)
    await seed(url, args.size)
    print(f"load average before: {os.getloadavg()}")
    print("\nsearch SQL alone (best of 5, ms, matches on the first page):")
    for label, ms, count in await explain(url):
        print(f"  {label:32s} {ms:7.1f} ms  {count}")
    times = await measure(url, args.n, args.concurrency)
    print(f"\n| request | n | p50 ms | p99 ms |\n|---|---|---|---|")
    for label in sorted(times, key=lambda k: (not k.startswith("detail"), k)):
        t = times[label]
        print(f"| {label} | {len(t)} | {statistics.median(t):.1f} | {pct(t, 99):.1f} |")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    asyncio.run(main())
