//! The variables of the configuration besides the TOML file: a `.env` file
//! (`WARDEN_ENV_FILE`, else `./.env`) under the process environment, and the
//! check that every `WARDEN_` variable names a setting, which names the
//! nearest one when it does not.

use super::{Config, SECRET_FILES};
use std::path::Path;

/// Variables that name no field of [`Config`] but are read.
const OTHER_VARS: &[&str] = &["config", "env_file"];

/// The `.env` file's variables, then `env` (the process environment): the
/// later wins. `WARDEN_ENV_FILE` (in `env`) names the file, which must
/// exist; without it `./.env` is read when present. In the file a variable
/// declared twice keeps its first value, as dotenv tools do.
pub(super) fn with_env_file(env: Vec<(String, String)>) -> Result<Vec<(String, String)>, String> {
    let named = env
        .iter()
        .rev()
        .find(|(k, _)| k == "WARDEN_ENV_FILE")
        .map(|(_, v)| v.clone());
    let path = match &named {
        Some(p) => Path::new(p),
        None if Path::new(".env").is_file() => Path::new(".env"),
        None => return Ok(env),
    };
    let iter = dotenvy::from_path_iter(path)
        .map_err(|e| format!("WARDEN_ENV_FILE: cannot read {}: {e}", path.display()))?;
    let mut vars: Vec<(String, String)> = Vec::new();
    for item in iter {
        let (k, v) = item.map_err(|e| format!("{}: {}", path.display(), one_line(&e)))?;
        if !vars.iter().any(|(seen, _)| *seen == k) {
            vars.push((k, v));
        }
    }
    vars.extend(env);
    Ok(vars)
}

fn one_line(e: &dotenvy::Error) -> String {
    e.to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Field names of [`Config`] (the keys of the TOML file).
fn known_keys() -> Vec<String> {
    match serde_json::to_value(Config::default()) {
        Ok(serde_json::Value::Object(m)) => m.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

/// The part after a `WARDEN_` prefix (in any case), lower-cased.
fn setting_of(var: &str) -> Option<String> {
    var.get(..7)
        .filter(|p| p.eq_ignore_ascii_case("WARDEN_"))
        .and_then(|_| var.get(7..))
        .map(|rest| rest.trim().to_ascii_lowercase())
}

/// `WARDEN_` variables that name no setting (test-suite variables excepted).
pub fn unknown_env_vars(vars: impl Iterator<Item = (String, String)>) -> Vec<String> {
    let known = known_keys();
    vars.filter_map(|(k, _)| {
        let rest = setting_of(&k)?;
        if rest.starts_with("test_")
            || OTHER_VARS.contains(&rest.as_str())
            || crate::oauth::oidc_var(&k).is_some()
        {
            return None;
        }
        let base = rest
            .strip_suffix("_file")
            .filter(|b| SECRET_FILES.contains(b))
            .unwrap_or(&rest);
        let base = base.split('.').next().unwrap_or(base);
        (!known.iter().any(|x| x == base)).then_some(k)
    })
    .collect()
}

/// The known setting nearest to `key` (lower case, no prefix), if one is
/// near enough to be a typo: at most 2 edits, or a third of its length.
fn nearest(key: &str) -> Option<String> {
    let mut names = known_keys();
    names.extend(SECRET_FILES.iter().map(|s| format!("{s}_file")));
    names.extend(OTHER_VARS.iter().map(|s| (*s).to_owned()));
    names
        .into_iter()
        .map(|n| (strsim::levenshtein(key, &n), n))
        .filter(|(d, _)| *d <= 2 || *d * 3 <= key.len())
        .min()
        .map(|(_, n)| n)
}

/// The one-line error of an unknown `WARDEN_` variable:
/// `unknown setting WARDEN_BLOCK_TRYS; did you mean WARDEN_BLOCK_TRIES?`.
pub(super) fn unknown_variable(var: &str) -> String {
    let key = setting_of(var).unwrap_or_default();
    match nearest(&key) {
        Some(n) => format!(
            "unknown setting {var}; did you mean WARDEN_{}?",
            n.to_ascii_uppercase()
        ),
        None => format!("unknown setting {var} (no setting has a similar name)"),
    }
}

/// The one-line error of an unknown key of the TOML file.
pub(super) fn unknown_key(key: &str) -> String {
    match nearest(&key.to_ascii_lowercase()) {
        Some(n) => format!("unknown setting `{key}` in the config file; did you mean `{n}`?"),
        None => format!("unknown setting `{key}` in the config file"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn unknown_vars_are_found() {
        let vars = vec![
            ("WARDEN_BIND".to_owned(), String::new()),
            ("WARDEN_ADMIN_SECRET_FILE".to_owned(), String::new()),
            ("WARDEN_TEST_POSTGRES_URL".to_owned(), String::new()),
            ("WARDEN_ENV_FILE".to_owned(), String::new()),
            ("WARDEN_BIDN".to_owned(), String::new()),
            ("warden_bloc_tries".to_owned(), String::new()),
        ];
        assert_eq!(
            unknown_env_vars(vars.into_iter()),
            vec!["WARDEN_BIDN".to_owned(), "warden_bloc_tries".to_owned()]
        );
    }

    #[test]
    fn the_nearest_setting_is_named() {
        assert_eq!(
            unknown_variable("WARDEN_BLOCK_TRYS"),
            "unknown setting WARDEN_BLOCK_TRYS; did you mean WARDEN_BLOCK_TRIES?"
        );
        assert!(unknown_variable("WARDEN_ADMIN_SECRT_FILE").ends_with("WARDEN_ADMIN_SECRET_FILE?"));
        assert!(unknown_variable("WARDEN_ACESS_TTL").ends_with("WARDEN_ACCESS_TTL?"));
        let far = unknown_variable("WARDEN_QQQQQQQQQQQQQ");
        assert!(!far.contains("did you mean"), "{far}");
        assert!(unknown_key("block_trys").ends_with("did you mean `block_tries`?"));
    }
}
