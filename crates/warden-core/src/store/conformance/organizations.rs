//! Conformance checks of [`crate::store::OrganizationStore`]: unique slugs,
//! the last owner, roles in use, single-use invitations, and the epochs of
//! the sessions acting for an organization.

use super::{audit_names, event, feed_after, feed_head, new_account, new_session, now, tag};
use crate::error::Error;
use crate::model::{AccountId, normalize_email};
use crate::store::{
    ActiveOrg, ActiveOrganization, Change, Invitation, InvitationState, OrgRole, Organization,
    Rotation, Store,
};
use std::sync::Arc;
use time::Duration;
use uuid::Uuid;

fn org() -> Organization {
    Organization {
        id: Uuid::now_v7(),
        slug: format!("org-{}", tag()),
        name: "Acme Inc.".to_owned(),
        properties: serde_json::json!({"plan": "pro", "seats": 5}),
        created_at: now() - Duration::seconds(3),
    }
}

async fn new_org(store: &dyn Store, owner: AccountId) -> Organization {
    let o = org();
    store
        .insert_organization(
            &o,
            owner,
            &event(Some(owner), "organization.created", now()),
        )
        .await
        .expect("insert_organization");
    o
}

fn invitation(org: Uuid, email: &str, role: &str, inviter: AccountId) -> Invitation {
    let t = now();
    Invitation {
        id: Uuid::now_v7(),
        organization: org,
        email: email.to_owned(),
        role: role.to_owned(),
        inviter,
        state: InvitationState::Pending,
        created_at: t,
        expires_at: t + Duration::days(7),
    }
}

fn hash() -> [u8; 32] {
    super::hash()
}

/// Insert, read by id and slug, unique slugs, update, list, membership of
/// the creator, delete with members.
pub async fn check_organizations(store: &dyn Store) {
    let a = new_account(store).await;
    let o = new_org(store, a.id).await;
    assert_eq!(store.organization(o.id).await.unwrap(), Some(o.clone()));
    assert_eq!(
        store.organization_by_slug(&o.slug).await.unwrap(),
        Some(o.clone())
    );
    assert!(store.organization(Uuid::now_v7()).await.unwrap().is_none());
    let mut dup = org();
    dup.slug.clone_from(&o.slug);
    let err = store
        .insert_organization(
            &dup,
            a.id,
            &event(Some(a.id), "organization.created", now()),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::SlugTaken), "{err:?}");
    let err = store
        .insert_organization(&org(), AccountId::new(), &event(None, "x", now()))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound), "{err:?}");
    let m = store.membership(o.id, a.id).await.unwrap().expect("owner");
    assert_eq!(
        (m.role.as_str(), m.login.as_str()),
        ("owner", a.login.as_str())
    );
    let mut changed = o.clone();
    changed.name = "Acme GmbH".into();
    changed.properties = serde_json::json!({"plan": "free"});
    assert!(
        store
            .update_organization(&changed, &event(Some(a.id), "organization.updated", now()))
            .await
            .unwrap()
    );
    assert_eq!(
        store.organization(o.id).await.unwrap(),
        Some(changed.clone())
    );
    let mine = store.organizations_of(a.id).await.unwrap();
    assert_eq!(mine, vec![(changed.clone(), "owner".to_owned())]);
    let listed = store.list_organizations(None, 10_000).await.unwrap();
    assert!(listed.iter().any(|x| x.id == o.id));
    assert!(listed.windows(2).all(|w| w[0].id < w[1].id));
    let after = store.list_organizations(Some(o.id), 10_000).await.unwrap();
    assert!(after.iter().all(|x| x.id > o.id));
    assert!(
        store
            .delete_organization(
                o.id,
                now(),
                &event(Some(a.id), "organization.deleted", now())
            )
            .await
            .unwrap()
    );
    assert!(
        !store
            .delete_organization(
                o.id,
                now(),
                &event(Some(a.id), "organization.deleted", now())
            )
            .await
            .unwrap()
    );
    assert!(store.membership(o.id, a.id).await.unwrap().is_none());
    assert!(store.organizations_of(a.id).await.unwrap().is_empty());
    let names = audit_names(store, a.id).await;
    for n in [
        "organization.created",
        "organization.updated",
        "organization.deleted",
    ] {
        assert!(names.contains(&n.to_owned()), "{n} in {names:?}");
    }
}

/// Roles of members, the last owner, removal; custom roles and roles in use.
pub async fn check_org_members_and_roles(store: &dyn Store) {
    let a = new_account(store).await;
    let b = new_account(store).await;
    let o = new_org(store, a.id).await;
    let ev = |n: &str| event(Some(a.id), n, now());
    let err = store
        .set_member_role(o.id, a.id, "admin", now(), &ev("r"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::LastOwner), "{err:?}");
    let err = store
        .remove_member(o.id, a.id, now(), &ev("r"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::LastOwner), "{err:?}");
    assert!(
        store
            .set_member_role(o.id, b.id, "admin", now(), &ev("r"))
            .await
            .unwrap()
            .is_none()
    );
    // b joins through an invitation.
    let h = hash();
    let email = b.email.clone().unwrap();
    store
        .insert_invitation(&invitation(o.id, &email, "member", a.id), &h, &ev("i"))
        .await
        .unwrap();
    let m = store
        .accept_invitation(&h, b.id, &normalize_email(&email), now(), &ev("a"))
        .await
        .unwrap();
    assert_eq!(m.role, "member");
    let err = store
        .set_member_role(o.id, b.id, "no-such-role", now(), &ev("r"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Validation(_)), "{err:?}");
    let role = OrgRole {
        name: "billing".into(),
        permissions: vec!["invoices:read".into(), "invoices:write".into()],
        builtin: false,
    };
    store.insert_role(o.id, &role, &ev("role")).await.unwrap();
    let err = store
        .insert_role(o.id, &role, &ev("role"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::RoleTaken), "{err:?}");
    let err = store
        .insert_role(Uuid::now_v7(), &role, &ev("role"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound), "{err:?}");
    assert_eq!(store.custom_roles(o.id).await.unwrap(), vec![role.clone()]);
    let m = store
        .set_member_role(o.id, b.id, "billing", now(), &ev("r"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(m.role, "billing");
    let err = store
        .delete_role(o.id, "billing", &ev("d"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::RoleInUse), "{err:?}");
    let mut wider = role.clone();
    wider.permissions = vec!["invoices:read".into()];
    assert!(
        store
            .update_role(o.id, &wider, now(), &ev("u"))
            .await
            .unwrap()
    );
    assert_eq!(store.custom_roles(o.id).await.unwrap(), vec![wider.clone()]);
    let mut missing = wider.clone();
    missing.name = "nobody".into();
    assert!(
        !store
            .update_role(o.id, &missing, now(), &ev("u"))
            .await
            .unwrap()
    );
    // Two owners: one may step down, then the other is the last.
    store
        .set_member_role(o.id, b.id, "owner", now(), &ev("r"))
        .await
        .unwrap();
    store
        .set_member_role(o.id, a.id, "member", now(), &ev("r"))
        .await
        .unwrap();
    let err = store
        .remove_member(o.id, b.id, now(), &ev("r"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::LastOwner), "{err:?}");
    let members = store.members(o.id).await.unwrap();
    assert_eq!(members.len(), 2);
    assert!(
        store
            .remove_member(o.id, a.id, now(), &ev("r"))
            .await
            .unwrap()
    );
    assert!(
        !store
            .remove_member(o.id, a.id, now(), &ev("r"))
            .await
            .unwrap()
    );
    assert!(store.delete_role(o.id, "billing", &ev("d")).await.unwrap());
    assert!(!store.delete_role(o.id, "billing", &ev("d")).await.unwrap());
    assert!(store.custom_roles(o.id).await.unwrap().is_empty());
}

/// Invitations are used once; another address is refused without using
/// it; a new invitation to the same address replaces the pending one.
pub async fn check_org_invitations(store: &dyn Store) {
    let a = new_account(store).await;
    let b = new_account(store).await;
    let o = new_org(store, a.id).await;
    let ev = |n: &str| event(Some(a.id), n, now());
    let b_email = normalize_email(b.email.as_deref().unwrap());
    let t = now();
    let (h1, h2, h3) = (hash(), hash(), hash());
    let first = invitation(o.id, "Invitee@Example.com", "member", a.id);
    store
        .insert_invitation(&first, &h1, &ev("i"))
        .await
        .unwrap();
    assert_eq!(
        store.invitation_by_token(&h1, t).await.unwrap(),
        Some(first.clone())
    );
    let second = invitation(o.id, "invitee@example.com", "admin", a.id);
    store
        .insert_invitation(&second, &h2, &ev("i"))
        .await
        .unwrap();
    assert!(
        store.invitation_by_token(&h1, t).await.unwrap().is_none(),
        "replaced"
    );
    let pending = store.pending_invitations(o.id, t).await.unwrap();
    assert_eq!(
        pending.iter().map(|i| i.id).collect::<Vec<_>>(),
        vec![second.id]
    );
    let err = store
        .insert_invitation(
            &invitation(o.id, "x@example.com", "ghost", a.id),
            &hash(),
            &ev("i"),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Validation(_)), "{err:?}");
    // Another address: refused, still pending.
    let err = store
        .accept_invitation(&h2, b.id, &b_email, t, &ev("a"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Forbidden(_)), "{err:?}");
    assert!(store.invitation_by_token(&h2, t).await.unwrap().is_some());
    // Expired: unusable.
    let later = t + Duration::days(8);
    assert!(
        store
            .invitation_by_token(&h2, later)
            .await
            .unwrap()
            .is_none()
    );
    let err = store
        .accept_invitation(&h2, b.id, "invitee@example.com", later, &ev("a"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidMailToken), "{err:?}");
    assert!(
        !store
            .decline_invitation(&h2, later, &ev("d"))
            .await
            .unwrap()
    );
    // Accepted once.
    let m = store
        .accept_invitation(&h2, b.id, "invitee@example.com", t, &ev("a"))
        .await
        .unwrap();
    assert_eq!((m.role.as_str(), m.account_id), ("admin", b.id));
    let err = store
        .accept_invitation(&h2, b.id, "invitee@example.com", t, &ev("a"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidMailToken), "{err:?}");
    assert!(!store.decline_invitation(&h2, t, &ev("d")).await.unwrap());
    // Declined and revoked ones are used too.
    let third = invitation(o.id, &b_email, "member", a.id);
    store
        .insert_invitation(&third, &h3, &ev("i"))
        .await
        .unwrap();
    assert!(store.decline_invitation(&h3, t, &ev("d")).await.unwrap());
    assert!(!store.decline_invitation(&h3, t, &ev("d")).await.unwrap());
    let h4 = hash();
    let fourth = invitation(o.id, "c@example.com", "member", a.id);
    store
        .insert_invitation(&fourth, &h4, &ev("i"))
        .await
        .unwrap();
    let other = new_org(store, a.id).await;
    assert!(
        !store
            .revoke_invitation(other.id, fourth.id, t, &ev("x"))
            .await
            .unwrap(),
        "foreign"
    );
    assert!(
        store
            .revoke_invitation(o.id, fourth.id, t, &ev("x"))
            .await
            .unwrap()
    );
    assert!(
        !store
            .revoke_invitation(o.id, fourth.id, t, &ev("x"))
            .await
            .unwrap()
    );
    let err = store
        .accept_invitation(&h4, b.id, "c@example.com", t, &ev("a"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidMailToken), "{err:?}");
    // Deleting the organization ends its invitations.
    let h5 = hash();
    store
        .insert_invitation(
            &invitation(o.id, "d@example.com", "member", a.id),
            &h5,
            &ev("i"),
        )
        .await
        .unwrap();
    store
        .delete_organization(o.id, t, &ev("del"))
        .await
        .unwrap();
    assert!(store.invitation_by_token(&h5, t).await.unwrap().is_none());
}

/// Active organizations: membership needed, the epoch rises with each
/// change, role changes and removals append `OrgClaimsRevoked` entries.
pub async fn check_org_sessions(store: &dyn Store) {
    let a = new_account(store).await;
    let b = new_account(store).await;
    let o = new_org(store, a.id).await;
    let ev = |n: &str| event(Some(a.id), n, now());
    let (sa, _) = new_session(store, a.id, now()).await;
    let (sb, _) = new_session(store, b.id, now()).await;
    assert!(store.active_organization(sa.id).await.unwrap().is_none());
    let err = store
        .set_active_organization(sb.id, b.id, Some(o.id))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound), "{err:?}");
    let e1 = store
        .set_active_organization(sa.id, a.id, Some(o.id))
        .await
        .unwrap();
    let got = store.active_organization(sa.id).await.unwrap().unwrap();
    assert_eq!((got.organization, got.epoch), (Some(o.id), e1));
    let h = hash();
    let email = b.email.clone().unwrap();
    store
        .insert_invitation(&invitation(o.id, &email, "member", a.id), &h, &ev("i"))
        .await
        .unwrap();
    store
        .accept_invitation(&h, b.id, &normalize_email(&email), now(), &ev("a"))
        .await
        .unwrap();
    let eb = store
        .set_active_organization(sb.id, b.id, Some(o.id))
        .await
        .unwrap();
    let head = feed_head(store).await;
    store
        .set_member_role(o.id, b.id, "admin", now(), &ev("r"))
        .await
        .unwrap();
    let feed = feed_after(store, head).await;
    assert_eq!(
        feed.iter().map(|e| e.change.clone()).collect::<Vec<_>>(),
        vec![Change::OrgClaimsRevoked(sb.id, b.id)]
    );
    let now_b = store.active_organization(sb.id).await.unwrap().unwrap();
    assert!(now_b.epoch > eb && now_b.organization == Some(o.id));
    let head = feed_head(store).await;
    store
        .remove_member(o.id, b.id, now(), &ev("r"))
        .await
        .unwrap();
    let feed = feed_after(store, head).await;
    assert_eq!(
        feed.iter().map(|e| e.change.clone()).collect::<Vec<_>>(),
        vec![Change::OrgClaimsRevoked(sb.id, b.id)]
    );
    let gone = store.active_organization(sb.id).await.unwrap().unwrap();
    assert!(gone.epoch > now_b.epoch && gone.organization.is_none());
    let e2 = store
        .set_active_organization(sa.id, a.id, None)
        .await
        .unwrap();
    assert!(e2 > e1);
    store
        .set_active_organization(sa.id, a.id, Some(o.id))
        .await
        .unwrap();
    let head = feed_head(store).await;
    store
        .delete_organization(o.id, now(), &ev("del"))
        .await
        .unwrap();
    let feed = feed_after(store, head).await;
    assert_eq!(
        feed.iter().map(|e| e.change.clone()).collect::<Vec<_>>(),
        vec![Change::OrgClaimsRevoked(sa.id, a.id)]
    );
    assert!(
        store
            .active_organization(sa.id)
            .await
            .unwrap()
            .unwrap()
            .organization
            .is_none()
    );
}

/// A rotation that reads the organization its session acts for
/// ([`ActiveOrg::Read`]) reads what `active_organization` answers: no row,
/// an organization, none any more. A session store kept apart answers
/// [`ActiveOrg::Unread`].
pub async fn check_rotation_reads_org(store: &dyn Store) {
    let a = new_account(store).await;
    let o = new_org(store, a.id).await;
    let (s, mut h) = new_session(store, a.id, now()).await;
    let mut rotate = async |want: Option<(Option<Uuid>, i64)>| {
        let next = hash();
        let r = store.rotate_refresh(&h, &next, now(), None, None).await;
        h = next;
        let Ok(Rotation::Rotated(_, read)) = r else {
            panic!("rotation: {r:?}");
        };
        let want = want.map(|(organization, epoch)| ActiveOrganization {
            organization,
            epoch,
        });
        assert_eq!(store.active_organization(s.id).await.unwrap(), want);
        assert!(
            matches!(read, ActiveOrg::Unread) || read == ActiveOrg::Read(want),
            "{read:?}, want {want:?}"
        );
    };
    rotate(None).await;
    let e1 = store
        .set_active_organization(s.id, a.id, Some(o.id))
        .await
        .unwrap();
    rotate(Some((Some(o.id), e1))).await;
    let e2 = store
        .set_active_organization(s.id, a.id, None)
        .await
        .unwrap();
    rotate(Some((None, e2))).await;
}

/// Two owners demote or remove each other at the same time, many times
/// over: never does the organization end up without an owner.
pub async fn check_last_owner_concurrent(store: &Arc<dyn Store>) {
    let s: &dyn Store = store.as_ref();
    for round in 0..6 {
        let a = new_account(s).await;
        let b = new_account(s).await;
        let o = new_org(s, a.id).await;
        let h = hash();
        let email = b.email.clone().unwrap();
        s.insert_invitation(
            &invitation(o.id, &email, "owner", a.id),
            &h,
            &event(Some(a.id), "i", now()),
        )
        .await
        .unwrap();
        s.accept_invitation(
            &h,
            b.id,
            &normalize_email(&email),
            now(),
            &event(Some(b.id), "a", now()),
        )
        .await
        .unwrap();
        let mut tasks = Vec::new();
        for (who, other) in [(a.id, b.id), (b.id, a.id)] {
            let store = store.clone();
            let org = o.id;
            tasks.push(tokio::spawn(async move {
                let ev = event(Some(who), "r", now());
                if round % 2 == 0 {
                    store
                        .set_member_role(org, other, "member", now(), &ev)
                        .await
                        .map(|_| ())
                } else {
                    store
                        .remove_member(org, other, now(), &ev)
                        .await
                        .map(|_| ())
                }
            }));
        }
        let mut ok = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(()) => ok += 1,
                Err(Error::LastOwner | Error::Unavailable(_)) => {}
                Err(e) => panic!("unexpected {e:?}"),
            }
        }
        assert!(ok <= 1, "both owners went in round {round}");
        let owners = s
            .members(o.id)
            .await
            .unwrap()
            .into_iter()
            .filter(|m| m.role == "owner")
            .count();
        assert!(owners >= 1, "no owner left in round {round}");
    }
}
