-- People who log in: residents (portal) and civil servants (back office).
-- Everything here is private: no public query joins these tables.

CREATE TABLE users (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email               text NOT NULL CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 254),
    password_hash       text NOT NULL,
    display_name        text NOT NULL DEFAULT '',
    locale              text NOT NULL DEFAULT 'nl' CHECK (locale IN ('nl', 'en')),
    email_confirmed_at  timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    last_login_at       timestamptz,
    disabled_at         timestamptz,
    UNIQUE (email)
);

-- Server-side sessions. The cookie carries 256 random bits; only their
-- SHA-256 is stored, so a leaked table cannot be replayed as cookies.
CREATE TABLE sessions (
    token_hash      bytea PRIMARY KEY,
    user_id         bigint NOT NULL REFERENCES users ON DELETE CASCADE,
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_seen_at    timestamptz NOT NULL DEFAULT now(),
    idle_timeout_s  int NOT NULL CHECK (idle_timeout_s > 0),
    absolute_expiry timestamptz NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_id);

-- One-time links sent by e-mail: confirming an address, resetting a password,
-- an invitation. Single use, expiring, stored hashed.
CREATE TABLE email_tokens (
    token_hash  bytea PRIMARY KEY,
    purpose     text NOT NULL CHECK (purpose IN ('confirm', 'reset', 'invite')),
    user_id     bigint REFERENCES users ON DELETE CASCADE,
    email       text NOT NULL,
    payload     jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);
CREATE INDEX email_tokens_by_user ON email_tokens (user_id, purpose);

-- Fixed-window counters for rate limits (login, registration, reset, signing).
-- Shared by every worker process because they live in the database.
CREATE TABLE rate_limits (
    key             text NOT NULL,
    window_start    timestamptz NOT NULL,
    hits            int NOT NULL,
    PRIMARY KEY (key, window_start)
);
