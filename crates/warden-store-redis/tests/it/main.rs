//! The counter checks of the conformance suite against Redis counters
//! (layered over the in-memory store), one test per check, and the Redis
//! rate limit. Needs `WARDEN_TEST_REDIS_URL` (ignored without it, failing
//! without it when `CI` is set).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use warden_core::limits::SharedRateLimit;
use warden_core::store::{Layered, MemoryStore, Store, conformance};
use warden_store_redis::Redis;

fn redis() -> Option<Redis> {
    Some(warden_testkit::redis())
}

/// Delete the keys of a test run.
async fn cleanup(prefix: &str) {
    warden_testkit::redis_cleanup(prefix).await;
}

warden_testkit::needs!(
    redis,
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn redis_counters_conform() {
        let Some(redis) = redis() else { return };
        redis.ping().await.unwrap();
        let store: Arc<dyn Store> = Arc::new(Layered::new(
            Arc::new(MemoryStore::new()),
            Arc::new(redis.counters()),
        ));
        conformance::check_counters(store.as_ref()).await;
        conformance::check_counters_in_flight(store.as_ref()).await;
        conformance::check_counters_concurrent(&store).await;
        cleanup(redis.prefix()).await;
    }
);

warden_testkit::needs!(
    redis,
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn redis_counters_across_connections() {
        // Two connections (two "nodes") share one budget.
        let Some(a) = redis() else { return };
        let url = warden_testkit::url(warden_testkit::Backend::Redis);
        let b = Redis::connect(&url, a.prefix()).unwrap();
        let (ca, cb) = (Arc::new(a.counters()), Arc::new(b.counters()));
        let now = time::OffsetDateTime::now_utc();
        let mut set = tokio::task::JoinSet::new();
        for i in 0..40 {
            let c: Arc<dyn warden_core::store::CounterStore> =
                if i % 2 == 0 { ca.clone() } else { cb.clone() };
            set.spawn(async move { c.attempt_begin("login:shared", now, 5).await.unwrap() });
        }
        let mut allowed = 0;
        while let Some(r) = set.join_next().await {
            if r.unwrap() == warden_core::store::AttemptGate::Allowed {
                allowed += 1;
            }
        }
        assert_eq!(allowed, 5);
        cleanup(a.prefix()).await;
    }
);

warden_testkit::needs!(
    redis,
    #[tokio::test]
    async fn redis_rate_limit_matches_memory() {
        let Some(redis) = redis() else { return };
        let rl = redis.rate_limit();
        let t = time::OffsetDateTime::now_utc();
        assert_eq!(rl.check("1.2.3.4", t, 2).await.unwrap(), Ok(()));
        assert_eq!(rl.check("1.2.3.4", t, 2).await.unwrap(), Ok(()));
        assert_eq!(rl.check("1.2.3.4", t, 2).await.unwrap(), Err(30));
        assert_eq!(rl.check("5.6.7.8", t, 2).await.unwrap(), Ok(()));
        // Refills at 2 a minute: one token after 30 s.
        let later = t + time::Duration::seconds(30);
        assert_eq!(rl.check("1.2.3.4", later, 2).await.unwrap(), Ok(()));
        assert!(rl.check("1.2.3.4", later, 2).await.unwrap().is_err());
        assert_eq!(rl.check("1.2.3.4", t, 0).await.unwrap(), Ok(()));
        cleanup(redis.prefix()).await;
    }
);

#[tokio::test]
async fn redis_down_is_unavailable() {
    // Nothing listens on port 1: every operation is Unavailable, never Allowed.
    let redis = Redis::connect("redis://127.0.0.1:1", "warden-test:").unwrap();
    let c = redis.counters();
    let now = time::OffsetDateTime::now_utc();
    let r = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        warden_core::store::CounterStore::attempt_begin(&c, "login:x", now, 5),
    )
    .await
    .expect("bounded");
    assert!(
        matches!(r, Err(warden_core::Error::Unavailable(_))),
        "{r:?}"
    );
    assert!(redis.rate_limit().check("ip", now, 5).await.is_err());
}

// One test per counter check, each under a fresh key prefix (the keys are
// test-unique, so they are left for Redis to hold; the prefix names the run).
warden_testkit::conformance_tests!(
    redis,
    redis,
    async {
        let redis = warden_testkit::redis();
        redis.ping().await.unwrap();
        let store: Arc<dyn Store> = Arc::new(Layered::new(
            Arc::new(MemoryStore::new()),
            Arc::new(redis.counters()),
        ));
        store
    },
    [check_counters, check_counters_in_flight],
    [check_counters_concurrent]
);

// The whole conformance suite with the sessions in Redis, over the memory
// store and over SQLite (accounts, audit and the feed stay there).
warden_testkit::conformance_tests!(
    redis_sessions_memory,
    redis,
    warden_testkit::store_with_redis_sessions(warden_testkit::Backend::Memory)
);
warden_testkit::conformance_tests!(
    redis_sessions_sqlite,
    redis,
    warden_testkit::store_with_redis_sessions(warden_testkit::Backend::Sqlite)
);
