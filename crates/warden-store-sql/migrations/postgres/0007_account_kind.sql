-- Account kinds, as migrations/sqlite/0007_account_kind.sql.
ALTER TABLE accounts ADD COLUMN kind TEXT NOT NULL DEFAULT 'person';
