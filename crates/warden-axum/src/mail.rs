//! Mail transports and the templates of the mails (cargo feature `smtp`, on
//! by default; [`crate::config::Config`] picks one from `WARDEN_SMTP_*`).
//!
//! - [`SmtpMailer`] sends over SMTP with lettre (`WARDEN_SMTP_URL`);
//! - [`OutboxMailer`], used without SMTP, writes each mail as an `.eml` file
//!   into `WARDEN_OUTBOX_DIR` and logs where (mail is never silently dropped);
//! - [`QueuedMailer`] puts either behind a bounded queue drained by a
//!   background task that retries with exponential backoff, so that sending
//!   never blocks or fails an HTTP request. Outcomes are counted in
//!   `warden_mail_sent_total` and `warden_mail_failures_total`; failures are
//!   logged with the recipient and subject, never the body (it holds the link).
//! - [`Templates`] renders the mails from minijinja templates embedded in the
//!   binary (`verify`, `reset`, `email-change`, `invitation`, each `.txt` and `.html`), any
//!   of which a file of the same name in `WARDEN_TEMPLATE_DIR` replaces.

use async_trait::async_trait;
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use warden_core::error::{Error, Result};
use warden_core::mail::{Mail, MailContext, MailKind, MailRenderer, Mailer};

/// Mails waiting in the queue at most; more are refused (and counted as failures).
pub const QUEUE_CAPACITY: usize = 1024;

/// Waits before the second, third and fourth try of a mail.
pub const RETRY_DELAYS: [Duration; 3] = [
    Duration::from_secs(1),
    Duration::from_secs(4),
    Duration::from_secs(16),
];

// ------------------------------------------------------------------ templates

const BUILTIN: &[(&str, &str)] = &[
    ("verify.txt", include_str!("../templates/mail/verify.txt")),
    ("verify.html", include_str!("../templates/mail/verify.html")),
    ("reset.txt", include_str!("../templates/mail/reset.txt")),
    ("reset.html", include_str!("../templates/mail/reset.html")),
    (
        "email-change.txt",
        include_str!("../templates/mail/email-change.txt"),
    ),
    (
        "email-change.html",
        include_str!("../templates/mail/email-change.html"),
    ),
    (
        "invitation.txt",
        include_str!("../templates/mail/invitation.txt"),
    ),
    (
        "invitation.html",
        include_str!("../templates/mail/invitation.html"),
    ),
];

/// The mail templates (HTML ones autoescaped).
pub struct Templates {
    env: minijinja::Environment<'static>,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates").finish_non_exhaustive()
    }
}

fn subject(kind: MailKind) -> &'static str {
    match kind {
        MailKind::Verify => "Confirm your email address",
        MailKind::Reset => "Reset your password",
        MailKind::EmailChange => "Confirm your new email address",
        MailKind::Invitation => "You are invited to join an organization",
    }
}

impl Templates {
    /// The built-in templates, each replaced by the file of the same name in
    /// `dir` when there is one. Every template is compiled now, so a broken
    /// override fails at start-up.
    pub fn load(dir: Option<&Path>) -> std::result::Result<Self, String> {
        let mut env = minijinja::Environment::new();
        for (name, builtin) in BUILTIN {
            let source = match dir.map(|d| d.join(name)) {
                Some(path) if path.exists() => std::fs::read_to_string(&path)
                    .map_err(|e| format!("WARDEN_TEMPLATE_DIR: {}: {e}", path.display()))?,
                _ => (*builtin).to_owned(),
            };
            env.add_template_owned(*name, source)
                .map_err(|e| format!("mail template {name}: {e}"))?;
        }
        Ok(Self { env })
    }
}

impl MailRenderer for Templates {
    fn render(&self, ctx: &MailContext) -> Result<Mail> {
        let values = minijinja::context! {
            login => ctx.login.as_str(),
            to => ctx.to.as_str(),
            link => ctx.link.as_str(),
            token => ctx.token.as_str(),
            expires_minutes => ctx.expires_minutes,
            organization => ctx.organization.as_deref(),
        };
        let render = |ext: &str| -> Result<String> {
            let name = format!("{}.{ext}", ctx.kind.name());
            self.env
                .get_template(&name)
                .and_then(|t| t.render(&values))
                .map_err(|e| Error::Internal(format!("mail template {name}: {e}")))
        };
        Ok(Mail {
            to: ctx.to.clone(),
            subject: subject(ctx.kind).to_owned(),
            text: render("txt")?,
            html: Some(render("html")?),
        })
    }
}

// ------------------------------------------------------------------ messages

fn mailbox(s: &str, what: &str) -> Result<Mailbox> {
    s.parse::<Mailbox>()
        .map_err(|e| Error::BadRequest(format!("{what} {s:?}: {e}")))
}

fn message(from: &Mailbox, mail: &Mail) -> Result<Message> {
    let builder = Message::builder()
        .from(from.clone())
        .to(mailbox(&mail.to, "recipient")?)
        .subject(mail.subject.clone());
    let built = match &mail.html {
        Some(html) => builder.multipart(MultiPart::alternative_plain_html(
            mail.text.clone(),
            html.clone(),
        )),
        None => builder.singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_PLAIN)
                .body(mail.text.clone()),
        ),
    };
    built.map_err(|e| Error::Internal(format!("building the mail: {e}")))
}

// ------------------------------------------------------------------ SMTP

/// How to reach the SMTP server.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpSettings {
    /// Host name or address.
    pub host: String,
    /// Port.
    pub port: u16,
    /// TLS mode.
    pub tls: SmtpTls,
    /// User and password, if any.
    pub credentials: Option<(String, String)>,
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("user", &self.credentials.as_ref().map(|c| &c.0))
            .finish()
    }
}

/// TLS of an SMTP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// None (`smtp://host:port`): only for a relay on a trusted network.
    None,
    /// STARTTLS, required (`smtp://host:port?tls=starttls`).
    StartTls,
    /// Implicit TLS (`smtps://host:port`).
    Implicit,
}

fn percent_decode(s: &str) -> std::result::Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or("bad %-escape")?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "not UTF-8".to_owned())
}

impl SmtpSettings {
    /// Parse `smtp://[user:pass@]host[:port][?tls=starttls|none]` or
    /// `smtps://[user:pass@]host[:port]` (ports default to 25, 587 with
    /// STARTTLS, 465 with implicit TLS). The error never repeats the password.
    pub fn parse(url: &str) -> std::result::Result<Self, String> {
        let err = |m: &str| format!("WARDEN_SMTP_URL: {m}");
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| err("expected smtp://... or smtps://..."))?;
        let (rest, query) = match rest.split_once('?') {
            Some((r, q)) => (r, Some(q)),
            None => (rest, None),
        };
        let rest = rest.trim_end_matches('/');
        let mut tls = match scheme {
            "smtp" => SmtpTls::None,
            "smtps" => SmtpTls::Implicit,
            _ => return Err(err("the scheme must be smtp or smtps")),
        };
        for pair in query
            .unwrap_or_default()
            .split('&')
            .filter(|p| !p.is_empty())
        {
            match pair.split_once('=') {
                Some(("tls", "starttls" | "required")) if tls == SmtpTls::None => {
                    tls = SmtpTls::StartTls
                }
                Some(("tls", "none")) if tls == SmtpTls::None => {}
                _ => {
                    return Err(err(
                        "the only query parameter is tls=starttls (with smtp://)",
                    ));
                }
            }
        }
        let (userinfo, hostport) = match rest.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, rest),
        };
        let credentials = match userinfo {
            Some(u) => {
                let (user, pass) = u.split_once(':').unwrap_or((u, ""));
                Some((
                    percent_decode(user).map_err(|e| err(&format!("user: {e}")))?,
                    percent_decode(pass).map_err(|_| err("password: bad %-escape"))?,
                ))
            }
            None => None,
        };
        let default_port = match tls {
            SmtpTls::None => 25,
            SmtpTls::StartTls => 587,
            SmtpTls::Implicit => 465,
        };
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || !p.is_empty() => {
                (h, p.parse::<u16>().map_err(|_| err("bad port"))?)
            }
            _ => (hostport, default_port),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err(err("no host"));
        }
        Ok(Self {
            host: host.to_owned(),
            port,
            tls,
            credentials,
        })
    }
}

/// Sends mail over SMTP (a pooled lettre transport).
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpMailer")
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

impl SmtpMailer {
    /// A mailer for `WARDEN_SMTP_URL` and `WARDEN_SMTP_FROM`.
    pub fn new(url: &str, from: &str) -> std::result::Result<Self, String> {
        let s = SmtpSettings::parse(url)?;
        let from = mailbox(from, "WARDEN_SMTP_FROM").map_err(|e| e.to_string())?;
        let builder = match s.tls {
            SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&s.host),
            SmtpTls::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&s.host)
                .map_err(|e| format!("WARDEN_SMTP_URL: {e}"))?,
            SmtpTls::Implicit => AsyncSmtpTransport::<Tokio1Executor>::relay(&s.host)
                .map_err(|e| format!("WARDEN_SMTP_URL: {e}"))?,
        };
        let mut builder = builder.port(s.port).timeout(Some(Duration::from_secs(15)));
        if let Some((user, pass)) = s.credentials {
            builder = builder.credentials(Credentials::new(user, pass));
        }
        Ok(Self {
            transport: builder.build(),
            from,
        })
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, mail: Mail) -> Result<()> {
        let msg = message(&self.from, &mail)?;
        self.transport
            .send(msg)
            .await
            .map(|_| ())
            .map_err(|e| Error::Unavailable(format!("SMTP: {e}")))
    }
}

// ------------------------------------------------------------------ outbox

/// Writes each mail as an `.eml` file into a folder (development: no SMTP).
#[derive(Debug)]
pub struct OutboxMailer {
    dir: PathBuf,
    from: Mailbox,
}

impl OutboxMailer {
    /// A mailer writing into `dir` (created on first use).
    pub fn new(dir: impl Into<PathBuf>, from: &str) -> std::result::Result<Self, String> {
        Ok(Self {
            dir: dir.into(),
            from: mailbox(from, "WARDEN_SMTP_FROM").map_err(|e| e.to_string())?,
        })
    }
}

#[async_trait]
impl Mailer for OutboxMailer {
    async fn send(&self, mail: Mail) -> Result<()> {
        let msg = message(&self.from, &mail)?;
        tokio::fs::create_dir_all(&self.dir)
            .await
            .map_err(|e| Error::Internal(format!("outbox {}: {e}", self.dir.display())))?;
        let stamp = time::OffsetDateTime::now_utc().unix_timestamp();
        let file = self
            .dir
            .join(format!("{stamp}-{}.eml", uuid::Uuid::now_v7().simple()));
        tokio::fs::write(&file, msg.formatted())
            .await
            .map_err(|e| Error::Internal(format!("outbox {}: {e}", file.display())))?;
        tracing::info!(
            "mail to {} subject {:?} written to {}",
            mail.to,
            mail.subject,
            file.display()
        );
        Ok(())
    }
}

// ------------------------------------------------------------------ queue

/// A bounded queue in front of a mailer, drained by a background task that
/// tries each mail up to `1 + delays.len()` times.
pub struct QueuedMailer {
    tx: tokio::sync::mpsc::Sender<Mail>,
    /// Mails accepted and not yet delivered or given up.
    pending: Arc<std::sync::atomic::AtomicUsize>,
}

impl std::fmt::Debug for QueuedMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueuedMailer").finish_non_exhaustive()
    }
}

impl QueuedMailer {
    /// Start the sender task (needs a Tokio runtime). At most 8 mails are in
    /// flight at once.
    pub fn spawn(inner: Arc<dyn Mailer>, capacity: usize, delays: Vec<Duration>) -> Self {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Mail>(capacity.max(1));
        metrics::counter!("warden_mail_sent_total").increment(0);
        metrics::counter!("warden_mail_failures_total").increment(0);
        let delays: Arc<[Duration]> = delays.into();
        let slots = Arc::new(tokio::sync::Semaphore::new(8));
        let pending = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let done = Arc::clone(&pending);
        tokio::spawn(async move {
            while let Some(mail) = rx.recv().await {
                let Ok(permit) = slots.clone().acquire_owned().await else {
                    break;
                };
                let inner = inner.clone();
                let delays = delays.clone();
                let done = Arc::clone(&done);
                tokio::spawn(async move {
                    deliver(inner.as_ref(), mail, &delays).await;
                    done.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
                    drop(permit);
                });
            }
        });
        Self { tx, pending }
    }
}

async fn deliver(inner: &dyn Mailer, mail: Mail, delays: &[Duration]) {
    let (to, subject) = (mail.to.clone(), mail.subject.clone());
    let mut tries = 0;
    loop {
        tries += 1;
        match inner.send(mail.clone()).await {
            Ok(()) => {
                metrics::counter!("warden_mail_sent_total").increment(1);
                return;
            }
            Err(e) => match delays.get(tries - 1) {
                Some(wait) => {
                    tracing::warn!(%to, %subject, tries, error = %e, "mail not sent; retrying");
                    tokio::time::sleep(*wait).await;
                }
                None => {
                    metrics::counter!("warden_mail_failures_total").increment(1);
                    tracing::error!(%to, %subject, tries, error = %e, "mail not sent; giving up");
                    return;
                }
            },
        }
    }
}

#[async_trait]
impl Mailer for QueuedMailer {
    async fn send(&self, mail: Mail) -> Result<()> {
        use std::sync::atomic::Ordering;
        let (to, subject) = (mail.to.clone(), mail.subject.clone());
        self.pending.fetch_add(1, Ordering::AcqRel);
        self.tx.try_send(mail).map_err(|_| {
            self.pending.fetch_sub(1, Ordering::AcqRel);
            metrics::counter!("warden_mail_failures_total").increment(1);
            tracing::error!(%to, %subject, "mail queue full or closed; mail not sent");
            Error::Unavailable("mail queue full".into())
        })
    }

    async fn flush(&self, limit: Duration) -> bool {
        let pending = || self.pending.load(std::sync::atomic::Ordering::Acquire);
        warden_core::flush::wait_until(limit, || pending() == 0).await
    }
}

/// A mailer and the renderer of its mails.
pub type MailSetup = (Arc<dyn Mailer>, Arc<dyn MailRenderer>);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn smtp_urls() {
        let s = SmtpSettings::parse("smtp://us%40er:p%3Ass@mail.example.com:2525").unwrap();
        assert_eq!(s.host, "mail.example.com");
        assert_eq!(s.port, 2525);
        assert_eq!(s.tls, SmtpTls::None);
        assert_eq!(s.credentials, Some(("us@er".into(), "p:ss".into())));
        let s = SmtpSettings::parse("smtps://relay.example.com").unwrap();
        assert_eq!(
            (s.port, s.tls, s.credentials),
            (465, SmtpTls::Implicit, None)
        );
        let s = SmtpSettings::parse("smtp://relay:587?tls=starttls").unwrap();
        assert_eq!(
            (s.host.as_str(), s.port, s.tls),
            ("relay", 587, SmtpTls::StartTls)
        );
        assert_eq!(
            SmtpSettings::parse("smtp://relay?tls=starttls")
                .unwrap()
                .port,
            587
        );
        assert_eq!(SmtpSettings::parse("smtp://127.0.0.1").unwrap().port, 25);
        for bad in [
            "http://x",
            "smtp://",
            "smtp://h:x",
            "smtps://h?tls=starttls",
            "smtp://h?x=1",
        ] {
            assert!(SmtpSettings::parse(bad).is_err(), "{bad}");
        }
        let e = SmtpSettings::parse("smtp://u:secretpw@h:bad").unwrap_err();
        assert!(!e.contains("secretpw"));
    }

    #[test]
    fn templates_render_and_escape() {
        let t = Templates::load(None).unwrap();
        let m = t
            .render(&MailContext {
                kind: MailKind::Verify,
                to: "a@example.com".into(),
                login: "<b>alice</b>".into(),
                link: "http://x/auth/email/verify?token=abc".into(),
                token: "abc".into(),
                expires_minutes: 1440,
                organization: None,
            })
            .unwrap();
        assert!(m.text.contains("http://x/auth/email/verify?token=abc"));
        assert!(m.text.contains("<b>alice</b>"));
        let html = m.html.unwrap();
        assert!(html.contains("&lt;b&gt;alice"));
        assert_eq!(m.subject, "Confirm your email address");
    }

    #[test]
    fn template_dir_overrides() {
        let dir = std::env::temp_dir().join(format!("warden-tpl-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("reset.txt"), "RESET {{ link }}").unwrap();
        let t = Templates::load(Some(&dir)).unwrap();
        let m = t
            .render(&MailContext {
                kind: MailKind::Reset,
                to: "a@example.com".into(),
                login: "alice".into(),
                link: "L".into(),
                token: "T".into(),
                expires_minutes: 30,
                organization: None,
            })
            .unwrap();
        assert_eq!(m.text, "RESET L");
        std::fs::write(dir.join("verify.html"), "{% if %}").unwrap();
        assert!(Templates::load(Some(&dir)).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
