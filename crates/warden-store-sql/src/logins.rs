//! Stored logins brought up to the current login rules (RFC 8265 keys, TR39
//! skeletons; see `warden_core::login_rules`) after migration 0009, which
//! cannot compute them in SQL.
//!
//! Rows without a skeleton are taken in id order (UUID v7: oldest first),
//! a page at a time. Each gets its new key unless another account holds it
//! (it then keeps its old key, the login lower-cased, by which a sign-in still
//! finds it) and its skeleton unless another account holds that. Each update
//! is one statement guarded by the unique indexes, so concurrent nodes and new
//! registrations cannot make two accounts share a key or skeleton; the loser is
//! reported as a [`LoginCollision`], never merged, renamed or disabled. Rows
//! that stay without a skeleton are looked at again on the next run (their
//! holder may have been deleted or renamed since).

use crate::backend::SqlBackend;
use crate::dialect::{Dialect, Record};
use crate::sql::sql;
use warden_core::error::{Error, Result};
use warden_core::login_rules::login_skeleton;
use warden_core::model::{AccountId, normalize_login};
use warden_core::store::LoginCollision;

const PAGE: i64 = 500;

fn id_login<D: Dialect>(row: &Record<D>) -> Result<(AccountId, String)> {
    Ok((AccountId(row.get("id")?), row.get("login")?))
}

/// See the module doc; [`warden_core::store::AccountStore::prepare_logins`].
pub(crate) async fn prepare_logins<D: Dialect>(db: &SqlBackend<D>) -> Result<Vec<LoginCollision>> {
    let mut collisions = Vec::new();
    let mut after: Option<AccountId> = None;
    loop {
        let page = match after {
            None => {
                db.q(sql!(
                    "SELECT id, login FROM accounts WHERE login_skeleton IS NULL \
                     ORDER BY id LIMIT $1"
                ))
                .bind(PAGE)
                .all(id_login)
                .await?
            }
            Some(a) => {
                db.q(sql!(
                    "SELECT id, login FROM accounts WHERE login_skeleton IS NULL AND id > $1 \
                     ORDER BY id LIMIT $2"
                ))
                .bind(a.0)
                .bind(PAGE)
                .all(id_login)
                .await?
            }
        };
        let Some(last) = page.last() else {
            return Ok(collisions);
        };
        after = Some(last.0);
        for (id, login) in page {
            if let Some(c) = prepare_one(db, id, &login).await? {
                collisions.push(c);
            }
        }
    }
}

/// The other account holding a value of a unique column, if any.
async fn holder<D: Dialect>(
    db: &SqlBackend<D>,
    skeleton: bool,
    value: &str,
    id: AccountId,
) -> Result<Option<(AccountId, String)>> {
    let q = if skeleton {
        db.q(sql!(
            "SELECT id, login FROM accounts WHERE login_skeleton = $1 AND id <> $2"
        ))
    } else {
        db.q(sql!(
            "SELECT id, login FROM accounts WHERE login_key = $1 AND id <> $2"
        ))
    };
    q.bind(value).bind(id.0).one(id_login).await
}

/// `Ok(true)` if the update took, `Ok(false)` if a unique index refused it.
fn taken(r: Result<u64>) -> Result<bool> {
    match r {
        Ok(_) => Ok(true),
        Err(Error::LoginTaken) => Ok(false),
        Err(e) => Err(e),
    }
}

async fn prepare_one<D: Dialect>(
    db: &SqlBackend<D>,
    id: AccountId,
    login: &str,
) -> Result<Option<LoginCollision>> {
    let key = normalize_login(login);
    let skeleton = login_skeleton(login);
    let mut with = holder(db, false, &key, id).await?;
    let key_taken = with.is_some()
        || !taken(
            db.q(sql!("UPDATE accounts SET login_key = $2 WHERE id = $1"))
                .bind(id.0)
                .bind(key.as_str())
                .execute()
                .await,
        )?;
    let skeleton_holder = holder(db, true, &skeleton, id).await?;
    let skeleton_taken = skeleton_holder.is_some()
        || !taken(
            db.q(sql!(
                "UPDATE accounts SET login_skeleton = $2 \
                 WHERE id = $1 AND login_skeleton IS NULL"
            ))
            .bind(id.0)
            .bind(skeleton.as_str())
            .execute()
            .await,
        )?;
    if !key_taken && !skeleton_taken {
        return Ok(None);
    }
    if with.is_none() {
        with = match skeleton_holder {
            Some(h) => Some(h),
            None => holder(db, true, &skeleton, id).await?,
        };
    }
    let (with_id, with_login) = with.unzip();
    Ok(Some(LoginCollision {
        account_id: id,
        login: login.to_owned(),
        with_id,
        with_login,
        key_taken,
    }))
}

/// Run [`prepare_logins`] after the migrations of a connect and log each
/// collision (ids and logins: no secret) as a warning.
pub(crate) async fn prepare_at_connect<D: Dialect>(db: &SqlBackend<D>) -> Result<()> {
    for c in prepare_logins(db).await? {
        tracing::warn!(
            account_id = %c.account_id,
            login = %c.login,
            with_id = ?c.with_id.map(|i| i.to_string()),
            with_login = ?c.with_login,
            key_taken = c.key_taken,
            "stored login looks like another account's; kept as is (list: warden account login-collisions)"
        );
    }
    Ok(())
}
