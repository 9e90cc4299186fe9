-- Warden as an OpenID Provider, as migrations/sqlite/0011_oauth_provider.sql.
ALTER TABLE sessions ADD COLUMN client_id TEXT;

CREATE TABLE oauth_clients (
    client_id                 TEXT    NOT NULL PRIMARY KEY,
    secret_hash               BYTEA,
    name                      TEXT    NOT NULL,
    redirect_uris             TEXT    NOT NULL,
    post_logout_redirect_uris TEXT    NOT NULL,
    grant_types               TEXT    NOT NULL,
    scopes                    TEXT    NOT NULL,
    is_public                 BOOLEAN NOT NULL,
    first_party               BOOLEAN NOT NULL,
    created_at                BIGINT  NOT NULL,
    updated_at                BIGINT  NOT NULL
);

CREATE TABLE oauth_codes (
    hash       BYTEA  NOT NULL PRIMARY KEY,
    client_id  TEXT   NOT NULL REFERENCES oauth_clients (client_id) ON DELETE CASCADE,
    account_id uuid   NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    grant_doc  TEXT   NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT,
    session_id uuid
);
CREATE INDEX oauth_codes_expires ON oauth_codes (expires_at);

CREATE TABLE oauth_consents (
    account_id uuid   NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    client_id  TEXT   NOT NULL REFERENCES oauth_clients (client_id) ON DELETE CASCADE,
    scopes     TEXT   NOT NULL,
    granted_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, client_id)
);
CREATE INDEX oauth_consents_client ON oauth_consents (client_id);
