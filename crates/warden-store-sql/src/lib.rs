//! SQL stores for Warden: SQLite ([`sqlite`], embedded, the default) and
//! PostgreSQL ([`postgres`], for several nodes on one database). Both use the
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
pub mod postgres;
mod rows;
pub mod sqlite;

pub use postgres::{PgOptions, PgStore};
pub use sqlite::SqlStore;
