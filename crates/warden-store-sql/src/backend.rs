//! [`SqlBackend`]: the one implementation of the store traits, and the writes
//! its trait implementations share.
//!
//! Concurrency, the same on every database:
//! - every write of more than one statement is one transaction
//!   ([`Tx::begin`]); on SQLite it starts with `BEGIN IMMEDIATE`, taking the
//!   write lock up front (waiting up to the busy timeout), so two writers
//!   never both read a row and then race to update it;
//! - on PostgreSQL (READ COMMITTED) and MySQL (READ COMMITTED, set per
//!   connection) a read-modify-write locks the row it reads first
//!   (`{FOR UPDATE}`), and a row that others will reference is share-locked
//!   against deletion (`{FOR KEY SHARE}`); rows are locked in one order
//!   (account, then session, then refresh token), so writers do not deadlock;
//! - every transaction that appends to the change feed takes the feed lock
//!   ([`Dialect::feed_lock`]) as its first statement, before any row lock:
//!   feed writers are serialized, so `feed.seq` values become visible in
//!   increasing order and `changes_since(seq)` never skips an entry that
//!   commits later with a smaller `seq`; transactions that do not write the
//!   feed (e.g. a normal refresh-token rotation) never take it;
//! - the audit events of a change are written in the change's transaction.

use crate::codec::{AccountCols, feed_columns, json_value, ts};
use crate::dialect::{Dialect, Stmt, Tx, on_pool};
use crate::sql::{Sql, sql};
use async_trait::async_trait;
use sqlx::{Connection, Pool};
use uuid::Uuid;
use warden_core::error::{Error, Result};
use warden_core::model::{Account, AccountId, AuditEvent, SessionId};
use warden_core::store::{Change, Revoke, Store};

/// The store on one SQL database `D`; [`crate::SqlStore`],
/// [`crate::PgStore`] and [`crate::MySqlStore`] name its three kinds.
pub struct SqlBackend<D: Dialect> {
    pub(crate) pool: Pool<D::Db>,
    /// The writer of refresh-token rotations, on SQLite (see
    /// [`crate::rotation`]).
    pub(crate) group_commit: Option<crate::rotation::GroupCommit>,
}

impl<D: Dialect> std::fmt::Debug for SqlBackend<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlBackend")
            .field("backend", &D::NAME)
            .finish_non_exhaustive()
    }
}

impl<D: Dialect> SqlBackend<D> {
    /// The underlying pool (for maintenance tasks and tests).
    pub fn pool(&self) -> &Pool<D::Db> {
        &self.pool
    }

    /// A statement on the pool (autocommit).
    pub(crate) fn q<'a>(&self, sql: &'static Sql) -> Stmt<'_, 'a, D> {
        on_pool(&self.pool, sql)
    }

    /// Start a transaction that does not write the feed.
    pub(crate) async fn write(&self) -> Result<Tx<D>> {
        Tx::begin(&self.pool, false).await
    }

    /// Start a transaction that may write the feed (holding the feed lock).
    pub(crate) async fn feed_write(&self) -> Result<Tx<D>> {
        Tx::begin(&self.pool, true).await
    }
}

/// Insert an account row (with its login's key and skeleton, both unique).
pub(crate) async fn insert_account_row<D: Dialect>(tx: &mut Tx<D>, a: &Account) -> Result<()> {
    let c = AccountCols::of(a)?;
    tx.q(sql!(concat!(
        "INSERT INTO accounts (",
        crate::rows::account_cols!(),
        ", login_key, email_key, login_skeleton) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
         $10, $11, $12, $13, $14, $18, $15, $16, $17)"
    )))
    .binds((
        a.id.0,
        &a.login,
        &a.email,
        a.email_verified,
        a.active,
        a.blocked,
        &a.block_reason,
        a.mfa_enabled,
        &c.scopes,
        &c.properties,
        &a.password_hash,
        c.password_changed_at,
        c.created_at,
        c.updated_at,
        a.login_key().as_str(),
        c.email_key.as_deref(),
        a.login_skeleton().as_str(),
    ))
    .bind(a.kind.as_str())
    .run()
    .await
}

/// The statement that appends an audit event (see [`audit_stmt`]).
pub(crate) fn audit_sql() -> &'static Sql {
    sql!(
        "INSERT INTO audit (at, account_id, event, ip, user_agent, detail) \
         VALUES ($1, $2, $3, $4, $5, $6)"
    )
}

/// Bind an audit event to [`audit_sql`].
pub(crate) fn audit_stmt<'t, 'a, D: Dialect>(
    s: Stmt<'t, 'a, D>,
    ev: &'a AuditEvent,
    detail: &'a str,
) -> Result<Stmt<'t, 'a, D>> {
    Ok(s.bind(ts(ev.at)?).binds((
        ev.account_id.map(|a| a.0),
        ev.event.as_str(),
        &ev.ip,
        &ev.user_agent,
        detail,
    )))
}

/// Append an audit event in the caller's transaction.
pub(crate) async fn insert_audit<D: Dialect>(tx: &mut Tx<D>, ev: &AuditEvent) -> Result<()> {
    let detail = json_value(&ev.detail)?;
    audit_stmt(tx.q(audit_sql()), ev, &detail)?.run().await
}

/// Finish a write whose statement changed `changed` rows: with none, nothing
/// is committed (the transaction rolls back) and the answer is `false`;
/// otherwise `audit` is appended and the transaction commits (`true`).
pub(crate) async fn commit_if_changed<D: Dialect>(
    mut tx: Tx<D>,
    changed: u64,
    audit: &AuditEvent,
) -> Result<bool> {
    if changed == 0 {
        return Ok(false);
    }
    insert_audit(&mut tx, audit).await?;
    tx.commit().await?;
    Ok(true)
}

/// Append to the feed (only in a [`SqlBackend::feed_write`] transaction).
pub(crate) async fn insert_feed<D: Dialect>(
    tx: &mut Tx<D>,
    change: &Change,
    at: i64,
) -> Result<()> {
    let (kind, id, account) = feed_columns(change);
    tx.q(sql!(
        "INSERT INTO feed (kind, id, account_id, at) VALUES ($1, $2, $3, $4)"
    ))
    .binds((kind, id, account, at))
    .run()
    .await
}

/// Finish revoking one locked row: `update` (binds: `at`, `id`) marks it
/// revoked, then its feed `change` and the `audit` event are appended and the
/// feed transaction commits. Revoking a session and revoking an API key end
/// alike; only the row lock before it differs.
pub(crate) async fn finish_revoke<D: Dialect>(
    mut tx: Tx<D>,
    update: &'static Sql,
    id: Uuid,
    at: i64,
    change: &Change,
    audit: &AuditEvent,
) -> Result<bool> {
    tx.q(update).binds((at, id)).execute().await?;
    insert_feed(&mut tx, change, at).await?;
    insert_audit(&mut tx, audit).await?;
    tx.commit().await?;
    Ok(true)
}

/// Revoke the live sessions of `account` (but `except`) at `now`, one feed
/// entry each (in a feed transaction): the sessions are locked in id order,
/// then revoked one by one.
pub(crate) async fn revoke_live<D: Dialect>(
    tx: &mut Tx<D>,
    account: AccountId,
    revoke: Revoke,
    now: i64,
) -> Result<u64> {
    let except = match revoke {
        Revoke::Nothing => return Ok(0),
        Revoke::All => None,
        Revoke::AllExcept(keep) => Some(keep.0),
    };
    let rows = tx
        .q(sql!(
            "SELECT id FROM sessions WHERE account_id = $1 AND revoked_at IS NULL \
             AND expires_at > $2 AND ($3::uuid IS NULL OR id <> $3) ORDER BY id {FOR UPDATE}"
        ))
        .binds((account.0, now, except))
        .fetch_all()
        .await?;
    for row in &rows {
        let sid = SessionId(row.get("id")?);
        tx.q(sql!("UPDATE sessions SET revoked_at = $1 WHERE id = $2"))
            .binds((now, sid.0))
            .execute()
            .await?;
        insert_feed(tx, &Change::SessionRevoked(sid, account), now).await?;
    }
    Ok(rows.len() as u64)
}

/// Whether the account exists; when it does, its row is locked against
/// deletion until the transaction ends, so that rows referencing it can be
/// inserted.
pub(crate) async fn account_exists<D: Dialect>(tx: &mut Tx<D>, id: AccountId) -> Result<bool> {
    tx.q(sql!("SELECT 1 FROM accounts WHERE id = $1 {FOR KEY SHARE}"))
        .bind(id.0)
        .exists()
        .await
}

/// Lock the account row and count its sign-in methods (password, identities,
/// passkeys); `None` when the account does not exist. A removal of a passkey
/// or an identity counts first, so two concurrent removals cannot both take
/// the last two.
pub(crate) async fn sign_in_methods<D: Dialect>(
    tx: &mut Tx<D>,
    account: AccountId,
) -> Result<Option<i64>> {
    let Some(row) = tx
        .q(sql!(
            "SELECT password_hash FROM accounts WHERE id = $1 {FOR UPDATE}"
        ))
        .bind(account.0)
        .fetch_optional()
        .await?
    else {
        return Ok(None);
    };
    let password: Option<String> = row.get("password_hash")?;
    let n: i64 = tx
        .q(sql!(
            "SELECT COUNT(*) AS n FROM (SELECT id FROM identities WHERE account_id = $1 \
             UNION ALL SELECT id FROM passkeys WHERE account_id = $1) m"
        ))
        .bind(account.0)
        .fetch_one()
        .await?
        .get("n")?;
    Ok(Some(n + i64::from(password.is_some())))
}

/// Remove the passkey or identity `id` of `account` in `tx`, with the two
/// statements `[mine, delete]` of its table (each bound to `id, account`):
/// `false` when it is not the account's; [`Error::LastSignInMethod`] when it
/// is the last way to sign in (counted under the account's row lock).
pub(crate) async fn remove_sign_in_method<D: Dialect>(
    mut tx: Tx<D>,
    account: AccountId,
    id: Uuid,
    [mine, delete]: [&'static Sql; 2],
    audit: &AuditEvent,
) -> Result<bool> {
    let Some(methods) = sign_in_methods(&mut tx, account).await? else {
        return Ok(false);
    };
    if !tx.q(mine).binds((id, account.0)).exists().await? {
        return Ok(false);
    }
    if methods <= 1 {
        return Err(Error::LastSignInMethod);
    }
    if tx.q(delete).binds((id, account.0)).execute().await? == 0 {
        return Ok(false);
    }
    insert_audit(&mut tx, audit).await?;
    tx.commit().await?;
    Ok(true)
}

#[async_trait]
impl<D: Dialect> Store for SqlBackend<D> {
    async fn ping(&self) -> Result<()> {
        let mut conn = self.pool.acquire().await.map_err(crate::codec::db_err)?;
        conn.ping().await.map_err(crate::codec::db_err)
    }

    fn backend(&self) -> &'static str {
        D::NAME
    }
}
