-- Sessions of app subjects (warden_core::app_tokens): users an application
-- keeps itself, who have no account. Such a session's `account_id` is the
-- subject's owner id (a version-8 UUID derived from the subject, never an
-- account's id) and `app` holds its subject and claims as JSON
-- ({"subject": "..", "claims": {..}}); NULL for an account's session.
-- The owner id refers to no account, so the foreign key goes (deleting an
-- account deletes its sessions explicitly, `delete_account`).
ALTER TABLE sessions DROP CONSTRAINT sessions_account_id_fkey;
ALTER TABLE sessions ADD COLUMN app TEXT;
