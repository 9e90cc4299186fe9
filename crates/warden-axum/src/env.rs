//! [`WardenBuilder::from_env`]: a builder configured by `WARDEN_*` variables.

use crate::{HttpConfig, WardenBuilder};
use time::Duration;
use warden_core::{Error, Registration, Settings};

/// Parse `300s`, `5m`, `24h`, `30d` or a bare number of seconds.
fn duration(name: &str, v: &str) -> Result<Duration, Error> {
    let v = v.trim();
    let (num, unit) = match v.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&v[..i], c),
        _ => (v, 's'),
    };
    let n: i64 = num
        .trim()
        .parse()
        .map_err(|_| bad(name, "a duration like 300s, 5m, 24h or 30d"))?;
    let secs = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => return Err(bad(name, "a duration like 300s, 5m, 24h or 30d")),
    };
    n.checked_mul(secs)
        .filter(|s| *s >= 0)
        .map(Duration::seconds)
        .ok_or_else(|| bad(name, "a non-negative duration"))
}

fn boolean(name: &str, v: &str) -> Result<bool, Error> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(bad(name, "true or false")),
    }
}

fn bad(name: &str, want: &str) -> Error {
    Error::Internal(format!("{name} must be {want}"))
}

impl WardenBuilder {
    /// Settings from the process environment; see [`WardenBuilder::from_vars`].
    pub fn from_env() -> Result<Self, Error> {
        Self::from_vars(std::env::vars())
    }

    /// A builder (memory store unless [`WardenBuilder::store`] is called)
    /// whose settings come from `WARDEN_*` variables, with the standalone
    /// server's names and formats; unset variables keep the defaults:
    ///
    /// `WARDEN_PREFIX`, `WARDEN_ISSUER`, `WARDEN_AUDIENCE`, `WARDEN_JWT_ALG`,
    /// `WARDEN_SECRET`, `WARDEN_ACCESS_TTL`, `WARDEN_SESSION_TTL`,
    /// `WARDEN_LONG_SESSION_TTL`, `WARDEN_REGISTRATION` (`open`/`closed`),
    /// `WARDEN_COOKIE_NAME`, `WARDEN_COOKIE_SECURE`, `WARDEN_API_KEY_QUERY`,
    /// `WARDEN_OTP_ENABLED`, `WARDEN_WEBAUTHN_RP_ID`, `WARDEN_WEBAUTHN_RP_NAME`,
    /// `WARDEN_WEBAUTHN_ORIGIN` (passkeys are on when the origin is set; the
    /// relying-party id defaults to its host). Durations are written `300s`, `5m`, `24h`, `30d`
    /// or as seconds. Other variables are ignored (the store, admin secret and
    /// the rest are the application's business).
    ///
    /// ```
    /// use warden_axum::WardenBuilder;
    /// let vars = [("WARDEN_ACCESS_TTL", "10m"), ("WARDEN_PREFIX", "/id")];
    /// let builder = WardenBuilder::from_vars(vars.map(|(k, v)| (k.to_owned(), v.to_owned())))?;
    /// assert!(WardenBuilder::from_vars([("WARDEN_ACCESS_TTL".to_owned(), "soon".to_owned())]).is_err());
    /// # Ok::<(), warden_core::Error>(())
    /// ```
    pub fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> Result<Self, Error> {
        let mut s = Settings::default();
        let mut http = HttpConfig::default();
        let mut prefix = None;
        let (mut rp_id, mut rp_name, mut origin) = (None, None, None);
        for (k, v) in vars {
            let name = k.as_str();
            match name {
                "WARDEN_PREFIX" => prefix = Some(v),
                "WARDEN_ISSUER" => s.issuer = v,
                "WARDEN_AUDIENCE" => s.audience = Some(v).filter(|a| !a.is_empty()),
                "WARDEN_JWT_ALG" => s.jwt_alg = v.parse().map_err(|e: String| bad(name, &e))?,
                "WARDEN_SECRET" => s.secret = Some(v.into_bytes()),
                "WARDEN_ACCESS_TTL" => s.access_ttl = duration(name, &v)?,
                "WARDEN_SESSION_TTL" => s.session_ttl = duration(name, &v)?,
                "WARDEN_LONG_SESSION_TTL" => s.long_session_ttl = duration(name, &v)?,
                "WARDEN_REGISTRATION" => {
                    s.registration = match v.trim() {
                        "open" => Registration::Open,
                        "closed" => Registration::Closed,
                        _ => return Err(bad(name, "open or closed")),
                    }
                }
                "WARDEN_COOKIE_NAME" => http.cookies.access_name = v,
                "WARDEN_COOKIE_SECURE" => http.cookies.secure = boolean(name, &v)?,
                "WARDEN_API_KEY_QUERY" => http.api_key_query = boolean(name, &v)?,
                "WARDEN_OTP_ENABLED" => s.otp_enabled = boolean(name, &v)?,
                "WARDEN_WEBAUTHN_RP_ID" => rp_id = Some(v).filter(|v| !v.is_empty()),
                "WARDEN_WEBAUTHN_RP_NAME" => rp_name = Some(v).filter(|v| !v.is_empty()),
                "WARDEN_WEBAUTHN_ORIGIN" => origin = Some(v).filter(|v| !v.is_empty()),
                _ => {}
            }
        }
        if let Some(origin) = origin {
            let host = origin
                .split_once("://")
                .map(|(_, rest)| rest.split(['/', ':']).next().unwrap_or_default().to_owned())
                .unwrap_or_default();
            let w = warden_core::WebauthnSettings {
                rp_id: rp_id.unwrap_or(host),
                rp_name: rp_name.unwrap_or_else(|| "Warden".into()),
                origin,
            };
            w.validate().map_err(|e| {
                bad(
                    "WARDEN_WEBAUTHN_RP_ID / WARDEN_WEBAUTHN_ORIGIN",
                    &format!("valid: {e}"),
                )
            })?;
            s.webauthn = Some(w);
        } else if rp_id.is_some() {
            return Err(bad(
                "WARDEN_WEBAUTHN_ORIGIN",
                "set with WARDEN_WEBAUTHN_RP_ID",
            ));
        }
        let mut b = WardenBuilder::default().settings(s).http(http);
        if let Some(p) = prefix {
            b = b.prefix(&p);
        }
        Ok(b)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn webauthn_vars() {
        let vars = |v: &[(&str, &str)]| {
            WardenBuilder::from_vars(v.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())))
        };
        assert!(vars(&[("WARDEN_WEBAUTHN_ORIGIN", "https://auth.example.com")]).is_ok());
        assert!(
            vars(&[
                ("WARDEN_WEBAUTHN_ORIGIN", "https://auth.example.com"),
                ("WARDEN_WEBAUTHN_RP_ID", "example.com")
            ])
            .is_ok()
        );
        assert!(
            vars(&[
                ("WARDEN_WEBAUTHN_ORIGIN", "https://auth.example.com"),
                ("WARDEN_WEBAUTHN_RP_ID", "example.org")
            ])
            .is_err()
        );
        assert!(vars(&[("WARDEN_WEBAUTHN_RP_ID", "example.com")]).is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(duration("X", "300").unwrap(), Duration::seconds(300));
        assert_eq!(duration("X", "5m").unwrap(), Duration::minutes(5));
        assert_eq!(duration("X", "24h").unwrap(), Duration::hours(24));
        assert_eq!(duration("X", "30d").unwrap(), Duration::days(30));
        assert!(duration("X", "5w").is_err());
        assert!(duration("X", "-5s").is_err());
    }

    #[tokio::test]
    async fn vars_reach_the_engine() {
        let vars = [
            ("WARDEN_PREFIX", "/id/"),
            ("WARDEN_ISSUER", "me"),
            ("WARDEN_ACCESS_TTL", "10m"),
            ("WARDEN_COOKIE_SECURE", "false"),
            ("WARDEN_REGISTRATION", "closed"),
            ("PATH", "/bin"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
        let w = WardenBuilder::from_vars(vars)
            .unwrap()
            .build()
            .await
            .unwrap();
        assert_eq!(w.http().prefix, "/id");
        assert_eq!(w.http().cookies.refresh_path, "/id/refresh");
        assert!(!w.http().cookies.secure);
        assert_eq!(w.auth().settings().issuer, "me");
        assert_eq!(w.auth().settings().access_ttl, Duration::minutes(10));
        assert_eq!(w.auth().settings().registration, Registration::Closed);
        let bad = [("WARDEN_REGISTRATION".to_owned(), "maybe".to_owned())];
        assert!(WardenBuilder::from_vars(bad).is_err());
    }
}
