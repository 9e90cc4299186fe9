-- Warden schema for SQLite.
--
-- Conventions (kept portable so a PostgreSQL schema can mirror it):
-- * ids are UUIDs stored as 16-byte BLOBs (PostgreSQL: uuid); byte order equals
--   UUID order, so `ORDER BY id` is the id order of the domain;
-- * timestamps are INTEGER unix nanoseconds, UTC (PostgreSQL: bigint), so
--   comparisons and ordering by time are plain integer comparisons;
-- * booleans are INTEGER 0/1 (PostgreSQL: boolean);
-- * JSON values (scopes, properties, amr, audit detail) are TEXT.

CREATE TABLE accounts (
    id                  BLOB    NOT NULL PRIMARY KEY,
    login               TEXT    NOT NULL,
    login_key           TEXT    NOT NULL,
    email               TEXT,
    email_key           TEXT,
    email_verified      INTEGER NOT NULL,
    active              INTEGER NOT NULL,
    blocked             INTEGER NOT NULL,
    block_reason        TEXT,
    mfa_enabled         INTEGER NOT NULL,
    scopes              TEXT    NOT NULL,
    properties          TEXT    NOT NULL,
    password_hash       TEXT,
    password_changed_at INTEGER NOT NULL,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
);
-- Named so that unique violations can be told apart (`login_key` / `email_key`
-- appear in the SQLite message and in the PostgreSQL constraint name).
CREATE UNIQUE INDEX accounts_login_key ON accounts (login_key);
CREATE UNIQUE INDEX accounts_email_key ON accounts (email_key);

CREATE TABLE sessions (
    id           BLOB    NOT NULL PRIMARY KEY,
    account_id   BLOB    NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    ip           TEXT,
    user_agent   TEXT,
    long_lived   INTEGER NOT NULL,
    amr          TEXT    NOT NULL,
    revoked_at   INTEGER
);
CREATE INDEX sessions_account ON sessions (account_id, created_at);
CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE INDEX sessions_revoked ON sessions (revoked_at);

CREATE TABLE refresh_tokens (
    hash       BLOB    NOT NULL PRIMARY KEY,
    session_id BLOB    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    used_at    INTEGER
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

CREATE TABLE feed (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    kind       TEXT    NOT NULL,
    id         BLOB,
    account_id BLOB    NOT NULL,
    at         INTEGER NOT NULL
);
CREATE INDEX feed_at ON feed (at);

-- No foreign key on account_id: the trail outlives deleted accounts.
CREATE TABLE audit (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         INTEGER NOT NULL,
    account_id BLOB,
    event      TEXT    NOT NULL,
    ip         TEXT,
    user_agent TEXT,
    detail     TEXT    NOT NULL
);
CREATE INDEX audit_account_at ON audit (account_id, at);
CREATE INDEX audit_at ON audit (at);

CREATE TABLE signing_keys (
    kid         TEXT    NOT NULL PRIMARY KEY,
    alg         TEXT    NOT NULL,
    private_der BLOB    NOT NULL,
    created_at  INTEGER NOT NULL,
    retired_at  INTEGER
);

CREATE TABLE settings (
    name  TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE counters (
    key          TEXT    NOT NULL PRIMARY KEY,
    failures     INTEGER NOT NULL,
    in_flight    INTEGER NOT NULL,
    locks        INTEGER NOT NULL,
    locked_until INTEGER
);
