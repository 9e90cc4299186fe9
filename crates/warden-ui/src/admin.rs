//! The admin console (scope `admin`): accounts with search and paging, one
//! account's page (block/unblock, scopes, second factor, sessions, API keys,
//! delete) and the audit log with filters.
//!
//! Every action calls the same engine operation, with the admin's client
//! info, as the JSON admin routes (`warden_axum::routes::admin`), so the
//! audit trail is the same whichever way an admin works. An admin cannot
//! block or delete their own account, nor drop their own `admin` scope, here.

use super::{AdminPage, Flash, Ui, UiForm, form_errors, status_of, to_value, url_encode};
use axum::Router;
use axum::extract::{Path, RawQuery};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;
use std::collections::BTreeMap;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, Duration, OffsetDateTime, PrimitiveDateTime, UtcOffset};
use warden_core::model::{Account, AccountId, ApiKeyId, AuditEvent, normalize_login};
use warden_core::store::{AccountQuery, ApiKeyQuery, AuditQuery};
use warden_core::{Error, NewAccount};

/// Built-in templates of these pages.
pub(crate) const TEMPLATES: &[(&str, &str)] = &[
    (
        "admin/layout.html",
        include_str!("../templates/admin/layout.html"),
    ),
    (
        "admin/accounts.html",
        include_str!("../templates/admin/accounts.html"),
    ),
    (
        "admin/account.html",
        include_str!("../templates/admin/account.html"),
    ),
    (
        "admin/audit.html",
        include_str!("../templates/admin/audit.html"),
    ),
];

/// Accounts per page unless `limit` says otherwise.
const PAGE_SIZE: u32 = 50;
/// Audit events per page unless `limit` says otherwise.
const AUDIT_PAGE_SIZE: usize = 50;
/// Audit events read per store query while filtering by type.
const AUDIT_BATCH: u32 = 500;
/// Store queries per audit page at most (a rare type in a long log is found
/// page by page).
const AUDIT_MAX_BATCHES: usize = 20;
/// API keys shown on an account's page.
const KEYS_SHOWN: u32 = 200;

/// The routes of these pages.
pub(crate) fn routes() -> Router<Ui> {
    Router::new()
        .route("/admin", get(home))
        .route("/admin/accounts", get(accounts).post(create))
        .route("/admin/accounts/{id}", get(account))
        .route("/admin/accounts/{id}/block", post(block))
        .route("/admin/accounts/{id}/unblock", post(unblock))
        .route("/admin/accounts/{id}/scopes", post(save_scopes))
        .route("/admin/accounts/{id}/mfa/disable", post(disable_mfa))
        .route(
            "/admin/accounts/{id}/sessions/revoke",
            post(revoke_sessions),
        )
        .route(
            "/admin/accounts/{id}/api-keys/{key}/revoke",
            post(revoke_key),
        )
        .route("/admin/accounts/{id}/delete", post(delete))
        .route(
            "/admin/accounts/{id}/passkeys/{pid}/delete",
            post(remove_passkey),
        )
        .route("/admin/audit", get(audit))
}

async fn home(ap: AdminPage) -> Response {
    ap.page.redirect(&ap.page.ui.url("/admin/accounts"), None)
}

/// A query string read leniently: a malformed one counts as empty.
fn query<T: DeserializeOwned + Default>(raw: Option<String>) -> T {
    raw.and_then(|q| serde_urlencoded::from_str(&q).ok())
        .unwrap_or_default()
}

/// `YYYY-MM-DD HH:MM` in UTC (with seconds for the audit log).
fn when(t: OffsetDateTime, seconds: bool) -> serde_json::Value {
    let t = t.to_offset(UtcOffset::UTC);
    let text = if seconds {
        t.format(format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second] UTC"
        ))
    } else {
        t.format(format_description!(
            "[year]-[month]-[day] [hour]:[minute] UTC"
        ))
    };
    json!({
        "iso": t.format(&Rfc3339).unwrap_or_default(),
        "text": text.unwrap_or_default(),
    })
}

fn not_found(ap: &AdminPage) -> Response {
    ap.page.message(
        StatusCode::NOT_FOUND,
        "Account not found",
        "There is no account with this id.",
    )
}

fn parse_scopes(s: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for scope in s.split(|c: char| c.is_whitespace() || c == ',') {
        if !scope.is_empty() && !out.iter().any(|x| x == scope) {
            out.push(scope.to_owned());
        }
    }
    out
}

fn account_row(a: &Account) -> serde_json::Value {
    json!({
        "id": a.id.to_string(),
        "login": a.login,
        "email": a.email,
        "email_verified": a.email_verified,
        "active": a.active,
        "blocked": a.blocked,
        "mfa": a.mfa_enabled,
        "scopes": a.scopes.join(" "),
        "created": when(a.created_at, false),
    })
}

// ----- accounts --------------------------------------------------------------

#[derive(Deserialize, Default)]
#[serde(default)]
struct ListQuery {
    q: Option<String>,
    after: Option<String>,
    limit: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CreateForm {
    login: String,
    email: String,
    password: String,
    scopes: String,
}

async fn accounts(ap: AdminPage, RawQuery(raw): RawQuery) -> Response {
    let q: ListQuery = query(raw);
    accounts_page(&ap, &q, StatusCode::OK, None, None).await
}

/// The list of accounts (and the create form with `form`'s values and errors).
async fn accounts_page(
    ap: &AdminPage,
    q: &ListQuery,
    status: StatusCode,
    form: Option<&CreateForm>,
    error: Option<&Error>,
) -> Response {
    let page = &ap.page;
    let mut alert = None;
    let limit = match q.limit.as_deref().map(str::trim) {
        None | Some("") => PAGE_SIZE,
        Some(s) => match s.parse::<u32>() {
            Ok(n) if (1..=200).contains(&n) => n,
            _ => {
                alert = Some("The page size must be between 1 and 200.".to_owned());
                PAGE_SIZE
            }
        },
    };
    let after = match q.after.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(s) => {
            let id = AccountId::parse(s);
            if id.is_none() {
                alert = Some("This page link is not valid; showing the first page.".to_owned());
            }
            id
        }
    };
    let search: Option<String> =
        q.q.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| s.chars().take(128).collect());
    let items = match page
        .auth()
        .list_accounts(&AccountQuery {
            search: search.clone(),
            after,
            limit: limit + 1,
        })
        .await
    {
        Ok(items) => items,
        Err(e) => return page.error(&e),
    };
    let more = items.len() > limit as usize;
    let shown: Vec<&Account> = items.iter().take(limit as usize).collect();
    let next = if more {
        shown.last().map(|a| {
            let mut url = format!("{}?", page.ui.url("/admin/accounts"));
            if let Some(s) = &search {
                url.push_str(&format!("q={}&", url_encode(s)));
            }
            if limit != PAGE_SIZE {
                url.push_str(&format!("limit={limit}&"));
            }
            url.push_str(&format!("after={}", a.id));
            url
        })
    } else {
        None
    };
    let (errors, form_alert) = error.map(form_errors).unwrap_or_default();
    let rows: Vec<serde_json::Value> = shown.iter().map(|a| account_row(a)).collect();
    page.render_status(
        status,
        "admin/accounts.html",
        minijinja::context! {
            section => "accounts",
            q => search.clone().unwrap_or_default(),
            accounts => to_value(&rows),
            next => next,
            first => after.is_some().then(|| match &search {
                Some(s) => format!("{}?q={}", page.ui.url("/admin/accounts"), url_encode(s)),
                None => page.ui.url("/admin/accounts"),
            }),
            form => form.map(|f| minijinja::context! {
                login => f.login.clone(),
                email => f.email.clone(),
                scopes => f.scopes.clone(),
            }),
            errors => errors,
            alert => form_alert.or(alert),
        },
    )
}

async fn create(ap: AdminPage, UiForm(f): UiForm<CreateForm>) -> Response {
    let email = f.email.trim().to_owned();
    let input = NewAccount {
        login: f.login.trim().to_owned(),
        password: f.password.clone(),
        email: (!email.is_empty()).then_some(email),
        properties: None,
        scopes: parse_scopes(&f.scopes),
        active: None,
    };
    match ap.page.auth().create_account(input, &ap.page.client).await {
        Ok(a) => ap.page.redirect(
            &ap.page.ui.url(&format!("/admin/accounts/{}", a.id)),
            Some(Flash::notice(format!("Account {} created.", a.login))),
        ),
        Err(e) => {
            let e = match e {
                Error::LoginTaken => Error::field("login", "is taken; choose another"),
                Error::EmailTaken => Error::field("email", "is already used by an account"),
                other => other,
            };
            accounts_page(
                &ap,
                &ListQuery::default(),
                status_of(&e),
                Some(&f),
                Some(&e),
            )
            .await
        }
    }
}

// ----- one account -----------------------------------------------------------

/// The values typed into the account page's forms, shown again with errors.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
struct AccountForm {
    reason: Option<String>,
    scopes: Option<String>,
    confirm_login: Option<String>,
}

async fn account(ap: AdminPage, Path(id): Path<String>) -> Response {
    let Some(id) = AccountId::parse(&id) else {
        return not_found(&ap);
    };
    account_page(&ap, id, StatusCode::OK, None, &AccountForm::default()).await
}

async fn account_page(
    ap: &AdminPage,
    id: AccountId,
    status: StatusCode,
    error: Option<&Error>,
    form: &AccountForm,
) -> Response {
    let page = &ap.page;
    let auth = page.auth();
    let a = match auth.account(id).await {
        Ok(a) => a,
        Err(Error::NotFound) => return not_found(ap),
        Err(e) => return page.error(&e),
    };
    let sessions = match auth.sessions(id).await {
        Ok(s) => s,
        Err(e) => return page.error(&e),
    };
    let keys = match auth
        .admin_list_api_keys(&ApiKeyQuery {
            account_id: Some(id),
            include_revoked: true,
            limit: KEYS_SHOWN,
        })
        .await
    {
        Ok(k) => k,
        Err(e) => return page.error(&e),
    };
    let now = auth.now();
    let sessions: Vec<serde_json::Value> = sessions
        .iter()
        .map(|s| {
            json!({
                "id": s.id.to_string(),
                "device": s.user_agent,
                "ip": s.ip,
                "created": when(s.created_at, false),
                "last_seen": when(s.last_seen_at, false),
                "expires": when(s.expires_at, false),
                "remembered": s.long,
                "amr": s.amr.join(" "),
                "current": s.id == ap.signed.session.id,
            })
        })
        .collect();
    let keys: Vec<serde_json::Value> = keys
        .iter()
        .map(|k| {
            let status = if k.revoked_at.is_some() {
                "revoked"
            } else if k.is_live(now) {
                "active"
            } else {
                "expired"
            };
            json!({
                "id": k.id.to_string(),
                "name": k.name,
                "scopes": k.scopes.join(" "),
                "created": when(k.created_at, false),
                "expires": k.expires_at.map(|t| when(t, false)),
                "status": status,
                "revocable": k.revoked_at.is_none(),
            })
        })
        .collect();
    let passkeys: Vec<serde_json::Value> = match auth.passkeys(id).await {
        Ok(p) => p
            .iter()
            .map(|p| {
                json!({
                    "id": p.id.to_string(),
                    "name": p.name,
                    "created": when(p.created_at, false),
                    "last_used": p.last_used_at.map(|t| when(t, false)),
                })
            })
            .collect(),
        Err(e) => return page.error(&e),
    };
    let (errors, alert) = error.map(form_errors).unwrap_or_default();
    let mut view = account_row(&a);
    view["block_reason"] = json!(a.block_reason);
    view["updated"] = when(a.updated_at, false);
    view["has_password"] = json!(a.password_hash.is_some());
    page.render_status(
        status,
        "admin/account.html",
        minijinja::context! {
            section => "accounts",
            title => a.login.clone(),
            account => to_value(&view),
            is_self => a.id == ap.signed.account.id,
            sessions => to_value(&sessions),
            keys => to_value(&keys),
            passkeys => to_value(&passkeys),
            audit_url => format!("{}?account={}", page.ui.url("/admin/audit"), a.id),
            reason => form.reason.clone().unwrap_or_default(),
            scopes => form.scopes.clone().unwrap_or_else(|| a.scopes.join(" ")),
            confirm_login => form.confirm_login.clone().unwrap_or_default(),
            errors => errors,
            alert => alert,
        },
    )
}

/// After an action: back to the account's page with `notice`, or the page
/// again with the error (next to its field when it has one).
async fn done(
    ap: &AdminPage,
    id: AccountId,
    result: Result<String, Error>,
    form: &AccountForm,
) -> Response {
    match result {
        Ok(notice) => ap.page.redirect(
            &ap.page.ui.url(&format!("/admin/accounts/{id}")),
            Some(Flash::notice(notice)),
        ),
        Err(Error::NotFound) => not_found(ap),
        Err(e) => account_page(ap, id, status_of(&e), Some(&e), form).await,
    }
}

async fn block(ap: AdminPage, Path(id): Path<String>, UiForm(f): UiForm<AccountForm>) -> Response {
    let Some(id) = AccountId::parse(&id) else {
        return not_found(&ap);
    };
    let reason = f.reason.as_deref().unwrap_or_default().trim().to_owned();
    let result = if id == ap.signed.account.id {
        Err(Error::field(
            "reason",
            "you cannot block your own account (you would be signed out for good)",
        ))
    } else {
        ap.page
            .auth()
            .block_account(id, &reason, &ap.page.client)
            .await
            .map(|()| "The account is blocked and all its sessions are revoked.".to_owned())
    };
    done(&ap, id, result, &f).await
}

async fn unblock(ap: AdminPage, Path(id): Path<String>) -> Response {
    let Some(id) = AccountId::parse(&id) else {
        return not_found(&ap);
    };
    let result = ap
        .page
        .auth()
        .unblock_account(id, &ap.page.client)
        .await
        .map(|()| "The account is unblocked.".to_owned());
    done(&ap, id, result, &AccountForm::default()).await
}

async fn save_scopes(
    ap: AdminPage,
    Path(id): Path<String>,
    UiForm(f): UiForm<AccountForm>,
) -> Response {
    let Some(id) = AccountId::parse(&id) else {
        return not_found(&ap);
    };
    let scopes = parse_scopes(f.scopes.as_deref().unwrap_or_default());
    let result = if id == ap.signed.account.id && !scopes.iter().any(|s| s == "admin") {
        Err(Error::field(
            "scopes",
            "you cannot remove the admin scope from your own account",
        ))
    } else {
        ap.page
            .auth()
            .set_scopes(id, scopes, &ap.page.client)
            .await
            .map(|a| {
                if a.scopes.is_empty() {
                    "The account has no scopes now.".to_owned()
                } else {
                    format!("Scopes saved: {}.", a.scopes.join(" "))
                }
            })
    };
    done(&ap, id, result, &f).await
}

async fn disable_mfa(ap: AdminPage, Path(id): Path<String>) -> Response {
    let Some(id) = AccountId::parse(&id) else {
        return not_found(&ap);
    };
    let result = ap
        .page
        .auth()
        .disable_mfa(id, &ap.page.client)
        .await
        .map(|()| "Two-factor sign-in is turned off for this account.".to_owned());
    done(&ap, id, result, &AccountForm::default()).await
}

async fn revoke_sessions(ap: AdminPage, Path(id): Path<String>) -> Response {
    let Some(id) = AccountId::parse(&id) else {
        return not_found(&ap);
    };
    let result = ap
        .page
        .auth()
        .revoke_all_sessions(id, &ap.page.client)
        .await
        .map(|n| match n {
            1 => "1 session revoked.".to_owned(),
            n => format!("{n} sessions revoked."),
        });
    done(&ap, id, result, &AccountForm::default()).await
}

async fn revoke_key(ap: AdminPage, Path((id, key)): Path<(String, String)>) -> Response {
    let (Some(id), Some(key)) = (AccountId::parse(&id), ApiKeyId::parse(&key)) else {
        return not_found(&ap);
    };
    let auth = ap.page.auth();
    // The key must belong to this account (the page's link says so).
    let result = match auth.api_key(Some(id), key).await {
        Ok(k) if k.revoked_at.is_some() => {
            return ap.page.redirect(
                &ap.page.ui.url(&format!("/admin/accounts/{id}")),
                Some(Flash::alert(format!(
                    "API key {} was already revoked.",
                    k.name
                ))),
            );
        }
        Ok(k) => auth
            .revoke_api_key(None, key, &ap.page.client)
            .await
            .map(|()| format!("API key {} revoked.", k.name)),
        Err(Error::NotFound) => {
            return ap.page.message(
                StatusCode::NOT_FOUND,
                "API key not found",
                "This account has no API key with this id.",
            );
        }
        Err(e) => Err(e),
    };
    done(&ap, id, result, &AccountForm::default()).await
}

async fn remove_passkey(ap: AdminPage, Path((id, pid)): Path<(String, String)>) -> Response {
    let (Some(id), Ok(pid)) = (AccountId::parse(&id), uuid::Uuid::parse_str(&pid)) else {
        return not_found(&ap);
    };
    let result = ap
        .page
        .auth()
        .delete_passkey(id, pid, true, &ap.page.client)
        .await
        .map(|()| "Passkey removed.".to_owned());
    done(&ap, id, result, &AccountForm::default()).await
}

async fn delete(ap: AdminPage, Path(id): Path<String>, UiForm(f): UiForm<AccountForm>) -> Response {
    let Some(id) = AccountId::parse(&id) else {
        return not_found(&ap);
    };
    let auth = ap.page.auth();
    let a = match auth.account(id).await {
        Ok(a) => a,
        Err(Error::NotFound) => return not_found(&ap),
        Err(e) => return ap.page.error(&e),
    };
    let typed = f.confirm_login.as_deref().unwrap_or_default().trim();
    let refused = if id == ap.signed.account.id {
        Some("you cannot delete your own account here")
    } else if normalize_login(typed) != a.login_key() {
        Some("type the account's login exactly to confirm")
    } else {
        None
    };
    if let Some(why) = refused {
        let e = Error::field("confirm_login", why);
        return account_page(&ap, id, status_of(&e), Some(&e), &f).await;
    }
    match auth.delete_account(id, &ap.page.client).await {
        Ok(()) => ap.page.redirect(
            &ap.page.ui.url("/admin/accounts"),
            Some(Flash::notice(format!("Account {} deleted.", a.login))),
        ),
        Err(Error::NotFound) => not_found(&ap),
        Err(e) => account_page(&ap, id, status_of(&e), Some(&e), &f).await,
    }
}

// ----- audit log -------------------------------------------------------------

#[derive(Deserialize, Default)]
#[serde(default)]
struct AuditParams {
    account: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    from: Option<String>,
    to: Option<String>,
    after: Option<String>,
    limit: Option<String>,
}

/// A time typed into a filter: RFC 3339, a `datetime-local` value
/// (`YYYY-MM-DDTHH:MM[:SS]`, read as UTC) or a date. For the end of a range
/// (`end`) the whole minute, second or day given is included.
fn parse_when(s: &str, end: bool) -> Option<OffsetDateTime> {
    // The stores keep nanoseconds since 1970 in 64 bits (up to 2262).
    parse_time(s, end).filter(|t| (1970..=2200).contains(&t.year()))
}

fn parse_time(s: &str, end: bool) -> Option<OffsetDateTime> {
    let s = s.trim();
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Some(t);
    }
    let local = s.replacen(' ', "T", 1);
    let local = local.split('.').next().unwrap_or_default();
    if let Ok(t) = PrimitiveDateTime::parse(
        local,
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]"),
    ) {
        let t = t.assume_utc();
        return Some(if end { t + Duration::seconds(1) } else { t });
    }
    if let Ok(t) = PrimitiveDateTime::parse(
        local,
        format_description!("[year]-[month]-[day]T[hour]:[minute]"),
    ) {
        let t = t.assume_utc();
        return Some(if end { t + Duration::minutes(1) } else { t });
    }
    if let Ok(d) = Date::parse(s, format_description!("[year]-[month]-[day]")) {
        let t = d.midnight().assume_utc();
        return Some(if end { t + Duration::days(1) } else { t });
    }
    None
}

/// Where a page of the audit log ends: the time of the last event read and
/// how many events of exactly that time were read (`<unix nanos>_<count>`).
fn parse_cursor(s: &str) -> Option<(OffsetDateTime, usize)> {
    let (nanos, n) = s.split_once('_')?;
    let t = OffsetDateTime::from_unix_timestamp_nanos(nanos.parse().ok()?).ok()?;
    let n: usize = n.parse().ok()?;
    (1..=100_000).contains(&n).then_some((t, n))
}

fn type_matches(filter: Option<&str>, event: &str) -> bool {
    match filter {
        None => true,
        Some(f) => {
            let f = f.trim_end_matches(['.', '*']);
            event == f || event.strip_prefix(f).is_some_and(|r| r.starts_with('.'))
        }
    }
}

/// One page of events, newest first, from `cursor` on; the cursor of the
/// next page when there may be more.
async fn audit_slice(
    auth: &warden_core::Auth,
    base: &AuditQuery,
    kind: Option<&str>,
    mut cursor: Option<(OffsetDateTime, usize)>,
    limit: usize,
) -> Result<(Vec<AuditEvent>, Option<(OffsetDateTime, usize)>), Error> {
    let mut out = Vec::new();
    for _ in 0..AUDIT_MAX_BATCHES {
        let (to, skip) = match cursor {
            Some((t, n)) => (Some(t + Duration::nanoseconds(1)), n),
            None => (base.to, 0),
        };
        let want = AUDIT_BATCH + u32::try_from(skip).unwrap_or(u32::MAX - AUDIT_BATCH);
        let batch = auth
            .audit_events(&AuditQuery {
                account_id: base.account_id,
                from: base.from,
                to,
                limit: want,
            })
            .await?;
        let exhausted = batch.len() < want as usize;
        for ev in batch.into_iter().skip(skip) {
            if out.len() == limit {
                return Ok((out, cursor));
            }
            cursor = Some(match cursor {
                Some((t, n)) if t == ev.at => (t, n + 1),
                _ => (ev.at, 1),
            });
            if type_matches(kind, &ev.event) {
                out.push(ev);
            }
        }
        if exhausted {
            return Ok((out, None));
        }
    }
    // Read enough for one request: the next page goes on from here.
    Ok((out, cursor))
}

async fn audit(ap: AdminPage, RawQuery(raw): RawQuery) -> Response {
    let p: AuditParams = query(raw);
    let page = &ap.page;
    let auth = page.auth();
    let mut errors: BTreeMap<&str, String> = BTreeMap::new();
    let mut alert = None;
    let text = |o: &Option<String>| o.as_deref().map(str::trim).unwrap_or_default().to_owned();
    let (account_text, kind_text, from_text, to_text) =
        (text(&p.account), text(&p.kind), text(&p.from), text(&p.to));
    // An account by id, or by login for convenience.
    let account_id = if account_text.is_empty() {
        None
    } else if let Some(id) = AccountId::parse(&account_text) {
        Some(id)
    } else {
        match auth
            .store()
            .account_by_login(&normalize_login(&account_text))
            .await
        {
            Ok(Some(a)) => Some(a.id),
            Ok(None) => {
                errors.insert("account", "is not an account id or login".into());
                None
            }
            Err(e) => return page.error(&e),
        }
    };
    let from = (!from_text.is_empty())
        .then(|| {
            parse_when(&from_text, false).or_else(|| {
                errors.insert(
                    "from",
                    "is not a date and time between 1970 and 2200 (YYYY-MM-DD HH:MM)".into(),
                );
                None
            })
        })
        .flatten();
    let to = (!to_text.is_empty())
        .then(|| {
            parse_when(&to_text, true).or_else(|| {
                errors.insert(
                    "to",
                    "is not a date and time between 1970 and 2200 (YYYY-MM-DD HH:MM)".into(),
                );
                None
            })
        })
        .flatten();
    if let (Some(f), Some(t)) = (from, to)
        && f >= t
    {
        errors.insert("to", "must be after From".into());
    }
    let limit = match p.limit.as_deref().map(str::trim) {
        None | Some("") => AUDIT_PAGE_SIZE,
        Some(s) => match s.parse::<usize>() {
            Ok(n) if (1..=200).contains(&n) => n,
            _ => {
                alert = Some("The page size must be between 1 and 200.".to_owned());
                AUDIT_PAGE_SIZE
            }
        },
    };
    let cursor = match p.after.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(s) => {
            let c = parse_cursor(s);
            if c.is_none() {
                alert = Some("This page link is not valid; showing the newest events.".into());
            }
            c
        }
    };
    let kind = (!kind_text.is_empty()).then_some(kind_text.as_str());
    let (events, next) = if errors.is_empty() {
        let base = AuditQuery {
            account_id,
            from,
            to,
            limit: 0,
        };
        match audit_slice(auth, &base, kind, cursor, limit).await {
            Ok(r) => r,
            Err(e) => return page.error(&e),
        }
    } else {
        (Vec::new(), None)
    };
    // Logins of the accounts shown (deleted ones keep their id).
    let mut logins: BTreeMap<AccountId, Option<String>> = BTreeMap::new();
    for id in events.iter().filter_map(|e| e.account_id) {
        if let std::collections::btree_map::Entry::Vacant(slot) = logins.entry(id) {
            slot.insert(auth.account(id).await.ok().map(|a| a.login.clone()));
        }
    }
    let rows: Vec<serde_json::Value> = events
        .iter()
        .map(|e| {
            let actor = e
                .detail
                .get("actor")
                .or_else(|| e.detail.get("by"))
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned));
            json!({
                "at": when(e.at, true),
                "event": e.event,
                "account_id": e.account_id.map(|a| a.to_string()),
                "account_login": e.account_id.and_then(|a| logins.get(&a).cloned().flatten()),
                "actor": actor,
                "actor_id": e.detail.get("actor_id").and_then(|v| v.as_str()).and_then(AccountId::parse).map(|a| a.to_string()),
                "ip": e.ip,
                "user_agent": e.user_agent,
                "detail": if e.detail.as_object().is_some_and(|o| o.is_empty()) || e.detail.is_null() {
                    String::new()
                } else {
                    e.detail.to_string()
                },
            })
        })
        .collect();
    let filter_qs = {
        let mut qs = String::new();
        for (k, v) in [
            ("account", &account_text),
            ("type", &kind_text),
            ("from", &from_text),
            ("to", &to_text),
        ] {
            if !v.is_empty() {
                qs.push_str(&format!("{k}={}&", url_encode(v)));
            }
        }
        if limit != AUDIT_PAGE_SIZE {
            qs.push_str(&format!("limit={limit}&"));
        }
        qs
    };
    let base_url = page.ui.url("/admin/audit");
    let next = next.map(|(t, n)| {
        format!(
            "{base_url}?{filter_qs}after={}_{n}",
            t.unix_timestamp_nanos()
        )
    });
    let first = cursor.is_some().then(|| {
        let qs = filter_qs.trim_end_matches('&');
        if qs.is_empty() {
            base_url.clone()
        } else {
            format!("{base_url}?{qs}")
        }
    });
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    page.render_status(
        status,
        "admin/audit.html",
        minijinja::context! {
            section => "audit",
            account => account_text,
            account_link => account_id.map(|a| page.ui.url(&format!("/admin/accounts/{a}"))),
            kind => kind_text,
            from => from_text,
            to => to_text,
            events => to_value(&rows),
            next => next,
            first => first,
            errors => to_value(&errors),
            alert => alert,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_read_leniently() {
        let t = parse_when("2026-11-24T10:42", false).map(|t| t.unix_timestamp());
        assert_eq!(t, Some(1_795_516_920));
        let end = parse_when("2026-11-24T10:42", true).map(|t| t.unix_timestamp());
        assert_eq!(end, Some(1_795_516_980));
        assert!(parse_when("2026-11-24 10:42:05", false).is_some());
        assert!(parse_when("2026-11-24T10:42:05.123", false).is_some());
        assert!(parse_when("2026-11-24T10:42:05Z", false).is_some());
        let day = parse_when("2026-11-24", true).zip(parse_when("2026-11-24", false));
        assert_eq!(day.map(|(e, s)| (e - s).whole_hours()), Some(24));
        assert!(parse_when("yesterday", false).is_none());
        assert!(parse_when("2026-13-01", false).is_none());
        assert!(parse_when("2999-12-31", true).is_none());
        assert!(parse_when("1900-01-01", false).is_none());
    }

    #[test]
    fn cursors_and_types() {
        assert!(parse_cursor("1795516920000000000_2").is_some());
        assert!(parse_cursor("x_2").is_none());
        assert!(parse_cursor("1795516920000000000_0").is_none());
        assert!(parse_cursor("nope").is_none());
        assert!(type_matches(Some("account.blocked"), "account.blocked"));
        assert!(type_matches(Some("account"), "account.blocked"));
        assert!(type_matches(Some("account.*"), "account.blocked"));
        assert!(!type_matches(Some("account"), "accounts.x"));
        assert!(!type_matches(Some("login"), "account.blocked"));
        assert_eq!(
            parse_scopes("admin  read,write admin"),
            ["admin", "read", "write"]
        );
    }
}
