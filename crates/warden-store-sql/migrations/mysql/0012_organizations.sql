-- Organizations, as migrations/postgres/0012_organizations.sql.
CREATE TABLE organizations (
    id          BINARY(16)   NOT NULL PRIMARY KEY,
    slug        VARCHAR(63)  NOT NULL,
    name        VARCHAR(400) NOT NULL,
    properties  MEDIUMTEXT   NOT NULL,
    created_at  BIGINT       NOT NULL,
    UNIQUE KEY organizations_slug (slug)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE org_members (
    organization_id BINARY(16)  NOT NULL,
    account_id      BINARY(16)  NOT NULL,
    role            VARCHAR(63) NOT NULL,
    joined_at       BIGINT      NOT NULL,
    PRIMARY KEY (organization_id, account_id),
    KEY org_members_account (account_id),
    CONSTRAINT org_members_org_fk FOREIGN KEY (organization_id)
        REFERENCES organizations (id) ON DELETE CASCADE,
    CONSTRAINT org_members_account_fk FOREIGN KEY (account_id)
        REFERENCES accounts (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE org_roles (
    organization_id BINARY(16)  NOT NULL,
    name            VARCHAR(63) NOT NULL,
    permissions     MEDIUMTEXT  NOT NULL,
    PRIMARY KEY (organization_id, name),
    CONSTRAINT org_roles_org_fk FOREIGN KEY (organization_id)
        REFERENCES organizations (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE org_invitations (
    id              BINARY(16)   NOT NULL PRIMARY KEY,
    organization_id BINARY(16)   NOT NULL,
    email           VARCHAR(254) NOT NULL,
    email_key       VARCHAR(254) NOT NULL,
    role            VARCHAR(63)  NOT NULL,
    token_hash      BINARY(32)   NOT NULL,
    inviter         BINARY(16)   NOT NULL,
    state           VARCHAR(16)  NOT NULL,
    created_at      BIGINT       NOT NULL,
    expires_at      BIGINT       NOT NULL,
    UNIQUE KEY org_invitations_token (token_hash),
    KEY org_invitations_org (organization_id, state),
    CONSTRAINT org_invitations_org_fk FOREIGN KEY (organization_id)
        REFERENCES organizations (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE org_sessions (
    session_id      BINARY(16) NOT NULL PRIMARY KEY,
    account_id      BINARY(16) NOT NULL,
    organization_id BINARY(16),
    epoch           BIGINT     NOT NULL,
    KEY org_sessions_org (organization_id, account_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
