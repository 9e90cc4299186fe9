-- API keys and their usage log (same conventions as 0001_init.sql). Only the
-- SHA-256 of a key's secret is stored.
CREATE TABLE api_keys (
    id          BINARY(16)    NOT NULL PRIMARY KEY,
    account_id  BINARY(16)    NOT NULL,
    name        TEXT          NOT NULL,
    secret_hash VARBINARY(64) NOT NULL,
    scopes      MEDIUMTEXT    NOT NULL,
    created_at  BIGINT        NOT NULL,
    expires_at  BIGINT,
    revoked_at  BIGINT,
    KEY api_keys_account (account_id, created_at),
    CONSTRAINT api_keys_account_fk FOREIGN KEY (account_id)
        REFERENCES accounts (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Written in batches by a background task; each key keeps its newest N rows.
CREATE TABLE api_key_usage (
    id     BIGINT     NOT NULL AUTO_INCREMENT PRIMARY KEY,
    key_id BINARY(16) NOT NULL,
    at     BIGINT     NOT NULL,
    ip     TEXT,
    method TEXT       NOT NULL,
    path   TEXT       NOT NULL,
    KEY api_key_usage_key_at (key_id, at),
    CONSTRAINT api_key_usage_key_fk FOREIGN KEY (key_id)
        REFERENCES api_keys (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
