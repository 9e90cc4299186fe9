//! Conformance checks of [`crate::store::ProviderStore`] and of the
//! `client_id` tag of sessions.

use super::{audit_names, event, hash, new_account, now, session, tag};
use crate::model::{AccountId, SessionId};
use crate::store::{AuthCode, CodeGrant, CodeUse, Consent, OAuthClient, Store};
use std::sync::Arc;
use time::Duration;

fn client(public: bool) -> OAuthClient {
    let t = now();
    OAuthClient {
        client_id: format!("wc_{}", tag()),
        secret_hash: (!public).then(hash),
        name: format!("App {}", tag()),
        redirect_uris: vec![
            "https://app.example/cb".into(),
            "http://127.0.0.1/cb".into(),
        ],
        post_logout_redirect_uris: vec!["https://app.example/bye".into()],
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        scopes: vec!["notes:read".into()],
        public,
        first_party: !public,
        created_at: t - Duration::seconds(3),
        updated_at: t,
    }
}

fn code(client: &str, account: AccountId, ttl: Duration) -> AuthCode {
    AuthCode {
        hash: hash(),
        client_id: client.to_owned(),
        account_id: account,
        grant: CodeGrant {
            redirect_uri: "https://app.example/cb".into(),
            code_challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into()),
            nonce: Some("n-1".into()),
            scopes: vec!["openid".into(), "email".into()],
            browser_session: SessionId::new(),
            auth_time: now().unix_timestamp() - 5,
            amr: vec!["pwd".into(), "otp".into()],
        },
        expires_at: now() + ttl,
        used_at: None,
        session_id: None,
    }
}

async fn insert_client(store: &dyn Store, c: &OAuthClient) {
    store
        .insert_oauth_client(c, &event(None, "oauth_client.created", now()))
        .await
        .expect("insert client");
}

/// Clients round-trip every field (with and without a secret), are listed,
/// updated (false when gone) and deleted with their codes and consents
/// (the consenting accounts come back); a session keeps its `client_id`.
pub async fn check_oauth_clients(store: &dyn Store) {
    let conf = client(false);
    let public = client(true);
    insert_client(store, &conf).await;
    insert_client(store, &public).await;
    assert_eq!(
        store.oauth_client(&conf.client_id).await.unwrap(),
        Some(conf.clone())
    );
    assert_eq!(
        store.oauth_client(&public.client_id).await.unwrap(),
        Some(public.clone())
    );
    assert_eq!(store.oauth_client("wc_nobody").await.unwrap(), None);
    assert_eq!(store.oauth_client("wc_\0").await.unwrap(), None);
    let all = store.oauth_clients().await.unwrap();
    let ids: Vec<&str> = all.iter().map(|c| c.client_id.as_str()).collect();
    assert!(ids.contains(&conf.client_id.as_str()) && ids.contains(&public.client_id.as_str()));
    let mut changed = conf.clone();
    changed.name = "Renamed".into();
    changed.redirect_uris = vec!["https://other.example/cb".into()];
    changed.secret_hash = Some(hash());
    changed.first_party = false;
    changed.updated_at = now();
    let ev = event(None, "oauth_client.updated", now());
    assert!(store.update_oauth_client(&changed, &ev).await.unwrap());
    assert_eq!(
        store.oauth_client(&conf.client_id).await.unwrap(),
        Some(changed.clone())
    );
    let mut gone = client(false);
    gone.client_id = format!("wc_gone_{}", tag());
    assert!(!store.update_oauth_client(&gone, &ev).await.unwrap());

    // A session issued to the client keeps the tag.
    let a = new_account(store).await;
    let mut s = session(a.id, now(), now() + Duration::hours(1));
    s.client_id = Some(conf.client_id.clone());
    let ev = event(Some(a.id), "oauth.token_issued", now());
    store.create_session(&s, &hash(), &ev).await.unwrap();
    let back = store.session(s.id).await.unwrap().expect("session");
    assert_eq!(back.client_id, s.client_id);
    assert_eq!(
        store.live_sessions(a.id, now()).await.unwrap()[0].client_id,
        s.client_id
    );

    // Deleting answers the consenting accounts and takes codes and consents along.
    let b = new_account(store).await;
    for acc in [a.id, b.id] {
        let c = Consent {
            account_id: acc,
            client_id: conf.client_id.clone(),
            scopes: vec!["openid".into()],
            granted_at: now(),
        };
        store
            .put_consent(&c, &event(Some(acc), "oauth.consent_granted", now()))
            .await
            .unwrap();
    }
    let c = code(&conf.client_id, a.id, Duration::seconds(60));
    store
        .insert_auth_code(&c, &event(Some(a.id), "oauth.code_issued", now()))
        .await
        .unwrap();
    let ev = event(None, "oauth_client.deleted", now());
    let mut accounts = store
        .delete_oauth_client(&conf.client_id, &ev)
        .await
        .unwrap()
        .expect("deleted");
    accounts.sort();
    let mut want = vec![a.id, b.id];
    want.sort();
    assert_eq!(accounts, want);
    assert_eq!(store.oauth_client(&conf.client_id).await.unwrap(), None);
    assert_eq!(store.consent(a.id, &conf.client_id).await.unwrap(), None);
    let used = store
        .use_auth_code(&c.hash, SessionId::new(), now())
        .await
        .unwrap();
    assert_eq!(used, CodeUse::Invalid, "its codes went too");
    assert_eq!(
        store
            .delete_oauth_client(&conf.client_id, &ev)
            .await
            .unwrap(),
        None
    );
}

/// A code is used once (bound to the session given); presenting it again
/// is `Reused` with that session, expired and unknown codes are `Invalid`,
/// codes need their client and account, pruning deletes expired codes.
pub async fn check_auth_codes(store: &dyn Store) {
    let c = client(false);
    insert_client(store, &c).await;
    let a = new_account(store).await;
    let live = code(&c.client_id, a.id, Duration::seconds(60));
    store
        .insert_auth_code(&live, &event(Some(a.id), "oauth.code_issued", now()))
        .await
        .unwrap();
    assert!(
        audit_names(store, a.id)
            .await
            .contains(&"oauth.code_issued".to_owned())
    );
    let sid = SessionId::new();
    let t = now();
    let CodeUse::Fresh(got) = store.use_auth_code(&live.hash, sid, t).await.unwrap() else {
        panic!("fresh code");
    };
    assert_eq!(got.grant, live.grant);
    assert_eq!(
        (got.client_id.as_str(), got.account_id),
        (c.client_id.as_str(), a.id)
    );
    assert_eq!(got.expires_at, live.expires_at);
    assert_eq!((got.used_at, got.session_id), (Some(t), Some(sid)));
    let CodeUse::Reused(again) = store
        .use_auth_code(&live.hash, SessionId::new(), now())
        .await
        .unwrap()
    else {
        panic!("reused code");
    };
    assert_eq!(
        again.session_id,
        Some(sid),
        "bound to the first exchange's session"
    );
    let old = code(&c.client_id, a.id, Duration::seconds(-1));
    store
        .insert_auth_code(&old, &event(Some(a.id), "oauth.code_issued", now()))
        .await
        .unwrap();
    assert_eq!(
        store
            .use_auth_code(&old.hash, SessionId::new(), now())
            .await
            .unwrap(),
        CodeUse::Invalid
    );
    assert_eq!(
        store
            .use_auth_code(&hash(), SessionId::new(), now())
            .await
            .unwrap(),
        CodeUse::Invalid
    );
    let orphan = code("wc_missing", a.id, Duration::seconds(60));
    let ev = event(Some(a.id), "oauth.code_issued", now());
    assert!(store.insert_auth_code(&orphan, &ev).await.is_err());
    let nobody = code(&c.client_id, AccountId::new(), Duration::seconds(60));
    assert!(store.insert_auth_code(&nobody, &ev).await.is_err());
    assert!(store.prune_auth_codes(now()).await.unwrap() >= 1);
    // The pruned expired code is gone; the used live one stays.
    assert!(matches!(
        store
            .use_auth_code(&live.hash, SessionId::new(), now())
            .await
            .unwrap(),
        CodeUse::Reused(_)
    ));
}

/// Of concurrent exchanges of one code exactly one gets `Fresh`.
pub async fn check_auth_codes_concurrent(store: &Arc<dyn Store>) {
    let c = client(false);
    insert_client(store.as_ref(), &c).await;
    let a = new_account(store.as_ref()).await;
    let row = code(&c.client_id, a.id, Duration::seconds(60));
    store
        .insert_auth_code(&row, &event(Some(a.id), "oauth.code_issued", now()))
        .await
        .unwrap();
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let store = store.clone();
            let h = row.hash;
            tokio::spawn(async move { store.use_auth_code(&h, SessionId::new(), now()).await })
        })
        .collect();
    let mut fresh = 0;
    for t in tasks {
        if let CodeUse::Fresh(_) = t.await.unwrap().unwrap() {
            fresh += 1;
        }
    }
    assert_eq!(fresh, 1);
}

/// Consents are put (replacing the earlier one), read, listed, withdrawn
/// (false the second time), need their client, and go with the account.
pub async fn check_consents(store: &dyn Store) {
    let c1 = client(false);
    let c2 = client(true);
    insert_client(store, &c1).await;
    insert_client(store, &c2).await;
    let a = new_account(store).await;
    let t = now();
    let mut first = Consent {
        account_id: a.id,
        client_id: c1.client_id.clone(),
        scopes: vec!["openid".into()],
        granted_at: t - Duration::seconds(2),
    };
    let ev = event(Some(a.id), "oauth.consent_granted", t);
    store.put_consent(&first, &ev).await.unwrap();
    first.scopes = vec!["email".into(), "openid".into()];
    store.put_consent(&first, &ev).await.unwrap();
    let second = Consent {
        account_id: a.id,
        client_id: c2.client_id.clone(),
        scopes: vec!["profile".into()],
        granted_at: t,
    };
    store.put_consent(&second, &ev).await.unwrap();
    assert_eq!(
        store.consent(a.id, &c1.client_id).await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(
        store.consents_of(a.id).await.unwrap(),
        vec![first.clone(), second.clone()]
    );
    let missing = Consent {
        client_id: "wc_missing".into(),
        ..first.clone()
    };
    assert!(store.put_consent(&missing, &ev).await.is_err());
    let ev = event(Some(a.id), "oauth.consent_withdrawn", now());
    assert!(
        store
            .delete_consent(a.id, &c1.client_id, &ev)
            .await
            .unwrap()
    );
    assert!(
        !store
            .delete_consent(a.id, &c1.client_id, &ev)
            .await
            .unwrap()
    );
    assert!(
        audit_names(store, a.id)
            .await
            .contains(&"oauth.consent_withdrawn".to_owned())
    );
    assert_eq!(store.consents_of(a.id).await.unwrap(), vec![second]);
    store
        .delete_account(a.id, now(), &event(Some(a.id), "account.delete", now()))
        .await
        .unwrap();
    assert_eq!(store.consent(a.id, &c2.client_id).await.unwrap(), None);
}
