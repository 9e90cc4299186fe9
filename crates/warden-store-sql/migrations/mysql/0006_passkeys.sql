-- Passkeys (WebAuthn credentials), as migrations/postgres/0006_passkeys.sql.
-- Credential ids are at most 1023 bytes (WebAuthn level 3).
CREATE TABLE passkeys (
    id              BINARY(16)      NOT NULL PRIMARY KEY,
    account_id      BINARY(16)      NOT NULL,
    credential_id   VARBINARY(1023) NOT NULL,
    name            VARCHAR(64)     NOT NULL,
    credential      MEDIUMTEXT      NOT NULL,
    backup_eligible BOOLEAN         NOT NULL,
    backup_state    BOOLEAN         NOT NULL,
    created_at      BIGINT          NOT NULL,
    last_used_at    BIGINT,
    UNIQUE KEY passkeys_credential (credential_id),
    KEY passkeys_account (account_id),
    CONSTRAINT passkeys_account_fk FOREIGN KEY (account_id)
        REFERENCES accounts (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
