-- Second factor (TOTP), as migrations/sqlite/0002_mfa.sql. Secrets are stored
-- encrypted by the engine (AES-256-GCM, bound to the account id); recovery
-- codes and MFA login tokens are stored as SHA-256 hashes.

-- One row per account that has a pending and/or an active secret.
CREATE TABLE totp_secrets (
    account_id uuid   NOT NULL PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    secret     BYTEA,
    last_step  BIGINT,
    pending    BYTEA,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE recovery_codes (
    account_id uuid  NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    hash       BYTEA NOT NULL,
    PRIMARY KEY (account_id, hash)
);

-- Pending password logins waiting for their second factor (`mfa_token`).
CREATE TABLE mfa_challenges (
    hash       BYTEA   NOT NULL PRIMARY KEY,
    account_id uuid    NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    remember   BOOLEAN NOT NULL,
    expires_at BIGINT  NOT NULL,
    attempts   BIGINT  NOT NULL
);
CREATE INDEX mfa_challenges_account ON mfa_challenges (account_id);
CREATE INDEX mfa_challenges_expires ON mfa_challenges (expires_at);
