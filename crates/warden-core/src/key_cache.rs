//! The per-engine state of API keys: the verification cache (kept fresh by
//! the change feed) and the usage buffer with its background writer.

use crate::model::{AccountId, ApiKeyId};
use crate::store::{ApiKey, ApiKeyStore, ApiKeyUsage};
use parking_lot::{Mutex, RwLock};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use time::{Duration, OffsetDateTime};
use tokio::sync::{Notify, mpsc};

/// How long a verified key record is trusted without a store query.
const CACHE_TTL: Duration = Duration::seconds(30);
/// Usage records buffered between requests and the writer.
const USAGE_BUFFER: usize = 10_000;
/// Usage records written in one batch at most.
const USAGE_BATCH: usize = 500;
/// How long the writer waits, after a first record, for more to share its
/// transaction; a full batch, a flush or a read of a usage log cuts it short.
const USAGE_LINGER: std::time::Duration = std::time::Duration::from_millis(500);
/// At most one `api_key.rejected` audit event per key in this window.
const REJECT_AUDIT_EVERY: Duration = Duration::minutes(1);

struct Cached {
    key: Arc<ApiKey>,
    scopes: Arc<[String]>,
    at: OffsetDateTime,
}

/// Per-engine state of API keys: the verification cache and the usage buffer.
pub(crate) struct ApiKeyState {
    cache: RwLock<HashMap<ApiKeyId, Cached>>,
    /// Key records (and recently audited rejections) kept at most
    /// ([`crate::Settings::api_key_cache_size`]).
    cache_max: usize,
    /// Bumped by every removal, so that a lookup that raced with a revoke
    /// does not put the old record back.
    generation: AtomicU64,
    tx: mpsc::Sender<ApiKeyUsage>,
    rx: Mutex<Option<mpsc::Receiver<ApiKeyUsage>>>,
    writer_started: AtomicBool,
    dropped: Arc<AtomicU64>,
    /// Records queued so far, and those the writer has handled (written or
    /// failed): equal when the buffer is flushed.
    queued: AtomicU64,
    handled: Arc<AtomicU64>,
    /// Wakes the writer before its linger ends (a flush, or a full batch waiting).
    wake: Arc<Notify>,
    rejected: Mutex<HashMap<ApiKeyId, OffsetDateTime>>,
}

impl ApiKeyState {
    pub(crate) fn new(cache_max: usize) -> Self {
        let (tx, rx) = mpsc::channel(USAGE_BUFFER);
        Self {
            cache: RwLock::new(HashMap::new()),
            cache_max: cache_max.max(1),
            generation: AtomicU64::new(0),
            tx,
            rx: Mutex::new(Some(rx)),
            writer_started: AtomicBool::new(false),
            dropped: Arc::new(AtomicU64::new(0)),
            queued: AtomicU64::new(0),
            handled: Arc::new(AtomicU64::new(0)),
            wake: Arc::new(Notify::new()),
            rejected: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn cached(
        &self,
        id: ApiKeyId,
        now: OffsetDateTime,
    ) -> Option<(Arc<ApiKey>, Arc<[String]>)> {
        let cache = self.cache.read();
        let c = cache.get(&id)?;
        (now - c.at < CACHE_TTL && c.at <= now).then(|| (c.key.clone(), c.scopes.clone()))
    }

    pub(crate) fn insert(
        &self,
        key: ApiKey,
        generation: u64,
        now: OffsetDateTime,
    ) -> (Arc<ApiKey>, Arc<[String]>) {
        let scopes: Arc<[String]> = key.scopes.clone().into();
        let key = Arc::new(key);
        let mut cache = self.cache.write();
        if self.generation.load(Ordering::Acquire) == generation {
            if cache.len() >= self.cache_max && !cache.contains_key(&key.id) {
                cache.retain(|_, c| now - c.at < CACHE_TTL);
                if cache.len() >= self.cache_max {
                    cache.clear();
                }
            }
            cache.insert(
                key.id,
                Cached {
                    key: key.clone(),
                    scopes: scopes.clone(),
                    at: now,
                },
            );
        }
        (key, scopes)
    }

    /// The removal generation, read before a store lookup.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Usage records dropped so far because the buffer was full.
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Wait until every usage record queued so far has been handled by the
    /// writer, at most `limit`; whether it was.
    pub(crate) async fn flush(&self, limit: std::time::Duration) -> bool {
        let target = self.queued.load(Ordering::Acquire);
        if self.handled.load(Ordering::Acquire) >= target {
            return true;
        }
        self.wake.notify_one();
        crate::flush::wait_until(limit, || self.handled.load(Ordering::Acquire) >= target).await
    }

    /// Drop one key from the cache (revoked or renewed).
    pub(crate) fn forget(&self, id: ApiKeyId) {
        let mut cache = self.cache.write();
        self.generation.fetch_add(1, Ordering::AcqRel);
        cache.remove(&id);
    }

    /// Drop every key of an account from the cache (the account changed).
    pub(crate) fn forget_account(&self, account: AccountId) {
        let mut cache = self.cache.write();
        self.generation.fetch_add(1, Ordering::AcqRel);
        cache.retain(|_, c| c.key.account_id != account);
    }

    /// Whether a rejection of this key should be audited now (at most one a minute per key).
    pub(crate) fn audit_rejection(&self, id: ApiKeyId, now: OffsetDateTime) -> bool {
        let mut seen = self.rejected.lock();
        if seen.get(&id).is_some_and(|t| now - *t < REJECT_AUDIT_EVERY) {
            return false;
        }
        if seen.len() >= self.cache_max {
            seen.clear();
        }
        seen.insert(id, now);
        true
    }

    /// Queue a usage record without waiting; counted and dropped when the buffer is full.
    pub(crate) fn record(&self, store: &Arc<dyn ApiKeyStore>, keep: u32, usage: ApiKeyUsage) {
        if !self.writer_started.load(Ordering::Acquire) {
            self.start_writer(store, keep);
        }
        if self.tx.try_send(usage).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let queued = self.queued.fetch_add(1, Ordering::AcqRel) + 1;
        let waiting = queued.saturating_sub(self.handled.load(Ordering::Acquire));
        if waiting >= USAGE_BATCH as u64 {
            self.wake.notify_one();
        }
    }

    fn start_writer(&self, store: &Arc<dyn ApiKeyStore>, keep: u32) {
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let Some(rx) = self.rx.lock().take() else {
            return;
        };
        self.writer_started.store(true, Ordering::Release);
        handle.spawn(write_usage(
            store.clone(),
            rx,
            keep,
            self.dropped.clone(),
            self.handled.clone(),
            self.wake.clone(),
        ));
    }
}

/// The usage writer: after a first record, waits for more (see
/// [`USAGE_LINGER`]), takes what is buffered (up to a batch) and writes it in
/// one transaction, pruning the logs that [`Prunes`] says are due. Ends when
/// the engine is dropped.
async fn write_usage(
    store: Arc<dyn ApiKeyStore>,
    mut rx: mpsc::Receiver<ApiKeyUsage>,
    keep: u32,
    dropped: Arc<AtomicU64>,
    handled: Arc<AtomicU64>,
    wake: Arc<Notify>,
) {
    let mut batch = Vec::with_capacity(USAGE_BATCH);
    let mut prunes = Prunes::new(keep);
    let mut reported = 0;
    while rx.recv_many(&mut batch, USAGE_BATCH).await > 0 {
        if batch.len() < USAGE_BATCH {
            tokio::select! {
                () = tokio::time::sleep(USAGE_LINGER) => {}
                () = wake.notified() => {}
            }
            while batch.len() < USAGE_BATCH {
                let Ok(u) = rx.try_recv() else { break };
                batch.push(u);
            }
        }
        let prune = prunes.due(&batch);
        if let Err(e) = store.append_api_key_usage(&batch, &prune, keep).await {
            tracing::warn!(error = %e, records = batch.len(), "API key usage batch not written");
            prunes.failed(&prune);
        }
        handled.fetch_add(batch.len() as u64, Ordering::AcqRel);
        batch.clear();
        let d = dropped.load(Ordering::Relaxed);
        if d > reported {
            tracing::warn!(
                dropped = d - reported,
                "API key usage records dropped: the buffer was full"
            );
            reported = d;
        }
    }
}

/// When a key's usage log is pruned: at the first batch of the key this
/// writer sees, then once more than `keep / 10` records were appended since
/// its last prune. A log holds at most `keep` plus that slack of this node's
/// records; readers take the `keep` newest, so they see what pruning every
/// batch would leave, for a scan of the log every tenth of `keep` records
/// instead of every batch.
/// Keys whose prune schedule is tracked at most (forgotten beyond: a key
/// forgotten is pruned at its next batch, as when first seen).
const PRUNE_KEYS_MAX: usize = 65_536;

struct Prunes {
    /// Records appended per key since its last prune.
    since: HashMap<ApiKeyId, u32>,
    slack: u32,
}

impl Prunes {
    fn new(keep: u32) -> Self {
        Self {
            since: HashMap::new(),
            slack: keep / 10,
        }
    }

    /// The keys of `batch` to prune with it (counted as pruned).
    fn due(&mut self, batch: &[ApiKeyUsage]) -> Vec<ApiKeyId> {
        if self.since.len() >= PRUNE_KEYS_MAX {
            self.since.clear();
        }
        let mut due = Vec::new();
        for u in batch {
            match self.since.get_mut(&u.key_id) {
                Some(n) => *n += 1,
                None => {
                    self.since.insert(u.key_id, self.slack + 1);
                }
            }
        }
        for u in batch {
            if let Some(n) = self.since.get_mut(&u.key_id)
                && *n > self.slack
            {
                *n = 0;
                due.push(u.key_id);
            }
        }
        due
    }

    /// The prune of `keys` failed: they are due again at their next batch.
    fn failed(&mut self, keys: &[ApiKeyId]) {
        for k in keys {
            self.since.remove(k);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn uses(key: ApiKeyId, n: usize) -> Vec<ApiKeyUsage> {
        let at = OffsetDateTime::UNIX_EPOCH;
        (0..n)
            .map(|_| ApiKeyUsage {
                key_id: key,
                at,
                ip: None,
                method: "GET".into(),
                path: "/".into(),
            })
            .collect()
    }

    #[test]
    fn a_key_is_pruned_when_first_seen_then_past_the_slack() {
        let (a, b) = (ApiKeyId::new(), ApiKeyId::new());
        let mut p = Prunes::new(100);
        let mut first = uses(a, 3);
        first.extend(uses(b, 1));
        assert_eq!(p.due(&first), vec![a, b], "unknown logs, each once");
        for _ in 0..10 {
            assert!(p.due(&uses(a, 1)).is_empty(), "within the slack of 10");
        }
        assert_eq!(p.due(&uses(a, 1)), vec![a], "the 11th record since");
        assert!(p.due(&uses(a, 10)).is_empty());
        assert_eq!(p.due(&uses(a, 30)), vec![a], "a batch past the slack");
        assert!(p.due(&uses(b, 10)).is_empty());
        p.failed(&[b]);
        assert_eq!(p.due(&uses(b, 1)), vec![b], "due again after a failure");
    }

    #[test]
    fn a_small_keep_prunes_every_batch() {
        let a = ApiKeyId::new();
        let mut p = Prunes::new(9);
        for _ in 0..3 {
            assert_eq!(p.due(&uses(a, 1)), vec![a]);
        }
    }

    #[test]
    fn the_key_cache_holds_at_most_its_size() {
        let state = ApiKeyState::new(3);
        let now = OffsetDateTime::UNIX_EPOCH;
        for i in 0..10 {
            let key = ApiKey {
                id: ApiKeyId::new(),
                account_id: AccountId::new(),
                name: format!("k{i}"),
                secret_hash: [0; 32],
                scopes: Vec::new(),
                created_at: now,
                expires_at: None,
                revoked_at: None,
            };
            let id = key.id;
            state.insert(key, state.generation(), now);
            assert!(state.cached(id, now).is_some());
            assert!(state.cache.read().len() <= 3);
            assert!(state.audit_rejection(id, now));
            assert!(state.rejected.lock().len() <= 3);
        }
    }
}
