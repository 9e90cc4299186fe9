//! Creating an account with an imported password hash in the console.

use super::*;

each_backend!(async fn create_an_account_with_an_imported_hash(backend) {
    let app = app(backend).await;
    let (mut a, _, _) = admin(&app).await;
    let form = a.open("/ui/admin/accounts").await;
    assert!(html(&form).contains("name=\"password_hash\""), "the console offers the field");
    let (scheme, hash) = common::IMPORTED_HASHES[5];
    assert_eq!(scheme, "pbkdf2-sha256");

    // A malformed hash is shown next to its field; nothing is created.
    let login = unique("console-import");
    let page = a
        .post("/ui/admin/accounts", &[("login", &login), ("password_hash", "$md5$nope")])
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.text_of("password_hash-error").is_some(), "{}", page.html);
    assert!(app.warden.auth().accounts().account_by_login(&login).await.unwrap().is_none());

    let page = a
        .submit("/ui/admin/accounts", &[("login", &login), ("password", ""), ("password_hash", hash)])
        .await;
    assert!(page.contains(&format!("Account {login} created.")), "{}", page.html);
    assert!(!page.html.contains(hash), "the hash is never shown");
    app.login_pair(&login, common::IMPORTED_PASSWORD).await;
    let stored = app.warden.auth().accounts().account_by_login(&login).await.unwrap().unwrap();
    assert!(stored.password_hash.unwrap_or_default().starts_with("$argon2id$"));
});
