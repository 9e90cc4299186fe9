//! Logins as people see them: the PRECIS `UsernameCasePreserved` /
//! `UsernameCaseMapped` profiles of RFC 8265 and the confusable skeleton of
//! Unicode TR39.
//!
//! Every entry point that takes a new login (registration, login change, admin
//! create and rename, import, OAuth and passkey sign-ups) goes through
//! [`crate::password::Login::parse`], which calls [`prepare_login`]; every
//! lookup by a typed login goes through [`login_key`]
//! ([`crate::model::normalize_login`]).
//!
//! - the **stored and displayed login** is the `UsernameCasePreserved` form:
//!   fullwidth and halfwidth characters mapped to their ordinary forms (width
//!   mapping) and NFC, so `ａｌｉｃｅ` is stored as `alice` and a decomposed
//!   `école` (`e` + U+0301) as the precomposed one;
//! - the **key** (uniqueness and lookup) is the `UsernameCaseMapped` form: the
//!   same, lower-cased;
//! - the **skeleton** ([`login_skeleton`]) is the TR39 confusable skeleton:
//!   two logins that look alike (`alice` and `аlice` with a Cyrillic `а`, or
//!   `aIice` with a capital `I`) share it, and a new login whose skeleton is
//!   taken is refused like a taken login.
//!
//! ```
//! use warden_core::login_rules::{login_key, login_skeleton, prepare_login};
//! assert_eq!(prepare_login("ａｌｉｃｅ").unwrap(), "alice");
//! assert_eq!(prepare_login("e\u{301}cole").unwrap(), "\u{e9}cole");
//! assert_eq!(login_key("Alice"), "alice");
//! assert_eq!(login_skeleton("\u{430}lice"), login_skeleton("alice"));
//! ```

use crate::error::FieldError;
use precis_profiles::precis_core::profile::PrecisFastInvocation;
use precis_profiles::{UsernameCaseMapped, UsernameCasePreserved};

/// Shortest login, in characters of its prepared form.
pub const LOGIN_MIN: usize = 3;
/// Longest login, in characters of its prepared form.
pub const LOGIN_MAX: usize = 64;

/// The stored form of a new login, or why it is refused: the RFC 8265
/// `UsernameCasePreserved` form (width mapping, NFC, the bidi rule), then
/// Warden's own rule on it: 3 to 64 characters of letters, digits and
/// `_ . - @` (combining marks may follow a letter or digit).
pub fn prepare_login(s: &str) -> Result<String, FieldError> {
    let field = |m: String| FieldError::new("login", m);
    let allowed = || field("may contain only letters, digits and _ . - @".into());
    let prepared = match UsernameCasePreserved::enforce(s) {
        Ok(p) => p.into_owned(),
        // Too short or empty is told as such; anything else PRECIS refuses
        // (spaces, symbols, control or unassigned code points, mixed
        // directions) is outside the allowed characters.
        Err(_) if s.chars().count() < LOGIN_MIN => String::new(),
        Err(_) => return Err(allowed()),
    };
    let n = prepared.chars().count();
    if !(LOGIN_MIN..=LOGIN_MAX).contains(&n) {
        return Err(field(format!(
            "must be {LOGIN_MIN} to {LOGIN_MAX} characters"
        )));
    }
    let mut after_base = false;
    for c in prepared.chars() {
        let ok = if c.is_alphanumeric() {
            true
        } else if unicode_normalization::char::is_combining_mark(c) {
            after_base
        } else {
            matches!(c, '_' | '.' | '-' | '@')
        };
        if !ok {
            return Err(allowed());
        }
        after_base = c.is_alphanumeric() || unicode_normalization::char::is_combining_mark(c);
    }
    if UsernameCaseMapped::enforce(prepared.as_str()).is_err() {
        return Err(allowed());
    }
    Ok(prepared)
}

/// The key a login is unique under and looked up by: the RFC 8265
/// `UsernameCaseMapped` form (width mapping, lower case, NFC). Text that
/// profile refuses (it can belong to no account made under these rules) is
/// only lower-cased, as logins were before them ([`legacy_login_key`]).
pub fn login_key(s: &str) -> String {
    match UsernameCaseMapped::enforce(s) {
        Ok(k) => k.into_owned(),
        Err(_) => legacy_login_key(s),
    }
}

/// The key of a login before the PRECIS rules: the text lower-cased. Kept by
/// stored accounts whose PRECIS key collides with another account's (see
/// `AccountStore::prepare_logins`); a sign-in tries it first when it differs
/// from [`login_key`].
pub fn legacy_login_key(s: &str) -> String {
    s.to_lowercase()
}

/// The Unicode TR39 confusable skeleton of a login, as stored: logins that
/// look alike share it (`alice`, `аlice` with a Cyrillic `а`, `aIice` with a
/// capital `I`). It is the skeleton of the displayed form (so a capital `I`
/// still looks like an `l`), lower-cased and skeletonized again (so case does
/// not tell look-alikes apart), stored as the SHA-256 of that in hex: 64
/// characters whatever the login, compared exactly on every database.
pub fn login_skeleton(s: &str) -> String {
    use sha2::Digest as _;
    let shown = UsernameCasePreserved::enforce(s).map_or_else(|_| s.to_owned(), |p| p.into_owned());
    let first: String = unicode_security::skeleton(&shown).collect();
    let skeleton: String = unicode_security::skeleton(&first.to_lowercase()).collect();
    crate::random::hex(&sha2::Sha256::digest(skeleton.as_bytes()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn width_mapping_nfc_and_case() {
        assert_eq!(prepare_login("ａｌｉｃｅ").unwrap(), "alice");
        assert_eq!(prepare_login("ＡＬＩＣＥ").unwrap(), "ALICE");
        assert_eq!(login_key("ＡＬＩＣＥ"), "alice");
        let decomposed = "e\u{301}cole";
        assert_eq!(prepare_login(decomposed).unwrap(), "\u{e9}cole");
        assert_eq!(login_key(decomposed), login_key("\u{c9}COLE"));
        assert_eq!(
            prepare_login("Alice.Smith@x-y_z").unwrap(),
            "Alice.Smith@x-y_z"
        );
    }

    #[test]
    fn refused() {
        for bad in [
            "ab",
            "a b",
            "a!b",
            "a\u{0}bc",
            "\u{301}abc",
            "",
            "a\u{200b}bc",
        ] {
            assert!(prepare_login(bad).is_err(), "{bad:?}");
        }
        assert!(prepare_login(&"a".repeat(65)).is_err());
        assert!(prepare_login(&"a".repeat(64)).is_ok());
        // Three characters after NFC, whatever the typed length.
        assert!(prepare_login("e\u{301}e\u{301}").is_err());
    }

    #[test]
    fn confusables_share_a_skeleton() {
        assert_eq!(login_skeleton("\u{430}lice"), login_skeleton("alice"));
        assert_eq!(login_skeleton("Alice"), login_skeleton("alice"));
        assert_eq!(login_skeleton("rnalice"), login_skeleton("malice"));
        assert_eq!(login_skeleton("ａｌｉｃｅ"), login_skeleton("alice"));
        assert_eq!(login_skeleton("aIice"), login_skeleton("alice"));
        assert_ne!(login_skeleton("alice"), login_skeleton("bob"));
        assert_eq!(login_skeleton("alice").len(), 64);
        assert_eq!(login_key("\u{430}lice"), "\u{430}lice");
    }

    #[test]
    fn keys_are_idempotent() {
        for s in ["Alice", "ａｌｉｃｅ", "e\u{301}cole", "İstanbul", "Straße"] {
            let k = login_key(s);
            assert_eq!(login_key(&k), k, "{s}");
            assert_eq!(login_key(&prepare_login(s).unwrap()), k, "{s}");
        }
    }
}
