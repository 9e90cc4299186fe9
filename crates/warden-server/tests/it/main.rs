//! Every integration test of warden-server, in one test binary: the router
//! suite (`suite/`, each test on every backend), the capability tests, the
//! hosted pages, the fuzz properties (`fuzz::`) and the multi-node and crash
//! tests on the SQL servers. Helpers come from `warden-testkit`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

mod api_keys;
mod app_tokens;
mod captcha;
mod crash;
mod email;
mod fuzz;
mod mfa;
mod oauth;
mod oidc_provider;
mod organizations;
mod redis_sessions;
mod security;
mod sql_smoke;
mod suite;
mod two_nodes;
mod ui;
mod ui_account;
mod ui_admin;
