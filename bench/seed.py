"""Fill a dedicated database with many challenges and their hash-chained histories.

Not part of the app and never run in CI. Fast because it skips HTTP and the
per-action transactions: the states and events are computed in Python with the
real workflow engine (``registry.workflow.take``) and the real ledger
(``registry.ledger``), then loaded with COPY.

    python bench/seed.py                       # 100,000 challenges into registry_bench
    python bench/seed.py --challenges 20000 --reset
    python bench/seed.py --verify              # (re)check every chain, seeding only if empty

Events get one global id order (by time) and one chain per municipality, as the
app would have produced them; ledger_heads, the event_ids sequence, the
challenges identity and reference_counters are set afterwards so that the app
can keep appending.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import hashlib
import json
import random
import sys
import time
from datetime import date, datetime, timedelta, timezone
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import msgspec

from registry import db as dbmod
from registry import ledger, workflow
from registry.demo import COLLECTIVES, EXCLUDED, PATHS, PLAN, SERVICES, TITLES
from registry.store import catalog

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/registry_bench"

# Code, name, weight (share of the challenges), neighbourhoods, procedure settings.
MUNICIPALITIES = [
    ("GM0363", "Amsterdam", 20, ["Noord", "Oost", "Nieuw-West", "Zuidoost", "De Pijp", "Indische Buurt"], {}),
    ("GM0599", "Rotterdam", 15, ["Afrikaanderwijk", "Delfshaven", "Feijenoord", "Kralingen", "Charlois"], {}),
    ("GM0518", "'s-Gravenhage", 13, ["Transvaal", "Schilderswijk", "Moerwijk", "Duindorp", "Laak"], {"decision_days": 56}),
    ("GM0344", "Utrecht", 10, ["Kanaleneiland", "Overvecht", "Lombok", "Zuilen", "Leidsche Rijn"], {}),
    ("GM0772", "Eindhoven", 7, ["Woensel", "Strijp", "Tongelre", "Gestel"], {"working_days": True}),
    ("GM0014", "Groningen", 7, ["Selwerd", "Paddepoel", "Vinkhuizen", "De Hoogte"], {}),
    ("GM0268", "Nijmegen", 6, ["Hatert", "Dukenburg", "Lindenholt", "Bottendaal"], {"admissibility_days": 21}),
    ("GM0153", "Enschede", 5, ["Velve-Lindenhof", "Twekkelerveld", "Roombeek", "Pathmos"], {}),
    ("GM0193", "Zwolle", 4, ["Holtenbroek", "Aa-landen", "Diezerpoort", "Stadshagen"], {"working_days": True}),
    ("GM0080", "Leeuwarden", 3, ["Heechterp", "Schieringen", "Vrijheidswijk", "Bilgaard"], {}),
]
COLLECTIVES_PER_MUNICIPALITY = 40

# Final states with a realistic share (percent-ish weights). "renewed" ends in
# in_operation after a renewal; in_operation also gets extra progress reports.
TARGETS = {
    "draft": 4, "submitted": 6, "under_assessment": 7, "information_requested": 3,
    "inadmissible": 7, "lapsed": 3, "accepted": 3, "modification_proposed": 2,
    "rejected": 13, "agreed": 3, "in_operation": 17, "evaluated": 3, "ended": 12,
    "returned": 4, "withdrawn": 8, "renewed": 5,
}  # fmt: skip
# States that are waiting on someone: their last step is recent.
RECENT = {"draft", "submitted", "under_assessment", "information_requested", "accepted",
          "modification_proposed", "agreed"}  # fmt: skip
HORIZON_DAYS = 1100  # about three years of history

ANSWER = ("answer", "collective", {"answer": "De begroting per jaar staat in de bijlage; 23 vrijwilligers hebben zich aangemeld."})
REPORTS = [
    "Kwartaal: 14 vrijwilligers, 212 uur inzet, 3 klachten afgehandeld.",
    "Halfjaar: alle portieken gereinigd, bewonerstevredenheid 8,1.",
    "Twee nieuwe vrijwilligers; één vaste kracht uit de wijk aangenomen.",
    "Begroting op schema; onderhoudsachterstand in blok C weggewerkt.",
]


def _path(target: str, rnd: random.Random) -> list:
    """The steps for one challenge, with some variation on the demo paths."""
    steps = list(PATHS[target])
    if target in ("under_assessment", "accepted", "rejected", "agreed") and rnd.random() < 0.25:
        # An information request answered before the decision.
        steps = steps[:2] + [("request_information", "reviewer", {"questions": "Hoeveel bewoners steunen het plan?"}),
                             ("provide_information", "collective", ANSWER[2])] + steps[2:]
    if target in ("in_operation", "renewed", "evaluated", "ended", "returned"):
        # More progress reports while the collective runs the service.
        at = max(i for i, s in enumerate(steps) if s[0] == "report_progress")
        extra = [("report_progress", "collective", {"report": rnd.choice(REPORTS)}) for _ in range(rnd.randrange(0, 5))]
        steps = steps[: at + 1] + extra + steps[at + 1 :]
    return steps


def _gap(action: str, rnd: random.Random) -> timedelta:
    if action == "report_progress":
        return timedelta(days=rnd.randrange(60, 100), seconds=rnd.randrange(86400), microseconds=rnd.randrange(10**6))
    days = rnd.randrange(3, 12) + (45 if action == "lapse" else 0)
    return timedelta(days=days, seconds=rnd.randrange(8 * 3600), microseconds=rnd.randrange(10**6))


def admin_url(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    name = parts.path.lstrip("/") or "postgres"
    return urlunsplit(parts._replace(path="/postgres")), name


async def ensure_database(url: str, reset: bool) -> None:
    admin, name = admin_url(url)
    conn = await asyncpg.connect(admin)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if exists and reset:
            await conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", name
            )
            await conn.execute(f'DROP DATABASE "{name}"')
            exists = False
        if not exists:
            await conn.execute(f'CREATE DATABASE "{name}"')
            print(f"created database {name}")
    finally:
        await conn.close()
    await dbmod.migrate_url(url)


async def create_catalog(conn: asyncpg.Connection, rnd: random.Random) -> dict:
    """Municipalities, services and collectives through the app's own store functions."""
    out = {}
    for code, name, weight, areas, overrides in MUNICIPALITIES:
        settings = workflow.Settings(**overrides)
        await catalog.create_municipality(conn, code, name, settings)
        services = []
        for category, sname, dept, budget, desc in SERVICES:
            sid = await catalog.create_service(conn, code, sname, category, dept, budget, desc)
            services.append((sid, category, sname, budget))
        await catalog.create_service(conn, code, EXCLUDED[1], EXCLUDED[0], EXCLUDED[2], EXCLUDED[3], EXCLUDED[4],
                                     challengeable=False, exclusion_reason=EXCLUDED[5])
        collectives = []
        for i in range(COLLECTIVES_PER_MUNICIPALITY):
            pattern, form = COLLECTIVES[i % len(COLLECTIVES)]
            area = areas[i % len(areas)]
            label = f"{area} {i // len(areas) + 1}" if i >= len(areas) else area
            kvk = f"{rnd.randrange(10**7, 10**8)}" if form != "informal_group" else None
            cid = await catalog.create_collective(
                conn, code, pattern.format(n=label), form, kvk, area,
                contact_name=f"Contactpersoon {label}", email=f"contact{i}@{code.lower()}.example",
            )
            collectives.append((cid, area))
        out[code] = (name, weight, settings, services, collectives)
    return out


def generate(n: int, cat: dict, now: datetime, rnd: random.Random):
    """Challenges and their events, computed with the real engine."""
    codes = list(cat)
    cum_weights = []
    total = 0
    for code in codes:
        total += cat[code][1]
        cum_weights.append(total)
    targets = list(TARGETS)
    target_weights = [TARGETS[t] for t in targets]

    challenges = []  # dicts, in filing order after the sort below
    for _ in range(n):
        code = codes[bisect.bisect_right(cum_weights, rnd.random() * total)]
        name, _, settings, services, collectives = cat[code]
        target = rnd.choices(targets, target_weights)[0]
        steps = _path(target, rnd)
        gaps = [timedelta(hours=rnd.randrange(1, 72), seconds=rnd.randrange(3600), microseconds=rnd.randrange(10**6))]
        gaps += [_gap(a, rnd) for a, _, _ in steps[1:]]
        span = sum(gaps, timedelta())
        if target in RECENT:
            age = timedelta(days=rnd.uniform(0.5, 40))
        else:
            age = timedelta(days=rnd.uniform(0.5, max(1.0, HORIZON_DAYS - span.days)))
        filed = now - age - span
        sid, category, sname, budget = services[rnd.randrange(len(services))]
        cid, area = collectives[rnd.randrange(len(collectives))]
        requested = budget // rnd.choice([3, 4, 5, 6])
        challenges.append({
            "municipality": code, "settings": settings, "target": target, "steps": steps, "gaps": gaps,
            "created_at": filed, "service_id": sid, "collective_id": cid,
            "title": f"{TITLES[category]} ({area})",
            "summary": f"Een bewonersgroep uit {area} wil {sname.lower()} zelf uitvoeren, met meer zeggenschap en lagere kosten.",
            "plan": PLAN.format(service=sname.lower(), area=area, support=rnd.randrange(40, 400), budget=f"€ {requested / 100:,.0f}"),
            "requested_budget_cents": requested, "area": f"{name} {area}",
            "proposed_start": (filed + timedelta(days=120)).date(), "duration_months": rnd.choice([12, 24, 36]),
            "support_count": rnd.randrange(0, 600),
        })
    challenges.sort(key=lambda c: c["created_at"])

    counters: dict[tuple[str, int], int] = {}
    events = []  # (occurred_at, challenge_id, step, Event)
    for cid0, c in enumerate(challenges):
        challenge_id = cid0 + 1
        key = (c["municipality"], c["created_at"].year)
        counters[key] = counters.get(key, 0) + 1
        c["id"] = challenge_id
        c["ref"] = f"{key[0]}-{key[1]}-{counters[key]:04d}"
        state = workflow.ChallengeState()
        t = c["created_at"]
        for step, ((action, role, fields), gap) in enumerate(zip(c["steps"], c["gaps"])):
            t = t + gap
            if action == "submit":
                fields = {
                    "title": c["title"], "summary": c["summary"], "plan": c["plan"],
                    "requested_budget_cents": c["requested_budget_cents"], "area": c["area"],
                    "proposed_start": c["proposed_start"], "duration_months": c["duration_months"],
                    "service": c["service_id"], "collective": c["collective_id"],
                }
            elif fields == "agreement":
                fields = {"budget_cents": c["requested_budget_cents"] * 9 // 10, "starts_on": t.date() + timedelta(days=7),
                          "ends_on": t.date() + timedelta(days=372),
                          "conditions": "Kwartaalrapportage; jaarrekening vóór 1 mei; de gemeente blijft eigenaar van het materieel."}
            elif fields == "renewal":
                fields = {"ends_on": max(t.date(), state.agreement.ends_on) + timedelta(days=730)}
            tr = workflow.take(state, action, role, fields, t, c["settings"])
            state = tr.state
            events.append((t, challenge_id, step, tr.event))
        c["state"] = state
        c["updated_at"] = t
    events.sort(key=lambda e: (e[0], e[1], e[2]))
    return challenges, events, counters


def chain_events(challenges, events):
    """Global ids in time order, one hash chain per municipality."""
    heads: dict[str, tuple[int, str]] = {}
    rows = []
    for event_id, (_, challenge_id, _, event) in enumerate(events, start=1):
        c = challenges[challenge_id - 1]
        code = c["municipality"]
        seq, prev = heads.get(code, (0, ledger.GENESIS))
        seq += 1
        body = ledger.event_body(event, code, seq, c["ref"], prev)
        text = ledger.canonical(body)
        digest = hashlib.sha256(text).hexdigest()  # == ledger.hash_body(body), without canonicalising twice
        rows.append((event_id, code, seq, challenge_id, text.decode(), prev, digest))
        heads[code] = (seq, digest)
    return rows, heads


async def load(conn: asyncpg.Connection, challenges, event_rows, heads, counters) -> None:
    encode = msgspec.json.encode
    challenge_rows = [
        (
            c["id"], c["ref"], c["municipality"], c["service_id"], c["collective_id"], c["title"], c["summary"],
            c["plan"], c["requested_budget_cents"], c["area"], c["proposed_start"], c["duration_months"],
            c["support_count"], c["state"].state, c["state"].version, encode(c["state"]).decode(),
            c["state"].clock.due_at, c["state"].clock.waiting_on, c["created_at"], c["updated_at"],
            c["state"].submitted_at,
        )
        for c in challenges
    ]
    async with conn.transaction():
        await conn.copy_records_to_table(
            "challenges",
            records=challenge_rows,
            columns=["id", "ref", "municipality_code", "service_id", "collective_id", "title", "summary", "plan",
                     "requested_budget_cents", "area", "proposed_start", "duration_months", "support_count",
                     "state", "version", "workflow", "due_at", "waiting_on", "created_at", "updated_at",
                     "submitted_at"],
        )
        # Through a staging table, so that each served copy (events.doc) is
        # built by the same expression as registry.store.events.append.
        await conn.execute("CREATE TEMP TABLE seed_events ON COMMIT DROP AS SELECT id, municipality_code, seq, challenge_id, body, prev_hash, hash FROM events WITH NO DATA")
        await conn.copy_records_to_table(
            "seed_events",
            records=event_rows,
            columns=["id", "municipality_code", "seq", "challenge_id", "body", "prev_hash", "hash"],
        )
        await conn.execute(
            "INSERT INTO events (id, municipality_code, seq, challenge_id, body, prev_hash, hash, doc)"
            " SELECT id, municipality_code, seq, challenge_id, body, prev_hash, hash,"
            " (body || jsonb_build_object('id', id, 'hash', hash))::text FROM seed_events ORDER BY id"
        )
        await conn.copy_records_to_table(
            "event_actors",
            records=[(r[0], None, "bench seed") for r in event_rows],
            columns=["event_id", "token_id", "actor_label"],
        )
        await conn.execute("SELECT setval(pg_get_serial_sequence('challenges', 'id'), $1)", len(challenges))
        await conn.execute("SELECT setval('event_ids', $1)", len(event_rows))
        for code, (seq, digest) in heads.items():
            await conn.execute("UPDATE ledger_heads SET seq = $2, hash = $3 WHERE municipality_code = $1", code, seq, digest)
        await conn.executemany(
            "INSERT INTO reference_counters (municipality_code, year, last) VALUES ($1, $2, $3)"
            " ON CONFLICT (municipality_code, year) DO UPDATE SET last = GREATEST(reference_counters.last, EXCLUDED.last)",
            [(code, year, last) for (code, year), last in counters.items()],
        )


async def verify(url: str) -> bool:
    """Every municipality's chain with registry.ledger.verify_chain, plus the
    ledger heads and the global id order."""
    conn = await asyncpg.connect(url)
    ok = True
    try:
        for r in await conn.fetch("SELECT municipality_code, seq, hash FROM ledger_heads ORDER BY municipality_code"):
            code = r["municipality_code"]
            rows = await conn.fetch(
                "SELECT id, body::text AS body, hash FROM events WHERE municipality_code = $1 ORDER BY seq", code
            )
            pairs = [(json.loads(x["body"]), x["hash"]) for x in rows]
            bad = ledger.verify_chain(pairs)
            ids = [x["id"] for x in rows]
            ordered = all(a < b for a, b in zip(ids, ids[1:]))
            head_ok = (r["seq"], r["hash"]) == ((len(rows), rows[-1]["hash"]) if rows else (0, ledger.GENESIS))
            status = "ok" if bad is None and ordered and head_ok else "BROKEN"
            ok &= status == "ok"
            print(f"  {code}: {len(rows):>7} events, chain {'sound' if bad is None else f'breaks at seq {bad}'},"
                  f" ids {'in seq order' if ordered else 'OUT OF ORDER'}, head {'matches' if head_ok else 'DIFFERS'}: {status}")
        last = await conn.fetchval("SELECT last_value FROM event_ids")
        top = await conn.fetchval("SELECT coalesce(max(id), 0) FROM events")
        if last < top:
            print(f"  event_ids is at {last} but events go up to {top}: BROKEN")
            ok = False
    finally:
        await conn.close()
    print("all chains verify" if ok else "VERIFICATION FAILED")
    return ok


async def main(args: argparse.Namespace) -> int:
    url = args.database_url
    await ensure_database(url, args.reset)
    conn = await asyncpg.connect(url)
    try:
        present = await conn.fetchval("SELECT count(*) FROM challenges")
        if present:
            print(f"{present} challenges already present; nothing seeded (use --reset to start over)")
        else:
            rnd = random.Random(args.seed)
            now = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=1)
            t0 = time.perf_counter()
            cat = await create_catalog(conn, rnd)
            challenges, events, counters = generate(args.challenges, cat, now, rnd)
            t1 = time.perf_counter()
            rows, heads = chain_events(challenges, events)
            t2 = time.perf_counter()
            await load(conn, challenges, rows, heads, counters)
            t3 = time.perf_counter()
            await conn.execute("VACUUM (ANALYZE)")
            t4 = time.perf_counter()
            states: dict[str, int] = {}
            for c in challenges:
                states[c["state"].state] = states.get(c["state"].state, 0) + 1
            print(f"seeded {len(challenges)} challenges and {len(rows)} events"
                  f" ({len(rows) / len(challenges):.1f} per challenge) in {len(cat)} municipalities")
            print("  states: " + ", ".join(f"{k} {v}" for k, v in sorted(states.items(), key=lambda kv: -kv[1])))
            print(f"  engine {t1 - t0:.1f}s, ledger {t2 - t1:.1f}s, COPY {t3 - t2:.1f}s, VACUUM ANALYZE {t4 - t3:.1f}s")
    finally:
        await conn.close()
    if args.verify:
        t = time.perf_counter()
        ok = await verify(url)
        print(f"  verified in {time.perf_counter() - t:.1f}s")
        return 0 if ok else 1
    return 0


def cli(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--database-url", default=DEFAULT_URL, help=f"default {DEFAULT_URL} (created if missing)")
    p.add_argument("-n", "--challenges", type=int, default=100_000)
    p.add_argument("--reset", action="store_true", help="drop and recreate the database first")
    p.add_argument("--verify", action="store_true", help="check every municipality's chain afterwards")
    p.add_argument("--seed", type=int, default=2026, help="random seed")
    return asyncio.run(main(p.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(cli())
