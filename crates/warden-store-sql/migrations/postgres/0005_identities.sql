-- External identities and OAuth state, as migrations/sqlite/0005_identities.sql.
CREATE TABLE identities (
    id         uuid   NOT NULL PRIMARY KEY,
    account_id uuid   NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    provider   TEXT   NOT NULL,
    subject    TEXT   NOT NULL,
    email      TEXT,
    created_at BIGINT NOT NULL,
    UNIQUE (provider, subject)
);
CREATE INDEX identities_account ON identities (account_id);

CREATE TABLE oauth_states (
    hash       BYTEA  NOT NULL PRIMARY KEY,
    payload    TEXT   NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX oauth_states_expires ON oauth_states (expires_at);
