//! The page templates: built in, each replaceable by a file of the same name
//! in [`crate::UiConfig::template_dir`].

use crate::{account, admin, orgs, passkeys, provider, public};
use std::path::Path;

/// The built-in templates of every page module, by name.
fn builtin_templates() -> impl Iterator<Item = &'static (&'static str, &'static str)> {
    public::TEMPLATES
        .iter()
        .chain(account::TEMPLATES)
        .chain(admin::TEMPLATES)
        .chain(passkeys::TEMPLATES)
        .chain(orgs::TEMPLATES)
        .chain(provider::TEMPLATES)
}

/// Compile the page templates: the built-in ones, each replaced by the file of
/// the same name in `dir` when there is one. A broken override is an error.
pub fn load_templates(dir: Option<&Path>) -> Result<minijinja::Environment<'static>, String> {
    let mut env = minijinja::Environment::new();
    for (name, builtin) in builtin_templates() {
        let source = match dir.map(|d| d.join(name)) {
            Some(path) if path.is_file() => std::fs::read_to_string(&path)
                .map_err(|e| format!("WARDEN_UI_TEMPLATE_DIR: {}: {e}", path.display()))?,
            _ => (*builtin).to_owned(),
        };
        env.add_template_owned(*name, source)
            .map_err(|e| format!("page template {name}: {e}"))?;
    }
    Ok(env)
}

/// `static/<name>` of the override folder, else the built-in asset.
pub(crate) fn static_file(dir: Option<&Path>, name: &str, builtin: &'static str) -> String {
    dir.map(|d| d.join("static").join(name))
        .and_then(|p| std::fs::read_to_string(p).ok())
        .unwrap_or_else(|| builtin.to_owned())
}
