"""Demo initiatives for Amsterdam, Rotterdam and Utrecht: profiles for the
foundation's demo collectives, and the kinds of initiatives Dutch
neighbourhoods know — bread funds, energy cooperatives, care circles, a
community centre, a neighbourhood alert app, clean-up days. Part of
``registry seed --demo`` (registry.areas)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import asyncpg

from registry.initiatives import care, store
from registry.initiatives.profile import Profile

# (name, legal form, domains, reciprocity, offers, needs, description)
KINDS = [
    ("Broodfonds {n}", "association", ["work_and_income"], "acquaintances_for_each_other",
     ["Schenkingen bij ziekte voor aangesloten zelfstandigen"], ["Nieuwe leden: zelfstandig ondernemers uit de buurt"],
     "Een **broodfonds** van zelfstandigen die elkaar bij langdurige ziekte onderling schenkingen geven. "
     "We komen vier keer per jaar samen."),
    ("Energiecoöperatie {n}", "cooperative", ["energy"], "strangers_for_each_other",
     ["Gratis energiescan aan huis", "Advies over zonnepanelen en isolatie"], ["Daken van minstens 300 m² voor een zonnedak"],
     "Wij wekken samen **duurzame energie** op met zonnepanelen op daken in de wijk. Leden delen in de opbrengst."),
    ("Zorgcirkel {n}", "informal_group", ["care"], "acquaintances_for_acquaintances",
     ["Boodschappen en vervoer naar het ziekenhuis", "Maaltijden op dinsdag"], ["Vrijwilligers die een uur per week kunnen helpen"],
     "Buren die samen zorgen voor een zieke buurvrouw en haar mantelzorger ontlasten."),
    ("Buurthuis {n}", "foundation", ["culture", "youth", "care"], "strangers_for_strangers",
     ["Een zaal voor 20 mensen op dinsdagavond", "Koffie-ochtend op woensdag"],
     ["Vrijwilligers die kunnen voorlezen met kinderen", "Een busje op zaterdag"],
     "Het buurthuis wordt gerund **door en voor bewoners**: huiswerkklas, taalcafé, repaircafé en een wekelijkse maaltijd."),
    ("Buurtpreventie-app {n}", "informal_group", ["safety"], "strangers_for_strangers",
     ["Buurtwandelingen op vrijdagavond"], ["Bewoners die meelopen"],
     "Een WhatsApp-groep en vaste avondrondes; we melden verlichting die kapot is en houden een oogje in het zeil."),
    ("Opschoondag {n}", "informal_group", ["green", "safety"], "strangers_for_strangers",
     ["Grijpers, vuilniszakken en een bakfiets"], ["Een plek om materiaal op te slaan"],
     "Elke eerste zaterdag van de maand ruimen we samen het zwerfafval op. Daarna koffie."),
    ("Voedseltuin {n}", "association", ["food", "green"], "strangers_for_each_other",
     ["Groenten voor de voedselbank", "Moestuinles voor schoolklassen"], ["Een waterpomp", "Tuinders op maandag"],
     "Een moestuin op een braakliggend terrein; de oogst gaat naar de voedselbank en de deelnemers."),
    ("Deelkast {n}", "informal_group", ["sharing"], "strangers_for_each_other",
     ["Gereedschap lenen: boormachine, ladder, steigers"], ["Een droge ruimte op de begane grond"],
     "Een deelkast met gereedschap en keukenspullen voor de hele straat."),
    ("Wooncoöperatie {n}", "cooperative", ["housing"], "acquaintances_for_each_other",
     ["Rondleidingen voor andere woongroepen"], ["Een architect die mee wil denken"],
     "Bewoners die samen een complex beheren en betaalbaar houden."),
    ("Jongerenwerkplaats {n}", "foundation", ["youth", "work_and_income"], "strangers_for_strangers",
     ["Stageplekken fietsenmakerij"], ["Tweedehands fietsen", "Een werkplaats met krachtstroom"],
     "Jongeren leren een vak in onze fietsenwerkplaats en verdienen hun eerste loon."),
]


async def seed(conn: asyncpg.Connection) -> list[str]:
    if await conn.fetchval("SELECT count(*) FROM initiatives WHERE municipality_code IN ('GM0363', 'GM0599', 'GM0344')"):
        return []
    rnd = random.Random(6)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    lines: list[str] = []
    for code in ("GM0363", "GM0599", "GM0344"):
        if not await conn.fetchval("SELECT 1 FROM municipalities WHERE code = $1", code):
            continue
        # The foundation's demo collectives get a profile.
        for c in await conn.fetch("SELECT id, name, legal_form, neighbourhood FROM collectives WHERE municipality_code = $1 ORDER BY id", code):
            kind = KINDS[c["id"] % len(KINDS)]
            await store.insert_profile(conn, c["id"], Profile(
                name=c["name"], legal_form=c["legal_form"], neighbourhoods=[c["neighbourhood"]] if c["neighbourhood"] else [],
                founded_year=rnd.randrange(1995, 2024), description=kind[6], domains=kind[2], reciprocity=kind[3],
                members_count=rnd.randrange(8, 300), offers=kind[4], needs=kind[5],
            ), now - timedelta(days=rnd.randrange(0, 300)))
        areas = [r["neighbourhood"] for r in await conn.fetch(
            "SELECT DISTINCT neighbourhood FROM collectives WHERE municipality_code = $1 AND neighbourhood <> '' ORDER BY 1", code)]
        made = []
        for i, (name, form, domains, reciprocity, offers, needs, description) in enumerate(KINDS):
            area = areas[i % len(areas)] if areas else "Centrum"
            # One profile is old: it shows as possibly inactive.
            when = now - timedelta(days=800 if i == 6 else rnd.randrange(0, 500))
            ident = await store.create(
                conn, municipality=code,
                profile=Profile(
                    name=name.format(n=area), legal_form=form,
                    registration_number=None if form == "informal_group" else f"{rnd.randrange(10**7, 10**8)}",
                    neighbourhoods=[area] + ([areas[(i + 1) % len(areas)]] if areas and i % 3 == 0 else []),
                    founded_year=rnd.randrange(2005, 2025), website=f"https://{name.split()[0].lower().replace('ö', 'o')}-{area.lower().replace(' ', '')}.example",
                    description=description, domains=domains, reciprocity=reciprocity,
                    members_count=rnd.randrange(5, 400), offers=offers, needs=needs,
                ),
                contact_name=f"Contact {name.format(n=area)}",
                contact_email=f"initiatief-{code.lower()}-{i}@demo.example", member_user_id=None, now=when,
            )
            made.append(ident)
        admin = care.Carer("admin", code, None, "demo")
        await care.act(conn, admin, made[1], "verify", "KvK-inschrijving gecontroleerd.", now)
        await care.act(conn, admin, made[1], "feature", "Eerste energiecoöperatie die een schooldak van zonnepanelen voorzag.", now)
        await care.act(conn, admin, made[3], "feature", "Het buurthuis is sinds 2019 volledig in handen van bewoners.", now)
        lines.append(f"{code}: {len(made)} initiatives (+ profiles of the demo collectives); overview at /municipalities/{code}/initiatives")
    return lines
