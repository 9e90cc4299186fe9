//! The account's API keys: create (shown once), revoke, renew, usage.

use super::*;

/// The public part of a key string (`wdn_<id>`), to recognise a key by.
pub(super) fn key_prefix(id: ApiKeyId) -> String {
    format!("{KEY_PREFIX}{}", URL_SAFE_NO_PAD.encode(id.0.as_bytes()))
}

pub(super) fn expiry_default(page: &Page) -> u32 {
    page.auth().settings().api_key_ttl_days
}

pub(super) async fn api_keys_page(
    page: &Page,
    signed: &Signed,
    status: StatusCode,
    extra: minijinja::Value,
) -> Response {
    let auth = page.auth();
    let account = signed.account.id;
    let keys = match auth.api_keys().list_api_keys(account).await {
        Ok(k) => k,
        Err(e) => return page.error(&e),
    };
    let now = auth.now();
    let mut rows = Vec::with_capacity(keys.len());
    for k in &keys {
        let last = auth
            .api_keys()
            .api_key_usage(Some(account), k.id, 1)
            .await
            .ok()
            .and_then(|u| u.into_iter().next());
        let expired = k.expires_at.is_some_and(|e| e <= now);
        rows.push(minijinja::context! {
            id => k.id.to_string(),
            prefix => key_prefix(k.id),
            name => k.name.clone(),
            scopes => k.scopes.join(" "),
            created => when(k.created_at),
            created_iso => iso(k.created_at),
            expires => k.expires_at.map(when),
            expires_iso => k.expires_at.map(iso),
            last_used => last.as_ref().map(|u| when(u.at)),
            last_used_iso => last.as_ref().map(|u| iso(u.at)),
            status => if expired { "expired" } else { "active" },
        });
    }
    let settings = auth.settings();
    let base = minijinja::context! {
        tab => "api-keys",
        keys => rows,
        values => minijinja::context! {},
        account_scopes => signed.account.scopes.join(" "),
        default_days => expiry_default(page),
        allow_no_expiry => settings.api_key_allow_no_expiry,
    };
    page.render_status(
        status,
        "account/api_keys.html",
        minijinja::context! { ..extra, ..base },
    )
}

pub(super) async fn api_keys(Member { page, signed }: Member) -> Response {
    api_keys_page(&page, &signed, StatusCode::OK, minijinja::context! {}).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct CreateKeyForm {
    name: String,
    scopes: String,
    expires_in_days: String,
}

pub(super) async fn create_api_key(
    Member { page, signed }: Member,
    UiForm(f): UiForm<CreateKeyForm>,
) -> Response {
    let values = minijinja::context! {
        name => f.name.clone(),
        scopes => f.scopes.clone(),
        expires_in_days => f.expires_in_days.clone(),
    };
    let fail = |e: Error| {
        let (errors, alert) = form_errors(&e);
        (
            status_of(&e),
            minijinja::context! { values => values.clone(), errors => errors, alert => alert },
        )
    };
    let days = f.expires_in_days.trim();
    let expires_in_days = if days.is_empty() {
        None
    } else {
        match days.parse::<u32>() {
            Ok(d) => Some(d),
            Err(_) => {
                let (status, ctx) = fail(Error::field(
                    "expires_in_days",
                    "must be a whole number of days",
                ));
                return api_keys_page(&page, &signed, status, ctx).await;
            }
        }
    };
    let scopes: Vec<String> = f.scopes.split_whitespace().map(str::to_owned).collect();
    let input = NewApiKey {
        name: f.name.trim().to_owned(),
        scopes: (!scopes.is_empty()).then_some(scopes),
        expires_in_days,
    };
    match page
        .auth()
        .api_keys()
        .create_api_key(signed.account.id, input, &page.client)
        .await
    {
        Ok(issued) => {
            let ctx = minijinja::context! {
                new_key => issued.key,
                new_key_name => issued.record.name,
            };
            api_keys_page(&page, &signed, StatusCode::OK, ctx).await
        }
        Err(e) => {
            let (status, ctx) = fail(e.clone());
            render(&e, api_keys_page(&page, &signed, status, ctx).await)
        }
    }
}

pub(super) async fn revoke_api_key(
    Member { page, signed }: Member,
    Path(id): Path<String>,
) -> Response {
    let Some(id) = ApiKeyId::parse(&id) else {
        return not_found(&page);
    };
    let auth = page.auth();
    let name = match auth.api_keys().api_key(Some(signed.account.id), id).await {
        Ok(k) => k.name,
        Err(e) => return page.error(&e),
    };
    match auth
        .api_keys()
        .revoke_api_key(Some(signed.account.id), id, &page.client)
        .await
    {
        Ok(()) => page.redirect(
            &page.ui.url("/account/api-keys"),
            Some(Flash::notice(format!("The key {name} is revoked."))),
        ),
        Err(e) => page.error(&e),
    }
}

pub(super) async fn renew_api_key(
    Member { page, signed }: Member,
    Path(id): Path<String>,
) -> Response {
    let Some(id) = ApiKeyId::parse(&id) else {
        return not_found(&page);
    };
    match page
        .auth()
        .api_keys()
        .renew_api_key(Some(signed.account.id), id, None, &page.client)
        .await
    {
        Ok(k) => {
            let until = k
                .expires_at
                .map(|t| format!("now expires {}", when(t)))
                .unwrap_or_else(|| "now never expires".into());
            page.redirect(
                &page.ui.url("/account/api-keys"),
                Some(Flash::notice(format!("The key {} {until}.", k.name))),
            )
        }
        Err(e) => page.error(&e),
    }
}

pub(super) async fn api_key_usage(
    Member { page, signed }: Member,
    Path(id): Path<String>,
) -> Response {
    let Some(id) = ApiKeyId::parse(&id) else {
        return not_found(&page);
    };
    let auth = page.auth();
    let key = match auth.api_keys().api_key(Some(signed.account.id), id).await {
        Ok(k) if k.revoked_at.is_none() => k,
        Ok(_) => return not_found(&page),
        Err(e) => return page.error(&e),
    };
    let usage = match auth
        .api_keys()
        .api_key_usage(Some(signed.account.id), id, 200)
        .await
    {
        Ok(u) => u,
        Err(e) => return page.error(&e),
    };
    let rows: Vec<minijinja::Value> = usage
        .iter()
        .map(|u| {
            minijinja::context! {
                at => when(u.at),
                at_iso => iso(u.at),
                ip => u.ip.clone(),
                method => u.method.clone(),
                path => u.path.clone(),
            }
        })
        .collect();
    page.render(
        "account/api_key_usage.html",
        minijinja::context! {
            tab => "api-keys",
            key => minijinja::context! {
                id => key.id.to_string(),
                name => key.name,
                prefix => key_prefix(key.id),
            },
            usage => rows,
        },
    )
}
