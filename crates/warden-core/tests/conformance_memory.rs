//! The conformance suite against the in-memory reference store.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use warden_core::store::{MemoryStore, Store, conformance};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_store_conforms() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    conformance::run_all(store).await;
}
