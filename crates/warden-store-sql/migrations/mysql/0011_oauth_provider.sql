-- Warden as an OpenID Provider, as migrations/postgres/0011_oauth_provider.sql.
ALTER TABLE sessions ADD COLUMN client_id VARCHAR(64) NULL;

CREATE TABLE oauth_clients (
    client_id                 VARCHAR(64)   NOT NULL PRIMARY KEY,
    secret_hash               VARBINARY(32),
    name                      VARCHAR(255)  NOT NULL,
    redirect_uris             MEDIUMTEXT    NOT NULL,
    post_logout_redirect_uris MEDIUMTEXT    NOT NULL,
    grant_types               TEXT          NOT NULL,
    scopes                    TEXT          NOT NULL,
    is_public                 BOOLEAN       NOT NULL,
    first_party               BOOLEAN       NOT NULL,
    created_at                BIGINT        NOT NULL,
    updated_at                BIGINT        NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE oauth_codes (
    hash       VARBINARY(32) NOT NULL PRIMARY KEY,
    client_id  VARCHAR(64)   NOT NULL,
    account_id BINARY(16)    NOT NULL,
    grant_doc  MEDIUMTEXT    NOT NULL,
    expires_at BIGINT        NOT NULL,
    used_at    BIGINT,
    session_id BINARY(16),
    KEY oauth_codes_expires (expires_at),
    CONSTRAINT oauth_codes_client_fk FOREIGN KEY (client_id)
        REFERENCES oauth_clients (client_id) ON DELETE CASCADE,
    CONSTRAINT oauth_codes_account_fk FOREIGN KEY (account_id)
        REFERENCES accounts (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE oauth_consents (
    account_id BINARY(16)  NOT NULL,
    client_id  VARCHAR(64) NOT NULL,
    scopes     TEXT        NOT NULL,
    granted_at BIGINT      NOT NULL,
    PRIMARY KEY (account_id, client_id),
    KEY oauth_consents_client (client_id),
    CONSTRAINT oauth_consents_account_fk FOREIGN KEY (account_id)
        REFERENCES accounts (id) ON DELETE CASCADE,
    CONSTRAINT oauth_consents_client_fk FOREIGN KEY (client_id)
        REFERENCES oauth_clients (client_id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
