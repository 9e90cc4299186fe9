-- Single-use tokens sent by mail, as migrations/postgres/0004_one_time.sql.
CREATE TABLE one_time_tokens (
    hash       VARBINARY(64) NOT NULL PRIMARY KEY,
    kind       VARCHAR(64)   NOT NULL,
    account_id BINARY(16)    NOT NULL,
    payload    MEDIUMTEXT,
    issued_at  BIGINT        NOT NULL,
    expires_at BIGINT        NOT NULL,
    KEY one_time_tokens_account (account_id, kind),
    KEY one_time_tokens_expires (expires_at),
    CONSTRAINT one_time_tokens_account_fk FOREIGN KEY (account_id)
        REFERENCES accounts (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
