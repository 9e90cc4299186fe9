//! SQL stores for Warden. SQLite (embedded, the default) is built in; the
//! schema, SQL text (`$n` placeholders, `ON CONFLICT`, `RETURNING`) and value
//! conversions in [`codec`] are kept portable so that a PostgreSQL backend can
//! be added beside [`sqlite`] in this crate.
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
pub mod sqlite;

pub use sqlite::SqlStore;
