//! The smallest Warden app: JWT login, the memory store, one protected route.
//!
//! ```text
//! cargo run -p warden-axum --example minimal        # PORT=8080 to change the port
//! curl -XPOST localhost:3000/auth/register -H 'content-type: application/json' \
//!      -d '{"login":"alice","password":"correct horse battery"}'
//! curl -XPOST localhost:3000/auth/login -H 'content-type: application/json' \
//!      -d '{"login":"alice","password":"correct horse battery"}'
//! curl localhost:3000/hello -H "authorization: Bearer $ACCESS_TOKEN"
//! ```

use axum::{Router, routing::get};
use warden_axum::{CurrentAccount, Warden};

async fn hello(CurrentAccount(account): CurrentAccount) -> String {
    format!("hello {}", account.login)
}

/// The application: Warden's routes under `/auth` and one protected route.
pub fn app(warden: &Warden) -> Router {
    Router::new()
        .route("/hello", get(hello))
        .nest("/auth", warden.router())
        .with_state(warden.clone())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let warden = Warden::builder().memory().build().await?;
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("listening on http://127.0.0.1:{port}");
    axum::serve(listener, app(&warden)).await?;
    Ok(())
}
