-- Account kinds: `person` (every account so far) or `service` (no password,
-- acts only through its API keys).
ALTER TABLE accounts ADD COLUMN kind TEXT NOT NULL DEFAULT 'person';
