//! The `warden` server: configuration, store selection and the HTTP app.
#![forbid(unsafe_code)]

pub mod config;
pub mod import;

/// The hosted pages (the `warden-ui` crate).
pub use warden_ui as ui;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use config::Config;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::{Arc, OnceLock};
use warden_axum::{AdminSecret, Warden, WardenBuilder};
use warden_core::Error;
use warden_core::store::Store;

/// Open the store named by the database URL (running migrations), with the
/// default PostgreSQL pool settings.
pub async fn open_store(url: &str) -> Result<Arc<dyn Store>, Error> {
    open_store_with(
        url,
        warden_store_sql::PgOptions::default(),
        Default::default(),
    )
    .await
}

/// Open the store of a configuration: `database_url` with the
/// `database_pool_size`, `database_statement_timeout` and
/// `sqlite_synchronous` settings.
///
/// With `redis_url`, the lockout counters live in Redis and every write that
/// appends to the change feed publishes a wake-up for the other nodes; with
/// `session_store = "redis"` too, sessions and refresh tokens live in Redis
/// (accounts, audit events and the change feed stay in the database).
pub async fn open_configured_store(cfg: &Config) -> Result<Arc<dyn Store>, Error> {
    let in_redis = cfg.sessions_in_redis().map_err(Error::BadRequest)?;
    let pg = config::pg_options(cfg).map_err(Error::BadRequest)?;
    let sqlite = config::sqlite_sync(cfg).map_err(Error::BadRequest)?;
    let store = open_store_with(&cfg.database_url, pg, sqlite).await?;
    Ok(match open_redis(cfg)? {
        Some(redis) => {
            let mut layered =
                warden_core::store::Layered::new(store.clone(), Arc::new(redis.counters()));
            if in_redis {
                layered = layered.with_sessions(Arc::new(redis.sessions(store)));
            }
            Arc::new(layered.with_feed_hook(redis.feed_hook()))
        }
        None => store,
    })
}

/// The Redis connection of `redis_url`, if set. Does not connect yet: a node
/// starts while Redis is down and reconnects by itself.
pub fn open_redis(cfg: &Config) -> Result<Option<warden_store_redis::Redis>, Error> {
    match cfg.redis_url.as_deref().filter(|u| !u.is_empty()) {
        Some(url) => warden_store_redis::Redis::connect(url, &cfg.redis_prefix).map(Some),
        None => Ok(None),
    }
}

/// With `redis_url`: keep the per-IP rate limit in Redis and run
/// [`Upkeep::sync`](warden_core::Upkeep::sync) as soon as another node publishes a feed wake-up. Returns
/// the listener task (abort it on shutdown).
pub async fn start_redis(
    cfg: &Config,
    warden: &Warden,
) -> Result<Option<tokio::task::JoinHandle<()>>, Error> {
    let Some(redis) = open_redis(cfg)? else {
        return Ok(None);
    };
    if let Err(e) = redis.ping().await {
        tracing::warn!(error = %e, "redis unreachable: logins answer 503 until it is back");
    }
    warden.set_shared_rate_limit(Arc::new(redis.rate_limit()));
    let auth = warden.auth().clone();
    Ok(Some(redis.spawn_feed_listener(move || {
        let auth = auth.clone();
        async move {
            if let Err(e) = auth.upkeep().sync().await {
                tracing::warn!(error = %e, "change feed sync failed");
            }
        }
    })))
}

/// Open the store named by the URL scheme: `sqlite:` (or a plain path),
/// `postgres://` / `postgresql://` (using `pg`) or `mysql://` / `mariadb://`
/// (using `pg`'s pool size and acquire timeout, its statement timeout as the
/// lock wait timeout); a SQLite commit is as durable as `sqlite` says.
pub async fn open_store_with(
    url: &str,
    pg: warden_store_sql::PgOptions,
    sqlite: warden_store_sql::sqlite::SqliteSync,
) -> Result<Arc<dyn Store>, Error> {
    if url.starts_with("sqlite:") || !url.contains("://") {
        let store = warden_store_sql::SqlStore::connect_with(url, sqlite).await?;
        return Ok(Arc::new(store));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let store = warden_store_sql::PgStore::connect(url, pg).await?;
        return Ok(Arc::new(store));
    }
    if url.starts_with("mysql://") || url.starts_with("mariadb://") {
        let store = warden_store_sql::MySqlStore::connect(url, pg.into()).await?;
        return Ok(Arc::new(store));
    }
    Err(Error::BadRequest(format!(
        "unsupported WARDEN_DATABASE_URL scheme in {:?} \
         (use sqlite://..., postgres://... or mysql://...)",
        url.split("://").next().unwrap_or_default()
    )))
}

const ADMIN_SECRET_SETTING: &str = "admin_secret_sha256";

/// The admin secret: from config, else generated once, stored as a hash and
/// returned so the caller prints it once.
pub async fn admin_secret(
    cfg: &Config,
    store: &dyn Store,
) -> Result<(AdminSecret, Option<String>), Error> {
    if let Some(s) = cfg.admin_secret.as_deref().filter(|s| !s.is_empty()) {
        return Ok((AdminSecret::new(s), None));
    }
    let b64 = base64::engine::general_purpose::STANDARD;
    if let Some(stored) = store.setting(ADMIN_SECRET_SETTING).await? {
        let bytes = b64.decode(stored).map_err(Error::internal)?;
        let hash: [u8; 32] = bytes
            .try_into()
            .map_err(|_| Error::Internal("stored admin secret hash".into()))?;
        return Ok((AdminSecret::from_sha256(hash), None));
    }
    let secret = format!("was_{}", warden_core::random::token(32));
    let hash = warden_core::random::sha256(secret.as_bytes());
    let stored = store
        .setting_or_insert(ADMIN_SECRET_SETTING, &b64.encode(hash))
        .await?;
    if stored != b64.encode(hash) {
        // Another node generated one first.
        let bytes = b64.decode(stored).map_err(Error::internal)?;
        let hash: [u8; 32] = bytes
            .try_into()
            .map_err(|_| Error::Internal("stored admin secret hash".into()))?;
        return Ok((AdminSecret::from_sha256(hash), None));
    }
    Ok((AdminSecret::from_sha256(hash), Some(secret)))
}

/// Build the engine and handle from configuration: the library's
/// [`WardenBuilder::from_config`] with the store and the admin secret (from
/// the configuration, else generated once and kept hashed in the store).
pub async fn build_warden(
    cfg: &Config,
    store: Arc<dyn Store>,
) -> Result<(Warden, Option<String>), Error> {
    let builder = WardenBuilder::from_config(cfg)?;
    let (secret, generated) = admin_secret(cfg, store.as_ref()).await?;
    // The recorder first, so that the mail counters are registered with it.
    prometheus();
    let warden = builder.store(store).admin_secret(secret).build().await?;
    Ok((warden, generated))
}

fn prometheus() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| PrometheusBuilder::new().install_recorder().ok())
        .as_ref()
}

async fn healthz() -> Response {
    (
        StatusCode::OK,
        axum::Json(serde_json::json!({"status": "ok"})),
    )
        .into_response()
}

async fn readyz(State(w): State<Warden>) -> Response {
    match w.auth().store().ping().await {
        Ok(()) => (
            StatusCode::OK,
            axum::Json(serde_json::json!({"status": "ready", "store": w.auth().store().backend()})),
        )
            .into_response(),
        Err(e) => warden_axum::error::problem(&Error::Unavailable(e.to_string())),
    }
}

async fn metrics_route() -> Response {
    let body = prometheus().map(|h| h.render()).unwrap_or_default();
    let mut res = (StatusCode::OK, body).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    res
}

/// Count every response by status class.
/// The counter handles are registered once: no registry lookup per request.
fn track(res: Response) -> Response {
    static COUNTERS: OnceLock<[metrics::Counter; 5]> = OnceLock::new();
    let counters = COUNTERS.get_or_init(|| {
        ["1xx", "2xx", "3xx", "4xx", "5xx"]
            .map(|class| metrics::counter!("warden_http_responses_total", "class" => class))
    });
    let i = usize::from(res.status().as_u16() / 100).clamp(1, 5) - 1;
    counters[i].increment(1);
    res
}

/// A panicking handler answers 500 `internal_error`, logged once by the mapping.
fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    warden_axum::error::problem(&Error::Internal("handler panicked".into()))
}

/// The whole HTTP app of the standalone server.
pub fn app(cfg: &Config, warden: &Warden) -> Router {
    prometheus();
    let mut router = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_route))
        .merge(warden.jwks_router())
        .nest(&cfg.prefix, warden.router());
    if cfg.docs {
        let mut doc = warden_axum::openapi::openapi(&cfg.prefix, cfg.hide_docs);
        if !cfg.otp_enabled {
            doc.paths
                .paths
                .retain(|path, _| !path.contains("/mfa/totp"));
        }
        router = router.merge(utoipa_swagger_ui::SwaggerUi::new("/docs").url("/openapi.json", doc));
    }
    if cfg.ui {
        let ui = warden_ui::UiConfig::from_config(cfg);
        // The OpenID Provider's authorization and logout endpoints are pages.
        router = router.merge(warden.provider_router(warden_ui::provider::pages(&ui)));
        router = router.merge(warden_ui::pages(warden, ui));
    }
    router
        .fallback(|| async { warden_axum::ApiError(Error::NotFound) })
        .method_not_allowed_fallback(warden_axum::error::method_not_allowed)
        .with_state(warden.clone())
        .layer(tower::util::MapResponseLayer::new(track))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            panic_response,
        ))
}
