//! SQL stores for Warden: SQLite ([`sqlite`], embedded, the default),
//! PostgreSQL ([`postgres`], for several nodes on one database) and MySQL /
//! MariaDB ([`mysql`], likewise; `?` placeholders, no `RETURNING`, its own
//! schema in `migrations/mysql`). SQLite and PostgreSQL use the
//! same schema (`migrations/sqlite`, `migrations/postgres`), SQL text (`$n`
//! placeholders, `ON CONFLICT`, `RETURNING`) and value conversions in `codec`;
//! they differ in how concurrent writers are kept apart.
//!
//! ```no_run
//! # async fn demo() -> Result<(), warden_core::error::Error> {
//! use warden_core::store::Store;
//! let store = warden_store_sql::SqlStore::connect("sqlite::memory:").await?;
//! assert_eq!(store.backend(), "sqlite");
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]

mod codec;
pub mod mysql;
pub mod postgres;
mod rows;
pub mod sqlite;

pub use mysql::{MySqlOptions, MySqlStore};
pub use postgres::{PgOptions, PgStore};
pub use sqlite::SqlStore;
