//! An app that keeps its own users and uses Warden only for their tokens
//! (fastapi-jwt-auth's `create_access_token(subject=...)`): it checks the
//! password itself, then asks `warden.auth().app_tokens()` for a session and
//! token pair; refresh rotation, freshness, logout and the revocation checks
//! are Warden's. On top, a denylist of the app's own (fastapi-jwt-auth's
//! `token_in_denylist_loader`) refuses single access tokens.
//!
//! ```text
//! cargo run -p warden-axum --example app_tokens       # PORT=8080 to change the port
//! curl -XPOST localhost:3000/app/login -H 'content-type: application/json' \
//!      -d '{"username":"ann","password":"ann has a long password"}'      # TokenPair
//! curl localhost:3000/app/notes -H "authorization: Bearer $ACCESS_TOKEN"
//! curl -XPOST localhost:3000/app/refresh -H 'content-type: application/json' \
//!      -d "{\"refresh_token\":\"$REFRESH_TOKEN\"}"                        # a new pair
//! curl -XPOST localhost:3000/app/revoke-access -H "authorization: Bearer $ACCESS_TOKEN"
//! curl -XPOST localhost:3000/app/logout -H "authorization: Bearer $ACCESS_TOKEN"
//! curl localhost:3000/.well-known/jwks.json            # other services verify offline
//! ```

use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};
use warden_axum::{ApiError, ApiJson, Client, CurrentSubject, Fresh, Warden};
use warden_core::app_tokens::AppGrant;
use warden_core::hooks::TokenDenylist;
use warden_core::password::Password;
use warden_core::token::SubjectClaims;
use warden_core::{Error, TokenPair};

/// One of the app's own users (its table, not Warden's).
struct User {
    /// The app's id of the user: the tokens' `sub`.
    id: String,
    /// The password hash (Argon2id PHC string).
    hash: String,
    /// The tenant, put into every token as a claim.
    tenant: String,
}

/// The app's users by name.
#[derive(Clone, Default)]
pub struct Users(Arc<RwLock<HashMap<String, User>>>);

impl Users {
    /// Add a user (the password is hashed with Warden's bounded hasher; the
    /// app could use any scheme of its own).
    pub async fn add(
        &self,
        warden: &Warden,
        name: &str,
        password: &str,
        tenant: &str,
    ) -> warden_core::Result<()> {
        let hash = warden.auth().hasher().hash(password).await?;
        let user = User {
            id: format!("user-{}", self.0.read().map_or(0, |u| u.len()) + 1),
            hash,
            tenant: tenant.to_owned(),
        };
        let mut users = (self.0.write()).map_err(|_| Error::Internal("users lock".into()))?;
        users.insert(name.to_owned(), user);
        Ok(())
    }
}

/// The app's denylist: `jti`s of access tokens it revoked one by one
/// (logout revokes the whole session in Warden instead). A set in memory;
/// several processes would keep it in Redis.
#[derive(Clone, Default)]
pub struct Denylist(Arc<Mutex<HashSet<String>>>);

#[warden_axum::async_trait]
impl TokenDenylist for Denylist {
    async fn is_revoked(&self, claims: &SubjectClaims) -> warden_core::Result<bool> {
        let denied = self
            .0
            .lock()
            .map_err(|_| Error::Unavailable("denylist lock poisoned".into()))?;
        Ok(denied.contains(&claims.jti))
    }
}

#[derive(Clone)]
struct AppState {
    warden: Warden,
    users: Users,
    denied: Denylist,
}

impl FromRef<AppState> for Warden {
    fn from_ref(s: &AppState) -> Warden {
        s.warden.clone()
    }
}

#[derive(Deserialize)]
struct LoginBody {
    username: String,
    password: String,
}

/// Check the password in the app's own table; unknown names cost a hash too.
async fn check_password(
    s: &AppState,
    name: &str,
    password: &str,
) -> Result<(String, String), Error> {
    let found = (s.users.0.read().ok()).and_then(|u| {
        u.get(name)
            .map(|u| (u.id.clone(), u.hash.clone(), u.tenant.clone()))
    });
    let hash = found.as_ref().map(|(_, h, _)| h.as_str());
    let ok = s.warden.auth().hasher().verify(password, hash).await?;
    match found {
        Some((id, _, tenant)) if ok => Ok((id, tenant)),
        _ => Err(Error::InvalidCredentials),
    }
}

/// `POST /app/login`: the app checks its user, Warden issues the tokens.
async fn login(
    State(s): State<AppState>,
    Client(client): Client,
    ApiJson(b): ApiJson<LoginBody>,
) -> Result<Json<TokenPair>, ApiError> {
    let (id, tenant) = check_password(&s, &b.username, &b.password).await?;
    let grant = AppGrant::new(id)
        .scopes(["notes:read", "notes:write"])
        .claim("tenant", tenant);
    Ok(Json(
        s.warden.auth().app_tokens().issue(grant, &client).await?,
    ))
}

#[derive(Deserialize)]
struct RefreshBody {
    refresh_token: String,
}

/// `POST /app/refresh`: rotation with reuse detection.
async fn refresh(
    State(s): State<AppState>,
    Client(client): Client,
    ApiJson(b): ApiJson<RefreshBody>,
) -> Result<Json<TokenPair>, ApiError> {
    let app = s.warden.auth().app_tokens();
    Ok(Json(app.refresh(&b.refresh_token, &client).await?))
}

/// `GET /app/notes`: an app user's route (scope `notes:read`).
async fn notes(
    CurrentSubject(claims): CurrentSubject,
) -> Result<Json<serde_json::Value>, ApiError> {
    if !claims.is_app() || !claims.has_scope("notes:read") {
        return Err(Error::Forbidden("the notes:read scope is required".into()).into());
    }
    Ok(Json(serde_json::json!({
        "user": claims.sub,
        "tenant": claims.extra.get("tenant"),
        "notes": ["buy milk"],
    })))
}

/// `GET /app/whoami`: any token, an app user's or a Warden account's.
async fn whoami(CurrentSubject(claims): CurrentSubject) -> Json<serde_json::Value> {
    let kind = if claims.is_app() { "app" } else { "account" };
    Json(serde_json::json!({"sub": claims.sub, "kind": kind, "fresh": claims.fresh}))
}

#[derive(Deserialize)]
struct PasswordBody {
    password: String,
}

/// `POST /app/fresh`: the user types the password again; a fresh pair.
async fn fresh(
    State(s): State<AppState>,
    Client(client): Client,
    CurrentSubject(claims): CurrentSubject,
    ApiJson(b): ApiJson<PasswordBody>,
) -> Result<Json<TokenPair>, ApiError> {
    let name = (s.users.0.read().ok())
        .and_then(|u| {
            u.iter()
                .find(|(_, u)| u.id == claims.sub)
                .map(|(n, _)| n.clone())
        })
        .ok_or(Error::InvalidToken)?;
    check_password(&s, &name, &b.password).await?;
    Ok(Json(
        s.warden.auth().app_tokens().fresh(&claims, &client).await?,
    ))
}

/// `POST /app/password`: needs a fresh token; ends every session of the user.
async fn change_password(
    State(s): State<AppState>,
    Client(client): Client,
    Fresh(CurrentSubject(claims)): Fresh<CurrentSubject>,
    ApiJson(b): ApiJson<PasswordBody>,
) -> Result<StatusCode, ApiError> {
    let password = Password::parse(&b.password).map_err(|e| Error::Validation(vec![e]))?;
    let hash = s.warden.auth().hasher().hash(password.expose()).await?;
    if let Ok(mut users) = s.users.0.write()
        && let Some(u) = users.values_mut().find(|u| u.id == claims.sub)
    {
        u.hash = hash;
    }
    s.warden
        .auth()
        .app_tokens()
        .logout_all(&claims.sub, &client)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /app/revoke-access`: put this access token on the app's denylist.
async fn revoke_access(
    State(s): State<AppState>,
    CurrentSubject(claims): CurrentSubject,
) -> StatusCode {
    if let Ok(mut denied) = s.denied.0.lock() {
        denied.insert(claims.jti.clone());
    }
    StatusCode::NO_CONTENT
}

/// `POST /app/logout`: Warden revokes the session (refresh and access tokens).
async fn logout(
    State(s): State<AppState>,
    Client(client): Client,
    CurrentSubject(claims): CurrentSubject,
) -> Result<StatusCode, ApiError> {
    s.warden
        .auth()
        .app_tokens()
        .logout(&claims, &client)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The app's routes under `/app` (the denylist must be the one installed in
/// the Warden with `token_denylist`).
pub fn routes(warden: &Warden, users: Users, denied: Denylist) -> Router {
    Router::new()
        .route("/app/login", post(login))
        .route("/app/refresh", post(refresh))
        .route("/app/notes", get(notes))
        .route("/app/whoami", get(whoami))
        .route("/app/fresh", post(fresh))
        .route("/app/password", post(change_password))
        .route("/app/revoke-access", post(revoke_access))
        .route("/app/logout", post(logout))
        .with_state(AppState {
            warden: warden.clone(),
            users,
            denied,
        })
}

/// The whole app: its routes and the JWKS other services verify with.
pub fn app(warden: &Warden, users: Users, denied: Denylist) -> Router {
    let jwks = warden.jwks_router::<Warden>().with_state(warden.clone());
    routes(warden, users, denied).merge(jwks)
}

/// The demo users.
pub async fn demo_users(warden: &Warden) -> warden_core::Result<Users> {
    let users = Users::default();
    (users.add(warden, "ann", "ann has a long password", "acme")).await?;
    (users.add(warden, "bob", "bob has a long password", "globex")).await?;
    Ok(users)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let denied = Denylist::default();
    let warden = Warden::builder()
        .memory()
        .token_denylist(denied.clone())
        .build()
        .await?;
    let users = demo_users(&warden).await?;
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("listening on http://127.0.0.1:{port}");
    axum::serve(listener, app(&warden, users, denied)).await?;
    Ok(())
}
