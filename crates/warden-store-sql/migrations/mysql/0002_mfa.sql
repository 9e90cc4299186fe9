-- Second factor (TOTP), as migrations/postgres/0002_mfa.sql. Secrets are
-- stored encrypted by the engine; recovery codes and MFA login tokens as
-- SHA-256 hashes.

CREATE TABLE totp_secrets (
    account_id BINARY(16) NOT NULL PRIMARY KEY,
    secret     BLOB,
    last_step  BIGINT,
    pending    BLOB,
    created_at BIGINT     NOT NULL,
    updated_at BIGINT     NOT NULL,
    CONSTRAINT totp_secrets_account_fk FOREIGN KEY (account_id)
        REFERENCES accounts (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE recovery_codes (
    account_id BINARY(16)    NOT NULL,
    hash       VARBINARY(64) NOT NULL,
    PRIMARY KEY (account_id, hash),
    CONSTRAINT recovery_codes_account_fk FOREIGN KEY (account_id)
        REFERENCES accounts (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Pending password logins waiting for their second factor (`mfa_token`).
CREATE TABLE mfa_challenges (
    hash       VARBINARY(64) NOT NULL PRIMARY KEY,
    account_id BINARY(16)    NOT NULL,
    remember   BOOLEAN       NOT NULL,
    expires_at BIGINT        NOT NULL,
    attempts   BIGINT        NOT NULL,
    KEY mfa_challenges_account (account_id),
    KEY mfa_challenges_expires (expires_at),
    CONSTRAINT mfa_challenges_account_fk FOREIGN KEY (account_id)
        REFERENCES accounts (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
