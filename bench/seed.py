"""Fill a dedicated database with many challenges and their hash-chained histories.

Not part of the app and never run in CI. Fast because it skips HTTP and the
per-action transactions: the states and events are computed with the real
workflow engine (``registry.workflow.take``) and the real ledger
(``registry.ledger``), then loaded with COPY. Memory stays flat whatever the
size (about 1 GB for 1,000,000 challenges with 10,000,000 events):

1. Every challenge's random choices come from its own generator, seeded with
   its number, so they can be drawn twice and come out the same. A first pass
   draws only what fixes the timing (municipality, steps, gaps, filing time)
   and sorts: challenge ids follow the filing order, event ids the order in
   time, as the app would have given them.
2. Worker processes (one per CPU) each take a share of the municipalities and
   walk all events in that time order, keeping only the challenges that are
   in progress: each step goes through the engine, each event is hashed onto
   its municipality's chain and COPYed in batches, each challenge is COPYed
   once its last step is taken.
3. The foreign key from events to challenges is dropped during the load and
   added back (validated) afterwards, as PostgreSQL's "Populating a Database"
   advises; the ledger heads, the event_ids sequence, the challenges identity
   and the reference counters are then set so that the app can keep appending.

    python bench/seed.py                       # 100,000 challenges into registry_bench
    python bench/seed.py --challenges 20000 --reset
    python bench/seed.py -n 1000000 --reports 28   # ~10 events a challenge: 10 M events
    python bench/seed.py --verify              # (re)check every chain, seeding only if empty
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import hashlib
import json
import multiprocessing
import os
import random
import sys
import time
from array import array
from datetime import datetime, timedelta, timezone
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
# Extra progress reports of a challenge in operation: 0 to REPORTS-1 of them.
# The default gives about 5.3 events a challenge; 28 gives about 10.
DEFAULT_REPORTS = 5

ANSWER = ("answer", "collective", {"answer": "De begroting per jaar staat in de bijlage; 23 vrijwilligers hebben zich aangemeld."})
REPORTS = [
    "Kwartaal: 14 vrijwilligers, 212 uur inzet, 3 klachten afgehandeld.",
    "Halfjaar: alle portieken gereinigd, bewonerstevredenheid 8,1.",
    "Twee nieuwe vrijwilligers; één vaste kracht uit de wijk aangenomen.",
    "Begroting op schema; onderhoudsachterstand in blok C weggewerkt.",
]
AGREEMENT_CONDITIONS = "Kwartaalrapportage; jaarrekening vóór 1 mei; de gemeente blijft eigenaar van het materieel."

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
DAY_US = 86_400 * 10**6
STEP_BITS = 6  # at most 63 steps a challenge
EVENT_COLUMNS = ["id", "municipality_code", "seq", "challenge_id", "body", "prev_hash", "hash", "doc"]
CHALLENGE_COLUMNS = [
    "id", "ref", "municipality_code", "service_id", "collective_id", "title", "summary", "plan",
    "requested_budget_cents", "area", "proposed_start", "duration_months", "support_count",
    "state", "version", "workflow", "due_at", "waiting_on", "created_at", "updated_at", "submitted_at",
]  # fmt: skip


class Draw(msgspec.Struct, frozen=True):
    """Every random choice about one challenge."""

    municipality: int  # index into MUNICIPALITIES
    target: str
    steps: list  # (action, role, fields)
    gaps: list[int]  # microseconds: filing -> first step, then between steps
    filed: int  # microseconds since the Unix epoch
    service: int
    collective: int
    divisor: int
    plan_support: int
    duration_months: int
    support_count: int


def _path(target: str, rnd: random.Random, reports: int) -> list:
    """The steps for one challenge, with some variation on the demo paths."""
    steps = list(PATHS[target])
    if target in ("under_assessment", "accepted", "rejected", "agreed") and rnd.random() < 0.25:
        # An information request answered before the decision.
        steps = steps[:2] + [("request_information", "reviewer", {"questions": "Hoeveel bewoners steunen het plan?"}),
                             ("provide_information", "collective", ANSWER[2])] + steps[2:]
    if target in ("in_operation", "renewed", "evaluated", "ended", "returned"):
        # More progress reports while the collective runs the service.
        at = max(i for i, s in enumerate(steps) if s[0] == "report_progress")
        extra = [("report_progress", "collective", {"report": rnd.choice(REPORTS)}) for _ in range(rnd.randrange(0, reports))]
        steps = steps[: at + 1] + extra + steps[at + 1 :]
    return steps


def _gap(action: str, rnd: random.Random) -> int:
    if action == "report_progress":
        days, seconds = rnd.randrange(30, 75), rnd.randrange(86400)
    else:
        days, seconds = rnd.randrange(3, 12) + (45 if action == "lapse" else 0), rnd.randrange(8 * 3600)
    return (days * 86400 + seconds) * 10**6 + rnd.randrange(10**6)


class Plan:
    """What both passes need to draw a challenge: the seed, the clock, the catalogue's shape."""

    def __init__(self, seed: int, now: datetime, reports: int, catalogue: dict) -> None:
        self.seed, self.reports = seed, reports
        self.now_us = (now - EPOCH) // timedelta(microseconds=1)
        self.catalogue = catalogue  # code -> (name, settings, services, collectives)
        self.cum_weights = []
        total = 0
        for m in MUNICIPALITIES:
            total += m[2]
            self.cum_weights.append(total)
        self.total_weight = total
        self.targets = list(TARGETS)
        self.target_weights = [TARGETS[t] for t in self.targets]

    def draw(self, number: int) -> Draw:
        rnd = random.Random(self.seed * 10_000_019 + number)
        m = bisect.bisect_right(self.cum_weights, rnd.random() * self.total_weight)
        _, services, collectives = self.catalogue[MUNICIPALITIES[m][0]][1:]
        target = rnd.choices(self.targets, self.target_weights)[0]
        steps = _path(target, rnd, self.reports)
        gaps = [(rnd.randrange(1, 72) * 3600 + rnd.randrange(3600)) * 10**6 + rnd.randrange(10**6)]
        gaps += [_gap(a, rnd) for a, _, _ in steps[1:]]
        span = sum(gaps)
        if target in RECENT:
            age = int(rnd.uniform(0.5, 40) * DAY_US)
        else:
            age = int(rnd.uniform(0.5, max(1.0, HORIZON_DAYS - span / DAY_US)) * DAY_US)
        return Draw(
            municipality=m, target=target, steps=steps, gaps=gaps, filed=self.now_us - age - span,
            service=rnd.randrange(len(services)), collective=rnd.randrange(len(collectives)),
            divisor=rnd.choice([3, 4, 5, 6]), plan_support=rnd.randrange(40, 400),
            duration_months=rnd.choice([12, 24, 36]), support_count=rnd.randrange(0, 600),
        )


def _time(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


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
    for code, name, _weight, areas, overrides in MUNICIPALITIES:
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
        out[code] = (name, settings, services, collectives)
    return out


class Timeline:
    """The first pass: challenge ids in filing order, event ids in time order."""

    def __init__(self, plan: Plan, n: int) -> None:
        t0 = time.perf_counter()
        filings = []
        for number in range(n):
            d = plan.draw(number)
            filings.append((d.filed, number, d.municipality, d.gaps if d.steps else []))
        filings.sort()
        self.cid_bits = max(20, (n + 1).bit_length())
        self.number = array("q", [0])  # challenge id -> draw number
        self.municipality = bytearray(1)  # challenge id -> municipality index
        self.ref_no = array("l", [0])  # challenge id -> number within (municipality, year)
        self.counters: dict[tuple[str, int], int] = {}
        keys = []
        self.drafts = []  # challenge ids without events
        for cid, (filed, number, m, gaps) in enumerate(filings, start=1):
            self.number.append(number)
            self.municipality.append(m)
            key = (MUNICIPALITIES[m][0], _time(filed).year)
            self.counters[key] = self.counters.get(key, 0) + 1
            self.ref_no.append(self.counters[key])
            if not gaps:
                self.drafts.append(cid)
            t = filed
            for step, gap in enumerate(gaps):
                t += gap
                keys.append((t << (self.cid_bits + STEP_BITS)) | (cid << STEP_BITS) | step)
        del filings
        t1 = time.perf_counter()
        keys.sort()
        self.keys = keys
        print(f"  timeline: {n:,} challenges, {len(keys):,} events drawn in {t1 - t0:.1f}s, sorted in {time.perf_counter() - t1:.1f}s",
              flush=True)

    def split(self, key: int) -> tuple[int, int, int]:
        """(time in µs, challenge id, step) of an event key."""
        return (key >> (self.cid_bits + STEP_BITS), (key >> STEP_BITS) & ((1 << self.cid_bits) - 1),
                key & ((1 << STEP_BITS) - 1))


def jsonb_text(value) -> str:
    """A JSON value exactly as PostgreSQL prints it as jsonb: object keys
    ordered by length, then bytes; ", " and ": " between items; the same
    escapes as json.dumps with ensure_ascii=False. Checked against PostgreSQL
    itself on a sample after every load."""
    return _jsonb_dumps(_jsonb_order(value))


_jsonb_dumps = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": "), check_circular=False).encode
_key_order: dict[str, tuple[int, bytes]] = {}


def _jsonb_key(key: str) -> tuple[int, bytes]:
    order = _key_order.get(key)
    if order is None:
        raw = key.encode()
        order = _key_order[key] = (len(raw), raw)
    return order


def _jsonb_order(value):
    if type(value) is dict:
        return {k: _jsonb_order(value[k]) if type(value[k]) in (dict, list) else value[k]
                for k in sorted(value, key=_jsonb_key)}
    if type(value) is list:
        return [_jsonb_order(v) if type(v) in (dict, list) else v for v in value]
    return value


def _challenge(plan: Plan, cid: int, number: int, ref: str) -> dict:
    d = plan.draw(number)
    code, name = MUNICIPALITIES[d.municipality][0], MUNICIPALITIES[d.municipality][1]
    _, settings, services, collectives = plan.catalogue[code]
    sid, category, sname, budget = services[d.service]
    coll, area = collectives[d.collective]
    requested = budget // d.divisor
    filed = _time(d.filed)
    return {
        "id": cid, "ref": ref, "municipality": code, "settings": settings, "steps": d.steps,
        "created_at": filed, "service_id": sid, "collective_id": coll,
        "title": f"{TITLES[category]} ({area})",
        "summary": f"Een bewonersgroep uit {area} wil {sname.lower()} zelf uitvoeren, met meer zeggenschap en lagere kosten.",
        "plan": PLAN.format(service=sname.lower(), area=area, support=d.plan_support, budget=f"€ {requested / 100:,.0f}"),
        "requested_budget_cents": requested, "area": f"{name} {area}",
        "proposed_start": (filed + timedelta(days=120)).date(), "duration_months": d.duration_months,
        "support_count": d.support_count, "state": workflow.ChallengeState(), "updated_at": filed,
    }


def _challenge_row(c: dict) -> tuple:
    s = c["state"]
    return (
        c["id"], c["ref"], c["municipality"], c["service_id"], c["collective_id"], c["title"], c["summary"],
        c["plan"], c["requested_budget_cents"], c["area"], c["proposed_start"], c["duration_months"],
        c["support_count"], s.state, s.version, msgspec.json.encode(s).decode(), s.clock.due_at, s.clock.waiting_on,
        c["created_at"], c["updated_at"], s.submitted_at,
    )


def _fields(c: dict, fields, t: datetime) -> dict:
    if fields == "agreement":
        return {"budget_cents": c["requested_budget_cents"] * 9 // 10, "starts_on": t.date() + timedelta(days=7),
                "ends_on": t.date() + timedelta(days=372), "conditions": AGREEMENT_CONDITIONS}
    if fields == "renewal":
        return {"ends_on": max(t.date(), c["state"].agreement.ends_on) + timedelta(days=730)}
    if c["state"].state == "draft":  # the first step: submit
        return {
            "title": c["title"], "summary": c["summary"], "plan": c["plan"],
            "requested_budget_cents": c["requested_budget_cents"], "area": c["area"],
            "proposed_start": c["proposed_start"], "duration_months": c["duration_months"],
            "service": c["service_id"], "collective": c["collective_id"],
        }
    return fields


# Set in the parent before the workers are forked, so that they share it.
_PLAN: Plan | None = None
_TIMELINE: Timeline | None = None


def work(url: str, group: list[int], results: multiprocessing.Queue, batch: int = 20_000) -> None:
    """One worker: the municipalities in ``group``, every event in time order."""
    results.put(asyncio.run(_work(url, set(group), batch)))


async def _work(url: str, group: set[int], batch: int) -> dict:
    plan, tl = _PLAN, _TIMELINE
    conn = await asyncpg.connect(url)
    await conn.execute("SET synchronous_commit = off")
    # The ledger's canonical form without its value-domain walk: the values come
    # from the engine, and the load is verified afterwards (--verify, registry verify).
    sha256, canonical = hashlib.sha256, msgspec.json.Encoder(order="sorted").encode
    heads: dict[str, tuple[int, str]] = {}
    open_: dict[int, dict] = {}
    events, done = [], []
    n_events = n_challenges = 0

    def ref_of(cid: int, filed: datetime) -> str:
        return f"{MUNICIPALITIES[tl.municipality[cid]][0]}-{filed.year}-{tl.ref_no[cid]:04d}"

    for cid in tl.drafts:
        if tl.municipality[cid] in group:
            c = _challenge(plan, cid, tl.number[cid], "")
            c["ref"] = ref_of(cid, c["created_at"])
            done.append(_challenge_row(c))
    for event_id, key in enumerate(tl.keys, start=1):
        t_us, cid, step = tl.split(key)
        if tl.municipality[cid] not in group:
            continue
        c = open_.get(cid)
        if c is None:
            c = open_[cid] = _challenge(plan, cid, tl.number[cid], "")
            c["ref"] = ref_of(cid, c["created_at"])
        action, role, fields = c["steps"][step]
        t = _time(t_us)
        tr = workflow.take(c["state"], action, role, _fields(c, fields, t), t, c["settings"])
        c["state"], c["updated_at"] = tr.state, t
        code = c["municipality"]
        seq, prev = heads.get(code, (0, ledger.GENESIS))
        seq += 1
        body = ledger.event_body(tr.event, code, seq, c["ref"], prev)
        text = canonical(body)
        digest = sha256(text).hexdigest()
        heads[code] = (seq, digest)
        body["id"], body["hash"] = event_id, digest
        events.append((event_id, code, seq, cid, text.decode(), prev, digest, jsonb_text(body)))
        if step == len(c["steps"]) - 1:
            done.append(_challenge_row(open_.pop(cid)))
        if len(events) >= batch:
            n_challenges += await _flush(conn, events, done)
            n_events += len(events)
            events, done = [], []
    n_challenges += await _flush(conn, events, done)
    n_events += len(events)
    await conn.close()
    assert not open_, f"{len(open_)} challenges left unfinished"
    return {"heads": heads, "events": n_events, "challenges": n_challenges}


async def _flush(conn: asyncpg.Connection, events: list, done: list) -> int:
    if done:
        await conn.copy_records_to_table("challenges", records=done, columns=CHALLENGE_COLUMNS)
    if events:
        await conn.copy_records_to_table("events", records=events, columns=EVENT_COLUMNS)
    return len(done)


def groups(workers: int) -> list[list[int]]:
    """Municipalities shared out over the workers, heaviest first, by weight."""
    out: list[list[int]] = [[] for _ in range(workers)]
    load = [0] * workers
    for m in sorted(range(len(MUNICIPALITIES)), key=lambda m: -MUNICIPALITIES[m][2]):
        w = load.index(min(load))
        out[w].append(m)
        load[w] += MUNICIPALITIES[m][2]
    return [g for g in out if g]


async def _foreign_keys(conn: asyncpg.Connection) -> list[tuple[str, str]]:
    return [
        (r["conname"], r["def"])
        for r in await conn.fetch(
            "SELECT conname, pg_get_constraintdef(oid) AS def FROM pg_constraint"
            " WHERE conrelid = 'events'::regclass AND contype = 'f' AND confrelid = 'challenges'::regclass"
        )
    ]


def seed(url: str, n: int, seed_: int, reports: int, workers: int) -> None:
    global _PLAN, _TIMELINE
    now = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=1)
    t0 = time.perf_counter()

    async def prepare() -> tuple[dict, list]:
        conn = await asyncpg.connect(url)
        try:
            cat = await create_catalog(conn, random.Random(seed_))
            fks = await _foreign_keys(conn)
            for name, _ in fks:
                await conn.execute(f"ALTER TABLE events DROP CONSTRAINT {name}")
            return cat, fks
        finally:
            await conn.close()

    cat, fks = asyncio.run(prepare())
    _PLAN = Plan(seed_, now, reports, cat)
    _TIMELINE = Timeline(_PLAN, n)
    t1 = time.perf_counter()

    ctx = multiprocessing.get_context("fork")
    results = ctx.Queue()
    procs = [ctx.Process(target=work, args=(url, g, results)) for g in groups(workers)]
    for p in procs:
        p.start()
    outs = [results.get() for _ in procs]
    for p in procs:
        p.join()
        if p.exitcode:
            raise SystemExit(f"a worker failed (exit code {p.exitcode})")
    t2 = time.perf_counter()
    heads = {code: head for o in outs for code, head in o["heads"].items()}
    n_events = sum(o["events"] for o in outs)

    async def finish() -> None:
        conn = await asyncpg.connect(url)
        try:
            for name, definition in fks:
                await conn.execute(f"ALTER TABLE events ADD CONSTRAINT {name} {definition}")
            await conn.execute("INSERT INTO event_actors (event_id, token_id, actor_label) SELECT id, NULL, 'bench seed' FROM events")
            await conn.execute("SELECT setval(pg_get_serial_sequence('challenges', 'id'), $1)", n)
            await conn.execute("SELECT setval('event_ids', $1)", max(n_events, 1))
            for code, (seq, digest) in heads.items():
                await conn.execute("UPDATE ledger_heads SET seq = $2, hash = $3 WHERE municipality_code = $1", code, seq, digest)
            await conn.executemany(
                "INSERT INTO reference_counters (municipality_code, year, last) VALUES ($1, $2, $3)"
                " ON CONFLICT (municipality_code, year) DO UPDATE SET last = GREATEST(reference_counters.last, EXCLUDED.last)",
                [(code, year, last) for (code, year), last in _TIMELINE.counters.items()],
            )
            # The statistics' facts (schema/0010), by the app's own function.
            await conn.execute("SELECT refresh_challenge_facts(NULL)")
            # The served copies were rendered here in Python; PostgreSQL must print them the same.
            differ = await conn.fetchval(
                "SELECT count(*) FROM events WHERE id IN (SELECT generate_series(1, $1, 97))"
                " AND doc <> (body || jsonb_build_object('id', id, 'hash', hash))::text",
                n_events,
            )
            if differ:
                raise SystemExit(f"{differ} sampled events.doc differ from PostgreSQL's rendering: the jsonb_text() copy is wrong")
            t3 = time.perf_counter()
            print(f"  constraints, actors, heads {t3 - t2:.1f}s", flush=True)
            await conn.execute("VACUUM (ANALYZE)")
            print(f"  VACUUM ANALYZE {time.perf_counter() - t3:.1f}s", flush=True)
            states = await conn.fetch("SELECT state, count(*) AS n FROM challenges GROUP BY state ORDER BY n DESC")
            print("  states: " + ", ".join(f"{r['state']} {r['n']}" for r in states))
        finally:
            await conn.close()

    asyncio.run(finish())
    print(f"seeded {n:,} challenges and {n_events:,} events ({n_events / max(n, 1):.1f} a challenge)"
          f" in {len(MUNICIPALITIES)} municipalities: timeline {t1 - t0:.1f}s, engine+ledger+COPY {t2 - t1:.1f}s"
          f" ({len(procs)} workers), total {time.perf_counter() - t0:.1f}s", flush=True)


async def verify(url: str) -> bool:
    """Every chain with `registry verify`'s own checker, plus what only a seeder
    can get wrong: the ledger heads and the event_ids sequence the app appends from."""
    from registry.opendata import verify as verifier

    conn = await asyncpg.connect(url)
    try:
        report = await verifier.verify_database(conn, url=url, workers=os.cpu_count() or 1)
        print(report.summary())
        ok = report.ok
        for r in await conn.fetch("SELECT municipality_code, seq, hash FROM ledger_heads WHERE seq > 0 ORDER BY 1"):
            if report.chains.get(r["municipality_code"]) != (r["seq"], r["hash"]):
                print(f"  {r['municipality_code']}: ledger head #{r['seq']} is not the chain's last event: BROKEN")
                ok = False
        last = await conn.fetchval("SELECT last_value FROM event_ids")
        top = await conn.fetchval("SELECT coalesce(max(id), 0) FROM events")
        if last < top:
            print(f"  event_ids is at {last} but events go up to {top}: BROKEN")
            ok = False
    finally:
        await conn.close()
    print("all chains verify" if ok else "VERIFICATION FAILED")
    return ok


async def present(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval("SELECT count(*) FROM challenges")
    finally:
        await conn.close()


def cli(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--database-url", default=DEFAULT_URL, help=f"default {DEFAULT_URL} (created if missing)")
    p.add_argument("-n", "--challenges", type=int, default=100_000)
    p.add_argument("--reports", type=int, default=DEFAULT_REPORTS,
                   help=f"extra progress reports of a challenge in operation: 0 to N-1 (default {DEFAULT_REPORTS}; 28 gives ~10 events a challenge)")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    p.add_argument("--reset", action="store_true", help="drop and recreate the database first")
    p.add_argument("--verify", action="store_true", help="check every municipality's chain afterwards")
    p.add_argument("--seed", type=int, default=2026, help="random seed")
    args = p.parse_args(argv)
    if not 1 <= args.reports <= 50:
        p.error("--reports must be between 1 and 50")
    asyncio.run(ensure_database(args.database_url, args.reset))
    already = asyncio.run(present(args.database_url))
    if already:
        print(f"{already} challenges already present; nothing seeded (use --reset to start over)")
    else:
        seed(args.database_url, args.challenges, args.seed, args.reports, max(1, args.workers))
    if args.verify:
        t = time.perf_counter()
        ok = asyncio.run(verify(args.database_url))
        print(f"  verified in {time.perf_counter() - t:.1f}s")
        return 0 if ok else 1
    return 0


if __name__ == "__main__":
    sys.exit(cli())
