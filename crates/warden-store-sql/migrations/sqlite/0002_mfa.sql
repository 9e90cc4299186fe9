-- Second factor (TOTP). Secrets are stored encrypted by the engine
-- (AES-256-GCM, bound to the account id); recovery codes and MFA login tokens
-- are stored as SHA-256 hashes.

-- One row per account that has a pending and/or an active secret.
CREATE TABLE totp_secrets (
    account_id BLOB    NOT NULL PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    secret     BLOB,
    last_step  INTEGER,
    pending    BLOB,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE recovery_codes (
    account_id BLOB NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    hash       BLOB NOT NULL,
    PRIMARY KEY (account_id, hash)
);

-- Pending password logins waiting for their second factor (`mfa_token`).
CREATE TABLE mfa_challenges (
    hash       BLOB    NOT NULL PRIMARY KEY,
    account_id BLOB    NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    remember   INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    attempts   INTEGER NOT NULL
);
CREATE INDEX mfa_challenges_account ON mfa_challenges (account_id);
CREATE INDEX mfa_challenges_expires ON mfa_challenges (expires_at);
