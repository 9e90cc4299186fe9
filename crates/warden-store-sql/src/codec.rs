//! Backend-neutral conversions between domain values and column values, the
//! lockout-counter rules, and the mapping of `sqlx` errors to domain errors.
//! The SQLite and PostgreSQL backends share all of it: columns hold plain
//! integers, byte strings, text and UUIDs.

use time::OffsetDateTime;
use warden_core::error::{Error, Result};
use warden_core::model::{Account, AppSubject, normalize_email};
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

/// An optional list of strings as JSON text (`None` stays NULL).
pub(crate) fn json_list_opt(v: Option<&[String]>) -> Result<Option<String>, Error> {
    v.map(json_list).transpose()
}

/// An optional list of strings from JSON text (NULL is `None`).
pub(crate) fn from_json_list_opt(s: Option<String>) -> Result<Option<Vec<String>>, Error> {
    s.as_deref().map(from_json_list).transpose()
}

/// A JSON value as text.
pub(crate) fn json_value(v: &serde_json::Value) -> Result<String, Error> {
    serde_json::to_string(v).map_err(Error::internal)
}

/// A JSON value from text.
pub(crate) fn from_json_value(s: &str) -> Result<serde_json::Value, Error> {
    serde_json::from_str(s).map_err(Error::internal)
}

/// The app subject of a session as JSON text (`None` stays NULL).
pub(crate) fn app_subject(v: Option<&AppSubject>) -> Result<Option<String>, Error> {
    v.map(|a| serde_json::to_string(a).map_err(Error::internal))
        .transpose()
}

/// The app subject of a session from JSON text (NULL is `None`).
pub(crate) fn from_app_subject(s: Option<String>) -> Result<Option<AppSubject>, Error> {
    s.as_deref()
        .map(|s| serde_json::from_str(s).map_err(Error::internal))
        .transpose()
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
/// Feed `kind` column values.
pub(crate) const KIND_ORG_CLAIMS_REVOKED: &str = "org_claims_revoked";

/// Kind, session id and account id columns of a feed entry.
pub(crate) fn feed_columns(change: &Change) -> (&'static str, Option<uuid::Uuid>, uuid::Uuid) {
    match change {
        Change::SessionRevoked(sid, aid) => (KIND_SESSION_REVOKED, Some(sid.0), aid.0),
        Change::AccountChanged(aid) => (KIND_ACCOUNT_CHANGED, None, aid.0),
        Change::ApiKeyRevoked(kid, aid) => (KIND_API_KEY_REVOKED, Some(kid.0), aid.0),
        Change::OrgClaimsRevoked(sid, aid) => (KIND_ORG_CLAIMS_REVOKED, Some(sid.0), aid.0),
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
        (KIND_ORG_CLAIMS_REVOKED, Some(sid)) => {
            Ok(Change::OrgClaimsRevoked(SessionId(sid), AccountId(account)))
        }
        (KIND_API_KEY_REVOKED, Some(kid)) => {
            Ok(Change::ApiKeyRevoked(ApiKeyId(kid), AccountId(account)))
        }
        _ => Err(Error::Internal(format!("bad feed entry kind {kind:?}"))),
    }
}

/// The escape character of `LIKE` patterns (`ESCAPE '!'`: the same on every
/// database, unlike a backslash, which MySQL string literals treat specially).
pub(crate) const LIKE_ESCAPE: char = '!';

/// Escape `%`, `_` and the escape character itself for `LIKE ... ESCAPE '!'`.
pub(crate) fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        if matches!(c, '%' | '_' | LIKE_ESCAPE) {
            out.push(LIKE_ESCAPE);
        }
        out.push(c);
    }
    out
}

/// Whether a text value can be stored and looked up on every database
/// (PostgreSQL text cannot hold U+0000). A lookup by a key with a NUL finds
/// nothing, without asking the database.
pub(crate) fn storable(s: &str) -> bool {
    !s.contains('\0')
}

/// The message of errors about text with a NUL character.
pub(crate) const NUL_MESSAGE: &str = "text must not contain NUL characters";

/// How a database error is classified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    /// The database cannot answer now (503 + Retry-After).
    Unavailable,
    /// Text the database cannot store (a NUL character).
    BadText,
    /// A unique violation (told apart by its constraint).
    Unique,
    /// Anything else.
    Other,
}

/// PostgreSQL SQLSTATE codes: connection exceptions (class 08), insufficient
/// resources (53), operator intervention (57: shutdown 57P01-57P03, cancel
/// or statement timeout 57014), serialization failure and deadlock (40001,
/// 40P01), lock not available (55P03) and "not currently accepting
/// connections" (55000 about connections); 22021 / 22P05 are characters the
/// database cannot store (a NUL).
pub(crate) fn classify_pg(code: &str, message: &str) -> Class {
    match code {
        "23505" => Class::Unique,
        "22021" | "22P05" => Class::BadText,
        "40001" | "40P01" | "55P03" => Class::Unavailable,
        "55000" if message.contains("connection") => Class::Unavailable,
        c if c.starts_with("08") || c.starts_with("53") || c.starts_with("57") => {
            Class::Unavailable
        }
        _ => Class::Other,
    }
}

/// MySQL / MariaDB error numbers: duplicate key (1062); too many connections
/// (1040, 1203), shutdown (1053), lock wait timeout (1205), deadlock (1213),
/// interrupted or over time (1317, 1969, 3024), connection killed (1927),
/// lost or refused connections (2002, 2003, 2006, 2013).
pub(crate) fn classify_mysql(number: u16) -> Class {
    match number {
        1062 => Class::Unique,
        1040 | 1053 | 1203 | 1205 | 1213 | 1317 | 1927 | 1969 | 2002 | 2003 | 2006 | 2013
        | 3024 => Class::Unavailable,
        _ => Class::Other,
    }
}

/// SQLite result codes: `SQLITE_BUSY` / `SQLITE_LOCKED` with their extended
/// codes are contention; unique violations are 2067 (and 1555, primary key).
pub(crate) fn classify_sqlite(code: &str) -> Class {
    match code.parse::<i64>() {
        Ok(2067 | 1555) => Class::Unique,
        Ok(n) if matches!(n & 0xff, 5 | 6) => Class::Unavailable,
        _ => Class::Other,
    }
}

/// Map a `sqlx` error: unique violations on `login_key` or `login_skeleton` /
/// `email_key` become
/// `LoginTaken` / `EmailTaken`; an unreachable, refusing or contended
/// database `Unavailable`; text with a NUL `BadRequest`; the rest `Internal`.
pub(crate) fn db_err(e: sqlx::Error) -> Error {
    let class = match &e {
        sqlx::Error::Database(d) => {
            let class = if let Some(pg) = d.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
                classify_pg(pg.code(), pg.message())
            } else if let Some(my) = d.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
                classify_mysql(my.number())
            } else {
                d.code().map_or(Class::Other, |c| classify_sqlite(&c))
            };
            if class == Class::Unique || d.is_unique_violation() {
                return unique_err(d.constraint(), d.message(), e.to_string());
            }
            class
        }
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => Class::Unavailable,
        _ => Class::Other,
    };
    match class {
        Class::Unavailable => Error::Unavailable(e.to_string()),
        Class::BadText => Error::BadRequest(NUL_MESSAGE.into()),
        Class::Unique | Class::Other => Error::Internal(e.to_string()),
    }
}

/// A unique violation, told apart by the index it names: the constraint
/// (PostgreSQL), the text after the last ` for key ` (MySQL, whose message
/// also quotes the value) or the message (SQLite: `accounts.login_key`).
fn unique_err(constraint: Option<&str>, message: &str, full: String) -> Error {
    let what =
        constraint.unwrap_or_else(|| message.rsplit_once(" for key ").map_or(message, |(_, k)| k));
    if what.contains("login_key") || what.contains("login_skeleton") {
        Error::LoginTaken
    } else if what.contains("email_key") {
        Error::EmailTaken
    } else if what.contains("credential") {
        Error::BadRequest("this passkey is registered already".into())
    } else if what.contains("organizations_slug") {
        Error::SlugTaken
    } else if what.contains("identities") || what.contains("provider") {
        Error::IdentityTaken
    } else {
        Error::Internal(full)
    }
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
        assert_eq!(like_escape("a%b_c!d"), "a!%b!_c!!d");
    }

    #[test]
    fn nul_is_not_storable() {
        assert!(storable("plain"));
        assert!(!storable("a\0b"));
    }

    #[test]
    fn postgres_codes() {
        for code in [
            "08006", "08001", "53300", "53100", "57P01", "57P02", "57P03", "57014",
        ] {
            assert_eq!(classify_pg(code, ""), Class::Unavailable, "{code}");
        }
        assert_eq!(classify_pg("40001", ""), Class::Unavailable);
        assert_eq!(classify_pg("40P01", ""), Class::Unavailable);
        assert_eq!(classify_pg("55P03", ""), Class::Unavailable);
        assert_eq!(
            classify_pg(
                "55000",
                "database \"x\" is not currently accepting connections"
            ),
            Class::Unavailable
        );
        assert_eq!(classify_pg("55000", "object is in use"), Class::Other);
        assert_eq!(classify_pg("22021", ""), Class::BadText);
        assert_eq!(classify_pg("22P05", ""), Class::BadText);
        assert_eq!(classify_pg("23505", ""), Class::Unique);
        assert_eq!(classify_pg("42P01", ""), Class::Other);
    }

    #[test]
    fn mysql_numbers() {
        for n in [
            1040, 1205, 1213, 1053, 2002, 2003, 2006, 2013, 1927, 1203, 1317, 1969, 3024,
        ] {
            assert_eq!(classify_mysql(n), Class::Unavailable, "{n}");
        }
        assert_eq!(classify_mysql(1062), Class::Unique);
        assert_eq!(classify_mysql(1146), Class::Other);
    }

    #[test]
    fn sqlite_codes() {
        assert_eq!(classify_sqlite("5"), Class::Unavailable);
        assert_eq!(classify_sqlite("517"), Class::Unavailable);
        assert_eq!(classify_sqlite("6"), Class::Unavailable);
        assert_eq!(classify_sqlite("2067"), Class::Unique);
        assert_eq!(classify_sqlite("19"), Class::Other);
        assert_eq!(classify_sqlite("HY000"), Class::Other);
    }

    #[test]
    fn driver_errors_are_unavailable() {
        let io = sqlx::Error::Io(std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "no",
        ));
        for e in [
            io,
            sqlx::Error::PoolTimedOut,
            sqlx::Error::PoolClosed,
            sqlx::Error::WorkerCrashed,
            sqlx::Error::Tls("handshake".into()),
        ] {
            assert!(matches!(db_err(e), Error::Unavailable(_)));
        }
        assert!(matches!(
            db_err(sqlx::Error::RowNotFound),
            Error::Internal(_)
        ));
    }

    #[test]
    fn unique_violations_by_index() {
        let m = "Duplicate entry 'x_email_key' for key 'accounts_login_key'";
        assert!(matches!(
            unique_err(None, m, String::new()),
            Error::LoginTaken
        ));
        let m = "Duplicate entry 'login_key' for key 'accounts.accounts_email_key'";
        assert!(matches!(
            unique_err(None, m, String::new()),
            Error::EmailTaken
        ));
        let m = "UNIQUE constraint failed: accounts.login_key";
        assert!(matches!(
            unique_err(None, m, String::new()),
            Error::LoginTaken
        ));
        assert!(matches!(
            unique_err(Some("accounts_email_key"), "", String::new()),
            Error::EmailTaken
        ));
        for m in [
            "UNIQUE constraint failed: accounts.login_skeleton",
            "Duplicate entry 'ab12' for key 'accounts.accounts_login_skeleton'",
        ] {
            assert!(matches!(
                unique_err(None, m, String::new()),
                Error::LoginTaken
            ));
        }
        assert!(matches!(
            unique_err(Some("accounts_login_skeleton"), "", String::new()),
            Error::LoginTaken
        ));
    }
}
