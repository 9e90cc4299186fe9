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

#[cfg(test)]
mod tests {
    use super::*;

    fn r(t: &str, s: Syntax) -> (String, Vec<usize>) {
        let x = render(t, s);
        (x.text, x.order)
    }

    #[test]
    fn placeholders() {
        let t = "UPDATE s SET a = $1 WHERE id = $2 AND ($3 IS NULL OR id <> $3) AND b > $1";
        assert_eq!(r(t, Syntax::Postgres), (t.to_owned(), vec![0, 1, 2]));
        assert_eq!(r(t, Syntax::Sqlite), (t.to_owned(), vec![0, 1, 2]));
        assert_eq!(
            r(t, Syntax::MySql),
            (
                "UPDATE s SET a = ? WHERE id = ? AND (? IS NULL OR id <> ?) AND b > ?".to_owned(),
                vec![0, 1, 2, 2, 0]
            )
        );
        let big = "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";
        assert_eq!(r(big, Syntax::MySql).1, (0..11).collect::<Vec<_>>());
        assert_eq!(r(big, Syntax::Postgres).1.len(), 11);
    }

    #[test]
    fn casts() {
        let t = "WHERE ($1::uuid IS NULL OR id > $1) AND ($2::bigint IS NULL)";
        assert_eq!(r(t, Syntax::Postgres).0, t);
        assert_eq!(
            r(t, Syntax::Sqlite).0,
            "WHERE ($1 IS NULL OR id > $1) AND ($2 IS NULL)"
        );
        assert_eq!(
            r(t, Syntax::MySql),
            (
                "WHERE (? IS NULL OR id > ?) AND (? IS NULL)".to_owned(),
                vec![0, 0, 1]
            )
        );
    }

    #[test]
    fn locks() {
        let t = "SELECT 1 FROM a WHERE id = $1 {FOR KEY SHARE}";
        assert_eq!(r(t, Syntax::Sqlite).0, "SELECT 1 FROM a WHERE id = $1 ");
        assert_eq!(
            r(t, Syntax::Postgres).0,
            "SELECT 1 FROM a WHERE id = $1 FOR KEY SHARE"
        );
        assert_eq!(
            r(t, Syntax::MySql).0,
            "SELECT 1 FROM a WHERE id = ? LOCK IN SHARE MODE"
        );
        let u = "SELECT 1 FROM a WHERE id = $1 {FOR NO KEY UPDATE}";
        assert_eq!(
            r(u, Syntax::MySql).0,
            "SELECT 1 FROM a WHERE id = ? FOR UPDATE"
        );
        assert_eq!(
            r(u, Syntax::Postgres).0,
            "SELECT 1 FROM a WHERE id = $1 FOR NO KEY UPDATE"
        );
        let v = "SELECT 1 FROM a WHERE id = $1 {FOR UPDATE}";
        assert_eq!(
            r(v, Syntax::Postgres).0,
            "SELECT 1 FROM a WHERE id = $1 FOR UPDATE"
        );
    }

    #[test]
    fn upserts_and_identifiers() {
        let t = "INSERT INTO counters (\"key\", n) VALUES ($1, $2) ON CONFLICT (\"key\") \
                 DO UPDATE SET n = excluded.n, m = excluded.m";
        assert_eq!(r(t, Syntax::Postgres).0, t);
        assert_eq!(
            r(t, Syntax::MySql).0,
            "INSERT INTO counters (`key`, n) VALUES (?, ?) ON DUPLICATE KEY UPDATE \
             n = VALUES(n), m = VALUES(m)"
        );
        let n = "INSERT INTO s (name, value) VALUES ($1, $2) ON CONFLICT (name, value) DO NOTHING";
        assert_eq!(
            r(n, Syntax::MySql).0,
            "INSERT INTO s (name, value) VALUES (?, ?) ON DUPLICATE KEY UPDATE name = name"
        );
        assert_eq!(r(n, Syntax::Sqlite).0, n);
    }

    #[test]
    fn cached() {
        let s: &'static Sql = sql!("SELECT $1");
        let a: *const Rendered = s.render(Syntax::MySql);
        let b: *const Rendered = s.render(Syntax::MySql);
        assert_eq!(a, b);
        assert_eq!(s.render(Syntax::MySql).text, "SELECT ?");
    }
}
