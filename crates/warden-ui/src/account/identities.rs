//! Linked external identities: list, unlink (never the last way in), link another.

use super::*;

pub(super) async fn identities(Member { page, signed }: Member) -> Response {
    let list = match page.auth().identities().list(signed.account.id).await {
        Ok(l) => l,
        Err(e) => return page.error(&e),
    };
    let oauth = page.ui.warden().http().oauth.clone();
    let display = |name: &str| {
        oauth
            .as_ref()
            .and_then(|c| c.provider(name))
            .map(|p| p.display_name().to_owned())
            .unwrap_or_else(|| name.to_owned())
    };
    let linked: Vec<minijinja::Value> = list
        .iter()
        .map(|i| {
            minijinja::context! {
                id => i.id.to_string(),
                provider => display(&i.provider),
                subject => i.subject.clone(),
                email => i.email.clone(),
                linked => when(i.created_at),
                linked_iso => iso(i.created_at),
            }
        })
        .collect();
    let available: Vec<minijinja::Value> = oauth
        .iter()
        .flat_map(|c| c.providers.iter())
        .filter(|p| !list.iter().any(|i| i.provider == p.name()))
        .map(|p| {
            minijinja::context! {
                name => p.name(),
                display_name => p.display_name(),
            }
        })
        .collect();
    page.render(
        "account/identities.html",
        minijinja::context! {
            tab => "identities",
            identities => linked,
            providers => available,
            has_password => signed.account.password_hash.is_some(),
        },
    )
}

pub(super) async fn unlink_identity(
    Member { page, signed }: Member,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = uuid::Uuid::parse_str(&id) else {
        return not_found(&page);
    };
    let back = page.ui.url("/account/identities");
    match page
        .auth()
        .identities()
        .unlink_identity(signed.account.id, id, &page.client)
        .await
    {
        Ok(()) => page.redirect(&back, Some(Flash::notice("The identity is unlinked."))),
        Err(Error::NotFound) => not_found(&page),
        Err(e @ Error::LastSignInMethod) => page.redirect(
            &back,
            Some(Flash::alert(format!(
                "{} Set a password or link another identity first.",
                crate::message(&e)
            ))),
        ),
        Err(e) => page.redirect(&back, Some(Flash::alert(crate::message(&e)))),
    }
}

/// Start linking an external identity: the authorization request remembers
/// this account, and the provider's answer comes back through the JSON
/// callback, which links it and sends the browser to `{ui}/oauth/complete`.
pub(super) async fn link_identity(
    Member { page, signed }: Member,
    State(ui): State<Ui>,
    Path(provider): Path<String>,
) -> Response {
    let w = ui.warden();
    let Some(config) = w.http().oauth.as_ref() else {
        return not_found(&page);
    };
    let Some(p) = config.provider(&provider) else {
        return not_found(&page);
    };
    let mut state = OAuthState::new(p.name(), p.uses_nonce(), ui.url("/oauth/complete"));
    state.link_account = Some(signed.account.id);
    let back = ui.url("/account/identities");
    match config
        .start(page.auth(), &w.http().prefix, p.as_ref(), &state)
        .await
    {
        Ok(url) => crate::see_other(&url),
        Err(e) => page.redirect(&back, Some(Flash::alert(crate::message(&e)))),
    }
}
