-- Open data: the keys that sign ledger checkpoints, and the checkpoints.
-- Both are public and append-only. New, empty tables: no locks on existing
-- ones are taken, so this migration is instant on a large registry.

-- Every public key that ever signed a checkpoint, so that old checkpoints stay
-- verifiable after the key is replaced. key_id = the first 16 hex digits of
-- the SHA-256 of the raw 32-byte public key (docs/ledger.md).
CREATE TABLE ledger_keys (
    key_id          text PRIMARY KEY CHECK (key_id ~ '^[0-9a-f]{16}$'),
    algorithm       text NOT NULL DEFAULT 'Ed25519' CHECK (algorithm = 'Ed25519'),
    public_key      text NOT NULL UNIQUE,  -- base64 of the raw 32 bytes
    first_used_at   timestamptz NOT NULL DEFAULT now()
);

-- A signed statement of every municipality's chain head at one moment.
-- `signed` is the exact text whose UTF-8 bytes were signed (canonical JSON);
-- it is kept verbatim so that a verifier never depends on re-encoding.
CREATE TABLE ledger_checkpoints (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_at  timestamptz NOT NULL,
    key_id      text NOT NULL REFERENCES ledger_keys,
    signed      text NOT NULL,
    signature   text NOT NULL
);
CREATE INDEX ledger_checkpoints_by_time ON ledger_checkpoints (created_at);

CREATE TRIGGER ledger_checkpoints_immutable BEFORE UPDATE OR DELETE ON ledger_checkpoints
    FOR EACH ROW EXECUTE FUNCTION refuse_event_change();
