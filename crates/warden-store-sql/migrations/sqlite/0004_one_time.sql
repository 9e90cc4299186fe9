-- Single-use tokens sent by mail (email verification, password reset, email
-- change), stored as SHA-256 hashes. At most one live token per account and kind.
CREATE TABLE one_time_tokens (
    hash       BLOB    NOT NULL PRIMARY KEY,
    kind       TEXT    NOT NULL,
    account_id BLOB    NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    payload    TEXT,
    issued_at  INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX one_time_tokens_account ON one_time_tokens (account_id, kind);
CREATE INDEX one_time_tokens_expires ON one_time_tokens (expires_at);
