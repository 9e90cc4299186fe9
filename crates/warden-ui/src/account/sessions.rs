//! The account's active sessions: device, IP, last use; sign out one or all others.

use super::*;

pub(super) async fn sessions(Member { page, signed }: Member) -> Response {
    let list = match page.auth().sessions().list(signed.account.id).await {
        Ok(l) => l,
        Err(e) => return page.error(&e),
    };
    let consents = match page.auth().provider().consents(signed.account.id).await {
        Ok(c) => c,
        Err(e) => return page.error(&e),
    };
    let name_of = |id: &str| {
        (consents.iter())
            .find(|(_, c)| c.client_id == id)
            .map(|(_, c)| c.name.clone())
            .unwrap_or_else(|| "an application".to_owned())
    };
    let rows: Vec<minijinja::Value> = list
        .iter()
        .map(|s| {
            let device = match &s.client_id {
                Some(c) => format!("Signed in to {}", name_of(c)),
                None => device(s.user_agent.as_deref()),
            };
            minijinja::context! {
                id => s.id.to_string(),
                device => device,
                client => s.client_id.clone(),
                user_agent => s.user_agent.clone(),
                ip => s.ip.clone(),
                created => when(s.created_at),
                created_iso => iso(s.created_at),
                last_seen => when(s.last_seen_at),
                last_seen_iso => iso(s.last_seen_at),
                current => s.id == signed.session.id,
            }
        })
        .collect();
    let others = list.iter().filter(|s| s.id != signed.session.id).count();
    let apps: Vec<minijinja::Value> = (consents.iter())
        .map(|(consent, client)| {
            minijinja::context! {
                client_id => client.client_id.clone(),
                name => client.name.clone(),
                scopes => consent.scopes.join(" "),
                granted => when(consent.granted_at),
                granted_iso => iso(consent.granted_at),
            }
        })
        .collect();
    page.render(
        "account/sessions.html",
        minijinja::context! { tab => "sessions", sessions => rows, others => others, apps => apps },
    )
}

/// Withdraw the consent to an application (its sessions of the account end).
pub(super) async fn withdraw_consent(
    Member { page, signed }: Member,
    Path(client_id): Path<String>,
) -> Response {
    match (page.auth().provider())
        .withdraw_consent(signed.account.id, &client_id, &page.client)
        .await
    {
        Ok(()) => page.redirect(
            &page.ui.url("/account/sessions"),
            Some(Flash::notice("The application no longer has access.")),
        ),
        Err(Error::NotFound) => not_found(&page),
        Err(e) => page.error(&e),
    }
}

pub(super) async fn revoke_session(
    Member { page, signed }: Member,
    Path(id): Path<String>,
) -> Response {
    let Some(sid) = SessionId::parse(&id) else {
        return not_found(&page);
    };
    if sid == signed.session.id {
        return page
            .sign_out(Some(Flash::notice("You are signed out.")))
            .await
            .unwrap_or_else(|e| page.error(&e));
    }
    match page
        .auth()
        .sessions()
        .revoke_own_session(signed.account.id, sid, &page.client)
        .await
    {
        Ok(()) => page.redirect(
            &page.ui.url("/account/sessions"),
            Some(Flash::notice("That session is signed out.")),
        ),
        Err(e) => page.error(&e),
    }
}

pub(super) async fn revoke_others(Member { page, signed }: Member) -> Response {
    let auth = page.auth();
    let list = match auth.sessions().list(signed.account.id).await {
        Ok(l) => l,
        Err(e) => return page.error(&e),
    };
    let mut n = 0u32;
    for s in list.iter().filter(|s| s.id != signed.session.id) {
        match auth
            .sessions()
            .revoke_own_session(signed.account.id, s.id, &page.client)
            .await
        {
            Ok(()) => n += 1,
            // Ended meanwhile.
            Err(Error::NotFound) => {}
            Err(e) => return page.error(&e),
        }
    }
    let text = match n {
        0 => "There were no other sessions.".to_owned(),
        1 => "Signed out 1 other session.".to_owned(),
        n => format!("Signed out {n} other sessions."),
    };
    page.redirect(&page.ui.url("/account/sessions"), Some(Flash::notice(text)))
}
