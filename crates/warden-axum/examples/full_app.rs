//! A user's own axum app with what the `warden` server serves, configured by
//! the same `WARDEN_*` variables: the JSON API under `WARDEN_PREFIX`
//! (`/auth`), the JWKS, "Continue with Google" (any OpenID Connect issuer:
//! `WARDEN_GOOGLE_ISSUER`, or `WARDEN_OIDC_<NAME>_*`), mails (SMTP or the
//! outbox folder), the captcha, the hosted pages (`warden-ui`: sign-in,
//! account, admin console under `WARDEN_UI_PATH`, `/ui`) and pages of the
//! app's own. The store is the SQLite database of `WARDEN_DATABASE_URL`.
//!
//! ```text
//! WARDEN_DATABASE_URL=sqlite::memory: WARDEN_COOKIE_SECURE=false \
//! WARDEN_PUBLIC_URL=http://localhost:3000 WARDEN_BIND=127.0.0.1:3000 \
//! WARDEN_GOOGLE_CLIENT_ID=... WARDEN_GOOGLE_CLIENT_SECRET=... \
//!     cargo run -p warden-axum --example full_app
//! open http://localhost:3000/      # "Continue with Google", then /me
//! open http://localhost:3000/ui     # the hosted sign-in page, with the same button
//! ```

use axum::response::Html;
use axum::{Router, routing::get};
use std::net::SocketAddr;
use std::sync::Arc;
use warden_axum::config::Config;
use warden_axum::{CurrentAccount, Warden, WardenBuilder};
use warden_ui::UiConfig;

async fn home() -> Html<&'static str> {
    Html(r#"<a href="/auth/oauth/google/authorize?redirect_to=/me">Continue with Google</a>"#)
}

async fn me(CurrentAccount(account): CurrentAccount) -> String {
    format!("hello {}", account.login)
}

/// The engine of a configuration: everything [`Config`] names, on the
/// SQLite store of `database_url`.
pub async fn warden(cfg: &Config) -> Result<Warden, warden_core::Error> {
    let store = warden_store_sql::SqlStore::connect(&cfg.database_url).await?;
    WardenBuilder::from_config(cfg)?
        .store(Arc::new(store))
        .build()
        .await
}

/// The application: its own pages, Warden's API under the configured prefix
/// (sign-in providers included), the JWKS at the root and, unless
/// `WARDEN_UI=false`, the hosted pages.
pub fn app(cfg: &Config, warden: &Warden) -> Router {
    let mut router = Router::new()
        .route("/", get(home))
        .route("/me", get(me))
        .merge(warden.jwks_router())
        .nest(&cfg.prefix, warden.router());
    if cfg.ui {
        router = router.merge(warden_ui::pages(warden, UiConfig::from_config(cfg)));
    }
    router.with_state(warden.clone())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cfg = Config::load(None)?;
    let warden = warden(&cfg).await?;
    let listener = tokio::net::TcpListener::bind(&cfg.bind).await?;
    println!("listening on http://{}", cfg.bind);
    let app = app(&cfg, &warden).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app).await?;
    Ok(())
}
