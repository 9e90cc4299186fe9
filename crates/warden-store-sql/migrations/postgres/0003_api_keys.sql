-- API keys and their usage log (same conventions as 0001_init.sql).

-- Only the SHA-256 of a key's secret is stored. A key is looked up by its id
-- (the public part of the key string), then the hashes are compared.
CREATE TABLE api_keys (
    id          uuid   NOT NULL PRIMARY KEY,
    account_id  uuid   NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name        TEXT   NOT NULL,
    secret_hash BYTEA  NOT NULL,
    scopes      TEXT   NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT,
    revoked_at  BIGINT
);
CREATE INDEX api_keys_account ON api_keys (account_id, created_at);

-- Written in batches by a background task; each key keeps its newest N rows.
CREATE TABLE api_key_usage (
    id     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key_id uuid   NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    at     BIGINT NOT NULL,
    ip     TEXT,
    method TEXT   NOT NULL,
    path   TEXT   NOT NULL
);
CREATE INDEX api_key_usage_key_at ON api_key_usage (key_id, at);
