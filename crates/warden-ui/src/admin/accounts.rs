//! The accounts list: search, paging, create an account.

use super::*;

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct ListQuery {
    q: Option<String>,
    after: Option<String>,
    limit: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct CreateForm {
    login: String,
    email: String,
    password: String,
    password_hash: String,
    scopes: String,
}

pub(super) async fn accounts(ap: AdminPage, RawQuery(raw): RawQuery) -> Response {
    let q: ListQuery = query(raw);
    accounts_page(&ap, &q, StatusCode::OK, None, None).await
}

/// The list of accounts (and the create form with `form`'s values and errors).
pub(super) async fn accounts_page(
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
        .accounts()
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

pub(super) async fn create(ap: AdminPage, UiForm(f): UiForm<CreateForm>) -> Response {
    let email = f.email.trim().to_owned();
    let input = NewAccount {
        login: f.login.trim().to_owned(),
        password: f.password.clone(),
        password_hash: Some(f.password_hash.trim())
            .filter(|h| !h.is_empty())
            .map(str::to_owned),
        email: (!email.is_empty()).then_some(email),
        properties: None,
        scopes: parse_scopes(&f.scopes),
        active: None,
    };
    match ap
        .page
        .auth()
        .accounts()
        .create_account(input, &ap.page.client)
        .await
    {
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
            render(
                &e,
                accounts_page(
                    &ap,
                    &ListQuery::default(),
                    status_of(&e),
                    Some(&f),
                    Some(&e),
                )
                .await,
            )
        }
    }
}
