//! `warden client …`: the OpenID Provider's OAuth clients from the command
//! line (the same operations as `/auth/admin/oauth-clients`, audited with
//! the actor `cli`).

use clap::Subcommand;
use warden_core::provider::clients::{ClientPatch, NewClient};
use warden_core::store::OAuthClient;
use warden_core::{Auth, Error};

/// Client subcommands.
#[derive(Subcommand)]
pub(crate) enum ClientCmd {
    /// Register a client; a confidential client's secret is printed once.
    Create {
        /// Display name ("Signed in to <name>").
        #[arg(long)]
        name: String,
        /// A redirect URI (repeat for more; exact match, loopback any port).
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
        /// A post-logout redirect URI (repeat for more).
        #[arg(long = "post-logout-redirect-uri")]
        post_logout_redirect_uris: Vec<String>,
        /// A grant type (repeat; default authorization_code and refresh_token).
        #[arg(long = "grant-type")]
        grant_types: Vec<String>,
        /// An account scope the client may ask for (repeat).
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// A public client (no secret, PKCE required).
        #[arg(long)]
        public: bool,
        /// Pre-consented: no consent page.
        #[arg(long)]
        first_party: bool,
    },
    /// List clients.
    List,
    /// Show one client.
    Show {
        /// Client id.
        client_id: String,
    },
    /// Change a client (only the options given).
    Update {
        /// Client id.
        client_id: String,
        /// New name.
        #[arg(long)]
        name: Option<String>,
        /// Replace the redirect URIs (repeat).
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
        /// Replace the post-logout redirect URIs (repeat).
        #[arg(long = "post-logout-redirect-uri")]
        post_logout_redirect_uris: Vec<String>,
        /// Replace the grant types (repeat).
        #[arg(long = "grant-type")]
        grant_types: Vec<String>,
        /// Replace the scopes (repeat).
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// Set or clear first-party (`true` / `false`).
        #[arg(long)]
        first_party: Option<bool>,
    },
    /// Delete a client and revoke every token issued to it.
    Delete {
        /// Client id.
        client_id: String,
    },
    /// Replace a confidential client's secret (printed once).
    RotateSecret {
        /// Client id.
        client_id: String,
    },
}

fn print_client(c: &OAuthClient) {
    println!("client_id:     {}", c.client_id);
    println!("name:          {}", c.name);
    println!(
        "type:          {}",
        if c.public { "public" } else { "confidential" }
    );
    println!("first_party:   {}", c.first_party);
    println!("grant_types:   {}", c.grant_types.join(" "));
    println!("scopes:        {}", c.scopes.join(" "));
    for r in &c.redirect_uris {
        println!("redirect_uri:  {r}");
    }
    for r in &c.post_logout_redirect_uris {
        println!("post_logout:   {r}");
    }
}

fn some(v: Vec<String>) -> Option<Vec<String>> {
    (!v.is_empty()).then_some(v)
}

/// Run a client subcommand.
pub(crate) async fn run(cmd: ClientCmd, auth: &Auth) -> Result<(), Error> {
    let p = auth.provider();
    let by = crate::cli_client();
    match cmd {
        ClientCmd::Create {
            name,
            redirect_uris,
            post_logout_redirect_uris,
            grant_types,
            scopes,
            public,
            first_party,
        } => {
            let new = NewClient {
                name,
                redirect_uris,
                post_logout_redirect_uris,
                grant_types: some(grant_types),
                scopes,
                public,
                first_party,
            };
            let made = p.create_client(new, &by).await?;
            print_client(&made.client);
            if let Some(secret) = made.secret {
                println!("client_secret: {secret}");
                println!("(the secret is shown only now)");
            }
        }
        ClientCmd::List => {
            for c in p.clients().await? {
                let kind = if c.public { "public" } else { "confidential" };
                println!("{}\t{kind}\t{}", c.client_id, c.name);
            }
        }
        ClientCmd::Show { client_id } => print_client(&p.client(&client_id).await?),
        ClientCmd::Update {
            client_id,
            name,
            redirect_uris,
            post_logout_redirect_uris,
            grant_types,
            scopes,
            first_party,
        } => {
            let patch = ClientPatch {
                name,
                redirect_uris: some(redirect_uris),
                post_logout_redirect_uris: some(post_logout_redirect_uris),
                grant_types: some(grant_types),
                scopes: some(scopes),
                first_party,
            };
            print_client(&p.update_client(&client_id, patch, &by).await?);
        }
        ClientCmd::Delete { client_id } => {
            p.delete_client(&client_id, &by).await?;
            println!("deleted {client_id}; its tokens are revoked");
        }
        ClientCmd::RotateSecret { client_id } => {
            let secret = p.rotate_secret(&client_id, &by).await?;
            println!("client_secret: {secret}");
            println!("(the secret is shown only now; the old one no longer works)");
        }
    }
    Ok(())
}
