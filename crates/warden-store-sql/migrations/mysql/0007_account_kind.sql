-- Account kinds, as migrations/sqlite/0007_account_kind.sql.
ALTER TABLE accounts ADD COLUMN kind VARCHAR(16) NOT NULL DEFAULT 'person';
