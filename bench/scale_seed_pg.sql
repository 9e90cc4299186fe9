-- Bulk seeding of a Warden PostgreSQL schema for bench/scale.sh:
--   psql ... -v ON_ERROR_STOP=1 -v n=N -v prefix=PREFIX -v tmpl=TEMPLATE_LOGIN_KEY -f scale_seed_pg.sql
-- (search_path set to the bench schema through PGOPTIONS). The schema must hold Warden's tables
-- and ONE template account (registered through the API: real PHC password hash) with one
-- session (one login through the API). Adds N accounts PREFIX0..PREFIX{N-1} copying the
-- template's columns (same password), one session per account copying the template session,
-- and one refresh_tokens row per session with a random 32-byte hash that no token hashes to.
-- One statement per table; rows go in in random order (ids are random v4 UUIDs anyway), so the
-- accounts the login run uses are spread over the table.
\set QUIET on
SET synchronous_commit = off;
SET maintenance_work_mem = '256MB';
SET work_mem = '256MB';
\timing on

INSERT INTO accounts (id, login, login_key, email, email_key, email_verified, active, blocked,
                      block_reason, mfa_enabled, scopes, properties, password_hash,
                      password_changed_at, created_at, updated_at)
SELECT gen_random_uuid(), :'prefix' || g, lower(:'prefix' || g), NULL, NULL, t.email_verified,
       t.active, t.blocked, t.block_reason, t.mfa_enabled, t.scopes, t.properties,
       t.password_hash, t.password_changed_at - g, t.created_at - g * 1000000, t.updated_at - g
FROM (SELECT * FROM accounts WHERE login_key = :'tmpl') t,
     generate_series(0::bigint, :n - 1) g
ORDER BY random();

INSERT INTO sessions (id, account_id, created_at, last_seen_at, expires_at, ip, user_agent,
                      long_lived, amr, revoked_at)
SELECT gen_random_uuid(), a.id, t.created_at, t.last_seen_at, t.expires_at, t.ip, t.user_agent,
       t.long_lived, t.amr, NULL
FROM accounts a,
     (SELECT s.* FROM sessions s JOIN accounts ta ON ta.id = s.account_id
      WHERE ta.login_key = :'tmpl' LIMIT 1) t
WHERE a.login_key <> :'tmpl';

INSERT INTO refresh_tokens (hash, session_id, used_at)
SELECT decode(md5(s.id::text || random()::text) || md5(random()::text || s.id::text), 'hex'),
       s.id, NULL
FROM sessions s
WHERE NOT EXISTS (SELECT 1 FROM refresh_tokens r WHERE r.session_id = s.id);

ANALYZE accounts;
ANALYZE sessions;
ANALYZE refresh_tokens;
SELECT (SELECT count(*) FROM accounts) AS accounts, (SELECT count(*) FROM sessions) AS sessions,
       (SELECT count(*) FROM refresh_tokens) AS refresh_tokens;
