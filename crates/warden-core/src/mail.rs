//! Mail the engine sends (email verification, password reset, email change).
//!
//! The engine builds a [`MailContext`], asks a [`MailRenderer`] for the
//! [`Mail`] and hands it to a [`Mailer`]. No transport lives here: the server
//! provides SMTP and a dev outbox (`warden-server`'s `mail` module), an
//! application may provide its own. A mailer must not block the request that
//! sends: queue and retry in the background, and log failures without the link.

use crate::error::Result;
use async_trait::async_trait;

/// One message: plain text and, optionally, HTML.
#[derive(Clone, PartialEq, Eq)]
pub struct Mail {
    /// Recipient address.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML body (sent as `multipart/alternative` with the text).
    pub html: Option<String>,
}

impl std::fmt::Debug for Mail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The bodies hold single-use links: never print them.
        f.debug_struct("Mail")
            .field("to", &self.to)
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// Sends mail.
#[async_trait]
pub trait Mailer: Send + Sync {
    /// Send (or queue) one message. An error means it was not accepted.
    async fn send(&self, mail: Mail) -> Result<()>;

    /// Wait until every mail accepted so far has been delivered or given up
    /// (a flush hook for tests and shutdown; gives up after `limit`). Answers
    /// whether it did. A mailer that sends before `send` returns has nothing
    /// to wait for.
    async fn flush(&self, limit: std::time::Duration) -> bool {
        let _ = limit;
        true
    }
}

/// Which mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailKind {
    /// Confirm the account's email address.
    Verify,
    /// Set a new password.
    Reset,
    /// Confirm a new email address (sent to the new address).
    EmailChange,
    /// Join an organization (sent to the invited address).
    Invitation,
}

impl MailKind {
    /// The template name: `verify`, `reset`, `email-change`.
    pub fn name(self) -> &'static str {
        match self {
            MailKind::Verify => "verify",
            MailKind::Reset => "reset",
            MailKind::EmailChange => "email-change",
            MailKind::Invitation => "invitation",
        }
    }
}

/// What a mail template gets.
#[derive(Clone, PartialEq, Eq)]
pub struct MailContext {
    /// Which mail.
    pub kind: MailKind,
    /// Recipient address.
    pub to: String,
    /// The account's login.
    pub login: String,
    /// The link with the single-use token.
    pub link: String,
    /// The token alone (for apps that let the user paste it).
    pub token: String,
    /// Minutes until the token expires.
    pub expires_minutes: i64,
    /// The organization's name (invitations; `None` for the other mails).
    /// `login` is then the inviter's login.
    pub organization: Option<String>,
}

impl std::fmt::Debug for MailContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailContext")
            .field("kind", &self.kind)
            .field("to", &self.to)
            .field("login", &self.login)
            .finish_non_exhaustive()
    }
}

/// Turns a [`MailContext`] into a [`Mail`].
pub trait MailRenderer: Send + Sync {
    /// Render one mail.
    fn render(&self, ctx: &MailContext) -> Result<Mail>;
}

/// Built-in plain-text mails (no HTML), for library users without templates.
#[derive(Debug, Clone, Copy, Default)]
pub struct PlainRenderer;

impl MailRenderer for PlainRenderer {
    fn render(&self, ctx: &MailContext) -> Result<Mail> {
        let (subject, what) = match ctx.kind {
            MailKind::Verify => ("Confirm your email address", "confirm your email address"),
            MailKind::Reset => ("Reset your password", "set a new password"),
            MailKind::EmailChange => (
                "Confirm your new email address",
                "confirm your new email address",
            ),
            MailKind::Invitation => (
                "You are invited to an organization",
                "join the organization",
            ),
        };
        Ok(Mail {
            to: ctx.to.clone(),
            subject: subject.to_owned(),
            text: format!(
                "Hello {},\n\nOpen this link to {what}:\n\n{}\n\nThe link works once and expires in {} minutes. \
                 If you did not ask for it, ignore this mail.\n",
                ctx.login, ctx.link, ctx.expires_minutes
            ),
            html: None,
        })
    }
}

/// The installed mailer and its renderer.
#[derive(Clone)]
pub(crate) struct MailSetup {
    pub(crate) mailer: std::sync::Arc<dyn Mailer>,
    pub(crate) renderer: std::sync::Arc<dyn MailRenderer>,
}
