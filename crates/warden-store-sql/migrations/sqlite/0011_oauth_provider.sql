-- Warden as an OpenID Provider (warden_core::provider).
--
-- `sessions.client_id` tags a session opened for an OAuth client (its
-- tokens go to that client only); NULL for Warden's own sessions.
-- `oauth_clients` are the clients an admin registered (the secret as its
-- SHA-256; lists as JSON arrays). `oauth_codes` are authorization codes by
-- the SHA-256 of the code: single use (`used_at`), bound to the session the
-- exchange opened (`session_id`, revoked when the code comes back), the rest
-- of the request as one JSON document (`grant`). `oauth_consents` are the
-- scopes an account consented to for a client.
ALTER TABLE sessions ADD COLUMN client_id TEXT;

CREATE TABLE oauth_clients (
    client_id                 TEXT    NOT NULL PRIMARY KEY,
    secret_hash               BLOB,
    name                      TEXT    NOT NULL,
    redirect_uris             TEXT    NOT NULL,
    post_logout_redirect_uris TEXT    NOT NULL,
    grant_types               TEXT    NOT NULL,
    scopes                    TEXT    NOT NULL,
    is_public                 INTEGER NOT NULL,
    first_party               INTEGER NOT NULL,
    created_at                INTEGER NOT NULL,
    updated_at                INTEGER NOT NULL
);

CREATE TABLE oauth_codes (
    hash       BLOB    NOT NULL PRIMARY KEY,
    client_id  TEXT    NOT NULL REFERENCES oauth_clients (client_id) ON DELETE CASCADE,
    account_id BLOB    NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    grant_doc  TEXT    NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER,
    session_id BLOB
);
CREATE INDEX oauth_codes_expires ON oauth_codes (expires_at);

CREATE TABLE oauth_consents (
    account_id BLOB    NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    client_id  TEXT    NOT NULL REFERENCES oauth_clients (client_id) ON DELETE CASCADE,
    scopes     TEXT    NOT NULL,
    granted_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, client_id)
);
CREATE INDEX oauth_consents_client ON oauth_consents (client_id);
