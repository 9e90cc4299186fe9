//! Service accounts and admin-issued keys in the console: create a service
//! account, rename any account, create a key for an account (shown once on
//! the page that answers, never put in a redirect or a cookie) and renew one.

use super::*;

/// The service-account form of the accounts page.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct ServiceForm {
    name: String,
    service_scopes: String,
}

pub(super) async fn create_service(ap: AdminPage, UiForm(f): UiForm<ServiceForm>) -> Response {
    let input = warden_core::NewServiceAccount {
        name: f.name.trim().to_owned(),
        scopes: parse_scopes(&f.service_scopes),
        properties: None,
    };
    let page = &ap.page;
    match page
        .auth()
        .accounts()
        .create_service_account(input, &page.client)
        .await
    {
        Ok(a) => page.redirect(
            &page.ui.url(&format!("/admin/accounts/{}", a.id)),
            Some(Flash::notice(format!(
                "Service account {} created. Create an API key for it below.",
                a.login
            ))),
        ),
        Err(e) => {
            let why = match &e {
                Error::LoginTaken => format!(
                    "The name {} is a taken login; choose another.",
                    f.name.trim()
                ),
                Error::Validation(v) => v
                    .iter()
                    .map(|f| format!("{}: {}", f.field, f.message))
                    .collect::<Vec<_>>()
                    .join("; "),
                _ => return page.error(&e),
            };
            page.redirect(
                &page.ui.url("/admin/accounts"),
                Some(Flash::alert(format!("No service account created. {why}"))),
            )
        }
    }
}

/// The engine's field names as the account page's forms call them.
fn key_fields(e: Error) -> Error {
    match e {
        Error::Validation(v) => Error::Validation(
            v.into_iter()
                .map(|mut f| {
                    f.field = match f.field.as_str() {
                        "name" => "key_name",
                        "scopes" => "key_scopes",
                        "expires_in_days" => "key_days",
                        other => other,
                    }
                    .to_owned();
                    f
                })
                .collect(),
        ),
        other => other,
    }
}

/// Days typed into a form: empty is the default, anything else must be a number.
fn days(s: Option<&str>) -> Result<Option<u32>, Error> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(d) => d
            .parse()
            .map(Some)
            .map_err(|_| Error::field("key_days", "must be a whole number of days")),
    }
}

pub(super) async fn rename(
    ap: AdminPage,
    Path(id): Path<String>,
    UiForm(f): UiForm<AccountForm>,
) -> Response {
    let Some(id) = AccountId::parse(&id) else {
        return not_found(&ap);
    };
    let patch = warden_core::AccountPatch {
        login: Some(f.login.clone().unwrap_or_default().trim().to_owned()),
        ..warden_core::AccountPatch::default()
    };
    let result = ap
        .page
        .auth()
        .accounts()
        .update_account(id, patch, &ap.page.client)
        .await
        .map(|a| format!("The account is now called {}.", a.login))
        .map_err(|e| match e {
            Error::LoginTaken => Error::field("login", "is taken; choose another"),
            other => other,
        });
    done(&ap, id, result, &f).await
}

pub(super) async fn create_key(
    ap: AdminPage,
    Path(id): Path<String>,
    UiForm(f): UiForm<AccountForm>,
) -> Response {
    let Some(id) = AccountId::parse(&id) else {
        return not_found(&ap);
    };
    let scopes = parse_scopes(f.key_scopes.as_deref().unwrap_or_default());
    let issued = match days(f.key_days.as_deref()) {
        Ok(expires_in_days) => {
            let input = warden_core::api_key::NewApiKey {
                name: f.key_name.clone().unwrap_or_default(),
                scopes: (!scopes.is_empty()).then_some(scopes),
                expires_in_days,
            };
            ap.page
                .auth()
                .api_keys()
                .admin_create_api_key(Some(id), input, &ap.page.client)
                .await
                .map_err(key_fields)
        }
        Err(e) => Err(e),
    };
    match issued {
        Ok(issued) => {
            let shown = AccountForm {
                new_key: Some((issued.record.name.clone(), issued.key.clone())),
                ..AccountForm::default()
            };
            account_page(&ap, id, StatusCode::CREATED, None, &shown).await
        }
        Err(Error::NotFound) => not_found(&ap),
        Err(e) => render(&e, account_page(&ap, id, status_of(&e), Some(&e), &f).await),
    }
}

pub(super) async fn renew_key(ap: AdminPage, Path((id, key)): Path<(String, String)>) -> Response {
    let (Some(id), Some(key)) = (AccountId::parse(&id), ApiKeyId::parse(&key)) else {
        return not_found(&ap);
    };
    let auth = ap.page.auth();
    // The key must belong to this account (the page's link says so).
    let result = match auth.api_keys().api_key(Some(id), key).await {
        Ok(_) => auth
            .api_keys()
            .renew_api_key(None, key, None, &ap.page.client)
            .await
            .map(|k| match k.expires_at {
                Some(t) => format!(
                    "API key {} renewed: it expires {}.",
                    k.name,
                    when(t, false)["text"].as_str().unwrap_or_default()
                ),
                None => format!("API key {} renewed.", k.name),
            }),
        Err(e) => Err(e),
    };
    match result {
        Err(Error::NotFound) => ap.page.message(
            StatusCode::NOT_FOUND,
            "API key not found",
            "This account has no API key with this id that can be renewed.",
        ),
        other => done(&ap, id, other, &AccountForm::default()).await,
    }
}
