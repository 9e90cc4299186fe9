//! The hosted account pages through the real router: profile (login and
//! email change), password change, two-factor enrolment and removal,
//! sessions, API keys and linked identities; CSRF and foreign ids.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use axum::http::StatusCode;
use common::browser::{Browser, Page, last_link, local, totp_code, wait_link};
use common::{App, PASSWORD, app, app_with, each_backend, unique};
use serde_json::json;

const NEW_PASSWORD: &str = "another long passphrase here";

fn outbox() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("warden-ui-account-{}", uuid::Uuid::now_v7()))
}

/// A new account signed in through the pages.
async fn member(app: &App) -> (Browser, String) {
    let mut b = Browser::new(app);
    let login = unique("acct");
    let page = b.sign_up_and_in(&login, PASSWORD).await;
    assert!(b.cookies.contains_key("warden_ui"), "{}", page.html);
    (b, login)
}

/// Another browser signed in to the same account.
async fn second(app: &App, login: &str, password: &str, agent: &str) -> Browser {
    let mut b = Browser::new(app);
    b.user_agent = agent.into();
    b.sign_in(login, password).await;
    assert!(b.cookies.contains_key("warden_ui"));
    b
}

/// `(id, this device?)` of each `<tr data-{attr}="…">` row.
fn rows(page: &Page, attr: &str) -> Vec<(String, String)> {
    let pat = format!("data-{attr}=\"");
    page.html
        .split(&pat)
        .skip(1)
        .map(|s| {
            let id = s.split('"').next().unwrap().to_owned();
            let row = s.split("</tr>").next().unwrap().to_owned();
            (id, row)
        })
        .collect()
}

fn session_ids(page: &Page) -> (String, Vec<String>) {
    let all = rows(page, "session-id");
    let current = all
        .iter()
        .find(|(_, r)| r.contains("This device"))
        .map(|(id, _)| id.clone())
        .expect("the current session");
    let others = all
        .into_iter()
        .filter(|(id, _)| *id != current)
        .map(|(id, _)| id)
        .collect();
    (current, others)
}

async fn signed_in(b: &mut Browser) -> bool {
    b.open("/ui/account").await.h1() == "Profile"
}

each_backend!(async fn every_page_renders_signed_in_and_redirects_signed_out(backend) {
    let app = app(backend).await;
    let pages = [
        ("/ui/account", "Profile", "Profile"),
        ("/ui/account/password", "Password", "Password"),
        ("/ui/account/two-factor", "Two-factor sign-in", "Two-factor"),
        ("/ui/account/sessions", "Sessions", "Sessions"),
        ("/ui/account/api-keys", "API keys", "API keys"),
        ("/ui/account/identities", "Linked identities", "Identities"),
    ];
    let mut anon = Browser::new(&app);
    for (path, _, _) in pages {
        let page = anon.get(path).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{path}");
        assert!(
            page.location().unwrap().starts_with("/ui/sign-in"),
            "{path}: {:?}",
            page.location()
        );
    }
    let (mut b, login) = member(&app).await;
    for (path, h1, tab) in pages {
        let page = b.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.html);
        assert_eq!(page.h1(), h1, "{path}");
        assert!(
            page.html
                .contains("<nav class=\"tabs\" aria-label=\"Account\">")
        );
        let current = format!("aria-current=\"page\">{tab}</a>");
        assert!(page.html.contains(&current), "{path}: {}", page.html);
        assert_eq!(page.html.matches("aria-current=\"page\"").count(), 1);
        assert!(!page.html.contains(">Admin</a>"), "no admin link");
        assert!(page.contains(&login));
    }
    // Admins see the Admin link.
    let id = app
        .warden
        .auth()
        .store()
        .account_by_login(&login.to_lowercase())
        .await
        .unwrap()
        .unwrap()
        .id;
    app.warden
        .auth()
        .accounts()
        .set_scopes(
            id,
            vec!["admin".into()],
            &warden_core::model::ClientInfo::default(),
        )
        .await
        .unwrap();
    let page = b.open("/ui/account").await;
    assert!(page.html.contains(">Admin</a>"), "{}", page.html);
    // Unknown or foreign ids in paths are a 404 page.
    for path in [
        "/ui/account/api-keys/not-an-id",
        "/ui/account/api-keys/0192f1a4-0000-7000-8000-000000000000",
    ] {
        let page = b.get(path).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(page.h1(), "Not found");
    }
    for path in [
        "/ui/account/sessions/garbage/revoke",
        "/ui/account/api-keys/garbage/revoke",
        "/ui/account/api-keys/garbage/renew",
        "/ui/account/identities/garbage/unlink",
        "/ui/account/identities/0192f1a4-0000-7000-8000-000000000000/unlink",
        "/ui/account/identities/link/nosuchprovider",
    ] {
        let page = b.post(path, &[]).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}: {}", page.html);
    }
});

each_backend!(async fn change_login_and_email(backend) {
    let dir = outbox();
    let d = dir.display().to_string();
    let app = app_with(backend, |c| c.outbox_dir = d).await;
    let (mut b, _login) = member(&app).await;
    let (_other, taken) = member(&app).await;
    let page = b.open("/ui/account").await;
    assert!(page.contains("Created"));
    // A taken or malformed login is a field error; nothing changes.
    let page = b.post("/ui/account/login", &[("new_login", &taken)]).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.text_of("new_login-error").is_some(), "{}", page.html);
    assert_eq!(page.input("new_login").as_deref(), Some(taken.as_str()));
    let page = b.post("/ui/account/login", &[("new_login", "x")]).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.text_of("new_login-error").is_some());
    let fresh = unique("renamed");
    let page = b
        .submit("/ui/account/login", &[("new_login", &fresh)])
        .await;
    assert_eq!(page.h1(), "Profile");
    assert!(
        page.contains(&format!("Your login is now {fresh}.")),
        "{}",
        page.html
    );
    assert_eq!(
        page.text_of("profile-login").as_deref(),
        Some(fresh.as_str())
    );
    assert_eq!(app.login(&fresh, PASSWORD).await.status, StatusCode::OK);

    // Email: the password is checked, then a link goes to the new address.
    let email = format!("{fresh}@example.com");
    let page = b
        .post(
            "/ui/account/email",
            &[("new_email", &email), ("password", "wrong password here")],
        )
        .await;
    assert!(page.text_of("password-error").is_some(), "{}", page.html);
    assert!(last_link(&dir).is_none(), "no mail for a wrong password");
    let page = b
        .post(
            "/ui/account/email",
            &[("new_email", "not-an-address"), ("password", PASSWORD)],
        )
        .await;
    assert!(page.text_of("new_email-error").is_some(), "{}", page.html);
    let page = b
        .submit(
            "/ui/account/email",
            &[("new_email", &email), ("password", PASSWORD)],
        )
        .await;
    assert!(
        page.contains("A confirmation link is on its way"),
        "{}",
        page.html
    );
    let link = wait_link(&dir, None).await;
    let page = b.open(&local(&link)).await;
    assert_eq!(page.h1(), "Confirm your email");
    let token = page.input("token").unwrap();
    let page = b.post("/ui/email/verify", &[("token", &token)]).await;
    assert!(
        page.contains("Your email address is confirmed."),
        "{}",
        page.html
    );
    let page = b.open("/ui/account").await;
    let shown = page.text_of("profile-email").unwrap();
    assert!(
        shown.contains(&email) && shown.contains("verified"),
        "{shown}"
    );
    assert!(!page.contains("Send verification email"));
});

each_backend!(async fn unverified_email_offers_a_verification_mail_with_a_cooldown(backend) {
    let dir = outbox();
    let d = dir.display().to_string();
    let app = app_with(backend, |c| c.outbox_dir = d).await;
    let login = unique("mail");
    let r = app
        .post(
            "/auth/register",
            json!({"login": login, "password": PASSWORD, "email": format!("{login}@example.com")}),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let mut b = Browser::new(&app);
    b.sign_in(&login, PASSWORD).await;
    let page = b.open("/ui/account").await;
    assert!(
        page.text_of("profile-email")
            .unwrap()
            .contains("not verified")
    );
    assert!(page.contains("Send verification email"));
    let page = b.submit("/ui/account/email/verification", &[]).await;
    assert!(
        page.contains("A verification link is on its way"),
        "{}",
        page.html
    );
    assert!(wait_link(&dir, None).await.contains("/email/verify?token="));
    let page = b.submit("/ui/account/email/verification", &[]).await;
    assert!(
        page.alert().unwrap_or_default().contains("Try again in"),
        "{}",
        page.html
    );
});

each_backend!(async fn password_change_signs_out_the_other_sessions(backend) {
    let app = app(backend).await;
    let (mut b, login) = member(&app).await;
    let mut other = second(&app, &login, PASSWORD, "other-device/2.0").await;
    b.open("/ui/account/password").await;
    // A wrong current password is a field error and changes nothing.
    let page = b
        .post(
            "/ui/account/password",
            &[
                ("current_password", "not my password"),
                ("new_password", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        page.text_of("current_password-error").as_deref(),
        Some("is not right"),
        "{}",
        page.html
    );
    assert!(
        page.html
            .contains("aria-describedby=\"current_password-error\"")
    );
    assert_eq!(app.login(&login, PASSWORD).await.status, StatusCode::OK);
    assert!(signed_in(&mut other).await);
    // A weak new password is a field error next to "New password".
    let page = b
        .post(
            "/ui/account/password",
            &[("current_password", PASSWORD), ("new_password", "short")],
        )
        .await;
    assert!(
        page.text_of("new_password-error").is_some(),
        "{}",
        page.html
    );
    assert!(signed_in(&mut other).await);
    // The right one: changed, every other session is signed out.
    let page = b
        .submit(
            "/ui/account/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(page.h1(), "Password");
    assert!(page.contains("Your password is changed."), "{}", page.html);
    assert!(signed_in(&mut b).await, "this browser stays signed in");
    let page = other.open("/ui/account").await;
    assert_eq!(page.h1(), "Sign in", "the other browser is signed out");
    assert_eq!(
        app.login(&login, PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.login(&login, NEW_PASSWORD).await.status, StatusCode::OK);
});

each_backend!(async fn two_factor_enrol_sign_in_and_turn_off(backend) {
    let app = app(backend).await;
    let (mut b, login) = member(&app).await;
    let page = b.open("/ui/account/two-factor").await;
    assert!(page.contains("Set up authenticator app"), "{}", page.html);
    let page = b.post("/ui/account/two-factor/setup", &[]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(
        page.html
            .contains("<figure class=\"qr\"><img src=\"data:image/svg+xml;base64,")
    );
    assert!(
        page.html
            .contains("alt=\"QR code for your authenticator app\"")
    );
    let secret = page.text_of("totp-secret").expect("secret shown");
    // A wrong code: field error, the same setup shown again.
    let page = b
        .post("/ui/account/two-factor/confirm", &[("code", "000000")])
        .await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED, "{}", page.html);
    assert!(page.text_of("code-error").is_some(), "{}", page.html);
    assert_eq!(
        page.text_of("totp-secret").as_deref(),
        Some(secret.as_str())
    );
    let r = app.login(&login, PASSWORD).await;
    assert!(r.json()["access_token"].is_string(), "not on yet");
    // The right code: the recovery codes, once.
    let page = b
        .post(
            "/ui/account/two-factor/confirm",
            &[("code", &totp_code(&secret, 0))],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    let codes = page.text_of("recovery-codes").expect("codes shown");
    let codes: Vec<&str> = codes.split_whitespace().collect();
    assert_eq!(codes.len(), 10, "{codes:?}");
    assert!(page.html.contains("data-copy=\"#recovery-codes\""));
    assert!(page.contains("Done"));
    let page = b.open("/ui/account/two-factor").await;
    assert!(page.text_of("recovery-codes").is_none(), "shown only once");
    assert!(page.contains("Recovery codes left: 10"), "{}", page.html);
    assert!(page.contains("Turn off two-factor"));
    // Signing in now needs the code.
    b.submit("/ui/sign-out", &[]).await;
    let page = b.sign_in(&login, PASSWORD).await;
    assert_eq!(page.h1(), "Two-step verification");
    let token = page.input("mfa_token").unwrap();
    let page = b
        .submit(
            "/ui/sign-in/mfa",
            &[("mfa_token", &token), ("code", &totp_code(&secret, 1))],
        )
        .await;
    assert_eq!(page.h1(), "Profile", "{}", page.html);
    // Turning it off needs the password.
    let page = b
        .post(
            "/ui/account/two-factor/disable",
            &[("password", "not my password")],
        )
        .await;
    assert!(page.text_of("password-error").is_some(), "{}", page.html);
    let page = b
        .submit("/ui/account/two-factor/disable", &[("password", PASSWORD)])
        .await;
    assert!(
        page.contains("Two-factor sign-in is turned off."),
        "{}",
        page.html
    );
    assert!(page.contains("Set up authenticator app"));
    let r = app.login(&login, PASSWORD).await;
    assert!(r.json()["access_token"].is_string(), "off again");
});

each_backend!(async fn two_factor_not_offered_when_off(backend) {
    let app = app_with(backend, |c| c.otp_enabled = false).await;
    let (mut b, _) = member(&app).await;
    let page = b.open("/ui/account/two-factor").await;
    assert!(page.contains("not offered"), "{}", page.html);
    assert!(!page.contains("Set up authenticator app"));
});

each_backend!(async fn sessions_sign_out_one_and_all_others(backend) {
    let app = app(backend).await;
    let (mut b, login) = member(&app).await;
    let mut phone = second(
        &app,
        &login,
        PASSWORD,
        "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/126.0 Mobile Safari/537.36",
    )
    .await;
    let mut laptop = second(&app, &login, PASSWORD, "laptop/1.0").await;
    let mut tablet = second(&app, &login, PASSWORD, "tablet/1.0").await;
    let page = b.open("/ui/account/sessions").await;
    assert!(page.html.contains("<table"));
    let (current, others) = session_ids(&page);
    assert_eq!(others.len(), 3, "{}", page.html);
    assert!(page.contains("Chrome on Android"), "{}", page.html);
    assert!(page.contains("Sign out all other sessions"));
    let row = rows(&page, "session-id")
        .into_iter()
        .find(|(id, _)| *id == current)
        .unwrap()
        .1;
    assert!(
        !row.contains("/revoke"),
        "no sign-out button on this device"
    );
    // The phone's session.
    let phone_sid = rows(&page, "session-id")
        .into_iter()
        .find(|(_, r)| r.contains("Chrome on Android"))
        .unwrap()
        .0;
    let page = b
        .submit(&format!("/ui/account/sessions/{phone_sid}/revoke"), &[])
        .await;
    assert!(
        page.contains("That session is signed out."),
        "{}",
        page.html
    );
    let (_, left) = session_ids(&page);
    assert_eq!(left.len(), 2);
    assert!(!left.contains(&phone_sid));
    assert_eq!(phone.open("/ui/account").await.h1(), "Sign in");
    assert!(signed_in(&mut laptop).await);
    // Revoking it again: gone.
    let page = b
        .post(&format!("/ui/account/sessions/{phone_sid}/revoke"), &[])
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);

    // Another account's session cannot be revoked from here.
    let (mut stranger, _) = member(&app).await;
    let spage = stranger.open("/ui/account/sessions").await;
    let (stranger_sid, _) = session_ids(&spage);
    let page = b
        .post(&format!("/ui/account/sessions/{stranger_sid}/revoke"), &[])
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND, "{}", page.html);
    assert_eq!(page.h1(), "Not found");
    assert!(signed_in(&mut stranger).await, "nothing changed");

    // All the others at once.
    let page = b.submit("/ui/account/sessions/revoke-others", &[]).await;
    assert!(
        page.contains("Signed out 2 other sessions."),
        "{}",
        page.html
    );
    let (still, none) = session_ids(&page);
    assert_eq!(still, current);
    assert!(none.is_empty());
    assert!(signed_in(&mut b).await);
    assert!(!signed_in(&mut laptop).await);
    assert!(!signed_in(&mut tablet).await);
    assert!(signed_in(&mut stranger).await);
});

mod keys_and_identities;
