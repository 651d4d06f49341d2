-- The portal for resident collectives: mail outbox, memberships, drafts,
-- support, attachments and notification preferences. Everything here is
-- private except what the public pages derive from it (support counts, the
-- public attachments' names and checksums). New tables only: nothing here
-- locks an existing table for longer than creating a foreign key takes.

-- Transactional outbox: a mail is written in the same transaction as the
-- change it reports, and delivered later by a worker (registry.portal_tasks).
-- A row is claimed by moving next_attempt_at forward (a lease) under
-- FOR UPDATE SKIP LOCKED, so two workers never take the same row.
CREATE TABLE outbox (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    to_address      text NOT NULL CHECK (length(to_address) BETWEEN 3 AND 254),
    subject         text NOT NULL CHECK (length(subject) <= 998),
    body_text       text NOT NULL,
    body_html       text,
    locale          text NOT NULL DEFAULT 'nl' CHECK (locale IN ('nl', 'en')),
    dedupe_key      text UNIQUE,
    created_at      timestamptz NOT NULL DEFAULT now(),
    attempts        int NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    sent_at         timestamptz,
    failed_at       timestamptz
);
CREATE INDEX outbox_pending ON outbox (next_attempt_at, id) WHERE sent_at IS NULL AND failed_at IS NULL;

-- Which residents (users) belong to which collective. Any active member acts
-- for the collective; who did what is kept in event_actors.actor_label.
CREATE TABLE portal_memberships (
    collective_id   bigint NOT NULL REFERENCES collectives ON DELETE CASCADE,
    user_id         bigint NOT NULL REFERENCES users ON DELETE CASCADE,
    joined_at       timestamptz NOT NULL DEFAULT now(),
    invited_by      bigint REFERENCES users ON DELETE SET NULL,
    PRIMARY KEY (collective_id, user_id)
);
CREATE INDEX portal_memberships_by_user ON portal_memberships (user_id, collective_id);

-- The public description of a collective (its profile beyond the foundation's columns).
CREATE TABLE portal_collective_profiles (
    collective_id   bigint PRIMARY KEY REFERENCES collectives ON DELETE CASCADE,
    description     text NOT NULL DEFAULT '' CHECK (length(description) <= 5000)
);

-- Work in progress of the filing form, partial values allowed. Private.
-- ``fields`` holds what was typed (JSON object of strings); ``revision``
-- guards against two members overwriting each other.
CREATE TABLE portal_drafts (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    collective_id   bigint NOT NULL REFERENCES collectives ON DELETE CASCADE,
    service_id      bigint NOT NULL REFERENCES services,
    fields          jsonb NOT NULL DEFAULT '{}'::jsonb,
    revision        int NOT NULL DEFAULT 1,
    challenge_id    bigint REFERENCES challenges,
    created_by      bigint REFERENCES users ON DELETE SET NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    submitted_at    timestamptz
);
CREATE INDEX portal_drafts_by_collective ON portal_drafts (collective_id, id);

-- Support: one per resident and challenge. The count is public
-- (challenges.support_count, kept in the same transaction); who supports is not.
CREATE TABLE supports (
    challenge_id    bigint NOT NULL REFERENCES challenges,
    user_id         bigint NOT NULL REFERENCES users ON DELETE CASCADE,
    notify          boolean NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (challenge_id, user_id)
);
CREATE INDEX supports_by_user ON supports (user_id, challenge_id);

-- A municipality's minimum support before assessment (declare_admissible).
CREATE TABLE portal_municipality_rules (
    municipality_code   text PRIMARY KEY REFERENCES municipalities,
    minimum_support     int NOT NULL DEFAULT 0 CHECK (minimum_support >= 0)
);

-- Attachments of a challenge (or of a portal draft before it is submitted).
-- The type is sniffed from the content; signature lists are never public.
CREATE TABLE attachments (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    draft_id        bigint REFERENCES portal_drafts ON DELETE CASCADE,
    challenge_id    bigint REFERENCES challenges,
    kind            text NOT NULL CHECK (kind IN ('plan', 'budget', 'support', 'signatures', 'other')),
    filename        text NOT NULL CHECK (length(filename) BETWEEN 1 AND 200),
    content_type    text NOT NULL CHECK (content_type IN ('application/pdf',
                        'application/vnd.oasis.opendocument.text',
                        'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
                        'image/png', 'image/jpeg')),
    size_bytes      int NOT NULL CHECK (size_bytes BETWEEN 1 AND 10485760),
    sha256          text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    public          boolean NOT NULL DEFAULT false,
    content         bytea NOT NULL,
    uploaded_by     bigint REFERENCES users ON DELETE SET NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (draft_id IS NOT NULL OR challenge_id IS NOT NULL),
    CHECK (kind <> 'signatures' OR NOT public)
);
CREATE INDEX attachments_by_challenge ON attachments (challenge_id, id) WHERE challenge_id IS NOT NULL;
CREATE INDEX attachments_by_draft ON attachments (draft_id, id) WHERE draft_id IS NOT NULL;

-- Notification preferences: 'each' mail per step, or one 'daily' digest.
CREATE TABLE notification_preferences (
    user_id         bigint PRIMARY KEY REFERENCES users ON DELETE CASCADE,
    frequency       text NOT NULL DEFAULT 'each' CHECK (frequency IN ('each', 'daily')),
    last_digest_at  timestamptz
);

-- Steps waiting for someone's daily digest.
CREATE TABLE digest_items (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id         bigint NOT NULL REFERENCES users ON DELETE CASCADE,
    event_id        bigint NOT NULL REFERENCES events,
    created_at      timestamptz NOT NULL DEFAULT now(),
    digested_at     timestamptz,
    UNIQUE (user_id, event_id)
);
CREATE INDEX digest_items_pending ON digest_items (user_id, id) WHERE digested_at IS NULL;
