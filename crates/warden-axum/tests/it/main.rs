//! Every integration test of warden-axum, in one test binary: the
//! extractors, rules, hooks, cookie sessions and the examples.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

mod examples;
mod extractors;
mod hooks;
mod organizations;
mod rules;
mod sessions;
