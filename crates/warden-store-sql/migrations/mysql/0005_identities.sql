-- External identities and OAuth state, as migrations/postgres/0005_identities.sql.
CREATE TABLE identities (
    id         BINARY(16)    NOT NULL PRIMARY KEY,
    account_id BINARY(16)    NOT NULL,
    provider   VARCHAR(64)   NOT NULL,
    subject    VARCHAR(255)  NOT NULL,
    email      VARCHAR(320),
    created_at BIGINT        NOT NULL,
    UNIQUE KEY identities_subject (provider, subject),
    KEY identities_account (account_id),
    CONSTRAINT identities_account_fk FOREIGN KEY (account_id)
        REFERENCES accounts (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE oauth_states (
    hash       VARBINARY(64) NOT NULL PRIMARY KEY,
    payload    MEDIUMTEXT    NOT NULL,
    expires_at BIGINT        NOT NULL,
    KEY oauth_states_expires (expires_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
