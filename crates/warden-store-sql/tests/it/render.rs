//! The statement renderer of the dialect layer: one template, three
//! databases (`$n` or `?` placeholders, casts, lock markers, upserts,
//! quoted identifiers) and the cache of renderings.

use warden_store_sql::sql::{Rendered, Sql, Syntax, render};
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
    static S: Sql = Sql::new("SELECT $1");
    let s: &'static Sql = &S;
    let a: *const Rendered = s.render(Syntax::MySql);
    let b: *const Rendered = s.render(Syntax::MySql);
    assert_eq!(a, b);
    assert_eq!(s.render(Syntax::MySql).text, "SELECT ?");
}
