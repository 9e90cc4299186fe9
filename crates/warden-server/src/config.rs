//! The server's configuration: the library's one model
//! ([`warden_axum::config::Config`]: defaults → TOML file (`--config`) →
//! `WARDEN_*` environment), plus what only the binary checks and wires: the
//! hosted pages' template overrides and the SQL pool.

pub use warden_axum::config::*;

use std::path::Path;

/// Load from defaults, an optional TOML file and the environment, and check
/// everything the server serves (the library's checks and the pages').
pub fn load(file: Option<&Path>) -> Result<Config, String> {
    let cfg = Config::load(file)?;
    check_pages(&cfg)?;
    Ok(cfg)
}

/// [`Config::validate`] and the hosted pages' template overrides.
pub fn validate(cfg: &Config) -> Result<(), String> {
    cfg.validate()?;
    check_pages(cfg)
}

fn check_pages(cfg: &Config) -> Result<(), String> {
    if cfg.ui {
        let dir = cfg.ui_template_dir.as_deref().filter(|d| !d.is_empty());
        warden_ui::load_templates(dir.map(Path::new))?;
    }
    Ok(())
}

/// The durability of a SQLite commit (`sqlite_synchronous`).
pub fn sqlite_sync(cfg: &Config) -> Result<warden_store_sql::sqlite::SqliteSync, String> {
    warden_store_sql::sqlite::SqliteSync::parse(&cfg.sqlite_synchronous).ok_or_else(|| {
        format!(
            "WARDEN_SQLITE_SYNCHRONOUS must be normal or full, not {:?}",
            cfg.sqlite_synchronous
        )
    })
}

/// Pool settings of a PostgreSQL (or MySQL) store.
pub fn pg_options(cfg: &Config) -> Result<warden_store_sql::PgOptions, String> {
    let p = cfg.pool_options()?;
    Ok(warden_store_sql::PgOptions {
        pool_size: p.pool_size,
        statement_timeout: p.statement_timeout,
        acquire_timeout: p.acquire_timeout,
    })
}
