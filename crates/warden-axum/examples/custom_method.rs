//! A custom authentication method: service tokens in an `X-Service-Token`
//! header, used in path rules beside Warden's own methods.
//!
//! ```text
//! SERVICE_TOKEN=change-me cargo run -p warden-axum --example custom_method
//! curl localhost:3000/internal/metrics -H 'x-service-token: change-me'
//! ```

use axum::http::request::Parts;
use axum::{Router, routing::get};
use warden_axum::{
    AuthMethod, Identity, PathRules, Principal, Rule, RulePrincipal, Warden, WardenBuilder,
    async_trait,
};
use warden_core::Error;

/// `X-Service-Token: <token>`: one shared token for internal services.
pub struct ServiceToken {
    token: String,
}

impl ServiceToken {
    /// A method accepting this token.
    pub fn new(token: impl Into<String>) -> Self {
        Self {
            token: token.into(),
        }
    }
}

#[async_trait]
impl AuthMethod for ServiceToken {
    async fn authenticate(
        &self,
        parts: &Parts,
        _warden: &Warden,
    ) -> Result<Option<Identity>, Error> {
        let Some(given) = parts.headers.get("x-service-token") else {
            return Ok(None);
        };
        let given = given.to_str().map_err(|_| Error::InvalidToken)?;
        if warden_core::random::ct_eq(given.as_bytes(), self.token.as_bytes()) {
            Ok(Some(
                Identity::new("internal-service").with_scopes(["metrics:read"]),
            ))
        } else {
            Err(Error::InvalidToken)
        }
    }
}

async fn metrics(RulePrincipal(p): RulePrincipal) -> String {
    match p {
        Principal::Custom {
            method, subject, ..
        } => format!("metrics for {subject} ({method})"),
        other => format!("metrics for account {:?}", other.account_id()),
    }
}

/// A memory-store builder with the `service_token` method registered.
pub fn builder(token: &str) -> WardenBuilder {
    Warden::builder()
        .memory()
        .method("service_token", ServiceToken::new(token))
}

/// The application: `/internal/*` takes a service token or an admin's JWT.
pub fn app(warden: &Warden) -> Router {
    let rules = PathRules::new().rule(
        Rule::new("/internal/*")
            .methods(["service_token", "jwt"])
            .scopes(["metrics:read"]),
    );
    Router::new()
        .route("/internal/metrics", get(metrics))
        .layer(warden.rules_layer(rules))
        .nest("/auth", warden.router())
        .with_state(warden.clone())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let token = std::env::var("SERVICE_TOKEN").map_err(|_| "set SERVICE_TOKEN")?;
    let warden = builder(&token).build().await?;
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("listening on http://127.0.0.1:{port}");
    axum::serve(listener, app(&warden)).await?;
    Ok(())
}
