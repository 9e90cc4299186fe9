//! Backend-neutral conversions between domain values and column values, and
//! the mapping of `sqlx` errors to domain errors. A PostgreSQL backend reuses
//! all of it: columns hold plain integers, byte strings, text and UUIDs.

use time::OffsetDateTime;
use warden_core::error::Error;
use warden_core::store::Change;

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
                && is_contention(&code)
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
    }
}
