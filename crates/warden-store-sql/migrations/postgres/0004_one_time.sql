-- Single-use tokens sent by mail, as migrations/sqlite/0004_one_time.sql.
CREATE TABLE one_time_tokens (
    hash       BYTEA  NOT NULL PRIMARY KEY,
    kind       TEXT   NOT NULL,
    account_id uuid   NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    payload    TEXT,
    issued_at  BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX one_time_tokens_account ON one_time_tokens (account_id, kind);
CREATE INDEX one_time_tokens_expires ON one_time_tokens (expires_at);
