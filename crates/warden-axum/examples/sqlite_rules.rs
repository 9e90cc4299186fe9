//! Path rules over JWT, cookie sessions and API keys, on SQLite.
//!
//! ```text
//! DATABASE_URL=sqlite://warden.db?mode=rwc cargo run -p warden-axum --example sqlite_rules
//! ```
//!
//! - `/api/admin/*`: a token, session or API key with the `admin` scope;
//! - `/api/sync`: a token **and** an API key of the same account;
//! - `/api/feed`: anyone; signed-in callers get their own feed;
//! - `/api/*`: a token, session or API key.

use axum::{Router, routing::get};
use std::sync::Arc;
use warden_axum::{
    CurrentAccount, PathRules, Rule, RulePrincipal, SessionConfig, Strategy, Warden, WardenBuilder,
};

async fn admin(RulePrincipal(p): RulePrincipal) -> String {
    format!("admin area, via {}", p.method())
}

async fn sync(CurrentAccount(a): CurrentAccount) -> String {
    format!("syncing for {}", a.login)
}

async fn feed(caller: Option<RulePrincipal>) -> String {
    match caller {
        Some(RulePrincipal(p)) => format!("your feed ({})", p.method()),
        None => "public feed".to_owned(),
    }
}

async fn profile(CurrentAccount(a): CurrentAccount) -> String {
    format!("profile of {}", a.login)
}

/// A builder over a SQLite database (`sqlite::memory:`, `sqlite://file?mode=rwc`
/// or a path) with cookie sessions on.
pub async fn builder(database_url: &str) -> Result<WardenBuilder, warden_core::Error> {
    let store = warden_store_sql::SqlStore::connect(database_url).await?;
    Ok(Warden::builder()
        .store(Arc::new(store))
        .prefix("/auth")
        .sessions(SessionConfig::default()))
}

/// The path rules of the example.
pub fn rules() -> PathRules {
    PathRules::new()
        .rule(
            Rule::new("/api/admin/*")
                .methods(["jwt", "session", "api_key"])
                .scopes(["admin"]),
        )
        .rule(
            Rule::new("/api/sync")
                .methods(["jwt", "api_key"])
                .strategy(Strategy::All),
        )
        .rule(Rule::new("/api/feed").optional_methods(["jwt", "session", "api_key"]))
        .rule(Rule::new("/api/*").methods(["jwt", "session", "api_key"]))
}

/// The application.
pub fn app(warden: &Warden) -> Router {
    Router::new()
        .route("/api/admin/stats", get(admin))
        .route("/api/sync", get(sync))
        .route("/api/feed", get(feed))
        .route("/api/profile", get(profile))
        .layer(warden.rules_layer(rules()))
        .nest("/auth", warden.router())
        .with_state(warden.clone())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url =
        std::env::var("DATABASE_URL").unwrap_or_else(|_| "sqlite://warden.db?mode=rwc".into());
    let warden = builder(&url).await?.build().await?;
    let _background = warden.spawn_background(std::time::Duration::from_secs(5));
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("listening on http://127.0.0.1:{port}");
    axum::serve(
        listener,
        app(&warden).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .await?;
    Ok(())
}
