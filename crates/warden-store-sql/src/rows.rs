//! What the SQL backends share beyond [`crate::codec`]: the column lists of
//! their queries and the mapping of result rows to domain values. Both are
//! macros because `sqlx` row types differ per database while the code does not.

/// Columns of `accounts` as the backends select and insert them.
macro_rules! account_cols {
    () => {
        "id, login, email, email_verified, active, blocked, block_reason, mfa_enabled, \
         scopes, properties, password_hash, password_changed_at, created_at, updated_at"
    };
}
pub(crate) use account_cols;

/// Columns of `sessions` as the backends select and insert them.
macro_rules! session_cols {
    () => {
        "id, account_id, created_at, last_seen_at, expires_at, ip, user_agent, long_lived, \
         amr, revoked_at"
    };
}
pub(crate) use session_cols;

/// Columns of `api_keys` as the backends select and insert them.
macro_rules! api_key_cols {
    () => {
        "id, account_id, name, secret_hash, scopes, created_at, expires_at, revoked_at"
    };
}
pub(crate) use api_key_cols;

/// Define, in a backend module, `insert_account_row(conn, account)`: the
/// account insert inside the caller's transaction, with that backend's
/// connection type, its 16 placeholders and its error mapper:
/// `account_insert!(PgConnection, "($1, ..., $16)", db_err)`.
macro_rules! account_insert {
    ($conn:ty, $values:literal, $err:path) => {
        /// Insert an account row (inside the caller's transaction).
        async fn insert_account_row(
            conn: &mut $conn,
            account: &::warden_core::model::Account,
        ) -> ::warden_core::error::Result<()> {
            let c = $crate::codec::AccountCols::of(account)?;
            ::sqlx::query(concat!(
                "INSERT INTO accounts (",
                $crate::rows::account_cols!(),
                ", login_key, email_key) VALUES ",
                $values
            ))
            .bind(account.id.0)
            .bind(&account.login)
            .bind(&account.email)
            .bind(account.email_verified)
            .bind(account.active)
            .bind(account.blocked)
            .bind(&account.block_reason)
            .bind(account.mfa_enabled)
            .bind(&c.scopes)
            .bind(&c.properties)
            .bind(&account.password_hash)
            .bind(c.password_changed_at)
            .bind(c.created_at)
            .bind(c.updated_at)
            .bind(account.login_key())
            .bind(&c.email_key)
            .execute(&mut *conn)
            .await
            .map_err($err)?;
            Ok(())
        }
    };
}
pub(crate) use account_insert;

/// Define, in a backend module, the row readers of that backend:
/// `row_mapping!(SqliteRow, Sqlite)` gives private functions `get`,
/// `account_from_row`, `session_from_row`, `audit_from_row`,
/// `signing_key_from_row`, `challenge_from_row`, `api_key_from_row` and
/// `usage_from_row` (child modules reach them through `super::`).
macro_rules! row_mapping {
    ($row:ty, $db:ty) => {
        /// A column value, with `sqlx` errors mapped to domain errors.
        fn get<'r, T>(row: &'r $row, col: &str) -> ::warden_core::error::Result<T>
        where
            T: ::sqlx::Decode<'r, $db> + ::sqlx::Type<$db>,
        {
            ::sqlx::Row::try_get(row, col).map_err($crate::codec::db_err)
        }

        fn account_from_row(
            row: &$row,
        ) -> ::warden_core::error::Result<::warden_core::model::Account> {
            use $crate::codec::{from_json_list, from_json_value, from_ts};
            Ok(::warden_core::model::Account {
                id: ::warden_core::model::AccountId(get(row, "id")?),
                login: get(row, "login")?,
                email: get(row, "email")?,
                email_verified: get(row, "email_verified")?,
                active: get(row, "active")?,
                blocked: get(row, "blocked")?,
                block_reason: get(row, "block_reason")?,
                mfa_enabled: get(row, "mfa_enabled")?,
                scopes: from_json_list(&get::<String>(row, "scopes")?)?,
                properties: from_json_value(&get::<String>(row, "properties")?)?,
                password_hash: get(row, "password_hash")?,
                password_changed_at: from_ts(get(row, "password_changed_at")?)?,
                created_at: from_ts(get(row, "created_at")?)?,
                updated_at: from_ts(get(row, "updated_at")?)?,
            })
        }

        fn session_from_row(
            row: &$row,
        ) -> ::warden_core::error::Result<::warden_core::model::Session> {
            use $crate::codec::{from_json_list, from_ts, from_ts_opt};
            Ok(::warden_core::model::Session {
                id: ::warden_core::model::SessionId(get(row, "id")?),
                account_id: ::warden_core::model::AccountId(get(row, "account_id")?),
                created_at: from_ts(get(row, "created_at")?)?,
                last_seen_at: from_ts(get(row, "last_seen_at")?)?,
                expires_at: from_ts(get(row, "expires_at")?)?,
                ip: get(row, "ip")?,
                user_agent: get(row, "user_agent")?,
                long: get(row, "long_lived")?,
                amr: from_json_list(&get::<String>(row, "amr")?)?,
                revoked_at: from_ts_opt(get(row, "revoked_at")?)?,
            })
        }

        fn audit_from_row(
            row: &$row,
        ) -> ::warden_core::error::Result<::warden_core::model::AuditEvent> {
            use $crate::codec::{from_json_value, from_ts};
            Ok(::warden_core::model::AuditEvent {
                at: from_ts(get(row, "at")?)?,
                account_id: get::<Option<::uuid::Uuid>>(row, "account_id")?
                    .map(::warden_core::model::AccountId),
                event: get(row, "event")?,
                ip: get(row, "ip")?,
                user_agent: get(row, "user_agent")?,
                detail: from_json_value(&get::<String>(row, "detail")?)?,
            })
        }

        fn signing_key_from_row(
            row: &$row,
        ) -> ::warden_core::error::Result<::warden_core::model::StoredKey> {
            use $crate::codec::{from_ts, from_ts_opt};
            Ok(::warden_core::model::StoredKey {
                kid: get(row, "kid")?,
                alg: get(row, "alg")?,
                private_der: get(row, "private_der")?,
                created_at: from_ts(get(row, "created_at")?)?,
                retired_at: from_ts_opt(get(row, "retired_at")?)?,
            })
        }

        fn challenge_from_row(
            row: &$row,
        ) -> ::warden_core::error::Result<::warden_core::store::MfaChallenge> {
            use $crate::codec::{count, from_ts};
            Ok(::warden_core::store::MfaChallenge {
                account_id: ::warden_core::model::AccountId(get::<::uuid::Uuid>(
                    row,
                    "account_id",
                )?),
                remember: get(row, "remember")?,
                expires_at: from_ts(get(row, "expires_at")?)?,
                attempts: count(get(row, "attempts")?),
            })
        }

        fn api_key_from_row(
            row: &$row,
        ) -> ::warden_core::error::Result<::warden_core::store::ApiKey> {
            use $crate::codec::{from_json_list, from_ts, from_ts_opt};
            let hash: Vec<u8> = get(row, "secret_hash")?;
            Ok(::warden_core::store::ApiKey {
                id: ::warden_core::model::ApiKeyId(get(row, "id")?),
                account_id: ::warden_core::model::AccountId(get(row, "account_id")?),
                name: get(row, "name")?,
                secret_hash: hash.try_into().map_err(|_| {
                    ::warden_core::error::Error::Internal(
                        "stored API key hash is not 32 bytes".into(),
                    )
                })?,
                scopes: from_json_list(&get::<String>(row, "scopes")?)?,
                created_at: from_ts(get(row, "created_at")?)?,
                expires_at: from_ts_opt(get(row, "expires_at")?)?,
                revoked_at: from_ts_opt(get(row, "revoked_at")?)?,
            })
        }

        fn usage_from_row(
            row: &$row,
        ) -> ::warden_core::error::Result<::warden_core::store::ApiKeyUsage> {
            use $crate::codec::from_ts;
            Ok(::warden_core::store::ApiKeyUsage {
                key_id: ::warden_core::model::ApiKeyId(get(row, "key_id")?),
                at: from_ts(get(row, "at")?)?,
                ip: get(row, "ip")?,
                method: get(row, "method")?,
                path: get(row, "path")?,
            })
        }
    };
}
pub(crate) use row_mapping;
