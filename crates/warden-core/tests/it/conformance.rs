//! The conformance suite against the in-memory reference store and the
//! `Layered` wrapper: one test per check (`memory::check_*`,
//! `layered::check_*`), and the whole suite once more through the wrapper.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use warden_core::store::{MemoryStore, Store, conformance};

warden_testkit::conformance_tests!(memory);

warden_testkit::conformance_tests!(layered, memory, async {
    let store: Arc<dyn Store> = Arc::new(warden_core::store::Layered::new(
        Arc::new(MemoryStore::new()),
        Arc::new(MemoryStore::new()),
    ));
    store
});

/// A [`warden_core::store::Layered`] store forwards every operation: it passes
/// the same suite, and its feed hook runs on feed writes.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn layered_store_conforms() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let hits = Arc::new(AtomicUsize::new(0));
    let h = Arc::clone(&hits);
    let store: Arc<dyn Store> = Arc::new(
        warden_core::store::Layered::new(
            Arc::new(MemoryStore::new()),
            Arc::new(MemoryStore::new()),
        )
        .with_feed_hook(Arc::new(move || {
            h.fetch_add(1, Ordering::Relaxed);
        })),
    );
    conformance::run_all(store).await;
    assert!(hits.load(Ordering::Relaxed) > 0, "feed hook ran");
}
