-- Per-session scopes (`POST /login` with `scopes`): a JSON list, NULL for
-- the account's scopes. An MFA challenge carries them to the session the
-- second factor opens.
ALTER TABLE sessions ADD COLUMN scopes TEXT;
ALTER TABLE mfa_challenges ADD COLUMN scopes TEXT;
