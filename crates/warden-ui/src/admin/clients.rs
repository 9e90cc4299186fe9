//! The OpenID Provider's clients in the console: list, register (the secret
//! is shown once on the page that answers, never put in a redirect or a
//! cookie), rotate the secret, delete (its tokens are revoked).

use super::*;
use warden_core::provider::clients::NewClient;
use warden_core::store::OAuthClient;

/// The registration form.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct ClientForm {
    name: String,
    redirect_uris: String,
    post_logout_redirect_uris: String,
    client_scopes: String,
    client_type: String,
    first_party: Option<String>,
    client_credentials: Option<String>,
}

fn lines(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_owned).collect()
}

fn client_row(c: &OAuthClient) -> serde_json::Value {
    json!({
        "client_id": c.client_id,
        "name": c.name,
        "public": c.public,
        "first_party": c.first_party,
        "redirect_uris": c.redirect_uris,
        "grant_types": c.grant_types.join(" "),
        "scopes": c.scopes.join(" "),
        "created": when(c.created_at, false),
    })
}

async fn render_clients(
    ap: &AdminPage,
    status: StatusCode,
    created: Option<(&OAuthClient, &str)>,
    error: Option<&Error>,
) -> Response {
    let page = &ap.page;
    let list = match page.auth().provider().clients().await {
        Ok(l) => l,
        Err(e) => return page.error(&e),
    };
    let (errors, alert) = error.map(form_errors).unwrap_or_default();
    let created = created
        .map(|(c, secret)| json!({"client_id": c.client_id, "name": c.name, "secret": secret}));
    page.render_status(
        status,
        "admin/clients.html",
        minijinja::context! {
            section => "clients",
            clients => to_value(list.iter().map(client_row).collect::<Vec<_>>()),
            created => to_value(&created),
            errors => errors,
            alert => alert,
        },
    )
}

pub(super) async fn clients(ap: AdminPage) -> Response {
    render_clients(&ap, StatusCode::OK, None, None).await
}

pub(super) async fn create_client(ap: AdminPage, UiForm(f): UiForm<ClientForm>) -> Response {
    let public = f.client_type == "public";
    let mut grants = vec!["authorization_code".to_owned(), "refresh_token".to_owned()];
    if f.client_credentials.is_some() {
        grants.push("client_credentials".to_owned());
    }
    let new = NewClient {
        name: f.name,
        redirect_uris: lines(&f.redirect_uris),
        post_logout_redirect_uris: lines(&f.post_logout_redirect_uris),
        grant_types: Some(grants),
        scopes: parse_scopes(&f.client_scopes),
        public,
        first_party: f.first_party.is_some(),
    };
    let page = &ap.page;
    match page
        .auth()
        .provider()
        .create_client(new, &page.client)
        .await
    {
        Ok(made) => {
            let secret = made.secret.unwrap_or_default();
            render_clients(
                &ap,
                StatusCode::CREATED,
                Some((&made.client, &secret)),
                None,
            )
            .await
        }
        Err(e @ Error::Validation(_)) => render_clients(&ap, status_of(&e), None, Some(&e)).await,
        Err(e) => page.error(&e),
    }
}

pub(super) async fn rotate_client_secret(ap: AdminPage, Path(id): Path<String>) -> Response {
    let page = &ap.page;
    let provider = page.auth().provider();
    match provider.rotate_secret(&id, &page.client).await {
        Ok(secret) => match provider.client(&id).await {
            Ok(c) => render_clients(&ap, StatusCode::OK, Some((&c, &secret)), None).await,
            Err(e) => page.error(&e),
        },
        Err(e) => page.error(&e),
    }
}

pub(super) async fn delete_client(ap: AdminPage, Path(id): Path<String>) -> Response {
    let page = &ap.page;
    match page
        .auth()
        .provider()
        .delete_client(&id, &page.client)
        .await
    {
        Ok(()) => page.redirect(
            &page.ui.url("/admin/oauth-clients"),
            Some(Flash::notice(
                "Client deleted; every token issued to it is revoked.",
            )),
        ),
        Err(e) => page.error(&e),
    }
}
