//! Organization pages: the switcher and list of the signed-in account's
//! organizations (with a create form), one organization's page (members,
//! roles and invitations for owners and admins, read-only for members), the
//! invitation acceptance page of the mailed link, and the organizations in
//! the admin console. Every action calls the engine's `Organizations`
//! service, as the JSON routes do, so rules and audit events are the same.

use super::{AdminPage, Flash, Member, Page, UiForm, form_errors, message};
use axum::Router;
use axum::extract::{Path, RawQuery};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use uuid::Uuid;
use warden_core::Error;
use warden_core::model::AccountId;
use warden_core::organizations::NewOrganization;

/// Built-in templates of these pages.
pub(crate) const TEMPLATES: &[(&str, &str)] = &[
    (
        "orgs/organizations.html",
        include_str!("../templates/orgs/organizations.html"),
    ),
    (
        "orgs/organization.html",
        include_str!("../templates/orgs/organization.html"),
    ),
    (
        "orgs/invitation.html",
        include_str!("../templates/orgs/invitation.html"),
    ),
    (
        "admin/organizations.html",
        include_str!("../templates/admin/organizations.html"),
    ),
];

/// The routes of these pages.
pub(crate) fn routes() -> Router<super::Ui> {
    Router::new()
        .route("/organizations", get(list).post(create))
        .route("/organizations/none/switch", post(switch_off))
        .route("/organizations/{id}", get(show))
        .route("/organizations/{id}/switch", post(switch))
        .route("/organizations/{id}/members/{aid}/role", post(set_role))
        .route("/organizations/{id}/members/{aid}/remove", post(remove))
        .route("/organizations/{id}/invitations", post(invite))
        .route(
            "/organizations/{id}/invitations/{iid}/revoke",
            post(revoke_invitation),
        )
        .route("/organizations/{id}/roles", post(create_role))
        .route("/organizations/{id}/roles/{name}/delete", post(delete_role))
        .route("/invitations/decline", post(decline))
        .route("/admin/organizations", get(admin_list))
        .route("/admin/organizations/{id}/delete", post(admin_delete))
}

/// The POSTs that check an invitation token: under the per-IP rate limit.
pub(crate) fn limited_routes() -> Router<super::Ui> {
    Router::new().route("/invitations/accept", get(invitation).post(accept))
}

fn when(t: time::OffsetDateTime) -> String {
    super::account::when(t)
}

fn org_url(page: &Page, id: Uuid) -> String {
    page.ui.url(&format!("/organizations/{id}"))
}

/// A redirect with a notice, or the error as a flash alert on `to`
/// (validation and conflicts), or the error page.
fn done(page: &Page, to: &str, r: Result<(), Error>, notice: &str) -> Response {
    match r {
        Ok(()) => page.redirect(to, Some(Flash::notice(notice))),
        Err(
            e @ (Error::Validation(_)
            | Error::Forbidden(_)
            | Error::LastOwner
            | Error::RoleInUse
            | Error::RoleTaken
            | Error::SlugTaken
            | Error::BadRequest(_)
            | Error::TooManyAttempts { .. }),
        ) => {
            let (_, alert) = form_errors(&e);
            let text = alert.unwrap_or_else(|| message(&e));
            page.redirect(to, Some(Flash::alert(text)))
        }
        Err(e) => page.error(&e),
    }
}

async fn list(Member { page, signed }: Member) -> Response {
    let orgs = page.auth().organizations();
    let (mine, active) =
        match tokio::try_join!(orgs.mine(signed.account.id), orgs.active(signed.session.id)) {
            Ok(v) => v,
            Err(e) => return page.error(&e),
        };
    let rows: Vec<minijinja::Value> = (mine.iter())
        .map(|(o, role)| {
            minijinja::context! {
                id => o.id.to_string(), slug => o.slug.clone(), name => o.name.clone(),
                role => role.clone(), active => Some(o.id) == active,
                manages => role == "owner" || role == "admin",
            }
        })
        .collect();
    page.render(
        "orgs/organizations.html",
        minijinja::context! { tab => "organizations", orgs => rows, any_active => active.is_some() },
    )
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CreateForm {
    slug: String,
    name: String,
}

async fn create(Member { page, signed }: Member, UiForm(f): UiForm<CreateForm>) -> Response {
    let new = NewOrganization {
        slug: f.slug.trim().to_owned(),
        name: f.name,
        properties: None,
    };
    let orgs = page.auth().organizations();
    match orgs.create(&signed.account, new, &page.client).await {
        Ok(o) => page.redirect(
            &org_url(&page, o.id),
            Some(Flash::notice("Organization created.")),
        ),
        Err(e) => done(&page, &page.ui.url("/organizations"), Err(e), ""),
    }
}

/// A path id; the 404 page when it does not parse.
fn parse(page: &Page, id: &str) -> Result<Uuid, Box<Response>> {
    Uuid::parse_str(id).map_err(|_| Box::new(page.error(&Error::NotFound)))
}

fn parse_account(page: &Page, id: &str) -> Result<AccountId, Box<Response>> {
    AccountId::parse(id).ok_or_else(|| Box::new(page.error(&Error::NotFound)))
}

async fn switch(Member { page, signed }: Member, Path(id): Path<String>) -> Response {
    let id = match parse(&page, &id) {
        Ok(id) => id,
        Err(r) => return *r,
    };
    let orgs = page.auth().organizations();
    let r = orgs
        .act_for(
            signed.session.id,
            signed.account.id,
            Some(&id.to_string()),
            &page.client,
        )
        .await
        .map(|_| ());
    done(
        &page,
        &page.ui.url("/organizations"),
        r,
        "You now act for this organization.",
    )
}

async fn switch_off(Member { page, signed }: Member) -> Response {
    let orgs = page.auth().organizations();
    let r = (orgs
        .act_for(signed.session.id, signed.account.id, None, &page.client)
        .await)
        .map(|_| ());
    done(
        &page,
        &page.ui.url("/organizations"),
        r,
        "You act for no organization now.",
    )
}

async fn show(Member { page, signed }: Member, Path(id): Path<String>) -> Response {
    let id = match parse(&page, &id) {
        Ok(id) => id,
        Err(r) => return *r,
    };
    let orgs = page.auth().organizations();
    let me = signed.account.id;
    let (org, mine) = match orgs.member_of(me, id).await {
        Ok(v) => v,
        Err(e) => return page.error(&e),
    };
    let manages = mine.role == "owner" || mine.role == "admin";
    let (members, roles) = match tokio::try_join!(orgs.members(me, id), orgs.roles(me, id)) {
        Ok(v) => v,
        Err(e) => return page.error(&e),
    };
    let invitations = if manages {
        match orgs.invitations(me, id).await {
            Ok(l) => l,
            Err(e) => return page.error(&e),
        }
    } else {
        Vec::new()
    };
    let members: Vec<minijinja::Value> = (members.iter())
        .map(|m| {
            minijinja::context! {
                id => m.account_id.to_string(), login => m.login.clone(), role => m.role.clone(),
                joined => when(m.joined_at), me => m.account_id == me,
            }
        })
        .collect();
    let roles: Vec<minijinja::Value> = (roles.iter())
        .map(|r| minijinja::context! {
            name => r.name.clone(), permissions => r.permissions.join(" "), builtin => r.builtin,
        })
        .collect();
    let invitations: Vec<minijinja::Value> = (invitations.iter())
        .map(|i| {
            minijinja::context! {
                id => i.id.to_string(), email => i.email.clone(), role => i.role.clone(),
                expires => when(i.expires_at),
            }
        })
        .collect();
    page.render(
        "orgs/organization.html",
        minijinja::context! {
            tab => "organizations",
            org => minijinja::context! { id => org.id.to_string(), slug => org.slug, name => org.name },
            my_role => mine.role.clone(), manages => manages, owner => mine.role == "owner",
            members => members, roles => roles, invitations => invitations,
        },
    )
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RoleForm {
    role: String,
}

async fn set_role(
    Member { page, signed }: Member,
    Path((id, aid)): Path<(String, String)>,
    UiForm(f): UiForm<RoleForm>,
) -> Response {
    let (id, aid) = match (parse(&page, &id), parse_account(&page, &aid)) {
        (Ok(i), Ok(a)) => (i, a),
        (Err(r), _) | (_, Err(r)) => return *r,
    };
    let orgs = page.auth().organizations();
    let r = orgs
        .set_role(signed.account.id, id, aid, f.role.trim(), &page.client)
        .await;
    done(
        &page,
        &org_url(&page, id),
        r.map(|_| ()),
        "The role is changed.",
    )
}

async fn remove(
    Member { page, signed }: Member,
    Path((id, aid)): Path<(String, String)>,
) -> Response {
    let (id, aid) = match (parse(&page, &id), parse_account(&page, &aid)) {
        (Ok(i), Ok(a)) => (i, a),
        (Err(r), _) | (_, Err(r)) => return *r,
    };
    let orgs = page.auth().organizations();
    let r = orgs.remove(signed.account.id, id, aid, &page.client).await;
    if aid == signed.account.id {
        return done(
            &page,
            &page.ui.url("/organizations"),
            r,
            "You left the organization.",
        );
    }
    done(&page, &org_url(&page, id), r, "The member is removed.")
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct InviteForm {
    email: String,
    role: String,
}

async fn invite(
    Member { page, signed }: Member,
    Path(id): Path<String>,
    UiForm(f): UiForm<InviteForm>,
) -> Response {
    let id = match parse(&page, &id) {
        Ok(id) => id,
        Err(r) => return *r,
    };
    let role = if f.role.trim().is_empty() {
        "member"
    } else {
        f.role.trim()
    };
    let orgs = page.auth().organizations();
    let r = orgs
        .invite(&signed.account, id, &f.email, role, &page.client)
        .await;
    done(
        &page,
        &org_url(&page, id),
        r.map(|_| ()),
        "The invitation is sent.",
    )
}

async fn revoke_invitation(
    Member { page, signed }: Member,
    Path((id, iid)): Path<(String, String)>,
) -> Response {
    let (id, iid) = match (parse(&page, &id), parse(&page, &iid)) {
        (Ok(i), Ok(v)) => (i, v),
        (Err(r), _) | (_, Err(r)) => return *r,
    };
    let orgs = page.auth().organizations();
    let r = orgs
        .revoke_invitation(signed.account.id, id, iid, &page.client)
        .await;
    done(&page, &org_url(&page, id), r, "The invitation is revoked.")
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct NewRoleForm {
    name: String,
    permissions: String,
}

async fn create_role(
    Member { page, signed }: Member,
    Path(id): Path<String>,
    UiForm(f): UiForm<NewRoleForm>,
) -> Response {
    let id = match parse(&page, &id) {
        Ok(id) => id,
        Err(r) => return *r,
    };
    let perms: Vec<String> = f
        .permissions
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    let orgs = page.auth().organizations();
    let r = orgs
        .create_role(signed.account.id, id, f.name.trim(), &perms, &page.client)
        .await;
    done(
        &page,
        &org_url(&page, id),
        r.map(|_| ()),
        "The role is created.",
    )
}

async fn delete_role(
    Member { page, signed }: Member,
    Path((id, name)): Path<(String, String)>,
) -> Response {
    let id = match parse(&page, &id) {
        Ok(id) => id,
        Err(r) => return *r,
    };
    let orgs = page.auth().organizations();
    let r = orgs
        .delete_role(signed.account.id, id, &name, &page.client)
        .await;
    done(&page, &org_url(&page, id), r, "The role is deleted.")
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct TokenForm {
    token: String,
}

/// The page of the mailed link: what the invitation is, and accept or
/// decline (signing in first, coming back here).
async fn invitation(page: Page, RawQuery(q): RawQuery) -> Response {
    let f: TokenForm = q
        .and_then(|q| serde_urlencoded::from_str(&q).ok())
        .unwrap_or_default();
    let (inv, org_name) = match page.auth().organizations().invitation(&f.token).await {
        Ok(v) => v,
        Err(Error::InvalidMailToken) => {
            return page.message(
                StatusCode::BAD_REQUEST,
                "Invitation not valid",
                "This invitation link is unknown, used, declined, revoked or expired. Ask for a new one.",
            );
        }
        Err(e) => return page.error(&e),
    };
    let sign_in = format!(
        "{}?redirect_to={}",
        page.ui.url("/sign-in"),
        super::url_encode(&page.uri)
    );
    let signed_as = page.signed.as_ref().map(|s| s.account.login.clone());
    page.render(
        "orgs/invitation.html",
        minijinja::context! {
            token => f.token, organization => org_name, role => inv.role, email => inv.email,
            expires => when(inv.expires_at), signed_as => signed_as, sign_in => sign_in,
        },
    )
}

async fn accept(Member { page, signed }: Member, UiForm(f): UiForm<TokenForm>) -> Response {
    let orgs = page.auth().organizations();
    match orgs.accept(signed.account.id, &f.token, &page.client).await {
        Ok(m) => page.redirect(
            &org_url(&page, m.organization),
            Some(Flash::notice("Welcome: you are a member now.")),
        ),
        Err(e @ Error::InvalidMailToken) => page.message(
            StatusCode::BAD_REQUEST,
            "Invitation not valid",
            &message(&e),
        ),
        Err(e @ Error::Forbidden(_)) => {
            page.message(StatusCode::FORBIDDEN, "Not your invitation", &message(&e))
        }
        Err(e) => page.error(&e),
    }
}

async fn decline(page: Page, UiForm(f): UiForm<TokenForm>) -> Response {
    match page
        .auth()
        .organizations()
        .decline(&f.token, &page.client)
        .await
    {
        Ok(()) => page.message(
            StatusCode::OK,
            "Invitation declined",
            "You declined the invitation.",
        ),
        Err(e @ Error::InvalidMailToken) => page.message(
            StatusCode::BAD_REQUEST,
            "Invitation not valid",
            &message(&e),
        ),
        Err(e) => page.error(&e),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct AdminQuery {
    cursor: String,
}

async fn admin_list(ap: AdminPage, RawQuery(q): RawQuery) -> Response {
    let q: AdminQuery = q
        .and_then(|q| serde_urlencoded::from_str(&q).ok())
        .unwrap_or_default();
    let after = Uuid::parse_str(&q.cursor).ok();
    let orgs = ap.page.auth().organizations();
    let list = match orgs.list_all(after, 51).await {
        Ok(l) => l,
        Err(e) => return ap.page.error(&e),
    };
    let more = list.len() > 50;
    let mut rows = Vec::new();
    for o in list.iter().take(50) {
        let members = match orgs.members_any(o.id).await {
            Ok(m) => m,
            Err(e) => return ap.page.error(&e),
        };
        let owners: Vec<String> = (members.iter())
            .filter(|m| m.role == "owner")
            .map(|m| m.login.clone())
            .collect();
        rows.push(minijinja::context! {
            id => o.id.to_string(), slug => o.slug.clone(), name => o.name.clone(),
            created => when(o.created_at), members => members.len(), owners => owners.join(", "),
        });
    }
    let next = more
        .then(|| list.get(49).map(|o| o.id.to_string()))
        .flatten();
    ap.page.render(
        "admin/organizations.html",
        minijinja::context! { section => "organizations", orgs => rows, next => next },
    )
}

async fn admin_delete(ap: AdminPage, Path(id): Path<String>) -> Response {
    let id = match parse(&ap.page, &id) {
        Ok(id) => id,
        Err(r) => return *r,
    };
    let orgs = ap.page.auth().organizations();
    let r = orgs
        .delete_any(Some(ap.signed.account.id), id, &ap.page.client)
        .await;
    done(
        &ap.page,
        &ap.page.ui.url("/admin/organizations"),
        r,
        "The organization is deleted.",
    )
}
