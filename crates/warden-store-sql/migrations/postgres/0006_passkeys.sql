-- Passkeys (WebAuthn credentials), as migrations/sqlite/0006_passkeys.sql.
CREATE TABLE passkeys (
    id              uuid    NOT NULL PRIMARY KEY,
    account_id      uuid    NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    credential_id   BYTEA   NOT NULL UNIQUE,
    name            TEXT    NOT NULL,
    credential      TEXT    NOT NULL,
    backup_eligible BOOLEAN NOT NULL,
    backup_state    BOOLEAN NOT NULL,
    created_at      BIGINT  NOT NULL,
    last_used_at    BIGINT
);
CREATE INDEX passkeys_account ON passkeys (account_id);
