//! SQL text written once and rendered per database.
//!
//! Every statement of the backend is written in one template language, the
//! SQL that PostgreSQL and SQLite share, plus three lock markers:
//!
//! - `$1`, `$2`, … placeholders (a number may repeat; `$1::uuid` casts are
//!   kept for PostgreSQL and dropped elsewhere);
//! - `{FOR UPDATE}`, `{FOR KEY SHARE}` (keep the row from being deleted) and
//!   `{FOR NO KEY UPDATE}` (an exclusive lock that lets rows referencing this
//!   one be inserted) after a `SELECT`; SQLite renders them as nothing (its
//!   writers are serialized by `BEGIN IMMEDIATE`);
//! - `ON CONFLICT (a, …) DO NOTHING` and
//!   `ON CONFLICT (a, …) DO UPDATE SET x = excluded.x, …` upserts and
//!   `"quoted"` identifiers.
//!
//! For MySQL / MariaDB the renderer writes `?` placeholders (and records
//! which argument each one takes), backtick-quoted identifiers,
//! `LOCK IN SHARE MODE` and `ON DUPLICATE KEY UPDATE a = a` /
//! `x = VALUES(x)`. Each statement is rendered once per database and kept
//! (see [`Sql::render`]), so a call pays no rendering.

use std::sync::OnceLock;

/// The SQL flavour a statement is rendered for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// SQLite: `$n` placeholders, no row locks.
    Sqlite = 0,
    /// PostgreSQL: the template as written.
    Postgres = 1,
    /// MySQL / MariaDB: `?` placeholders and MySQL's spellings.
    MySql = 2,
}

/// A statement as a database runs it: its text and, for each placeholder in
/// order, the index of the argument it takes.
#[derive(Debug, PartialEq, Eq)]
pub struct Rendered {
    pub text: String,
    pub order: Vec<usize>,
}

/// A statement template with its renderings, one per [`Syntax`], made on
/// first use. Declare one with [`sql!`](crate::sql::sql).
pub struct Sql {
    template: &'static str,
    rendered: [OnceLock<Rendered>; 3],
}

impl Sql {
    /// A template (rendered lazily).
    pub const fn new(template: &'static str) -> Self {
        Self {
            template,
            rendered: [OnceLock::new(), OnceLock::new(), OnceLock::new()],
        }
    }

    /// The statement for `syntax`, rendered on the first call only.
    pub fn render(&'static self, syntax: Syntax) -> &'static Rendered {
        self.rendered[syntax as usize].get_or_init(|| render(self.template, syntax))
    }
}

/// A `&'static` [`Sql`] for a template literal (or `concat!`):
/// `sql!("SELECT 1 FROM accounts WHERE id = $1")`.
macro_rules! sql {
    ($template:expr) => {{
        static SQL: $crate::sql::Sql = $crate::sql::Sql::new($template);
        &SQL
    }};
}
pub(crate) use sql;

/// Render `template` for `syntax` (see the module doc).
pub fn render(template: &str, syntax: Syntax) -> Rendered {
    let text = match syntax {
        Syntax::MySql => mysql_upserts(template),
        _ => template.to_owned(),
    };
    let mut out = String::with_capacity(text.len());
    let mut order = Vec::new();
    let mut rest = text.as_str();
    while let Some(c) = rest.chars().next() {
        if c == '$' && rest[1..].starts_with(|d: char| d.is_ascii_digit()) {
            let digits = rest[1..].len()
                - rest[1..]
                    .trim_start_matches(|d: char| d.is_ascii_digit())
                    .len();
            let n: usize = rest[1..=digits].parse().unwrap_or(0);
            let mut after = &rest[1 + digits..];
            let cast_len = cast_len(after);
            match syntax {
                Syntax::MySql => {
                    out.push('?');
                    order.push(n.saturating_sub(1));
                }
                _ => {
                    out.push_str(&rest[..=digits]);
                    order_max(&mut order, n);
                }
            }
            if syntax == Syntax::Postgres {
                out.push_str(&after[..cast_len]);
            }
            after = &after[cast_len..];
            rest = after;
        } else if c == '{'
            && let Some(end) = rest.find('}')
        {
            out.push_str(lock_clause(&rest[1..end], syntax));
            rest = &rest[end + 1..];
        } else if c == '"' && syntax == Syntax::MySql {
            out.push('`');
            rest = &rest[1..];
        } else {
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    if syntax != Syntax::MySql {
        // `$n` databases take the arguments in their own order.
        order = (0..order.len()).collect();
    }
    Rendered { text: out, order }
}

/// Record that placeholder `$n` exists (the order is `0..max`).
fn order_max(order: &mut Vec<usize>, n: usize) {
    while order.len() < n {
        order.push(order.len());
    }
}

/// Length of a `::type` cast at the start of `s` (0 if none).
fn cast_len(s: &str) -> usize {
    let Some(ty) = s.strip_prefix("::") else {
        return 0;
    };
    2 + ty.len()
        - ty.trim_start_matches(|c: char| c.is_ascii_alphanumeric() || c == '_')
            .len()
}

/// The lock clause of a `{MARKER}`.
fn lock_clause(marker: &str, syntax: Syntax) -> &'static str {
    match (syntax, marker) {
        (Syntax::Sqlite, _) => "",
        (Syntax::Postgres, "FOR KEY SHARE") => "FOR KEY SHARE",
        (Syntax::Postgres, "FOR NO KEY UPDATE") => "FOR NO KEY UPDATE",
        (Syntax::MySql, "FOR KEY SHARE") => "LOCK IN SHARE MODE",
        _ => "FOR UPDATE",
    }
}

/// `ON CONFLICT (...) DO NOTHING | DO UPDATE SET ...` in MySQL's words.
fn mysql_upserts(template: &str) -> String {
    let Some(start) = template.find("ON CONFLICT (") else {
        return template.to_owned();
    };
    let cols_start = start + "ON CONFLICT (".len();
    let Some(cols_len) = template[cols_start..].find(')') else {
        return template.to_owned();
    };
    let first = template[cols_start..cols_start + cols_len]
        .split(',')
        .next()
        .unwrap_or("")
        .trim();
    let tail = template[cols_start + cols_len + 1..].trim_start();
    let mut out = template[..start].to_owned();
    if let Some(rest) = tail.strip_prefix("DO NOTHING") {
        out.push_str(&format!("ON DUPLICATE KEY UPDATE {first} = {first}"));
        out.push_str(rest);
    } else if let Some(rest) = tail.strip_prefix("DO UPDATE SET") {
        out.push_str("ON DUPLICATE KEY UPDATE");
        let mut rest = rest;
        while let Some(at) = rest.find("excluded.") {
            out.push_str(&rest[..at]);
            let col = &rest[at + "excluded.".len()..];
            let len = col.len()
                - col
                    .trim_start_matches(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == '"')
                    .len();
            out.push_str(&format!("VALUES({})", &col[..len]));
            rest = &col[len..];
        }
        out.push_str(rest);
    } else {
        return template.to_owned();
    }
    out
}
