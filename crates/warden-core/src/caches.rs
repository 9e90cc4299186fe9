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

/// Sessions revoked recently, kept until every access token they issued has
/// expired; and the sessions whose organization claims were revoked, with
/// the lowest epoch their tokens with organization claims must carry.
#[derive(Default)]
pub(crate) struct Revocations {
    set: RwLock<HashMap<SessionId, OffsetDateTime>>,
    org_epochs: RwLock<HashMap<SessionId, (i64, OffsetDateTime)>>,
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
        self.org_epochs.write().retain(|_, (_, until)| *until > now);
    }
    /// Tokens of `sid` with organization claims of an epoch below `epoch`
    /// are refused until `until`.
    pub(crate) fn insert_org_epoch(&self, sid: SessionId, epoch: i64, until: OffsetDateTime) {
        let mut map = self.org_epochs.write();
        let e = map.entry(sid).or_insert((epoch, until));
        *e = (e.0.max(epoch), until);
    }
    /// Whether organization claims of `epoch` of session `sid` are revoked.
    pub(crate) fn org_claims_revoked(&self, sid: &SessionId, epoch: i64) -> bool {
        self.org_epochs
            .read()
            .get(sid)
            .is_some_and(|(min, _)| epoch < *min)
    }
}
