//! HTTP-level tests of the standalone Warden app, run through the real router.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod suite;
