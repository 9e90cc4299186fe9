//! The field rules of organizations: slugs, names, properties, role names,
//! permission strings; and what each built-in role may do.

use crate::error::{Error, FieldError, Result};
use crate::store::OrgRole;

/// The longest organization name.
const NAME_MAX: usize = 100;
/// The largest properties document (bytes of its JSON text).
const PROPERTIES_MAX: usize = 16 * 1024;
/// The most permissions a role holds.
const PERMISSIONS_MAX: usize = 100;
/// The longest permission string.
const PERMISSION_MAX: usize = 100;

/// A valid slug: lower-case ASCII letters, digits and `-`, 3–63 characters,
/// not starting or ending with `-`, and never shaped like a UUID (so that
/// an `organization` reference is an id or a slug, never both).
pub fn check_slug(s: &str) -> Result<String, FieldError> {
    let bad = |m: &str| FieldError::new("slug", m);
    if !(3..=63).contains(&s.len()) {
        return Err(bad("must be 3 to 63 characters"));
    }
    if !s
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(bad("may hold only lower-case letters, digits and '-'"));
    }
    if s.starts_with('-') || s.ends_with('-') {
        return Err(bad("must not start or end with '-'"));
    }
    if uuid::Uuid::parse_str(s).is_ok() {
        return Err(bad("must not look like an id"));
    }
    Ok(s.to_owned())
}

/// A valid display name: trimmed, 1–100 characters, no control characters.
pub fn check_name(s: &str) -> Result<String, FieldError> {
    let s = s.trim();
    if s.is_empty() || s.chars().count() > NAME_MAX {
        return Err(FieldError::new("name", "must be 1 to 100 characters"));
    }
    if s.chars().any(char::is_control) {
        return Err(FieldError::new("name", "must not hold control characters"));
    }
    Ok(s.to_owned())
}

/// Properties: a JSON object of at most 16 KiB.
pub fn check_properties(v: &serde_json::Value) -> Result<(), FieldError> {
    if !v.is_object() {
        return Err(FieldError::new("properties", "must be a JSON object"));
    }
    if v.to_string().len() > PROPERTIES_MAX {
        return Err(FieldError::new("properties", "must be at most 16 KiB"));
    }
    Ok(())
}

/// A valid custom role name: lower-case letters, digits, `-`, `_`, 1–63
/// characters, not a built-in role.
pub fn check_role_name(s: &str) -> Result<String, FieldError> {
    let bad = |m: &str| FieldError::new("name", m);
    if !(1..=63).contains(&s.len())
        || !s
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
    {
        return Err(bad(
            "must be 1 to 63 lower-case letters, digits, '-' or '_'",
        ));
    }
    Ok(s.to_owned())
}

/// Permission strings: each 1–100 visible ASCII characters without spaces,
/// at most 100; answered sorted and without duplicates.
pub fn check_permissions(list: &[String]) -> Result<Vec<String>, FieldError> {
    let bad = |m: &str| FieldError::new("permissions", m);
    if list.len() > PERMISSIONS_MAX {
        return Err(bad("at most 100 permissions"));
    }
    for p in list {
        if p.is_empty() || p.len() > PERMISSION_MAX || !p.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(bad(
                "each permission is 1 to 100 visible ASCII characters without spaces",
            ));
        }
    }
    let mut out = list.to_vec();
    out.sort();
    out.dedup();
    Ok(out)
}

/// A single field error as the domain error.
pub(crate) fn invalid(e: FieldError) -> Error {
    Error::Validation(vec![e])
}

/// The permissions of a built-in role (None for a custom role name).
pub fn builtin_permissions(role: &str) -> Option<&'static [&'static str]> {
    Some(match role {
        "owner" => &[
            "org:delete",
            "org:invitations",
            "org:members",
            "org:roles",
            "org:update",
        ],
        "admin" => &["org:invitations", "org:members", "org:update"],
        "member" => &[],
        _ => return None,
    })
}

/// The built-in roles as [`OrgRole`]s.
pub fn builtin_roles() -> Vec<OrgRole> {
    crate::store::BUILTIN_ROLES
        .iter()
        .map(|name| OrgRole {
            name: (*name).to_owned(),
            permissions: builtin_permissions(name)
                .unwrap_or_default()
                .iter()
                .map(|p| (*p).to_owned())
                .collect(),
            builtin: true,
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert!(check_slug("acme").is_ok());
        assert!(check_slug("acme-2").is_ok());
        assert!(check_slug("ac").is_err());
        assert!(check_slug("Acme").is_err());
        assert!(check_slug("-acme").is_err());
        assert!(check_slug("0190a0f4-0000-7000-8000-000000000000").is_err());
        assert!(check_slug("0190a0f400007000800000000000000a").is_err());
        assert!(check_slug(&"a".repeat(64)).is_err());
    }

    #[test]
    fn permissions_sorted() {
        let got = check_permissions(&["b:x".into(), "a:y".into(), "b:x".into()]).unwrap();
        assert_eq!(got, vec!["a:y".to_owned(), "b:x".to_owned()]);
        assert!(check_permissions(&["has space".into()]).is_err());
    }
}
