-- Sessions of app subjects, as migrations/postgres/0010_app_sessions.sql:
-- `app` holds the subject and claims as JSON, NULL for an account's
-- session; the foreign key of `account_id` goes (the index stays).
ALTER TABLE sessions
    DROP FOREIGN KEY sessions_account_fk,
    ADD COLUMN app TEXT NULL;
