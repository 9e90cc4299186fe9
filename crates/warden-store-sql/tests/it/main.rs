//! Every integration test of warden-store-sql, in one test binary: the
//! conformance suite as one test per check on SQLite, PostgreSQL and MySQL
//! (`<backend>::check_*`), each database's own tests, and the renderer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

mod mysql;
mod postgres;
mod render;
mod sqlite;
