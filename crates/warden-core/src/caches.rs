//! The in-memory caches the change feed keeps fresh: accounts by id and the
//! sessions revoked recently.

use crate::model::{Account, AccountId, SessionId};
use parking_lot::RwLock;
use std::collections::HashMap;
use std::sync::Arc;
use time::OffsetDateTime;

/// Accounts kept in the cache at most (it is emptied beyond).
const ACCOUNT_CACHE_MAX: usize = 100_000;

/// Accounts by id, as last read from the store.
#[derive(Default)]
pub(crate) struct AccountCache {
    map: RwLock<HashMap<AccountId, Arc<Account>>>,
}

impl AccountCache {
    pub(crate) fn get(&self, id: &AccountId) -> Option<Arc<Account>> {
        self.map.read().get(id).cloned()
    }
    pub(crate) fn insert(&self, id: AccountId, account: Arc<Account>) {
        let mut cache = self.map.write();
        if cache.len() >= ACCOUNT_CACHE_MAX {
            cache.clear();
        }
        cache.insert(id, account);
    }
    pub(crate) fn forget(&self, id: &AccountId) {
        self.map.write().remove(id);
    }
}

/// Sessions revoked recently, kept until every access token they issued has expired.
#[derive(Default)]
pub(crate) struct Revocations {
    set: RwLock<HashMap<SessionId, OffsetDateTime>>,
}

impl Revocations {
    pub(crate) fn contains(&self, sid: &SessionId) -> bool {
        self.set.read().contains_key(sid)
    }
    pub(crate) fn insert(&self, sid: SessionId, until: OffsetDateTime) {
        self.set.write().insert(sid, until);
    }
    pub(crate) fn prune(&self, now: OffsetDateTime) {
        self.set.write().retain(|_, until| *until > now);
    }
}
