-- The foundation: municipalities, services, collectives, challenges and the
-- hash-chained event log. Public and private data live in separate tables so
-- that erasing a person never touches the public, immutable history.

CREATE TABLE municipalities (
    code        text PRIMARY KEY CHECK (code ~ '^GM[0-9]{4}$'),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    -- registry.workflow.Settings as JSON: deadlines, working days, windows.
    settings    jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE services (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    municipality_code   text NOT NULL REFERENCES municipalities,
    name                text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    category            text NOT NULL CHECK (category IN ('renovation', 'street_cleaning',
                            'microcorporation', 'green_maintenance', 'neighbourhood_supervision', 'other')),
    department          text NOT NULL DEFAULT '',
    annual_budget_cents bigint NOT NULL CHECK (annual_budget_cents >= 0),
    description         text NOT NULL DEFAULT '',
    challengeable       boolean NOT NULL DEFAULT true,
    exclusion_reason    text,
    UNIQUE (municipality_code, name)
);
CREATE INDEX services_municipality ON services (municipality_code, id);

-- Public profile of a collective; legal persons may be published (GDPR recital 14).
CREATE TABLE collectives (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    municipality_code   text NOT NULL REFERENCES municipalities,
    name                text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    legal_form          text NOT NULL CHECK (legal_form IN ('association', 'cooperative', 'foundation', 'informal_group')),
    registration_number text CHECK (registration_number ~ '^[0-9]{8}$'),
    neighbourhood       text NOT NULL DEFAULT '',
    created_at          timestamptz NOT NULL DEFAULT now()
);

-- Private: people. Never joined into a public query.
CREATE TABLE collective_contacts (
    collective_id   bigint PRIMARY KEY REFERENCES collectives ON DELETE CASCADE,
    contact_name    text NOT NULL,
    email           text NOT NULL,
    phone           text NOT NULL DEFAULT ''
);

CREATE TABLE collective_members (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    collective_id   bigint NOT NULL REFERENCES collectives ON DELETE CASCADE,
    name            text NOT NULL,
    email           text NOT NULL DEFAULT ''
);

CREATE TABLE reference_counters (
    municipality_code   text NOT NULL REFERENCES municipalities,
    year                int NOT NULL,
    last                int NOT NULL,
    PRIMARY KEY (municipality_code, year)
);

CREATE TABLE challenges (
    id                      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ref                     text NOT NULL UNIQUE,
    municipality_code       text NOT NULL REFERENCES municipalities,
    service_id              bigint NOT NULL REFERENCES services,
    collective_id           bigint NOT NULL REFERENCES collectives,
    title                   text NOT NULL,
    summary                 text NOT NULL,
    plan                    text NOT NULL,
    requested_budget_cents  bigint NOT NULL CHECK (requested_budget_cents >= 0),
    area                    text NOT NULL,
    proposed_start          date NOT NULL,
    duration_months         int NOT NULL CHECK (duration_months BETWEEN 1 AND 600),
    support_count           int NOT NULL DEFAULT 0 CHECK (support_count >= 0),
    state                   text NOT NULL,
    version                 int NOT NULL DEFAULT 1,
    -- registry.workflow.ChallengeState as JSON: clock, decision, agreement.
    workflow                jsonb NOT NULL,
    due_at                  timestamptz,
    waiting_on              text,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    submitted_at            timestamptz
);
-- Drafts are the collective's own work in progress and never public.
CREATE INDEX challenges_public ON challenges (id) WHERE state <> 'draft';
CREATE INDEX challenges_by_municipality ON challenges (municipality_code, id) WHERE state <> 'draft';
CREATE INDEX challenges_by_state ON challenges (state, id);
CREATE INDEX challenges_by_updated ON challenges (updated_at) WHERE state <> 'draft';
CREATE INDEX challenges_by_service ON challenges (service_id, id);
CREATE INDEX challenges_by_collective ON challenges (collective_id, id);

-- The head of each municipality's hash chain. Writers lock this row, so a
-- chain can never fork; UNIQUE (municipality_code, prev_hash) below makes a
-- fork impossible even for a writer that forgets to.
CREATE TABLE ledger_heads (
    municipality_code   text PRIMARY KEY REFERENCES municipalities,
    seq                 bigint NOT NULL DEFAULT 0,
    hash                text NOT NULL DEFAULT repeat('0', 64)
);

-- Global order of events across municipalities. Values are taken while
-- holding the ledger advisory lock (see registry/store/events.py), so a
-- reader of "events after N" never sees N+1 commit before N.
CREATE SEQUENCE event_ids AS bigint;

CREATE TABLE events (
    id                  bigint PRIMARY KEY,
    municipality_code   text NOT NULL REFERENCES municipalities,
    seq                 bigint NOT NULL CHECK (seq >= 1),
    challenge_id        bigint NOT NULL REFERENCES challenges,
    -- The public, hashed content: see docs/ledger.md.
    body                jsonb NOT NULL,
    prev_hash           text NOT NULL CHECK (prev_hash ~ '^[0-9a-f]{64}$'),
    hash                text NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$'),
    UNIQUE (municipality_code, seq),
    UNIQUE (municipality_code, prev_hash)
);
CREATE INDEX events_by_challenge ON events (challenge_id, id);

CREATE FUNCTION refuse_event_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are immutable: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER events_immutable BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION refuse_event_change();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_event_change();

-- Private: who took an action (a token id, later a user). Kept out of the
-- public body so that the public record names roles, not people.
CREATE TABLE event_actors (
    event_id    bigint PRIMARY KEY REFERENCES events,
    token_id    bigint,
    actor_label text NOT NULL DEFAULT ''
);

-- Private: internal notes of civil servants on a challenge.
CREATE TABLE challenge_notes (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    challenge_id    bigint NOT NULL REFERENCES challenges,
    body            text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);

-- API bearer tokens. Only a SHA-256 of the token is stored: tokens are 256
-- random bits, so a slow password hash would add nothing but latency.
CREATE TABLE api_tokens (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash          bytea NOT NULL UNIQUE,
    role                text NOT NULL CHECK (role IN ('collective', 'reviewer', 'admin')),
    municipality_code   text NOT NULL REFERENCES municipalities,
    collective_id       bigint REFERENCES collectives,
    label               text NOT NULL DEFAULT '',
    created_at          timestamptz NOT NULL DEFAULT now(),
    revoked_at          timestamptz,
    CHECK ((role = 'collective') = (collective_id IS NOT NULL))
);
