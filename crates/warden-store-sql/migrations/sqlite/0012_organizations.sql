-- Organizations (warden_core::store::OrganizationStore): teams of accounts
-- with one role each, custom roles (permissions as a JSON list), email
-- invitations (the SHA-256 of the token, never the token), and the
-- organization each session acts for with the epoch of its organization
-- claims. `org_sessions` has no foreign keys: sessions may live in Redis,
-- and a deleted organization leaves its rows with organization_id NULL
-- (the epoch must keep rising).
CREATE TABLE organizations (
    id          BLOB    NOT NULL PRIMARY KEY,
    slug        TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    properties  TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX organizations_slug ON organizations (slug);

CREATE TABLE org_members (
    organization_id BLOB    NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    account_id      BLOB    NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    role            TEXT    NOT NULL,
    joined_at       INTEGER NOT NULL,
    PRIMARY KEY (organization_id, account_id)
);
CREATE INDEX org_members_account ON org_members (account_id);

CREATE TABLE org_roles (
    organization_id BLOB NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    permissions     TEXT NOT NULL,
    PRIMARY KEY (organization_id, name)
);

CREATE TABLE org_invitations (
    id              BLOB    NOT NULL PRIMARY KEY,
    organization_id BLOB    NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    email           TEXT    NOT NULL,
    email_key       TEXT    NOT NULL,
    role            TEXT    NOT NULL,
    token_hash      BLOB    NOT NULL,
    inviter         BLOB    NOT NULL,
    state           TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL
);
CREATE UNIQUE INDEX org_invitations_token ON org_invitations (token_hash);
CREATE INDEX org_invitations_org ON org_invitations (organization_id, state);

CREATE TABLE org_sessions (
    session_id      BLOB    NOT NULL PRIMARY KEY,
    account_id      BLOB    NOT NULL,
    organization_id BLOB,
    epoch           INTEGER NOT NULL
);
CREATE INDEX org_sessions_org ON org_sessions (organization_id, account_id);
