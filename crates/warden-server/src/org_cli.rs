//! `warden org`: organizations from the command line (list, show, create,
//! delete, members), through the same service as the admin API.

use clap::Subcommand;
use warden_core::organizations::NewOrganization;
use warden_core::store::{Membership, Organization};
use warden_core::{Auth, Error};

/// `warden org ...`.
#[derive(Subcommand)]
pub(crate) enum OrgCmd {
    /// List organizations (by id).
    List {
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Show one organization (id or slug) with its members.
    Show { org: String },
    /// Create an organization; OWNER (account id or login) becomes its owner.
    Create {
        /// Lower-case letters, digits and '-', 3 to 63 characters.
        slug: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// The first owner (account id or login).
        #[arg(long)]
        owner: String,
    },
    /// Delete an organization (id or slug) with its members, roles and invitations.
    Delete { org: String },
    /// List the members of an organization (id or slug).
    Members { org: String },
}

fn print_org(o: &Organization) {
    let at = o
        .created_at
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    println!(
        "{}  {}  {}  created={at}  properties={}",
        o.id, o.slug, o.name, o.properties
    );
}

fn print_member(m: &Membership) {
    println!("{}  {}  {}", m.account_id, m.login, m.role);
}

/// Run one `warden org` command.
pub(crate) async fn org(cmd: OrgCmd, auth: &Auth) -> Result<(), Error> {
    let orgs = auth.organizations();
    let client = crate::cli_client();
    match cmd {
        OrgCmd::List { limit } => {
            let mut after = None;
            let mut left = limit;
            while left > 0 {
                let page = orgs.list_all(after, left.min(500)).await?;
                let Some(last) = page.last() else { break };
                after = Some(last.id);
                left = left.saturating_sub(page.len() as u32);
                page.iter().for_each(print_org);
                if page.len() < 500 {
                    break;
                }
            }
        }
        OrgCmd::Show { org } => {
            let o = orgs.resolve(&org).await?;
            print_org(&o);
            orgs.members_any(o.id).await?.iter().for_each(print_member);
        }
        OrgCmd::Create { slug, name, owner } => {
            let owner = crate::find(auth, &owner).await?;
            let new = NewOrganization {
                slug,
                name,
                properties: None,
            };
            print_org(&orgs.create(&owner, new, &client).await?);
        }
        OrgCmd::Delete { org } => {
            let o = orgs.resolve(&org).await?;
            orgs.delete_any(None, o.id, &client).await?;
            println!("deleted {} ({})", o.slug, o.id);
        }
        OrgCmd::Members { org } => {
            let o = orgs.resolve(&org).await?;
            orgs.members_any(o.id).await?.iter().for_each(print_member);
        }
    }
    Ok(())
}
