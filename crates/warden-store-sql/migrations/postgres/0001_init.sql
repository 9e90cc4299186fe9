-- Warden schema for PostgreSQL: the same tables, columns and index names as
-- migrations/sqlite, with native types.
--
-- Conventions (shared with SQLite, so the value conversions in codec.rs are
-- the same for both backends):
-- * ids are `uuid` (ordered bytewise, so `ORDER BY id` is the id order of the domain);
-- * timestamps are BIGINT unix nanoseconds, UTC (not timestamptz, whose
--   microsecond precision would lose the nanoseconds the domain values keep);
-- * booleans are BOOLEAN, byte strings BYTEA;
-- * JSON values (scopes, properties, amr, audit detail) are TEXT, written and
--   read by serde_json exactly as on SQLite (no query filters on them).
--
-- Sequences (`feed.seq`, `audit.id`, `api_key_usage.id`) are identity
-- columns. `feed.seq` values are assigned in commit order only because every
-- transaction that writes the feed first takes one transaction-level advisory
-- lock (see postgres.rs): `changes_since(seq)` therefore never skips an entry.
-- (This also needs the sequence's default CACHE 1: with a per-session cache,
-- serialized writers could still take values out of order.)

CREATE TABLE accounts (
    id                  uuid    NOT NULL PRIMARY KEY,
    login               TEXT    NOT NULL,
    login_key           TEXT    NOT NULL,
    email               TEXT,
    email_key           TEXT,
    email_verified      BOOLEAN NOT NULL,
    active              BOOLEAN NOT NULL,
    blocked             BOOLEAN NOT NULL,
    block_reason        TEXT,
    mfa_enabled         BOOLEAN NOT NULL,
    scopes              TEXT    NOT NULL,
    properties          TEXT    NOT NULL,
    password_hash       TEXT,
    password_changed_at BIGINT  NOT NULL,
    created_at          BIGINT  NOT NULL,
    updated_at          BIGINT  NOT NULL
);
-- Unique violations are told apart by these index names (`login_key` /
-- `email_key` appear in the constraint name PostgreSQL reports).
CREATE UNIQUE INDEX accounts_login_key ON accounts (login_key);
CREATE UNIQUE INDEX accounts_email_key ON accounts (email_key);

CREATE TABLE sessions (
    id           uuid    NOT NULL PRIMARY KEY,
    account_id   uuid    NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at   BIGINT  NOT NULL,
    last_seen_at BIGINT  NOT NULL,
    expires_at   BIGINT  NOT NULL,
    ip           TEXT,
    user_agent   TEXT,
    long_lived   BOOLEAN NOT NULL,
    amr          TEXT    NOT NULL,
    revoked_at   BIGINT
);
CREATE INDEX sessions_account ON sessions (account_id, created_at);
CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE INDEX sessions_revoked ON sessions (revoked_at);

CREATE TABLE refresh_tokens (
    hash       BYTEA  NOT NULL PRIMARY KEY,
    session_id uuid   NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    used_at    BIGINT
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

CREATE TABLE feed (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind       TEXT   NOT NULL,
    id         uuid,
    account_id uuid   NOT NULL,
    at         BIGINT NOT NULL
);
CREATE INDEX feed_at ON feed (at);

-- No foreign key on account_id: the trail outlives deleted accounts.
CREATE TABLE audit (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         BIGINT NOT NULL,
    account_id uuid,
    event      TEXT   NOT NULL,
    ip         TEXT,
    user_agent TEXT,
    detail     TEXT   NOT NULL
);
CREATE INDEX audit_account_at ON audit (account_id, at);
CREATE INDEX audit_at ON audit (at);

CREATE TABLE signing_keys (
    kid         TEXT   NOT NULL PRIMARY KEY,
    alg         TEXT   NOT NULL,
    private_der BYTEA  NOT NULL,
    created_at  BIGINT NOT NULL,
    retired_at  BIGINT
);

CREATE TABLE settings (
    name  TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE counters (
    key          TEXT   NOT NULL PRIMARY KEY,
    failures     BIGINT NOT NULL,
    in_flight    BIGINT NOT NULL,
    locks        BIGINT NOT NULL,
    locked_until BIGINT
);
