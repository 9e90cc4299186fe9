//! SQL stores for Warden: SQLite ([`SqlStore`], embedded, the default),
//! PostgreSQL ([`PgStore`]) and MySQL / MariaDB ([`MySqlStore`]), the last
//! two for several nodes on one database.
//!
//! # Layout
//!
//! There is one implementation of every store trait, [`SqlBackend<D>`],
//! generic over a [`Dialect`] `D`; the three store types are its three
//! kinds. The code is split by job:
//!
//! - the **dialect layer**: [`dialect`] (the [`Dialect`] trait, what differs
//!   per database, and the small query API: `q(sql!(..)).bind(..)
//!   .fetch_optional()`), `sql` (statement templates and their rendering per
//!   database: `$n` or `?` placeholders, lock clauses, upserts, identifier
//!   quoting, each rendered once and cached; its rules are tested in
//!   `tests/render.rs`) and one file per database
//!   ([`sqlite`], [`postgres`], [`mysql`]: its `Dialect`, connect options and
//!   `connect`);
//! - the **backend**: `backend` (the struct, transactions, the writes the
//!   traits share and the concurrency rules), one file per store trait
//!   (`accounts`, `sessions`, `mfa`, `api_keys`, `one_time`, `identities`,
//!   `passkeys`, `misc` for feed, audit, keys and counters), `rows` (row to
//!   domain value) and `codec` (value conversions, lockout-counter rules and
//!   the one mapping of database errors to domain errors), and `logins`
//!   (run at every connect after the migrations: fills the login keys and
//!   confusable skeletons SQL cannot compute, reporting look-alikes);
//! - the **schema**: `migrations/<database>`, one set per database (never
//!   edit a migration that has shipped: databases keep their checksums).
//!
//! A new query goes into the file of its trait, written once as a template
//! (`sql!("SELECT ... WHERE id = $1 {FOR UPDATE}")`, see the `sql` module
//! for the template rules) and bound in `$n` order; a new table needs a
//! migration for each of the three databases. Something that really differs
//! per database becomes a member of [`Dialect`] (or a rule of the renderer,
//! with a unit test), never a second copy of a query.
//!
//! ```no_run
//! # async fn demo() -> Result<(), warden_core::error::Error> {
//! use warden_core::store::Store;
//! let store = warden_store_sql::SqlStore::connect("sqlite::memory:").await?;
//! assert_eq!(store.backend(), "sqlite");
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]

mod accounts;
mod api_keys;
mod backend;
mod codec;
pub mod dialect;
mod identities;
mod logins;
mod mfa;
mod misc;
pub mod mysql;
mod one_time;
mod organizations;
mod passkeys;
pub mod postgres;
mod provider;
mod rotation;
mod rows;
mod sessions;
pub mod sql;
pub mod sqlite;

pub use backend::SqlBackend;
pub use dialect::Dialect;
pub use mysql::{MySqlOptions, MySqlStore};
pub use postgres::{PgOptions, PgStore};
pub use sqlite::SqlStore;
