-- The back office: civil servants (staff), their assignments, assessments,
-- four-eyes approvals, criteria, municipal policies and the private audit log.
-- Everything here is private except what a decision publishes through the
-- event chain (scores and motivations, settings changes).

-- A civil servant: one role, in ONE municipality, optionally limited to some
-- departments (empty array: every department).
CREATE TABLE staff (
    user_id             bigint PRIMARY KEY REFERENCES users ON DELETE CASCADE,
    municipality_code   text NOT NULL REFERENCES municipalities,
    role                text NOT NULL CHECK (role IN ('reviewer', 'coordinator', 'admin')),
    departments         text[] NOT NULL DEFAULT '{}',
    -- TOTP (RFC 6238) second factor: base32 secret; enabled once verified.
    totp_secret         text,
    totp_enabled_at     timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX staff_by_municipality ON staff (municipality_code, role);

-- Between password and second factor: a short-lived, single-use step.
CREATE TABLE staff_login_steps (
    token_hash  bytea PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users ON DELETE CASCADE,
    expires_at  timestamptz NOT NULL,
    attempts    int NOT NULL DEFAULT 0
);

-- Who handles a challenge (a reviewer or coordinator of its municipality).
CREATE TABLE assignments (
    challenge_id    bigint PRIMARY KEY REFERENCES challenges,
    user_id         bigint NOT NULL REFERENCES users,
    assigned_by     bigint REFERENCES users,
    assigned_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX assignments_by_user ON assignments (user_id, challenge_id);

-- Who wrote an internal note (challenge_notes is the foundation's table).
ALTER TABLE challenge_notes ADD COLUMN author_user_id bigint REFERENCES users;
CREATE INDEX challenge_notes_by_challenge ON challenge_notes (challenge_id, id);

-- A municipality's own assessment criteria (the reference's five are seeded
-- on first use), with weights.
CREATE TABLE assessment_criteria (
    municipality_code   text NOT NULL REFERENCES municipalities,
    code                text NOT NULL CHECK (code ~ '^[a-z][a-z0-9_]{0,39}$'),
    label               text NOT NULL CHECK (length(label) BETWEEN 1 AND 200),
    weight              int NOT NULL DEFAULT 1 CHECK (weight BETWEEN 0 AND 100),
    position            int NOT NULL DEFAULT 0,
    active              boolean NOT NULL DEFAULT true,
    PRIMARY KEY (municipality_code, code)
);

-- Scores being prepared; published with the decision (in its event).
CREATE TABLE assessment_scores (
    challenge_id    bigint NOT NULL REFERENCES challenges,
    criterion       text NOT NULL,
    score           int NOT NULL CHECK (score BETWEEN 1 AND 5),
    motivation      text NOT NULL CHECK (length(motivation) BETWEEN 1 AND 5000),
    user_id         bigint REFERENCES users,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (challenge_id, criterion)
);

-- Policies of the back office that are not procedure settings.
CREATE TABLE municipality_policies (
    municipality_code   text PRIMARY KEY REFERENCES municipalities,
    four_eyes           boolean NOT NULL DEFAULT false,
    minimum_support     int NOT NULL DEFAULT 0 CHECK (minimum_support >= 0)
);

-- Four eyes: a prepared decision or agreement waits for a second civil servant.
CREATE TABLE pending_approvals (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    challenge_id        bigint NOT NULL REFERENCES challenges,
    municipality_code   text NOT NULL REFERENCES municipalities,
    action              text NOT NULL,
    fields              jsonb NOT NULL,
    expected_version    int NOT NULL,
    prepared_by         bigint NOT NULL REFERENCES users,
    prepared_at         timestamptz NOT NULL,
    decided_by          bigint REFERENCES users,
    decided_at          timestamptz,
    outcome             text CHECK (outcome IN ('approved', 'refused', 'failed'))
);
CREATE UNIQUE INDEX pending_approvals_one_open ON pending_approvals (challenge_id) WHERE decided_at IS NULL;
CREATE INDEX pending_approvals_by_municipality ON pending_approvals (municipality_code, id) WHERE decided_at IS NULL;

-- Private audit log: every back-office action and every reading of private data.
CREATE TABLE audit_log (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    municipality_code   text NOT NULL REFERENCES municipalities,
    user_id             bigint REFERENCES users,
    operation           text NOT NULL,
    challenge_id        bigint REFERENCES challenges,
    detail              jsonb NOT NULL DEFAULT '{}'::jsonb,
    occurred_at         timestamptz NOT NULL
);
CREATE INDEX audit_log_by_municipality ON audit_log (municipality_code, id);

-- The queue: open challenges of a municipality by due date (no deadline last).
CREATE INDEX challenges_queue ON challenges
    (municipality_code, (coalesce(due_at, 'infinity'::timestamptz)), id)
    WHERE state NOT IN ('draft', 'inadmissible', 'lapsed', 'rejected', 'ended', 'returned', 'withdrawn');
CREATE INDEX challenges_queue_by_state ON challenges
    (municipality_code, state, (coalesce(due_at, 'infinity'::timestamptz)), id)
    WHERE state NOT IN ('draft', 'inadmissible', 'lapsed', 'rejected', 'ended', 'returned', 'withdrawn');
