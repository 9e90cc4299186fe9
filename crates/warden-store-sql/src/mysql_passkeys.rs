//! [`PasskeyStore`] on MySQL / MariaDB (a child module of `mysql`, sharing its
//! helpers), as `sql_passkeys.rs` with `?` placeholders. The account row is
//! locked with `FOR UPDATE`. A removal of a passkey or
//! an identity first locks the account row, then counts the sign-in methods
//! left, so two concurrent removals cannot both take the last two.

use super::{MySqlStore, commit, get, insert_account_row, insert_audit, my_err};
use crate::codec::{from_ts, from_ts_opt, ts, ts_opt};
use async_trait::async_trait;
use sqlx::mysql::{MySqlConnection, MySqlRow};
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

fn passkey_from_row(row: &MySqlRow) -> Result<Passkey> {
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
    my_err(e)
}

fn taken() -> Error {
    Error::BadRequest("this passkey is registered already".into())
}

async fn insert_row(conn: &mut MySqlConnection, p: &Passkey) -> Result<()> {
    sqlx::query(
        "INSERT INTO passkeys (id, account_id, credential_id, name, credential, backup_eligible, \
         backup_state, created_at, last_used_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
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

async fn credential_taken(conn: &mut MySqlConnection, credential_id: &[u8]) -> Result<bool> {
    let row = sqlx::query("SELECT 1 FROM passkeys WHERE credential_id = ?")
        .bind(credential_id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(my_err)?;
    Ok(row.is_some())
}

/// Lock the account row and count its sign-in methods (password, identities,
/// passkeys). `None` when the account does not exist.
pub(super) async fn sign_in_methods(
    conn: &mut MySqlConnection,
    account: AccountId,
) -> Result<Option<i64>> {
    let row = sqlx::query("SELECT password_hash FROM accounts WHERE id = ? FOR UPDATE")
        .bind(account.0)
        .fetch_optional(&mut *conn)
        .await
        .map_err(my_err)?;
    let Some(row) = row else {
        return Ok(None);
    };
    let password: Option<String> = get(&row, "password_hash")?;
    let n: i64 = sqlx::query_scalar(
        "SELECT CAST((SELECT COUNT(*) FROM identities WHERE account_id = ?) \
              + (SELECT COUNT(*) FROM passkeys WHERE account_id = ?) AS SIGNED)",
    )
    .bind(account.0)
    .bind(account.0)
    .fetch_one(&mut *conn)
    .await
    .map_err(my_err)?;
    Ok(Some(n + i64::from(password.is_some())))
}

#[async_trait]
impl PasskeyStore for MySqlStore {
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
            " FROM passkeys WHERE account_id = ? ORDER BY created_at, id"
        ))
        .bind(account.0)
        .fetch_all(self.pool())
        .await
        .map_err(my_err)?;
        rows.iter().map(passkey_from_row).collect()
    }

    async fn passkey_by_credential(&self, credential_id: &[u8]) -> Result<Option<Passkey>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            passkey_cols!(),
            " FROM passkeys WHERE credential_id = ?"
        ))
        .bind(credential_id)
        .fetch_optional(self.pool())
        .await
        .map_err(my_err)?;
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
            "UPDATE passkeys SET credential = ?, backup_state = ?, last_used_at = ? WHERE id = ?",
        )
        .bind(credential)
        .bind(backup_state)
        .bind(ts(now)?)
        .bind(id)
        .execute(self.pool())
        .await
        .map_err(my_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn rename_passkey(&self, account: AccountId, id: Uuid, name: &str) -> Result<bool> {
        let done = sqlx::query("UPDATE passkeys SET name = ? WHERE id = ? AND account_id = ?")
            .bind(name)
            .bind(id)
            .bind(account.0)
            .execute(self.pool())
            .await
            .map_err(my_err)?;
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
        let mine = sqlx::query("SELECT 1 FROM passkeys WHERE id = ? AND account_id = ?")
            .bind(id)
            .bind(account.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(my_err)?;
        if mine.is_none() {
            return Ok(false);
        }
        if methods <= 1 {
            return Err(Error::LastSignInMethod);
        }
        sqlx::query("DELETE FROM passkeys WHERE id = ? AND account_id = ?")
            .bind(id)
            .bind(account.0)
            .execute(&mut *tx)
            .await
            .map_err(my_err)?;
        insert_audit(&mut tx, audit).await?;
        commit(tx).await?;
        Ok(true)
    }
}
