-- Warden schema for MySQL / MariaDB (InnoDB, utf8mb4): the same tables,
-- columns and index names as migrations/postgres, with these types:
--
-- * ids are BINARY(16) (sqlx encodes `uuid::Uuid` as its 16 bytes, compared
--   bytewise, so `ORDER BY id` is the id order of the domain);
-- * timestamps are BIGINT unix nanoseconds, UTC;
-- * booleans are BOOLEAN (TINYINT(1)), byte strings VARBINARY / BLOB;
-- * JSON values (scopes, properties, amr, audit detail) are text, written and
--   read by serde_json exactly as on the other backends;
-- * text that is only compared, never displayed (`login_key`, `email_key`,
--   `counters.key`, `settings.name`) is VARBINARY: comparisons and unique
--   indexes are exact byte comparisons, independent of the server's default
--   collation (a case- and accent-insensitive, space-padding collation would
--   make `a` and `A ` the same key); other text uses `utf8mb4_bin`.
--
-- `feed.seq` is AUTO_INCREMENT, assigned before commit: every transaction
-- that writes the feed first locks the one row of `feed_lock`
-- (`SELECT ... FOR UPDATE`, see mysql.rs), so feed writers are serialized and
-- `changes_since(seq)` never skips an entry that commits later with a smaller seq.

CREATE TABLE accounts (
    id                  BINARY(16)      NOT NULL PRIMARY KEY,
    login               TEXT            NOT NULL,
    login_key           VARBINARY(1024) NOT NULL,
    email               TEXT,
    email_key           VARBINARY(1024),
    email_verified      BOOLEAN         NOT NULL,
    active              BOOLEAN         NOT NULL,
    blocked             BOOLEAN         NOT NULL,
    block_reason        TEXT,
    mfa_enabled         BOOLEAN         NOT NULL,
    scopes              MEDIUMTEXT      NOT NULL,
    properties          MEDIUMTEXT      NOT NULL,
    password_hash       TEXT,
    password_changed_at BIGINT          NOT NULL,
    created_at          BIGINT          NOT NULL,
    updated_at          BIGINT          NOT NULL,
    -- Unique violations are told apart by these index names, which the
    -- server reports in the message of error 1062.
    UNIQUE KEY accounts_login_key (login_key),
    UNIQUE KEY accounts_email_key (email_key)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE sessions (
    id           BINARY(16) NOT NULL PRIMARY KEY,
    account_id   BINARY(16) NOT NULL,
    created_at   BIGINT     NOT NULL,
    last_seen_at BIGINT     NOT NULL,
    expires_at   BIGINT     NOT NULL,
    ip           TEXT,
    user_agent   TEXT,
    long_lived   BOOLEAN    NOT NULL,
    amr          TEXT       NOT NULL,
    revoked_at   BIGINT,
    KEY sessions_account (account_id, created_at),
    KEY sessions_expires (expires_at),
    KEY sessions_revoked (revoked_at),
    CONSTRAINT sessions_account_fk FOREIGN KEY (account_id)
        REFERENCES accounts (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE refresh_tokens (
    hash       VARBINARY(64) NOT NULL PRIMARY KEY,
    session_id BINARY(16)    NOT NULL,
    used_at    BIGINT,
    KEY refresh_tokens_session (session_id),
    CONSTRAINT refresh_tokens_session_fk FOREIGN KEY (session_id)
        REFERENCES sessions (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE feed (
    seq        BIGINT      NOT NULL AUTO_INCREMENT PRIMARY KEY,
    kind       VARCHAR(64) NOT NULL,
    id         BINARY(16),
    account_id BINARY(16)  NOT NULL,
    at         BIGINT      NOT NULL,
    KEY feed_at (at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- The one row every feed-writing transaction locks first.
CREATE TABLE feed_lock (
    id TINYINT NOT NULL PRIMARY KEY
) ENGINE = InnoDB;
INSERT INTO feed_lock (id) VALUES (1);

-- No foreign key on account_id: the trail outlives deleted accounts.
CREATE TABLE audit (
    id         BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    at         BIGINT       NOT NULL,
    account_id BINARY(16),
    event      TEXT         NOT NULL,
    ip         TEXT,
    user_agent TEXT,
    detail     MEDIUMTEXT   NOT NULL,
    KEY audit_account_at (account_id, at),
    KEY audit_at (at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE signing_keys (
    kid         VARCHAR(255) NOT NULL PRIMARY KEY,
    alg         TEXT         NOT NULL,
    private_der BLOB         NOT NULL,
    created_at  BIGINT       NOT NULL,
    retired_at  BIGINT
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE settings (
    name  VARBINARY(255) NOT NULL PRIMARY KEY,
    value MEDIUMTEXT     NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- `key` is a reserved word in MySQL: quoted in every statement.
CREATE TABLE counters (
    `key`        VARBINARY(1024) NOT NULL PRIMARY KEY,
    failures     BIGINT          NOT NULL,
    in_flight    BIGINT          NOT NULL,
    locks        BIGINT          NOT NULL,
    locked_until BIGINT
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
