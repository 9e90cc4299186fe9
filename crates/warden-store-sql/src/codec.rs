//! Backend-neutral conversions between domain values and column values, the
//! lockout-counter rules, and the mapping of `sqlx` errors to domain errors.
//! The SQLite and PostgreSQL backends share all of it: columns hold plain
//! integers, byte strings, text and UUIDs.

use time::OffsetDateTime;
use warden_core::error::{Error, Result};
use warden_core::model::{Account, normalize_email};
use warden_core::store::{AttemptGate, Change};

/// Column value of a timestamp: unix nanoseconds (UTC).
pub(crate) fn ts(t: OffsetDateTime) -> Result<i64, Error> {
    i64::try_from(t.unix_timestamp_nanos())
        .map_err(|_| Error::Internal(format!("timestamp out of range: {t}")))
}

/// Optional timestamp column value.
pub(crate) fn ts_opt(t: Option<OffsetDateTime>) -> Result<Option<i64>, Error> {
    t.map(ts).transpose()
}

/// Timestamp from its column value.
pub(crate) fn from_ts(nanos: i64) -> Result<OffsetDateTime, Error> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(nanos)).map_err(Error::internal)
}

/// Optional timestamp from its column value.
pub(crate) fn from_ts_opt(nanos: Option<i64>) -> Result<Option<OffsetDateTime>, Error> {
    nanos.map(from_ts).transpose()
}

/// A list of strings as JSON text.
pub(crate) fn json_list(v: &[String]) -> Result<String, Error> {
    serde_json::to_string(v).map_err(Error::internal)
}

/// A list of strings from JSON text.
pub(crate) fn from_json_list(s: &str) -> Result<Vec<String>, Error> {
    serde_json::from_str(s).map_err(Error::internal)
}

/// A JSON value as text.
pub(crate) fn json_value(v: &serde_json::Value) -> Result<String, Error> {
    serde_json::to_string(v).map_err(Error::internal)
}

/// A JSON value from text.
pub(crate) fn from_json_value(s: &str) -> Result<serde_json::Value, Error> {
    serde_json::from_str(s).map_err(Error::internal)
}

/// A count column (non-negative) as `u32`.
pub(crate) fn count(v: i64) -> u32 {
    u32::try_from(v.max(0)).unwrap_or(u32::MAX)
}

/// Feed `kind` column values.
pub(crate) const KIND_SESSION_REVOKED: &str = "session_revoked";
/// Feed `kind` column values.
pub(crate) const KIND_ACCOUNT_CHANGED: &str = "account_changed";
/// Feed `kind` column values.
pub(crate) const KIND_API_KEY_REVOKED: &str = "api_key_revoked";

/// Kind, session id and account id columns of a feed entry.
pub(crate) fn feed_columns(change: &Change) -> (&'static str, Option<uuid::Uuid>, uuid::Uuid) {
    match change {
        Change::SessionRevoked(sid, aid) => (KIND_SESSION_REVOKED, Some(sid.0), aid.0),
        Change::AccountChanged(aid) => (KIND_ACCOUNT_CHANGED, None, aid.0),
        Change::ApiKeyRevoked(kid, aid) => (KIND_API_KEY_REVOKED, Some(kid.0), aid.0),
    }
}

/// A feed change from its columns.
pub(crate) fn feed_change(
    kind: &str,
    id: Option<uuid::Uuid>,
    account: uuid::Uuid,
) -> Result<Change, Error> {
    use warden_core::model::{AccountId, ApiKeyId, SessionId};
    match (kind, id) {
        (KIND_SESSION_REVOKED, Some(sid)) => {
            Ok(Change::SessionRevoked(SessionId(sid), AccountId(account)))
        }
        (KIND_ACCOUNT_CHANGED, _) => Ok(Change::AccountChanged(AccountId(account))),
        (KIND_API_KEY_REVOKED, Some(kid)) => {
            Ok(Change::ApiKeyRevoked(ApiKeyId(kid), AccountId(account)))
        }
        _ => Err(Error::Internal(format!("bad feed entry kind {kind:?}"))),
    }
}

/// Escape `%`, `_` and the escape character itself for `LIKE ... ESCAPE '\'`.
pub(crate) fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Map a `sqlx` error: unique violations on `login_key` / `email_key` become
/// `LoginTaken` / `EmailTaken`; pool, I/O and lock contention errors become
/// `Unavailable`; everything else `Internal`.
pub(crate) fn db_err(e: sqlx::Error) -> Error {
    match &e {
        sqlx::Error::Database(d) => {
            if d.is_unique_violation() {
                let what = d.constraint().unwrap_or_else(|| d.message());
                if what.contains("login_key") {
                    return Error::LoginTaken;
                }
                if what.contains("email_key") {
                    return Error::EmailTaken;
                }
                return Error::Internal(e.to_string());
            }
            if let Some(code) = d.code()
                && (is_contention(&code) || is_pg_unavailable(&code))
            {
                return Error::Unavailable(e.to_string());
            }
            Error::Internal(e.to_string())
        }
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => Error::Unavailable(e.to_string()),
        _ => Error::Internal(e.to_string()),
    }
}

/// SQLite `SQLITE_BUSY` / `SQLITE_LOCKED` (with extended codes), PostgreSQL
/// serialization failure, deadlock and lock-not-available.
fn is_contention(code: &str) -> bool {
    if matches!(code, "40001" | "40P01" | "55P03") {
        return true;
    }
    code.parse::<i64>().is_ok_and(|n| matches!(n & 0xff, 5 | 6))
}

/// Column values of an account that are computed from it.
pub(crate) struct AccountCols {
    pub(crate) email_key: Option<String>,
    pub(crate) scopes: String,
    pub(crate) properties: String,
    pub(crate) password_changed_at: i64,
    pub(crate) created_at: i64,
    pub(crate) updated_at: i64,
}

impl AccountCols {
    pub(crate) fn of(a: &Account) -> Result<Self> {
        Ok(Self {
            email_key: a.email.as_deref().map(normalize_email),
            scopes: json_list(&a.scopes)?,
            properties: json_value(&a.properties)?,
            password_changed_at: ts(a.password_changed_at)?,
            created_at: ts(a.created_at)?,
            updated_at: ts(a.updated_at)?,
        })
    }
}

/// One lockout counter row.
#[derive(Default)]
pub(crate) struct Counter {
    pub(crate) failures: u32,
    pub(crate) in_flight: u32,
    pub(crate) locks: u32,
    pub(crate) locked_until: Option<OffsetDateTime>,
}

/// Same rules as the reference `MemoryStore`.
pub(crate) fn counter_begin(c: &mut Counter, now: OffsetDateTime, max: u32) -> AttemptGate {
    if let Some(until) = c.locked_until {
        if until > now {
            return AttemptGate::Locked(warden_core::limits::secs_until(now, until));
        }
        c.locked_until = None;
    }
    if c.failures.saturating_add(c.in_flight) >= max {
        // The budget is taken by attempts still being checked.
        return AttemptGate::Locked(1);
    }
    c.in_flight += 1;
    AttemptGate::Allowed
}

/// Same rules as the reference `MemoryStore`.
pub(crate) fn counter_failed(
    c: &mut Counter,
    now: OffsetDateTime,
    max: u32,
    base: u64,
) -> Option<u64> {
    c.in_flight = c.in_flight.saturating_sub(1);
    c.failures = c.failures.saturating_add(1);
    if c.failures >= max {
        let secs = warden_core::limits::lock_window(base, c.locks);
        c.locks = c.locks.saturating_add(1);
        c.failures = 0;
        let secs_i64 = i64::try_from(secs).unwrap_or(i64::MAX);
        c.locked_until = Some(now.saturating_add(time::Duration::seconds(secs_i64)));
        return Some(secs);
    }
    None
}

/// PostgreSQL conditions of a server that cannot answer now: connection
/// exceptions (class 08), statement timeout or cancel (57014), shutdown
/// (57P01-57P03), too many connections or out of resources (53xxx).
/// (SQLite codes are decimal numbers below 10000, never five characters.)
fn is_pg_unavailable(code: &str) -> bool {
    code.len() == 5 && (code.starts_with("08") || code.starts_with("53") || code.starts_with("57"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip() {
        let t = OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_789).unwrap();
        assert_eq!(from_ts(ts(t).unwrap()).unwrap(), t);
        assert!(
            ts(OffsetDateTime::from_unix_timestamp(i64::from(i32::MAX) * 10).unwrap()).is_err()
        );
    }

    #[test]
    fn like_escapes() {
        assert_eq!(like_escape(r"a%b_c\d"), r"a\%b\_c\\d");
    }

    #[test]
    fn contention_codes() {
        assert!(is_contention("5"));
        assert!(is_contention("517"));
        assert!(is_contention("6"));
        assert!(!is_contention("19"));
        assert!(!is_contention("2067"));
        assert!(is_contention("40001"));
        assert!(is_pg_unavailable("57014"));
        assert!(is_pg_unavailable("08006"));
        assert!(!is_pg_unavailable("23505"));
        assert!(!is_pg_unavailable("5386"));
    }
}
