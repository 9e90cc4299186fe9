//! Conformance checks of [`crate::store::OneTimeTokenStore`].

use super::{audit_names, event, hash, new_account, now};
use crate::error::Error;
use crate::model::AccountId;
use crate::store::{ConsumedToken, Store, TokenKind};
use std::sync::Arc;
use time::Duration;

/// Issue, consume once, kinds kept apart, payload round trip, expiry, audit.
pub async fn check_one_time_tokens(store: &dyn Store) {
    let a = new_account(store).await;
    let t = now();
    let h = hash();
    store
        .issue(
            TokenKind::ChangeEmail,
            &h,
            a.id,
            t,
            t + Duration::hours(24),
            Some("new@example.com"),
            &event(Some(a.id), "email.change_requested", t),
        )
        .await
        .expect("issue");
    assert!(
        audit_names(store, a.id)
            .await
            .contains(&"email.change_requested".to_owned())
    );
    assert_eq!(
        store
            .last_issued_at(TokenKind::ChangeEmail, a.id)
            .await
            .unwrap(),
        Some(t)
    );
    assert_eq!(
        store
            .last_issued_at(TokenKind::VerifyEmail, a.id)
            .await
            .unwrap(),
        None
    );
    // Another kind does not consume it.
    assert_eq!(
        store.consume(TokenKind::VerifyEmail, &h, t).await.unwrap(),
        None
    );
    assert_eq!(
        store.consume(TokenKind::ChangeEmail, &h, t).await.unwrap(),
        Some(ConsumedToken {
            account_id: a.id,
            payload: Some("new@example.com".to_owned())
        })
    );
    // Single use.
    assert_eq!(
        store.consume(TokenKind::ChangeEmail, &h, t).await.unwrap(),
        None
    );
    assert_eq!(
        store
            .last_issued_at(TokenKind::ChangeEmail, a.id)
            .await
            .unwrap(),
        None
    );

    // Expired tokens are refused (and gone).
    let h2 = hash();
    store
        .issue(
            TokenKind::ResetPassword,
            &h2,
            a.id,
            t,
            t + Duration::minutes(30),
            None,
            &event(Some(a.id), "password.reset_requested", t),
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .consume(TokenKind::ResetPassword, &h2, t + Duration::minutes(30))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .consume(TokenKind::ResetPassword, &h2, t)
            .await
            .unwrap(),
        None
    );

    // Unknown account.
    let r = store
        .issue(
            TokenKind::VerifyEmail,
            &hash(),
            AccountId::new(),
            t,
            t + Duration::hours(1),
            None,
            &event(None, "email.verification_sent", t),
        )
        .await;
    assert!(matches!(r, Err(Error::NotFound)), "{r:?}");
}

/// A newer token of a kind replaces the older one of the same account only.
pub async fn check_one_time_replaced(store: &dyn Store) {
    let a = new_account(store).await;
    let b = new_account(store).await;
    let t = now();
    let ev = event(Some(a.id), "email.verification_sent", t);
    let (old, new, other, reset) = (hash(), hash(), hash(), hash());
    let exp = t + Duration::hours(24);
    store
        .issue(TokenKind::VerifyEmail, &old, a.id, t, exp, None, &ev)
        .await
        .unwrap();
    store
        .issue(TokenKind::ResetPassword, &reset, a.id, t, exp, None, &ev)
        .await
        .unwrap();
    store
        .issue(TokenKind::VerifyEmail, &other, b.id, t, exp, None, &ev)
        .await
        .unwrap();
    let later = t + Duration::seconds(90);
    store
        .issue(TokenKind::VerifyEmail, &new, a.id, later, exp, None, &ev)
        .await
        .unwrap();
    assert_eq!(
        store
            .last_issued_at(TokenKind::VerifyEmail, a.id)
            .await
            .unwrap(),
        Some(later)
    );
    assert_eq!(
        store
            .consume(TokenKind::VerifyEmail, &old, t)
            .await
            .unwrap(),
        None
    );
    assert!(
        store
            .consume(TokenKind::VerifyEmail, &new, t)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .consume(TokenKind::VerifyEmail, &other, t)
            .await
            .unwrap()
            .is_some()
    );

    // revoke_for_account deletes only the kinds asked for, of that account.
    let (v, r) = (hash(), hash());
    store
        .issue(TokenKind::VerifyEmail, &v, a.id, t, exp, None, &ev)
        .await
        .unwrap();
    store
        .issue(TokenKind::ResetPassword, &r, a.id, t, exp, None, &ev)
        .await
        .unwrap();
    let n = store
        .revoke_for_account(a.id, &[TokenKind::ResetPassword, TokenKind::ChangeEmail])
        .await
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(
        store
            .consume(TokenKind::ResetPassword, &r, t)
            .await
            .unwrap(),
        None
    );
    assert!(
        store
            .consume(TokenKind::VerifyEmail, &v, t)
            .await
            .unwrap()
            .is_some()
    );

    // Deleting the account deletes its tokens; pruning deletes expired ones.
    let d = hash();
    store
        .issue(TokenKind::VerifyEmail, &d, a.id, t, exp, None, &ev)
        .await
        .unwrap();
    assert!(
        store
            .delete_account(a.id, t, &event(Some(a.id), "account.deleted", t))
            .await
            .unwrap()
    );
    assert_eq!(
        store.consume(TokenKind::VerifyEmail, &d, t).await.unwrap(),
        None
    );
    let p = hash();
    store
        .issue(
            TokenKind::VerifyEmail,
            &p,
            b.id,
            t - Duration::hours(48),
            t - Duration::hours(24),
            None,
            &ev,
        )
        .await
        .unwrap();
    assert!(store.prune_one_time(t - Duration::hours(1)).await.unwrap() >= 1);
    assert_eq!(
        store
            .last_issued_at(TokenKind::VerifyEmail, b.id)
            .await
            .unwrap(),
        None
    );
}

/// Of concurrent consumers of one token exactly one wins.
pub async fn check_one_time_concurrent(store: &Arc<dyn Store>) {
    let a = new_account(store.as_ref()).await;
    let t = now();
    let h = hash();
    store
        .issue(
            TokenKind::ResetPassword,
            &h,
            a.id,
            t,
            t + Duration::minutes(30),
            None,
            &event(Some(a.id), "password.reset_requested", t),
        )
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let s = store.clone();
        tasks.push(tokio::spawn(async move {
            s.consume(TokenKind::ResetPassword, &h, now())
                .await
                .unwrap()
                .is_some()
        }));
    }
    let mut wins = 0;
    for task in tasks {
        if task.await.unwrap() {
            wins += 1;
        }
    }
    assert_eq!(wins, 1);
}
