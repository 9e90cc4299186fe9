//! The one wait of the flush hooks (API-key usage, background tasks, the
//! mail queue): poll a condition until it holds or a time limit passes.

use std::time::{Duration, Instant};

/// Wait until `done()` holds, checking every millisecond, for at most
/// `limit`; answers whether it held. For flush hooks of tests and shutdown,
/// never on a request path.
///
/// ```
/// # tokio_test_block_on(async {
/// use std::time::Duration;
/// assert!(warden_core::flush::wait_until(Duration::from_secs(1), || true).await);
/// assert!(!warden_core::flush::wait_until(Duration::from_millis(5), || false).await);
/// # });
/// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(f)
/// # }
/// ```
pub async fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while !done() {
        if start.elapsed() >= limit {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    true
}
