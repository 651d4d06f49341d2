"""The directory query: Dutch full-text search, typo- and compound-tolerant
through a trigram-matched vocabulary, with filters and keyset pagination
(never OFFSET).

Matching, in two steps:
1. The query's words (accents removed, at least 3 letters) and the query
   written together are compared, by trigram similarity (pg_trgm, GIN), with
   ``initiative_terms``: every word of the names, offers and needs, and every
   two adjacent words written together. Per key, the best terms (similarity
   ≥ 0.45, for the query written together ≥ 0.6, and within 0.1 of the
   best) are kept: "enrgiecooperatie" →
   "energiecooperatie"; "energie coöperatie" → "energiecooperatie";
   "energiecooperatie" → the words "energie coöperatie" of another name.
2. A row matches when its tsvector (name A, offers and needs B, description C;
   Dutch stemming after unaccent) matches ``websearch_to_tsquery(q)`` OR the
   phrase of any kept term. Only the tsvector's GIN index touches the big table.

Order. With a query: by ts_rank, then id; the cursor carries both. Without:
by name, then id; the cursor carries both. Either way the next page starts
strictly after the cursor's row.
"""

from __future__ import annotations

import base64

import asyncpg
import msgspec

from registry.initiatives.store import OPEN_CHALLENGE, PUBLIC_COLUMNS, PUBLIC_JOINS


class Query(msgspec.Struct, frozen=True):
    q: str | None = None
    municipality: str | None = None
    neighbourhood: str | None = None
    domain: str | None = None
    reciprocity: str | None = None
    open_challenge: bool = False


class BadCursor(ValueError):
    pass


def encode_cursor(key: list) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(key)).decode().rstrip("=")


def decode_cursor(cursor: str, ranked: bool) -> tuple:
    """(rank, id) for a ranked search, (name, id) for browsing; BadCursor otherwise."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = msgspec.json.decode(raw)
    except (ValueError, msgspec.DecodeError) as exc:
        raise BadCursor("This cursor is not one we gave out.") from exc
    if not (isinstance(key, list) and len(key) == 3 and type(key[2]) is int and 1 <= key[2] <= 2**53 - 1):
        raise BadCursor("This cursor is not one we gave out.")
    kind, first, ident = key
    if ranked and kind == "r" and isinstance(first, (int, float)) and not isinstance(first, bool):
        return float(first), ident
    if not ranked and kind == "n" and isinstance(first, str) and "\x00" not in first:
        return first, ident
    raise BadCursor("This cursor belongs to another kind of listing (with or without a search query).")


TERMS_SQL = """
WITH words AS (
    SELECT w, n FROM regexp_split_to_table(initiative_fold($1), '[^[:alpha:]]+') WITH ORDINALITY AS x(w, n)
    WHERE length(w) >= 3 LIMIT 12
), keys AS (
    SELECT w AS k, n FROM words UNION ALL SELECT string_agg(w, '' ORDER BY n), 0 FROM words HAVING count(*) > 1
), near AS (
    SELECT keys.k, keys.n, t.phrase, similarity(t.term, keys.k) AS sim
    FROM keys, LATERAL (SELECT term, phrase FROM initiative_terms WHERE term % keys.k
                        ORDER BY term <-> keys.k LIMIT 5) t
)
SELECT k.n, plainto_tsquery('initiatives_nl', k.k)::text AS own,
       coalesce((SELECT array_agg(DISTINCT phraseto_tsquery('initiatives_nl', x.phrase)::text) FROM near x
                 WHERE x.n = k.n AND x.sim >= greatest(CASE WHEN k.n = 0 THEN 0.6 ELSE 0.45 END,
                                                              (SELECT max(sim) FROM near b WHERE b.n = k.n) - 0.1)),
                '{}') AS fixes
FROM keys k ORDER BY k.n
"""


async def full_text_query(conn: asyncpg.Connection, q: str) -> str:
    """The tsquery (as text) for ``q``: every word (or a correction of it) must
    match — or the query written together matches a term (a compound)."""
    rows = await conn.fetch(TERMS_SQL, q)
    base = await conn.fetchval("SELECT websearch_to_tsquery('initiatives_nl', $1)::text", q)
    alternatives = [base] if base else []
    each_word = []
    for row in rows:
        options = list(dict.fromkeys(o for o in [row["own"] if row["n"] else None, *row["fixes"]] if o))
        if row["n"] == 0:  # the query written together
            alternatives += options
        elif options:
            each_word.append(" | ".join(f"( {o} )" for o in options))
    if each_word:
        alternatives.append(" & ".join(f"( {w} )" for w in each_word))
    return " | ".join(f"( {a} )" for a in alternatives)


async def search(
    conn: asyncpg.Connection, f: Query, cursor: str | None, limit: int
) -> tuple[list[asyncpg.Record], str | None]:
    """One page of visible initiatives and the cursor of the next page (or None)."""
    q = (f.q or "").replace("\x00", "").strip()
    ranked = bool(q)
    after = decode_cursor(cursor, ranked) if cursor else None
    args: list = []

    def arg(value) -> str:
        args.append(value)
        return f"${len(args)}"

    where = ["i.hidden_at IS NULL"]
    if f.municipality:
        where.append(f"i.municipality_code = {arg(f.municipality)}")
    if f.neighbourhood:
        where.append(f"i.neighbourhoods @> ARRAY[{arg(f.neighbourhood)}::text]")
    if f.domain:
        where.append(f"i.domains @> ARRAY[{arg(f.domain)}::text]")
    if f.reciprocity:
        where.append(f"i.reciprocity = {arg(f.reciprocity)}")
    if f.open_challenge:
        where.append(f"EXISTS (SELECT 1 FROM challenges ch WHERE {OPEN_CHALLENGE})")

    if ranked:
        tsq = f"{arg(await full_text_query(conn, q))}::tsquery"
        page = ""
        if after is not None:
            r, ident = arg(after[0]), arg(after[1])
            page = f" WHERE (r.rank < {r}::float8 OR (r.rank = {r}::float8 AND r.id > {ident}::bigint))"
        sql = (
            f"WITH r AS (SELECT i.collective_id AS id, ts_rank(i.search_vector, {tsq})::float8 AS rank"
            f" FROM initiatives i WHERE {' AND '.join(where)} AND i.search_vector @@ {tsq})"
            f" SELECT {PUBLIC_COLUMNS}, r.rank FROM (SELECT id, rank FROM r{page}"
            f" ORDER BY rank DESC, id LIMIT {arg(limit + 1)}) r"
            f" JOIN initiatives i ON i.collective_id = r.id"
            f" JOIN collectives c ON c.id = i.collective_id JOIN municipalities m ON m.code = i.municipality_code"
            f" ORDER BY r.rank DESC, r.id"
        )
    else:
        if after is not None:
            n, ident = arg(after[0]), arg(after[1])
            where.append(f"(i.name, i.collective_id) > ({n}::text, {ident}::bigint)")
        sql = (
            f"SELECT {PUBLIC_COLUMNS} {PUBLIC_JOINS} WHERE {' AND '.join(where)}"
            f" ORDER BY i.name, i.collective_id LIMIT {arg(limit + 1)}"
        )
    rows = await conn.fetch(sql, *args)
    more = len(rows) > limit
    rows = rows[:limit]
    nxt = None
    if more and rows:
        last = rows[-1]
        nxt = encode_cursor(["r", last["rank"], last["id"]] if ranked else ["n", last["name"], last["id"]])
    return rows, nxt
