-- External identities (OAuth 2.0 / OpenID Connect): (provider, subject) -> account.
CREATE TABLE identities (
    id         BLOB    NOT NULL PRIMARY KEY,
    account_id BLOB    NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    provider   TEXT    NOT NULL,
    subject    TEXT    NOT NULL,
    email      TEXT,
    created_at INTEGER NOT NULL,
    UNIQUE (provider, subject)
);
CREATE INDEX identities_account ON identities (account_id);

-- Server-side state of OAuth authorization requests, by SHA-256 of `state`.
CREATE TABLE oauth_states (
    hash       BLOB    NOT NULL PRIMARY KEY,
    payload    TEXT    NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX oauth_states_expires ON oauth_states (expires_at);
