-- Logins as people see them (RFC 8265 PRECIS keys, TR39 confusable skeletons).
--
-- `login_skeleton` is the SHA-256 (hex) of the TR39 skeleton of the login's
-- key (warden_core::login_rules::login_skeleton). It is unique, so two
-- accounts whose logins look alike cannot both be created, whatever the race.
-- SQL cannot compute it: rows written before this migration have NULL here
-- until the store's `prepare_logins` (run at every connect) fills it and
-- recomputes their `login_key`, oldest account first. An account whose new
-- key or skeleton another account already holds keeps its old key and a NULL
-- skeleton (several NULLs are allowed by a unique index), and is reported
-- (a warning at start-up, `warden account login-collisions`), never merged.
ALTER TABLE accounts ADD COLUMN login_skeleton TEXT;
CREATE UNIQUE INDEX accounts_login_skeleton ON accounts (login_skeleton);
