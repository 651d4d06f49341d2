"""Search behaviour against a real PostgreSQL: accents, compound words, typos,
Dutch stemming, filters and keyset pagination."""

from __future__ import annotations

import pytest

from registry.initiatives import search
from tests.conftest import make_place
from tests.initiatives.conftest import make_initiative


@pytest.fixture
async def town(db):
    """A municipality of its own with a handful of initiatives."""
    async with db.connection() as conn:
        place = await make_place(conn)
        code = place.code
        ids = {
            "energy": await make_initiative(
                conn, code, "Energiecoöperatie Zonnig Zuid", domains=["energy"], neighbourhoods=["Zuid"],
                reciprocity="strangers_for_each_other", offers=["Advies over zonnepanelen"],
                description="Wij leggen **zonnepanelen** op de daken van de buurt.",
            ),
            "bread": await make_initiative(
                conn, code, "Broodfonds De Bakkers", domains=["work_and_income"], neighbourhoods=["Noord"],
                reciprocity="acquaintances_for_each_other", needs=["Nieuwe leden die zelfstandig ondernemer zijn"],
                description="Zelfstandigen dragen elkaar bij ziekte.",
            ),
            "care": await make_initiative(
                conn, code, "Zorgcirkel Lindenhof", domains=["care"], neighbourhoods=["Noord", "Centrum"],
                reciprocity="acquaintances_for_acquaintances",
                needs=["Vrijwilligers die kunnen voorlezen aan kinderen"], offers=["Maaltijden op dinsdag"],
            ),
            "clean": await make_initiative(
                conn, code, "Opschoondag Centrum", domains=["green", "safety"], neighbourhoods=["Centrum"],
                reciprocity="strangers_for_strangers", offers=["Een bakfiets op zaterdag"],
                description="Eens per maand ruimen we samen het zwerfafval op in het café-plein.",
            ),
        }
    return code, ids


async def ids_for(db, code: str, q: str | None = None, **filters) -> list[int]:
    async with db.connection() as conn:
        rows, _ = await search.search(conn, search.Query(q=q, municipality=code, **filters), None, 50)
    return [r["id"] for r in rows]


@pytest.mark.parametrize(
    "q",
    ["energiecooperatie", "energiecoöperatie", "energie coöperatie", "Energie-coöperatie", "enrgiecooperatie",
     "energiecoperatie", "ENERGIECOÖPERATIE"],
)
async def test_compounds_accents_and_typos_find_the_cooperative(db, town, q):
    code, ids = town
    found = await ids_for(db, code, q)
    assert found and found[0] == ids["energy"], (q, found)


@pytest.mark.parametrize(
    "q, key",
    [
        ("vrijwilliger", "care"),  # stemming: vrijwilligers
        ("maaltijd", "care"),  # maaltijden
        ("zonnepaneel", "energy"),  # typo-ish singular of zonnepanelen (trigram)
        ("zonnepanelen", "energy"),  # in the description and the offers
        ("cafe", "clean"),  # café in the description
        ("zelfstandige", "bread"),  # "Zelfstandigen" in the description, via the stem
        ("dak", "energy"),  # "daken": plural to singular
        ("broodfods", "bread"),  # typo
        ("bakfiets zaterdag", "clean"),  # several words, in an offer
        ("zelfstandig ondernemer", "bread"),  # a need
    ],
)
async def test_dutch_words_find_their_initiative(db, town, q, key):
    code, ids = town
    found = await ids_for(db, code, q)
    assert ids[key] in found[:2], (q, found)


async def test_nonsense_finds_nothing(db, town):
    code, _ = town
    assert await ids_for(db, code, "xylofoonquartet") == []
    # Only stop words: no error, no crash.
    assert isinstance(await ids_for(db, code, "de het een"), list)


async def test_filters(db, town):
    code, ids = town
    assert set(await ids_for(db, code, neighbourhood="Noord")) == {ids["bread"], ids["care"]}
    assert await ids_for(db, code, domain="energy") == [ids["energy"]]
    assert set(await ids_for(db, code, domain="safety")) == {ids["clean"]}
    assert await ids_for(db, code, reciprocity="acquaintances_for_each_other") == [ids["bread"]]
    assert await ids_for(db, code, open_challenge=True) == []
    assert await ids_for(db, code, "broodfonds", domain="energy") == []


async def test_browse_pages_by_name_without_offset(db, town):
    code, ids = town
    seen, cursor = [], None
    async with db.connection() as conn:
        while True:
            rows, cursor = await search.search(conn, search.Query(municipality=code), cursor, 1)
            seen += [r["name"] for r in rows]
            if cursor is None:
                break
    assert seen == sorted(seen) and len(seen) == 4


async def test_ranked_pages_are_disjoint_and_complete(db, town):
    code, ids = town
    q = "buurt vrijwilligers zaterdag zonnepanelen ziekte"  # matches several, with different ranks
    async with db.connection() as conn:
        everything, _ = await search.search(conn, search.Query(q="centrum noord zuid", municipality=code), None, 50)
        whole = [r["id"] for r in everything]
        paged, cursor = [], None
        while True:
            rows, cursor = await search.search(conn, search.Query(q="centrum noord zuid", municipality=code), cursor, 1)
            paged += [r["id"] for r in rows]
            if cursor is None:
                break
    assert paged == whole
    assert q  # (kept for readability)


async def test_a_cursor_of_the_wrong_kind_is_refused(db, town):
    code, _ = town
    async with db.connection() as conn:
        _, cursor = await search.search(conn, search.Query(municipality=code), None, 1)
        with pytest.raises(search.BadCursor):
            await search.search(conn, search.Query(q="broodfonds", municipality=code), cursor, 1)
        for junk in ("", "abc", "W10", "WyJuIiwiYSIsMF0"):
            with pytest.raises(search.BadCursor):
                search.decode_cursor(junk or "x", ranked=False)


async def test_a_renamed_collective_is_found_by_its_new_name(db, town):
    code, ids = town
    async with db.connection() as conn:
        await conn.execute("UPDATE collectives SET name = 'Repaircafé Hamerslag' WHERE id = $1", ids["clean"])
    assert await ids_for(db, code, "repaircafe") == [ids["clean"]]
