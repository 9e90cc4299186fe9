//! [`PasskeyStore`] for SQLite and PostgreSQL: one source, compiled as a child
//! module of each backend, which names its store (`Backend`), row and
//! connection types (`BackendRow`, `BackendConn`) and how a removal locks the
//! account (`ACCOUNT_LOCK`: nothing extra on SQLite, whose `BEGIN IMMEDIATE`
//! serializes writers; `FOR UPDATE` on PostgreSQL). A removal of a passkey or
//! an identity first locks the account row, then counts the sign-in methods
//! left, so two concurrent removals cannot both take the last two.

use super::{
    ACCOUNT_LOCK, Backend, BackendConn, BackendRow, commit, get, insert_account_row, insert_audit,
};
use crate::codec::{db_err, from_ts, from_ts_opt, ts, ts_opt};
use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;
use warden_core::error::{Error, Result};
use warden_core::model::{Account, AccountId, AuditEvent};
use warden_core::store::{Passkey, PasskeyStore};

macro_rules! passkey_cols {
    () => {
        "id, account_id, credential_id, name, credential, backup_eligible, backup_state, \
         created_at, last_used_at"
    };
}

fn passkey_from_row(row: &BackendRow) -> Result<Passkey> {
    Ok(Passkey {
        id: get(row, "id")?,
        account_id: AccountId(get(row, "account_id")?),
        credential_id: get(row, "credential_id")?,
        name: get(row, "name")?,
        credential: get(row, "credential")?,
        backup_eligible: get(row, "backup_eligible")?,
        backup_state: get(row, "backup_state")?,
        created_at: from_ts(get(row, "created_at")?)?,
        last_used_at: from_ts_opt(get(row, "last_used_at")?)?,
    })
}

/// A unique violation on the credential id: registered already.
fn insert_err(e: sqlx::Error) -> Error {
    if let sqlx::Error::Database(d) = &e
        && d.is_unique_violation()
        && d.constraint()
            .unwrap_or_else(|| d.message())
            .contains("credential")
    {
        return taken();
    }
    db_err(e)
}

fn taken() -> Error {
    Error::BadRequest("this passkey is registered already".into())
}

async fn insert_row(conn: &mut BackendConn, p: &Passkey) -> Result<()> {
    sqlx::query(
        "INSERT INTO passkeys (id, account_id, credential_id, name, credential, backup_eligible, \
         backup_state, created_at, last_used_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(p.id)
    .bind(p.account_id.0)
    .bind(&p.credential_id)
    .bind(&p.name)
    .bind(&p.credential)
    .bind(p.backup_eligible)
    .bind(p.backup_state)
    .bind(ts(p.created_at)?)
    .bind(ts_opt(p.last_used_at)?)
    .execute(&mut *conn)
    .await
    .map_err(insert_err)?;
    Ok(())
}

async fn credential_taken(conn: &mut BackendConn, credential_id: &[u8]) -> Result<bool> {
    let row = sqlx::query("SELECT 1 FROM passkeys WHERE credential_id = $1")
        .bind(credential_id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?;
    Ok(row.is_some())
}

/// Lock the account row and count its sign-in methods (password, identities,
/// passkeys). `None` when the account does not exist.
pub(super) async fn sign_in_methods(
    conn: &mut BackendConn,
    account: AccountId,
) -> Result<Option<i64>> {
    let row = sqlx::query(ACCOUNT_LOCK)
        .bind(account.0)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?;
    let Some(row) = row else {
        return Ok(None);
    };
    let password: Option<String> = get(&row, "password_hash")?;
    let n: i64 = sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM identities WHERE account_id = $1) \
              + (SELECT COUNT(*) FROM passkeys WHERE account_id = $1)",
    )
    .bind(account.0)
    .fetch_one(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(Some(n + i64::from(password.is_some())))
}

#[async_trait]
impl PasskeyStore for Backend {
    async fn insert_passkey(&self, passkey: &Passkey, audit: &AuditEvent) -> Result<()> {
        let mut tx = self.write().await?;
        if sign_in_methods(&mut tx, passkey.account_id)
            .await?
            .is_none()
        {
            return Err(Error::NotFound);
        }
        if credential_taken(&mut tx, &passkey.credential_id).await? {
            return Err(taken());
        }
        insert_row(&mut tx, passkey).await?;
        insert_audit(&mut tx, audit).await?;
        commit(tx).await
    }

    async fn insert_account_with_passkey(
        &self,
        account: &Account,
        passkey: &Passkey,
        audit: &[AuditEvent],
    ) -> Result<()> {
        if passkey.account_id != account.id {
            return Err(Error::Internal("passkey of another account".into()));
        }
        let mut tx = self.write().await?;
        insert_account_row(&mut tx, account).await?;
        if credential_taken(&mut tx, &passkey.credential_id).await? {
            return Err(taken());
        }
        insert_row(&mut tx, passkey).await?;
        for ev in audit {
            insert_audit(&mut tx, ev).await?;
        }
        commit(tx).await
    }

    async fn passkeys_of(&self, account: AccountId) -> Result<Vec<Passkey>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            passkey_cols!(),
            " FROM passkeys WHERE account_id = $1 ORDER BY created_at, id"
        ))
        .bind(account.0)
        .fetch_all(self.pool())
        .await
        .map_err(db_err)?;
        rows.iter().map(passkey_from_row).collect()
    }

    async fn passkey_by_credential(&self, credential_id: &[u8]) -> Result<Option<Passkey>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            passkey_cols!(),
            " FROM passkeys WHERE credential_id = $1"
        ))
        .bind(credential_id)
        .fetch_optional(self.pool())
        .await
        .map_err(db_err)?;
        row.as_ref().map(passkey_from_row).transpose()
    }

    async fn passkey_used(
        &self,
        id: Uuid,
        credential: &str,
        backup_state: bool,
        now: OffsetDateTime,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE passkeys SET credential = $1, backup_state = $2, last_used_at = $3 WHERE id = $4",
        )
        .bind(credential)
        .bind(backup_state)
        .bind(ts(now)?)
        .bind(id)
        .execute(self.pool())
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn rename_passkey(&self, account: AccountId, id: Uuid, name: &str) -> Result<bool> {
        let done = sqlx::query("UPDATE passkeys SET name = $1 WHERE id = $2 AND account_id = $3")
            .bind(name)
            .bind(id)
            .bind(account.0)
            .execute(self.pool())
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete_passkey(
        &self,
        account: AccountId,
        id: Uuid,
        audit: &AuditEvent,
    ) -> Result<bool> {
        let mut tx = self.write().await?;
        let Some(methods) = sign_in_methods(&mut tx, account).await? else {
            return Ok(false);
        };
        let mine = sqlx::query("SELECT 1 FROM passkeys WHERE id = $1 AND account_id = $2")
            .bind(id)
            .bind(account.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
        if mine.is_none() {
            return Ok(false);
        }
        if methods <= 1 {
            return Err(Error::LastSignInMethod);
        }
        sqlx::query("DELETE FROM passkeys WHERE id = $1 AND account_id = $2")
            .bind(id)
            .bind(account.0)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        insert_audit(&mut tx, audit).await?;
        commit(tx).await?;
        Ok(true)
    }
}
