//! The JSON body of an account (API.md `Account`), rendered once per version
//! of the account for `GET /auth/me`, the hot path of every client.
//!
//! The engine's account cache hands out one `Arc<Account>` until the account
//! changes (any change, here or on another node through the change feed,
//! replaces it), so a body kept beside the `Arc` it was rendered from is the
//! body of the current account exactly when the two `Arc`s are the same
//! allocation. Holding that `Arc` keeps the allocation alive, so its address
//! cannot be reused by another account meanwhile.

use crate::routes::dto::AccountBody;
use axum::body::Bytes;
use parking_lot::RwLock;
use std::collections::HashMap;
use std::sync::Arc;
use warden_core::Error;
use warden_core::model::{Account, AccountId};

/// Bodies kept at most (fewer when `WARDEN_ACCOUNT_CACHE_SIZE` is smaller;
/// the map is emptied beyond).
const MAX: usize = 16_384;

/// Rendered account bodies by account id (see the module doc).
pub(crate) struct AccountJson {
    map: RwLock<HashMap<AccountId, (Arc<Account>, Bytes)>>,
    max: usize,
}

impl AccountJson {
    /// Keep at most `account_cache_size` bodies, and never more than 16,384.
    pub(crate) fn new(account_cache_size: usize) -> Self {
        Self {
            map: RwLock::default(),
            max: account_cache_size.clamp(1, MAX),
        }
    }

    /// The JSON of `account`, rendered on the first call for this version.
    pub(crate) fn body(&self, account: &Arc<Account>) -> Result<Bytes, Error> {
        if let Some((kept, body)) = self.map.read().get(&account.id)
            && Arc::ptr_eq(kept, account)
        {
            return Ok(body.clone());
        }
        let body = serde_json::to_vec(&AccountBody::from(account.as_ref()))
            .map(Bytes::from)
            .map_err(|e| Error::Internal(format!("account JSON: {e}")))?;
        let mut map = self.map.write();
        if map.len() >= self.max {
            map.clear();
        }
        map.insert(account.id, (account.clone(), body.clone()));
        Ok(body)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn account(login: &str) -> Account {
        Account::person(login, time::OffsetDateTime::UNIX_EPOCH)
    }

    #[test]
    fn a_body_is_kept_for_one_version_of_the_account() {
        let cache = AccountJson::new(100_000);
        let first = Arc::new(account("alice"));
        let body = cache.body(&first).unwrap();
        let parsed: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(parsed["login"], "alice");
        // The same version: the same bytes, not rendered again.
        assert_eq!(cache.body(&first).unwrap().as_ptr(), body.as_ptr());
        // A new version of the same account (equal id, new Arc) is rendered anew.
        let mut changed = (*first).clone();
        changed.login = "alice2".into();
        let changed = Arc::new(changed);
        let parsed: serde_json::Value =
            serde_json::from_slice(&cache.body(&changed).unwrap()).unwrap();
        assert_eq!(parsed["login"], "alice2");
        assert_eq!(parsed["id"], first.id.0.to_string());
    }

    #[test]
    fn it_keeps_at_most_its_size() {
        let cache = AccountJson::new(2);
        for i in 0..5 {
            cache.body(&Arc::new(account(&format!("user{i}")))).unwrap();
            assert!(cache.map.read().len() <= 2);
        }
    }
}
