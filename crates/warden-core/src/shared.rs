//! What every service of the engine shares: the settings, the clock, the
//! application hooks, the token issuer, the password hasher and the mailer.

use crate::clock::Clock;
use crate::hooks::Hooks;
use crate::mail::MailSetup;
use crate::model::{AccountId, AuditEvent, ClientInfo};
use crate::password::Hasher;
use crate::settings::Settings;
use crate::token::Tokens;
use parking_lot::RwLock;
use std::sync::Arc;
use time::OffsetDateTime;

/// The pieces shared by every service; one per engine.
pub(crate) struct Shared {
    pub(crate) settings: Settings,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) hooks: RwLock<Hooks>,
    pub(crate) tokens: Tokens,
    pub(crate) hasher: Hasher,
    pub(crate) mail: RwLock<Option<MailSetup>>,
}

impl Shared {
    /// The clock's time.
    pub(crate) fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    /// The installed application hooks.
    pub(crate) fn hooks(&self) -> Hooks {
        self.hooks.read().clone()
    }

    /// The installed mailer, if any.
    pub(crate) fn mail_setup(&self) -> Option<MailSetup> {
        self.mail.read().clone()
    }

    /// An audit event at the clock's time, naming the actor of `client`.
    pub(crate) fn audit(
        &self,
        event: &str,
        account: Option<AccountId>,
        client: &ClientInfo,
        mut detail: serde_json::Value,
    ) -> AuditEvent {
        if let (Some(actor), Some(map)) = (&client.actor, detail.as_object_mut()) {
            use crate::model::Actor;
            let (name, id) = match actor {
                Actor::Account { id, login } => (login.clone(), Some(id.to_string())),
                Actor::AdminSecret => ("admin_secret".to_owned(), None),
                Actor::Cli => ("cli".to_owned(), None),
            };
            map.entry("actor")
                .or_insert(serde_json::Value::String(name));
            if let Some(id) = id {
                map.entry("actor_id")
                    .or_insert(serde_json::Value::String(id));
            }
        }
        AuditEvent {
            at: self.now(),
            account_id: account,
            event: event.to_owned(),
            ip: client.ip.clone(),
            user_agent: client.user_agent.clone(),
            detail,
        }
    }
}
