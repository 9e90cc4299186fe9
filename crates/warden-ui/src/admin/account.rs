//! One account in the console: block/unblock, scopes, two-factor, sessions, API keys, passkeys, delete
//! (rename and new keys are in `service.rs`).

use super::*;

/// The values typed into the account page's forms, shown again with errors.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub(super) struct AccountForm {
    pub(super) reason: Option<String>,
    pub(super) scopes: Option<String>,
    pub(super) confirm_login: Option<String>,
    /// The rename form's new login.
    pub(super) login: Option<String>,
    /// The new-key form.
    pub(super) key_name: Option<String>,
    pub(super) key_scopes: Option<String>,
    pub(super) key_days: Option<String>,
    /// A key just created (name, key): shown on this one page, never stored.
    #[serde(skip)]
    pub(super) new_key: Option<(String, String)>,
}

pub(super) async fn account(ap: AdminPage, Path(id): Path<String>) -> Response {
    let Some(id) = AccountId::parse(&id) else {
        return not_found(&ap);
    };
    account_page(&ap, id, StatusCode::OK, None, &AccountForm::default()).await
}

pub(super) async fn account_page(
    ap: &AdminPage,
    id: AccountId,
    status: StatusCode,
    error: Option<&Error>,
    form: &AccountForm,
) -> Response {
    let page = &ap.page;
    let auth = page.auth();
    let a = match auth.accounts().account(id).await {
        Ok(a) => a,
        Err(Error::NotFound) => return not_found(ap),
        Err(e) => return page.error(&e),
    };
    let sessions = match auth.sessions().list(id).await {
        Ok(s) => s,
        Err(e) => return page.error(&e),
    };
    let keys = match auth
        .api_keys()
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
                "renewable": k.revoked_at.is_none(),
            })
        })
        .collect();
    let passkeys: Vec<serde_json::Value> = match auth.passkeys().list(id).await {
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
            new_login => form.login.clone().unwrap_or_else(|| a.login.clone()),
            key_name => form.key_name.clone().unwrap_or_default(),
            key_scopes => form.key_scopes.clone().unwrap_or_default(),
            key_days => form.key_days.clone().unwrap_or_default(),
            new_key_name => form.new_key.as_ref().map(|k| k.0.clone()),
            new_key => form.new_key.as_ref().map(|k| k.1.clone()),
            errors => errors,
            alert => alert,
        },
    )
}

/// After an action: back to the account's page with `notice`, or the page
/// again with the error (next to its field when it has one).
pub(super) async fn done(
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
        Err(e) => render(
            &e,
            account_page(ap, id, status_of(&e), Some(&e), form).await,
        ),
    }
}

pub(super) async fn block(
    ap: AdminPage,
    Path(id): Path<String>,
    UiForm(f): UiForm<AccountForm>,
) -> Response {
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
            .accounts()
            .block_account(id, &reason, &ap.page.client)
            .await
            .map(|()| "The account is blocked and all its sessions are revoked.".to_owned())
    };
    done(&ap, id, result, &f).await
}

pub(super) async fn unblock(ap: AdminPage, Path(id): Path<String>) -> Response {
    let Some(id) = AccountId::parse(&id) else {
        return not_found(&ap);
    };
    let result = ap
        .page
        .auth()
        .accounts()
        .unblock_account(id, &ap.page.client)
        .await
        .map(|()| "The account is unblocked.".to_owned());
    done(&ap, id, result, &AccountForm::default()).await
}

pub(super) async fn save_scopes(
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
            .accounts()
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

pub(super) async fn disable_mfa(ap: AdminPage, Path(id): Path<String>) -> Response {
    let Some(id) = AccountId::parse(&id) else {
        return not_found(&ap);
    };
    let result = ap
        .page
        .auth()
        .mfa()
        .disable_mfa(id, &ap.page.client)
        .await
        .map(|()| "Two-factor sign-in is turned off for this account.".to_owned());
    done(&ap, id, result, &AccountForm::default()).await
}

pub(super) async fn revoke_sessions(ap: AdminPage, Path(id): Path<String>) -> Response {
    let Some(id) = AccountId::parse(&id) else {
        return not_found(&ap);
    };
    let result = ap
        .page
        .auth()
        .sessions()
        .revoke_all_sessions(id, &ap.page.client)
        .await
        .map(|n| match n {
            1 => "1 session revoked.".to_owned(),
            n => format!("{n} sessions revoked."),
        });
    done(&ap, id, result, &AccountForm::default()).await
}

pub(super) async fn revoke_key(ap: AdminPage, Path((id, key)): Path<(String, String)>) -> Response {
    let (Some(id), Some(key)) = (AccountId::parse(&id), ApiKeyId::parse(&key)) else {
        return not_found(&ap);
    };
    let auth = ap.page.auth();
    // The key must belong to this account (the page's link says so).
    let result = match auth.api_keys().api_key(Some(id), key).await {
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
            .api_keys()
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

pub(super) async fn remove_passkey(
    ap: AdminPage,
    Path((id, pid)): Path<(String, String)>,
) -> Response {
    let (Some(id), Ok(pid)) = (AccountId::parse(&id), uuid::Uuid::parse_str(&pid)) else {
        return not_found(&ap);
    };
    let result = ap
        .page
        .auth()
        .passkeys()
        .delete_passkey(id, pid, true, &ap.page.client)
        .await
        .map(|()| "Passkey removed.".to_owned());
    done(&ap, id, result, &AccountForm::default()).await
}

pub(super) async fn delete(
    ap: AdminPage,
    Path(id): Path<String>,
    UiForm(f): UiForm<AccountForm>,
) -> Response {
    let Some(id) = AccountId::parse(&id) else {
        return not_found(&ap);
    };
    let auth = ap.page.auth();
    let a = match auth.accounts().account(id).await {
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
        return render(&e, account_page(&ap, id, status_of(&e), Some(&e), &f).await);
    }
    match auth.accounts().delete_account(id, &ap.page.client).await {
        Ok(()) => ap.page.redirect(
            &ap.page.ui.url("/admin/accounts"),
            Some(Flash::notice(format!("Account {} deleted.", a.login))),
        ),
        Err(Error::NotFound) => not_found(&ap),
        Err(e) => render(&e, account_page(&ap, id, status_of(&e), Some(&e), &f).await),
    }
}
