//! Every integration test of warden-core, in one test binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod conformance;
mod mfa;
