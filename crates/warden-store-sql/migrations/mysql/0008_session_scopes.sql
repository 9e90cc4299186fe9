-- Per-session scopes, as migrations/postgres/0008_session_scopes.sql.
ALTER TABLE sessions ADD COLUMN scopes TEXT NULL;
ALTER TABLE mfa_challenges ADD COLUMN scopes TEXT NULL;
