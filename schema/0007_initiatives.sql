-- Citizen initiatives: the public profile of a collective (one per collective),
-- searchable with Dutch full-text search plus trigram similarity, and the
-- private things around it (reports, relayed messages, confirmation links).
-- New tables only, plus one small trigger on collectives: no rewrite of an
-- existing table, so this migration is instant on a large registry.

CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS unaccent;

-- unaccent() is STABLE (its dictionary could change); indexes and generated
-- values need IMMUTABLE. Naming the dictionary explicitly makes the wrapper
-- safe to mark so. Built with the extension's actual schema.
DO $$
DECLARE s text;
BEGIN
    SELECT n.nspname INTO s FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
     WHERE e.extname = 'unaccent';
    EXECUTE format(
        'CREATE FUNCTION initiative_fold(text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT'
        ' AS %L',
        format('SELECT lower(%I.unaccent(%L::regdictionary, $1))', s, s || '.unaccent'));
    -- Dutch stemming after removing accents: "coöperatie" and "cooperatie",
    -- "café" and "cafe" are the same word.
    EXECUTE 'CREATE TEXT SEARCH CONFIGURATION initiatives_nl (COPY = pg_catalog.dutch)';
    EXECUTE format('ALTER TEXT SEARCH CONFIGURATION initiatives_nl ALTER MAPPING FOR hword, hword_part, word'
                   ' WITH %I.unaccent, dutch_stem', s);
END $$;

CREATE TABLE initiatives (
    collective_id       bigint PRIMARY KEY REFERENCES collectives ON DELETE CASCADE,
    -- Copies of the collective's name and municipality, kept in step by the
    -- trigger on collectives below, so that search, filters and keyset
    -- pagination run on this one table's indexes.
    name                text NOT NULL,
    municipality_code   text NOT NULL REFERENCES municipalities,
    neighbourhoods      text[] NOT NULL DEFAULT '{}' CHECK (cardinality(neighbourhoods) <= 20),
    founded_year        int CHECK (founded_year BETWEEN 1800 AND 2200),
    website             text CHECK (website ~ '^https?://[^\s]+$' AND length(website) <= 500),
    description         text NOT NULL DEFAULT '' CHECK (length(description) <= 20000),
    domains             text[] NOT NULL DEFAULT '{}' CHECK (domains <@ ARRAY['energy', 'care', 'food',
                            'housing', 'green', 'safety', 'sharing', 'work_and_income', 'youth', 'culture',
                            'other']::text[]),
    reciprocity         text CHECK (reciprocity IN ('acquaintances_for_each_other',
                            'acquaintances_for_acquaintances', 'strangers_for_each_other',
                            'strangers_for_strangers')),
    -- A count, never the members themselves.
    members_count       int CHECK (members_count BETWEEN 0 AND 10000000),
    offers              text[] NOT NULL DEFAULT '{}' CHECK (cardinality(offers) <= 20),
    needs               text[] NOT NULL DEFAULT '{}' CHECK (cardinality(needs) <= 20),
    -- Care by the municipality; every change here is also an event in its chain.
    verified_at         timestamptz,
    verified_note       text,
    hidden_at           timestamptz,
    hidden_reason       text,
    featured_at         timestamptz,
    featured_reason     text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    -- The last edit or confirmation by a member; two years older means
    -- "possibly inactive".
    last_confirmed_at   timestamptz NOT NULL DEFAULT now(),
    search_vector       tsvector NOT NULL DEFAULT ''::tsvector,
    CHECK ((hidden_at IS NULL) = (hidden_reason IS NULL)),
    CHECK ((featured_at IS NULL) = (featured_reason IS NULL))
);

-- The vocabulary of names, offers and needs: every folded word, and every two
-- adjacent words written together ("energie coöperatie" -> "energiecooperatie").
-- A query's words (and the query written together) are matched against these
-- few terms by trigram similarity, which corrects typos and joins or splits
-- compounds; the corrected terms then go into the full-text query. So the
-- large table is only ever searched through its tsvector GIN index.
CREATE TABLE initiative_terms (
    term    text NOT NULL,  -- what a query word is compared with
    phrase  text NOT NULL,  -- what is then searched for: the word, or the two words
    PRIMARY KEY (term, phrase)
);
CREATE INDEX initiative_terms_trgm ON initiative_terms USING gin (term gin_trgm_ops);

CREATE FUNCTION initiatives_search_document() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    lists text := array_to_string(NEW.offers || NEW.needs, ' ');
    words text[];
BEGIN
    NEW.search_vector :=
           setweight(to_tsvector('initiatives_nl', NEW.name), 'A')
        || setweight(to_tsvector('initiatives_nl', lists), 'B')
        || setweight(to_tsvector('initiatives_nl', NEW.description), 'C');
    words := ARRAY(SELECT w FROM regexp_split_to_table(initiative_fold(NEW.name || ' ' || lists), '[^[:alpha:]]+') w
                   WHERE length(w) >= 3);
    INSERT INTO initiative_terms (term, phrase)
        SELECT w, w FROM unnest(words) w
        UNION
        SELECT words[k] || words[k + 1], words[k] || ' ' || words[k + 1]
          FROM generate_series(1, cardinality(words) - 1) k
        ON CONFLICT DO NOTHING;
    RETURN NEW;
END $$;

CREATE TRIGGER initiatives_search BEFORE INSERT OR UPDATE OF name, description, offers, needs ON initiatives
    FOR EACH ROW EXECUTE FUNCTION initiatives_search_document();

CREATE FUNCTION initiatives_follow_collective() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE initiatives SET name = NEW.name WHERE collective_id = NEW.id AND name IS DISTINCT FROM NEW.name;
    RETURN NULL;
END $$;

CREATE TRIGGER collectives_name_to_initiatives AFTER UPDATE OF name ON collectives
    FOR EACH ROW EXECUTE FUNCTION initiatives_follow_collective();

CREATE INDEX initiatives_fts ON initiatives USING gin (search_vector);
CREATE INDEX initiatives_by_name ON initiatives (name, collective_id) WHERE hidden_at IS NULL;
CREATE INDEX initiatives_by_municipality ON initiatives (municipality_code, name, collective_id) WHERE hidden_at IS NULL;
CREATE INDEX initiatives_domains ON initiatives USING gin (domains);
CREATE INDEX initiatives_neighbourhoods ON initiatives USING gin (neighbourhoods);
CREATE INDEX initiatives_featured ON initiatives (municipality_code, featured_at) WHERE featured_at IS NOT NULL;
CREATE INDEX initiatives_stale ON initiatives (last_confirmed_at) WHERE hidden_at IS NULL;

-- Private: reports by anyone, until a civil servant acts on them.
CREATE TABLE initiative_reports (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    collective_id       bigint NOT NULL REFERENCES initiatives ON DELETE CASCADE,
    reason              text NOT NULL CHECK (length(reason) BETWEEN 1 AND 2000),
    reporter_user_id    bigint REFERENCES users ON DELETE SET NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    handled_at          timestamptz,
    outcome             text
);
CREATE INDEX initiative_reports_open ON initiative_reports (collective_id, id) WHERE handled_at IS NULL;

-- Private: messages relayed from a resident to an initiative's contact. The
-- contact may answer once through a one-time link (stored hashed); neither
-- side ever sees the other's address.
CREATE TABLE initiative_messages (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    collective_id       bigint NOT NULL REFERENCES initiatives ON DELETE CASCADE,
    sender_user_id      bigint NOT NULL REFERENCES users ON DELETE CASCADE,
    body                text NOT NULL CHECK (length(body) BETWEEN 1 AND 5000),
    reply_token_hash    bytea NOT NULL UNIQUE,
    created_at          timestamptz NOT NULL DEFAULT now(),
    replied_at          timestamptz
);
CREATE INDEX initiative_messages_by_sender ON initiative_messages (sender_user_id, id);

-- Private: "is your initiative still active?" links sent to the contact.
CREATE TABLE initiative_confirmations (
    collective_id       bigint PRIMARY KEY REFERENCES initiatives ON DELETE CASCADE,
    token_hash          bytea NOT NULL UNIQUE,
    asked_at            timestamptz NOT NULL,
    expires_at          timestamptz NOT NULL
);
