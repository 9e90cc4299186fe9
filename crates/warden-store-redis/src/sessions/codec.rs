//! Keys, and a session to and from its Redis hash.
//!
//! A session is the hash `<prefix>s:<sid>`: `body` (the serde JSON of the
//! whole [`Session`] as created), the fields a write changes later (`seen`,
//! `ip`, `ua`, `rev`), which override the body on reading, and the index
//! fields the scripts read (`acc`, `exp`). Times are nanoseconds since the
//! epoch in decimal.

use std::collections::HashMap;
use time::OffsetDateTime;
use warden_core::Error;
use warden_core::error::Result;
use warden_core::model::{AccountId, Session, SessionId};

/// The key names of one prefix.
#[derive(Debug, Clone)]
pub(crate) struct Keys {
    pub(crate) prefix: String,
}

impl Keys {
    pub(crate) fn session(&self, id: SessionId) -> String {
        format!("{}s:{}", self.prefix, id.0)
    }
    pub(crate) fn tokens_of(&self, id: SessionId) -> String {
        format!("{}st:{}", self.prefix, id.0)
    }
    pub(crate) fn token(&self, hash: &[u8; 32]) -> String {
        format!("{}rt:{}", self.prefix, hex(hash))
    }
    pub(crate) fn account(&self, id: AccountId) -> String {
        format!("{}as:{}", self.prefix, id.0)
    }
    pub(crate) fn ends(&self) -> String {
        format!("{}ends", self.prefix)
    }
}

/// Lower-case hex of a token hash (the member of a token set).
pub(crate) fn hex(hash: &[u8; 32]) -> String {
    use std::fmt::Write as _;
    hash.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Nanoseconds since the epoch, in decimal.
pub(crate) fn nanos(t: OffsetDateTime) -> String {
    t.unix_timestamp_nanos().to_string()
}

/// [`nanos`] clamped at 0, for the fields the scripts compare as strings.
pub(crate) fn index_nanos(t: OffsetDateTime) -> String {
    t.unix_timestamp_nanos().max(0).to_string()
}

/// Milliseconds since the epoch.
pub(crate) fn millis(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos().div_euclid(1_000_000)).unwrap_or(i64::MAX)
}

fn time_of(v: &str) -> Result<OffsetDateTime> {
    let n: i128 = v
        .parse()
        .map_err(|_| Error::Internal(format!("redis session: bad time {v:?}")))?;
    OffsetDateTime::from_unix_timestamp_nanos(n).map_err(Error::internal)
}

pub(crate) fn sid_of(v: &str) -> Result<SessionId> {
    v.parse::<uuid::Uuid>()
        .map(SessionId)
        .map_err(|_| Error::Internal(format!("redis session: bad id {v:?}")))
}

pub(crate) fn account_of(v: &str) -> Result<AccountId> {
    v.parse::<uuid::Uuid>()
        .map(AccountId)
        .map_err(|_| Error::Internal(format!("redis session: bad account id {v:?}")))
}

/// The field/value pairs of a new session's hash.
pub(crate) fn fields(s: &Session) -> Result<Vec<(String, String)>> {
    let body = serde_json::to_string(s).map_err(Error::internal)?;
    let mut out = vec![
        ("body".to_owned(), body),
        ("acc".to_owned(), s.account_id.0.to_string()),
        ("exp".to_owned(), index_nanos(s.expires_at)),
        ("crt".to_owned(), index_nanos(s.created_at)),
    ];
    out.extend(changed_fields(s.last_seen_at, s.ip.as_deref(), s.user_agent.as_deref()).0);
    if let Some(r) = s.revoked_at {
        out.push(("rev".to_owned(), index_nanos(r)));
    }
    Ok(out)
}

/// The pairs a use of the session sets, and the fields it deletes (an
/// absent IP or user agent).
pub(crate) fn changed_fields(
    seen: OffsetDateTime,
    ip: Option<&str>,
    user_agent: Option<&str>,
) -> (Vec<(String, String)>, Vec<&'static str>) {
    let mut set = vec![("seen".to_owned(), nanos(seen))];
    let mut del = Vec::new();
    for (name, v) in [("ip", ip), ("ua", user_agent)] {
        match v {
            Some(v) => set.push((name.to_owned(), v.to_owned())),
            None => del.push(name),
        }
    }
    (set, del)
}

/// A session from its hash (`HGETALL`); `None` for an empty (absent) hash.
pub(crate) fn decode(h: &HashMap<String, String>) -> Result<Option<Session>> {
    let Some(body) = h.get("body") else {
        return Ok(None);
    };
    let mut s: Session = serde_json::from_str(body).map_err(Error::internal)?;
    if let Some(seen) = h.get("seen") {
        s.last_seen_at = time_of(seen)?;
    }
    s.ip = h.get("ip").cloned();
    s.user_agent = h.get("ua").cloned();
    s.revoked_at = h.get("rev").map(|r| time_of(r)).transpose()?;
    Ok(Some(s))
}

/// [`decode`] of the flat `HGETALL` list a script returns.
pub(crate) fn decode_flat(flat: Vec<String>) -> Result<Option<Session>> {
    let mut h = HashMap::with_capacity(flat.len() / 2);
    let mut it = flat.into_iter();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        h.insert(k, v);
    }
    decode(&h)
}
