//! The in-memory caches the change feed keeps fresh: accounts by id and the
//! sessions revoked recently.

use crate::model::{Account, AccountId, SessionId};
use parking_lot::RwLock;
use std::collections::HashMap;
use std::sync::Arc;
use time::OffsetDateTime;

/// Accounts by id, as last read from the store: at most `max` of them (the
/// cache is emptied when a new one would exceed it;
/// [`crate::Settings::account_cache_size`]).
pub(crate) struct AccountCache {
    map: RwLock<HashMap<AccountId, Arc<Account>>>,
    max: usize,
}

impl AccountCache {
    pub(crate) fn new(max: usize) -> Self {
        Self {
            map: RwLock::default(),
            max: max.max(1),
        }
    }
    pub(crate) fn get(&self, id: &AccountId) -> Option<Arc<Account>> {
        self.map.read().get(id).cloned()
    }
    pub(crate) fn insert(&self, id: AccountId, account: Arc<Account>) {
        let mut cache = self.map.write();
        if cache.len() >= self.max && !cache.contains_key(&id) {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn account(login: &str) -> Arc<Account> {
        Arc::new(Account::person(login, OffsetDateTime::UNIX_EPOCH))
    }

    #[test]
    fn the_account_cache_holds_at_most_its_size() {
        let cache = AccountCache::new(3);
        let mut ids = Vec::new();
        for i in 0..10 {
            let a = account(&format!("user{i}"));
            ids.push(a.id);
            cache.insert(a.id, a.clone());
            assert!(cache.map.read().len() <= 3);
            assert!(cache.get(&a.id).is_some_and(|c| Arc::ptr_eq(&c, &a)));
        }
        // Full: replacing a cached account keeps the others.
        let (b, c) = (account("b"), account("c"));
        cache.insert(b.id, b.clone());
        cache.insert(c.id, c.clone());
        assert_eq!(cache.map.read().len(), 3);
        cache.insert(ids[9], account("user9"));
        assert_eq!(cache.map.read().len(), 3);
        assert!(cache.get(&b.id).is_some() && cache.get(&c.id).is_some());
    }
}
