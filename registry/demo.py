"""Demo data: Amsterdam, Rotterdam and Utrecht with services of every category,
collectives, and challenges carried through the real procedure into every state."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import asyncpg

from registry import challenges as handling
from registry.db import Db
from registry.inputs import Filing
from registry.store import catalog, tokens
from registry.store.tokens import Actor

MUNICIPALITIES = [
    ("GM0363", "Amsterdam", ["Noord", "Oost", "Nieuw-West", "Zuidoost", "De Pijp"]),
    ("GM0599", "Rotterdam", ["Afrikaanderwijk", "Delfshaven", "Feijenoord", "Kralingen", "Charlois"]),
    ("GM0344", "Utrecht", ["Kanaleneiland", "Overvecht", "Lombok", "Zuilen", "Leidsche Rijn"]),
]

SERVICES = [
    ("renovation", "Renovatie portiekflats", "Wonen", 2_450_000_00, "Groot onderhoud en verduurzaming van portiekwoningen."),
    ("street_cleaning", "Straatreiniging en zwerfafval", "Stadsbeheer", 860_000_00, "Vegen, legen van afvalbakken en zwerfafval."),
    ("microcorporation", "Beheer huurwoningen bouwblok", "Wonen", 310_000_00, "Verhuur, klein onderhoud en coöptatie in één bouwblok."),
    ("green_maintenance", "Onderhoud buurtgroen", "Stadsbeheer", 520_000_00, "Maaien, snoeien en beplanten van plantsoenen."),
    ("neighbourhood_supervision", "Buurttoezicht", "Veiligheid", 410_000_00, "Toezicht en gastheerschap in de openbare ruimte."),
    ("other", "Beheer buurthuis", "Maatschappelijke ontwikkeling", 190_000_00, "Exploitatie en programmering van het buurthuis."),
]
EXCLUDED = ("other", "Handhaving parkeren", "Stadsbeheer", 1_200_000_00, "Parkeercontrole.",
            "a task reserved to government (enforcement)")

COLLECTIVES = [
    ("Bewonersvereniging {n}", "association"),
    ("Buurtcoöperatie {n}", "cooperative"),
    ("Stichting Groen {n}", "foundation"),
    ("Buurtteam {n}", "informal_group"),
]

# Each path carries a challenge into its final state; (action, role, fields).
ADM = [("submit", "collective", {}), ("declare_admissible", "reviewer", {})]
AGREE = [("accept", "reviewer", {}), ("conclude_agreement", "reviewer", "agreement")]
RUN = [("start_operation", "reviewer", {}), ("report_progress", "collective",
        {"report": "Eerste kwartaal: 14 vrijwilligers, 212 uur inzet, 3 klachten afgehandeld."})]
PATHS: dict[str, list] = {
    "draft": [],
    "submitted": [("submit", "collective", {})],
    "under_assessment": ADM,
    "information_requested": ADM + [("request_information", "reviewer",
        {"questions": "Kunt u de begroting per jaar uitsplitsen en aangeven hoeveel vrijwilligers zich hebben aangemeld?"})],
    "inadmissible": [("submit", "collective", {}), ("declare_inadmissible", "reviewer",
        {"grounds": ["NL-NOT-CURRENT-TASK"], "reasons": "De gemeente voert deze taak niet zelf uit; zij is belegd bij de woningcorporatie."})],
    "lapsed": [("submit", "collective", {}), ("request_information", "reviewer",
        {"questions": "Wie neemt de continuïteit over als de kerngroep stopt?"}), ("lapse", "system", {})],
    "accepted": ADM + [("accept", "reviewer", {})],
    "modification_proposed": ADM + [("propose_modification", "reviewer",
        {"modification": "Start met één straat als proef van zes maanden.", "reasons": "Het draagvlak is nog niet overal aangetoond."})],
    "rejected": ADM + [("reject", "reviewer", {"grounds": ["NL-COST", "NL-CONTINUITY"],
        "reasons": "De begroting ligt 18 % boven de huidige kosten en de continuïteit na het eerste jaar is niet geborgd."})],
    "agreed": ADM + AGREE,
    "in_operation": ADM + AGREE + RUN,
    "evaluated": ADM + AGREE + RUN + [("evaluate", "reviewer", {"evaluation": "Doelen gehaald; bewoners tevreden (7,9)."})],
    "ended": ADM + AGREE + RUN + [("evaluate", "reviewer", {"evaluation": "Doelen gehaald."}), ("end", "reviewer", {})],
    "returned": ADM + AGREE + RUN + [("terminate", "collective", {"reasons": "Te weinig vrijwilligers na de zomer."})],
    "withdrawn": [("submit", "collective", {}), ("withdraw", "collective", {"reasons": "We sluiten aan bij een ander initiatief."})],
    "renewed": ADM + [("propose_modification", "reviewer", {"modification": "Halve begroting het eerste jaar.", "reasons": "Risico spreiden."}),
        ("consent", "collective", {}), ("conclude_agreement", "reviewer", "agreement")] + RUN
        + [("evaluate", "reviewer", {"evaluation": "Goed verlopen."}), ("renew", "reviewer", "renewal")],
}

TITLES = {
    "renovation": "Wij verduurzamen onze eigen portiekflats",
    "street_cleaning": "Schone straten door de buurt zelf",
    "microcorporation": "Microcorporatie: bewoners beheren hun bouwblok",
    "green_maintenance": "Het plantsoen in handen van de buurt",
    "neighbourhood_supervision": "Buurtgastheren in plaats van cameratoezicht",
    "other": "Het buurthuis door en voor bewoners",
}

PLAN = """## Wat we willen doen
We nemen de uitvoering van **{service}** over in {area}.

## Waarom beter of goedkoper
- Bewoners kennen de buurt en zien problemen eerder.
- We werken met vrijwilligers en twee betaalde krachten uit de wijk.

## Draagvlak
{support} buurtbewoners steunen het plan (handtekeningenlijst bij de gemeente).

## Begroting
Zie de bijlage; we vragen {budget} per jaar.
"""


async def seed(url: str) -> str:
    conn = await asyncpg.connect(url)
    try:
        if await conn.fetchval("SELECT count(*) FROM municipalities WHERE code = ANY($1)", [m[0] for m in MUNICIPALITIES]):
            return "demo data already present; nothing changed"
        pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
        try:
            lines = await _seed(conn, Db(pool))
        finally:
            await pool.close()
        from registry import areas

        for seed_area in areas.demo_seeders():
            lines += await seed_area(conn)
        return "seeded the demo data.\n" + "\n".join(lines)
    finally:
        await conn.close()


async def _seed(conn: asyncpg.Connection, db: Db) -> list[str]:
    rnd = random.Random(363)
    lines: list[str] = []
    today = datetime.now(timezone.utc).replace(hour=9, minute=0, second=0, microsecond=0)
    for code, name, areas in MUNICIPALITIES:
        await catalog.create_municipality(conn, code, name)
        services = []
        for category, sname, dept, budget, desc in SERVICES:
            sid = await catalog.create_service(conn, code, sname, category, dept, budget, desc)
            services.append((sid, category, sname, budget))
        await catalog.create_service(conn, code, EXCLUDED[1], EXCLUDED[0], EXCLUDED[2], EXCLUDED[3], EXCLUDED[4],
                                     challengeable=False, exclusion_reason=EXCLUDED[5])
        collectives = []
        for i, (pattern, form) in enumerate(COLLECTIVES):
            area = areas[i % len(areas)]
            kvk = f"{rnd.randrange(10**7, 10**8)}" if form != "informal_group" else None
            cid = await catalog.create_collective(
                conn, code, pattern.format(n=area), form, kvk, area,
                contact_name=f"Contactpersoon {area}", email=f"contact@{area.lower().replace(' ', '')}.example",
                phone="+31 6 0000 0000", members=((f"Lid {area} 1", ""), (f"Lid {area} 2", "")),
            )
            collectives.append((cid, area))
        reviewer = Actor(0, "reviewer", code)
        for n, (target, path) in enumerate(PATHS.items()):
            sid, category, sname, budget = services[n % len(services)]
            cid, area = collectives[n % len(collectives)]
            collective = Actor(0, "collective", code, cid)
            # Start far enough back that the steps are spread over weeks, and
            # leave a few challenges overdue, as in real life.
            t = today - timedelta(days=40 + 9 * len(path) + rnd.randrange(0, 30))
            requested = budget // rnd.choice([3, 4, 5])
            filing = Filing(
                service=sid, title=f"{TITLES[category]} ({area})",
                summary=f"Een bewonersgroep uit {area} wil {sname.lower()} zelf uitvoeren, met meer zeggenschap en lagere kosten.",
                plan=PLAN.format(service=sname.lower(), area=area, support=rnd.randrange(40, 400), budget=f"€ {requested / 100:,.0f}"),
                requested_budget_cents=requested, area=f"{name} {area}",
                proposed_start=(today + timedelta(days=90)).date(), duration_months=rnd.choice([12, 24, 36]),
            )
            ref = await handling.file(db, collective, filing, t)
            version = 1
            for action, role, fields in path:
                t += timedelta(days=rnd.randrange(3, 9), hours=rnd.randrange(0, 8))
                if action == "lapse":
                    t += timedelta(days=30)
                if fields == "agreement":
                    fields = {"budget_cents": requested * 9 // 10, "starts_on": t.date() + timedelta(days=7),
                              "ends_on": t.date() + timedelta(days=372),
                              "conditions": "Kwartaalrapportage; jaarrekening vóór 1 mei; de gemeente blijft eigenaar van het materieel."}
                elif fields == "renewal":
                    fields = {"ends_on": t.date() + timedelta(days=730)}
                actor = collective if role == "collective" else reviewer
                if role == "system":
                    actor = Actor(0, "system", code)
                await handling.act(db, actor, ref, action, version, fields, t)
                version += 1
            lines.append(f"  {ref}  {target}")
        for role in ("reviewer", "admin"):
            lines.append(f"{code} {role} token: {await tokens.create_token(conn, role, code, label='demo')}")
        cid = collectives[0][0]
        lines.append(f"{code} collective {cid} token: {await tokens.create_token(conn, 'collective', code, cid, label='demo')}")
    return lines
