-- Sessions of app subjects (warden_core::app_tokens): users an application
-- keeps itself, who have no account. Such a session's `account_id` is the
-- subject's owner id (a version-8 UUID derived from the subject, never an
-- account's id) and `app` holds its subject and claims as JSON
-- ({"subject": "..", "claims": {..}}); NULL for an account's session.
--
-- The owner id refers to no account, so the foreign key of `account_id`
-- goes. SQLite cannot drop a constraint: the table is rebuilt. Foreign keys
-- are on during migrations, so `refresh_tokens` (which refers to `sessions`)
-- is rebuilt first against the new table and the old tables are dropped
-- children first; renaming the new table rewrites the reference. Deleting
-- an account has deleted its sessions explicitly all along
-- (`delete_account`), so nothing relied on the cascade.
CREATE TABLE sessions_0010 (
    id           BLOB    NOT NULL PRIMARY KEY,
    account_id   BLOB    NOT NULL,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    ip           TEXT,
    user_agent   TEXT,
    long_lived   INTEGER NOT NULL,
    amr          TEXT    NOT NULL,
    revoked_at   INTEGER,
    scopes       TEXT,
    app          TEXT
);
INSERT INTO sessions_0010 (id, account_id, created_at, last_seen_at, expires_at, ip,
                           user_agent, long_lived, amr, revoked_at, scopes, app)
    SELECT id, account_id, created_at, last_seen_at, expires_at, ip, user_agent,
           long_lived, amr, revoked_at, scopes, NULL
    FROM sessions;

CREATE TABLE refresh_tokens_0010 (
    hash       BLOB    NOT NULL PRIMARY KEY,
    session_id BLOB    NOT NULL REFERENCES sessions_0010 (id) ON DELETE CASCADE,
    used_at    INTEGER
);
INSERT INTO refresh_tokens_0010 (hash, session_id, used_at)
    SELECT hash, session_id, used_at FROM refresh_tokens;

DROP TABLE refresh_tokens;
DROP TABLE sessions;
ALTER TABLE sessions_0010 RENAME TO sessions;
ALTER TABLE refresh_tokens_0010 RENAME TO refresh_tokens;

CREATE INDEX sessions_account ON sessions (account_id, created_at);
CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE INDEX sessions_revoked ON sessions (revoked_at);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);
