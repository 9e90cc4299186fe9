//! The admin console of the hosted pages through the real router: access
//! (admin scope only), accounts with search and paging, block/unblock,
//! scopes, second factor, sessions, API keys, delete, the audit log and CSRF.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use axum::http::StatusCode;
use common::browser::{Browser, totp_code};
use common::{App, PASSWORD, app, app_with, each_backend, unique};
use warden_core::api_key::NewApiKey;
use warden_core::model::{AccountId, ClientInfo};
use warden_core::{Error, NewAccount};

/// Register `login` through the JSON API; its id.
async fn register(app: &App, login: &str) -> AccountId {
    let r = app.register(login, PASSWORD).await;
    assert_eq!(r.status, StatusCode::CREATED, "register {login}");
    let id = r.json()["account"]["id"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_default();
    AccountId::parse(&id).expect("account id")
}

/// A browser signed in as a new account with the `admin` scope.
async fn admin(app: &App) -> (Browser, String, AccountId) {
    let login = unique("admin");
    let id = register(app, &login).await;
    app.warden
        .auth()
        .accounts()
        .set_scopes(id, vec!["admin".into()], &ClientInfo::default())
        .await
        .expect("grant admin");
    let mut b = Browser::new(app);
    b.sign_in(&login, PASSWORD).await;
    assert!(b.cookies.contains_key("warden_ui"), "admin signed in");
    (b, login, id)
}

/// A browser signed in as a new plain account.
async fn user(app: &App) -> (Browser, String, AccountId) {
    let login = unique("user");
    let id = register(app, &login).await;
    let mut b = Browser::new(app);
    b.sign_in(&login, PASSWORD).await;
    assert!(b.cookies.contains_key("warden_ui"), "user signed in");
    (b, login, id)
}

/// The page's HTML with attribute escapes undone (`/` is `&#x2f;`).
fn html(page: &common::browser::Page) -> String {
    common::browser::unescape(&page.html)
}

fn account_url(id: AccountId) -> String {
    format!("/ui/admin/accounts/{id}")
}

/// The `data-account-id`s of the rows of an accounts page.
fn row_ids(html: &str) -> Vec<String> {
    html.split("<tr data-account-id=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .map(str::to_owned)
        .collect()
}

/// The `href` of the link named `name`.
fn link(html: &str, name: &str) -> Option<String> {
    let end = html.find(&format!(">{name}</a>"))?;
    let start = html[..end].rfind("<a ")?;
    let tag = &html[start..end];
    let href = tag.split("href=\"").nth(1)?.split('"').next()?;
    Some(common::browser::unescape(href))
}

each_backend!(async fn only_admins_get_in(backend) {
    let app = app(backend).await;
    let (mut u, _, uid) = user(&app).await;
    let pages = [
        "/ui/admin".to_owned(),
        "/ui/admin/accounts".to_owned(),
        "/ui/admin/accounts?q=a".to_owned(),
        account_url(uid),
        "/ui/admin/audit".to_owned(),
    ];
    for p in &pages {
        let page = u.get(p).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{p}");
        assert_eq!(page.h1(), "Admins only", "{p}");
    }
    // Nor can a plain account act through the forms.
    let page = u
        .post(
            &format!("{}/block", account_url(uid)),
            &[("reason", "self")],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(
        !app.warden
            .auth()
            .accounts()
            .account(uid)
            .await
            .unwrap()
            .blocked
    );
    // Signed out: to the sign-in page, coming back afterwards.
    let mut anon = Browser::new(&app);
    for p in &pages {
        let page = anon.get(p).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{p}");
        let to = page.location().unwrap_or_default();
        assert!(
            to.starts_with("/ui/sign-in?redirect_to=%2Fui%2Fadmin"),
            "{p}: {to}"
        );
    }
    // An admin is sent on to the accounts and sees the nav.
    let (mut a, _, _) = admin(&app).await;
    let page = a.get("/ui/admin").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), Some("/ui/admin/accounts"));
    let page = a.open("/ui/admin").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.h1(), "Accounts");
    assert!(html(&page).contains("<nav class=\"tabs\" aria-label=\"Admin\">"));
    assert!(html(&page).contains("href=\"/ui/admin/accounts\" aria-current=\"page\">Accounts</a>"));
    assert!(html(&page).contains("href=\"/ui/account\">Your account</a>"));
    assert!(html(&page).contains("<main id=\"content\" tabindex=\"-1\" class=\"wide\">"));
});

each_backend!(async fn search_and_paging(backend) {
    let app = app(backend).await;
    let (mut a, _, admin_id) = admin(&app).await;
    let tag = unique("pg");
    let mut made = Vec::new();
    for i in 0..5 {
        let acc = app
            .warden
            .auth()
            .accounts()
            .create_account(
                NewAccount {
                    email: Some(format!("m{i}.{tag}@example.com")),
                    ..NewAccount::new(format!("{tag}{i}"), PASSWORD)
                },
                &ClientInfo::default(),
            )
            .await
            .expect("create");
        made.push(acc.id.to_string());
    }
    // Search by login, case-insensitively.
    let page = a
        .open(&format!("/ui/admin/accounts?q={}", tag.to_uppercase()))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(
        page.input("q").as_deref(),
        Some(tag.to_uppercase().as_str())
    );
    let mut ids = row_ids(&page.html);
    ids.sort();
    assert_eq!(ids, made);
    assert!(page.contains(&format!("{tag}0")));
    assert!(!row_ids(&page.html).contains(&admin_id.to_string()));
    assert!(link(&page.html, "Next page").is_none());
    let first = &made[0];
    assert!(html(&page).contains(&format!(
        "<a href=\"/ui/admin/accounts/{first}\">{tag}0</a>"
    )));
    // Search by email.
    let page = a.open("/ui/admin/accounts?q=m3.pg").await;
    assert!(row_ids(&page.html).contains(&made[3]));
    assert!(!row_ids(&page.html).contains(&made[2]));
    // Pages of two, following "Next page".
    let mut seen = Vec::new();
    let mut url = format!("/ui/admin/accounts?q={tag}&limit=2");
    let mut pages = 0;
    loop {
        let page = a.open(&url).await;
        assert_eq!(page.status, StatusCode::OK, "{url}");
        let rows = row_ids(&page.html);
        assert!(rows.len() <= 2);
        seen.extend(rows);
        pages += 1;
        match link(&page.html, "Next page") {
            Some(next) => url = next,
            None => break,
        }
        assert!(pages < 5, "paging does not end");
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, made, "each account once, in id order");
    // A broken cursor or size is no error page.
    let page = a.open("/ui/admin/accounts?after=nope&limit=0").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.alert().is_some());
    let page = a.open("/ui/admin/accounts?q=nobody-matches-this").await;
    assert!(row_ids(&page.html).is_empty());
    assert!(page.contains("No account matches"));
});

each_backend!(async fn create_an_account(backend) {
    let app = app(backend).await;
    let (mut a, _, _) = admin(&app).await;
    a.open("/ui/admin/accounts").await;
    let login = unique("made");
    let page = a
        .submit(
            "/ui/admin/accounts",
            &[
                ("login", &login),
                ("email", ""),
                ("password", PASSWORD),
                ("scopes", "read write"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.h1(), login);
    assert!(page.contains(&format!("Account {login} created.")));
    let id = page.text_of("account-id").unwrap_or_default();
    let acc = app
        .warden
        .auth()
        .accounts()
        .account(AccountId::parse(&id).expect("id"))
        .await
        .unwrap();
    assert_eq!(acc.scopes, ["read", "write"]);
    // A taken login is shown next to the field.
    let page = a
        .post(
            "/ui/admin/accounts",
            &[("login", &login), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.text_of("login-error").is_some(), "{}", page.html);
    assert_eq!(page.input("login").as_deref(), Some(login.as_str()));
});

each_backend!(async fn block_and_unblock(backend) {
    let app = app(backend).await;
    let (mut a, _, admin_id) = admin(&app).await;
    let (mut u, login, uid) = user(&app).await;
    let page = a.open(&account_url(uid)).await;
    assert_eq!(page.h1(), login);
    assert_eq!(page.text_of("account-blocked").as_deref(), Some("no"));
    let page = a
        .post(
            &format!("{}/block", account_url(uid)),
            &[("reason", "spam from this account")],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), Some(account_url(uid).as_str()));
    let page = a.open(&account_url(uid)).await;
    assert!(page.contains("The account is blocked"), "flash notice");
    assert_eq!(
        page.text_of("account-blocked").as_deref(),
        Some("blocked spam from this account")
    );
    assert!(html(&page).contains(">Unblock</button>"));
    assert!(!html(&page).contains(">Block</button>"));
    // The user's page session is gone on its next request.
    let next = u.get("/ui/account").await;
    assert_eq!(next.status, StatusCode::SEE_OTHER);
    assert!(
        next.location()
            .unwrap_or_default()
            .starts_with("/ui/sign-in")
    );
    assert!(
        app.warden
            .auth()
            .sessions()
            .list(uid)
            .await
            .unwrap()
            .is_empty()
    );
    let mut again = Browser::new(&app);
    let page = again.sign_in(&login, PASSWORD).await;
    assert!(
        page.alert().unwrap_or_default().contains("blocked"),
        "{:?}",
        page.alert()
    );
    assert!(!again.cookies.contains_key("warden_ui"));
    // Unblock: sign-in works again.
    let page = a
        .submit(&format!("{}/unblock", account_url(uid)), &[])
        .await;
    assert!(page.contains("The account is unblocked."));
    assert_eq!(page.text_of("account-blocked").as_deref(), Some("no"));
    let mut again = Browser::new(&app);
    let page = again.sign_in(&login, PASSWORD).await;
    assert!(page.alert().is_none(), "{:?}", page.alert());
    assert!(again.cookies.contains_key("warden_ui"));
    // An admin cannot block themselves.
    let own = a.open(&account_url(admin_id)).await;
    assert!(!html(&own).contains(">Block</button>"));
    assert!(!html(&own).contains(">Delete account</button>"));
    assert!(own.contains("cannot be blocked here"));
    let page = a
        .post(
            &format!("{}/block", account_url(admin_id)),
            &[("reason", "oops")],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.text_of("reason-error")
            .unwrap_or_default()
            .contains("your own account")
    );
    assert!(
        !app.warden
            .auth()
            .accounts()
            .account(admin_id)
            .await
            .unwrap()
            .blocked
    );
    assert_eq!(a.open("/ui/admin/accounts").await.status, StatusCode::OK);
});

each_backend!(async fn scopes_two_factor_and_sessions(backend) {
    let app = app_with(backend, |c| c.otp_enabled = true).await;
    let (mut a, _, admin_id) = admin(&app).await;
    let (mut u, login, uid) = user(&app).await;
    let auth = app.warden.auth();
    let client = ClientInfo::default();
    // Scopes.
    let page = a.open(&account_url(uid)).await;
    assert_eq!(page.input("scopes").unwrap_or_default(), "");
    let page = a
        .submit(
            &format!("{}/scopes", account_url(uid)),
            &[("scopes", "read  write,read")],
        )
        .await;
    assert!(page.contains("Scopes saved: read write."), "{}", page.html);
    assert_eq!(page.input("scopes").as_deref(), Some("read write"));
    assert_eq!(
        auth.accounts().account(uid).await.unwrap().scopes,
        ["read", "write"]
    );
    let page = a
        .submit(&format!("{}/scopes", account_url(uid)), &[("scopes", "")])
        .await;
    assert!(page.contains("The account has no scopes now."));
    assert!(
        auth.accounts()
            .account(uid)
            .await
            .unwrap()
            .scopes
            .is_empty()
    );
    // An admin keeps their own admin scope.
    let page = a
        .post(
            &format!("{}/scopes", account_url(admin_id)),
            &[("scopes", "read")],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.text_of("scopes-error").is_some());
    assert!(
        auth.accounts()
            .account(admin_id)
            .await
            .unwrap()
            .has_scope("admin")
    );
    // Two-factor: the button only when it is on.
    assert!(!html(&page).contains("Turn off two-factor"));
    let setup = auth.mfa().totp_setup(uid, &client).await.expect("setup");
    auth.mfa()
        .totp_confirm(uid, &totp_code(&setup.secret, 0), &client)
        .await
        .expect("confirm");
    let page = a.open(&account_url(uid)).await;
    assert_eq!(page.text_of("account-mfa").as_deref(), Some("on"));
    let page = a
        .submit(&format!("{}/mfa/disable", account_url(uid)), &[])
        .await;
    assert!(page.contains("Two-factor sign-in is turned off"));
    assert_eq!(page.text_of("account-mfa").as_deref(), Some("off"));
    assert!(!html(&page).contains(">Turn off two-factor</button>"));
    assert!(!auth.mfa().mfa_status(uid).await.unwrap());
    // Sessions: the page session plus one through the API.
    app.login(&login, PASSWORD).await.assert_status(200);
    let page = a.open(&account_url(uid)).await;
    assert_eq!(page.text_of("account-sessions").as_deref(), Some("2"));
    assert_eq!(page.html.matches("<tr data-session-id=").count(), 2);
    let page = a
        .submit(&format!("{}/sessions/revoke", account_url(uid)), &[])
        .await;
    assert!(page.contains("2 sessions revoked."), "{}", page.html);
    assert_eq!(page.text_of("account-sessions").as_deref(), Some("0"));
    assert!(auth.sessions().list(uid).await.unwrap().is_empty());
    assert_eq!(u.get("/ui/account").await.status, StatusCode::SEE_OTHER);
});

each_backend!(async fn revoke_an_api_key(backend) {
    let app = app(backend).await;
    let (mut a, _, _) = admin(&app).await;
    let (_, _, uid) = user(&app).await;
    let (_, _, other) = user(&app).await;
    let auth = app.warden.auth();
    let client = ClientInfo::default();
    let key = auth
        .api_keys()
        .create_api_key(uid, NewApiKey::named("ci deploy"), &client)
        .await
        .expect("key");
    let foreign = auth
        .api_keys()
        .create_api_key(other, NewApiKey::named("theirs"), &client)
        .await
        .expect("key");
    let kid = key.record.id;
    let page = a.open(&account_url(uid)).await;
    assert!(html(&page).contains(&format!("<tr data-api-key-id=\"{kid}\">")));
    assert!(page.contains("ci deploy"));
    assert!(!page.contains("theirs"));
    // Another account's key is not revoked through this account's page.
    let page = a
        .post(
            &format!("{}/api-keys/{}/revoke", account_url(uid), foreign.record.id),
            &[],
        )
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(
        auth.api_keys()
            .api_key(None, foreign.record.id)
            .await
            .unwrap()
            .revoked_at
            .is_none()
    );
    let page = a
        .submit(&format!("{}/api-keys/{kid}/revoke", account_url(uid)), &[])
        .await;
    assert!(page.contains("API key ci deploy revoked."), "{}", page.html);
    assert!(
        auth.api_keys()
            .api_key(None, kid)
            .await
            .unwrap()
            .revoked_at
            .is_some()
    );
    let row = page
        .html
        .split(&format!("<tr data-api-key-id=\"{kid}\">"))
        .nth(1)
        .and_then(|s| s.split("</tr>").next())
        .unwrap_or_default()
        .to_owned();
    assert!(row.contains("revoked") && !row.contains(">Revoke</button>"));
});

each_backend!(async fn delete_needs_the_login_typed(backend) {
    let app = app(backend).await;
    let (mut a, admin_login, admin_id) = admin(&app).await;
    let (_, login, uid) = user(&app).await;
    let auth = app.warden.auth();
    a.open(&account_url(uid)).await;
    let page = a
        .post(
            &format!("{}/delete", account_url(uid)),
            &[("confirm_login", "someone-else")],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.text_of("confirm_login-error").is_some(),
        "{}",
        page.html
    );
    assert!(html(&page).contains("aria-describedby=\"confirm_login-error\""));
    assert!(auth.accounts().account(uid).await.is_ok());
    let page = a.post(&format!("{}/delete", account_url(uid)), &[]).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(auth.accounts().account(uid).await.is_ok());
    // Logins compare case-insensitively, like sign-in.
    let page = a
        .submit(
            &format!("{}/delete", account_url(uid)),
            &[("confirm_login", &login.to_uppercase())],
        )
        .await;
    assert_eq!(page.h1(), "Accounts");
    assert!(page.contains(&format!("Account {login} deleted.")));
    assert!(matches!(
        auth.accounts().account(uid).await,
        Err(Error::NotFound)
    ));
    let gone = a.get(&account_url(uid)).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    // Not one's own account.
    let page = a
        .post(
            &format!("{}/delete", account_url(admin_id)),
            &[("confirm_login", &admin_login)],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(auth.accounts().account(admin_id).await.is_ok());
});

each_backend!(async fn bad_ids_are_not_found(backend) {
    let app = app(backend).await;
    let (mut a, _, _) = admin(&app).await;
    let (_, _, uid) = user(&app).await;
    let unknown = AccountId::new();
    for p in [
        "/ui/admin/accounts/not-an-id".to_owned(),
        account_url(unknown),
    ] {
        let page = a.get(&p).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{p}");
        assert_eq!(page.h1(), "Account not found");
    }
    for p in [
        "/ui/admin/accounts/not-an-id/block".to_owned(),
        format!("{}/block", account_url(unknown)),
        format!("{}/unblock", account_url(unknown)),
        format!("{}/mfa/disable", account_url(unknown)),
        format!("{}/sessions/revoke", account_url(unknown)),
        format!("{}/api-keys/nope/revoke", account_url(uid)),
        format!("{}/api-keys/{}/revoke", account_url(uid), AccountId::new()),
        format!("{}/delete", account_url(unknown)),
    ] {
        let page = a.post(&p, &[("reason", "x")]).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{p}");
    }
});

each_backend!(async fn audit_log_with_filters(backend) {
    let app = app(backend).await;
    let (mut a, admin_login, admin_id) = admin(&app).await;
    let (_, _, uid) = user(&app).await;
    let (_, _, other) = user(&app).await;
    a.open(&account_url(uid)).await;
    a.submit(
        &format!("{}/block", account_url(uid)),
        &[("reason", "audit me")],
    )
    .await;
    a.submit(
        &format!("{}/block", account_url(other)),
        &[("reason", "and me")],
    )
    .await;
    let page = a.open("/ui/admin/audit").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.h1(), "Audit log");
    assert!(html(&page).contains("href=\"/ui/admin/audit\" aria-current=\"page\">Audit log</a>"));
    assert!(html(&page).contains("<tr data-event=\"account.blocked\">"));
    // By account: only its events, the block first (newest first).
    let page = a.open(&format!("/ui/admin/audit?account={uid}")).await;
    assert_eq!(
        page.input("account").as_deref(),
        Some(uid.to_string().as_str())
    );
    let rows: Vec<&str> = page.html.split("<tr data-event=\"").skip(1).collect();
    assert!(!rows.is_empty());
    assert!(rows[0].starts_with("account.blocked"), "{}", rows[0]);
    assert!(
        rows[0].contains("{&quot;reason&quot;:&quot;audit me&quot;}")
            || rows[0].contains("audit me")
    );
    assert!(rows.iter().all(|r| r.contains(&uid.to_string())));
    assert!(!html(&page).contains(&format!("data-account-id=\"{other}\"")));
    // The admin's request is what the event records (its client).
    let first = common::browser::unescape(rows[0]);
    assert!(first.contains("title=\"test-browser/1.0\""), "{first}");
    // And it names the admin as the actor, linked to the admin's page.
    assert!(
        first.contains(&format!(
            "href=\"/ui/admin/accounts/{admin_id}\">{admin_login}</a>"
        )),
        "{first}"
    );

    // By type: only blocks, of both accounts.
    let page = a.open("/ui/admin/audit?type=account.blocked").await;
    let rows: Vec<&str> = page.html.split("<tr data-event=\"").skip(1).collect();
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r.starts_with("account.blocked\"")));
    // A prefix matches the whole family.
    let page = a.open("/ui/admin/audit?type=account").await;
    let rows: Vec<&str> = page.html.split("<tr data-event=\"").skip(1).collect();
    assert!(rows.len() >= 2, "the blocks at least");
    assert!(rows.iter().all(|r| r.starts_with("account.")));
    // Type and account together, with times from a date-time field.
    let page = a
        .open(&format!(
            "/ui/admin/audit?account={other}&type=account.blocked&from=2000-01-01T00:00&to=2199-12-31"
        ))
        .await;
    let rows: Vec<&str> = page.html.split("<tr data-event=\"").skip(1).collect();
    assert_eq!(rows.len(), 1, "{} {:?}", page.status, page.alert());
    assert!(rows[0].contains("and me"));
    let page = a
        .open(&format!("/ui/admin/audit?account={other}&to=2000-01-01"))
        .await;
    assert!(page.html.split("<tr data-event=\"").nth(1).is_none());
    // Paging one by one visits every event once.
    let all = a.open("/ui/admin/audit?limit=200").await;
    let total = all.html.matches("<tr data-event=\"").count();
    assert!(total >= 6);
    let mut url = "/ui/admin/audit?limit=1".to_owned();
    let mut seen = 0;
    loop {
        let page = a.open(&url).await;
        assert_eq!(page.status, StatusCode::OK);
        seen += page.html.matches("<tr data-event=\"").count();
        match link(&page.html, "Next page") {
            Some(next) => url = next,
            None => break,
        }
        assert!(seen <= total + 1, "paging does not end");
    }
    // The newest events may have grown by the page views? No: views are not audited.
    assert_eq!(seen, total);
    // Bad filters: field errors, no error page.
    let page = a
        .open("/ui/admin/audit?account=nobody-like-this&from=yesterday&to=2999-12-31")
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    for f in ["account", "from", "to"] {
        assert!(page.text_of(&format!("{f}-error")).is_some(), "{f}");
    }
    assert_eq!(page.input("from").as_deref(), Some("yesterday"));
    let page = a.open("/ui/admin/audit?after=garbage&limit=x").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.alert().is_some());
    // A login works as the account filter too.
    let login = app
        .warden
        .auth()
        .accounts()
        .account(uid)
        .await
        .unwrap()
        .login
        .clone();
    let page = a.open(&format!("/ui/admin/audit?account={login}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(html(&page).contains("<tr data-event=\"account.blocked\">"));
});

each_backend!(async fn a_post_without_csrf_changes_nothing(backend) {
    let app = app(backend).await;
    let (mut a, _, _) = admin(&app).await;
    let (_, login, uid) = user(&app).await;
    a.open(&account_url(uid)).await;
    let auth = app.warden.auth();
    for (path, fields) in [
        ("block", vec![("reason", "x"), ("_csrf", "")]),
        ("scopes", vec![("scopes", "admin"), ("_csrf", "forged")]),
        (
            "delete",
            vec![("confirm_login", login.as_str()), ("_csrf", "")],
        ),
    ] {
        let page = a
            .post(&format!("{}/{path}", account_url(uid)), &fields)
            .await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(page.h1(), "Form expired");
    }
    let acc = auth.accounts().account(uid).await.unwrap();
    assert!(!acc.blocked && acc.scopes.is_empty());
    // With the page's token it goes through.
    let page = a
        .post(&format!("{}/block", account_url(uid)), &[("reason", "x")])
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert!(auth.accounts().account(uid).await.unwrap().blocked);
});

mod imported;
mod service;
