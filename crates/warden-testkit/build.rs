//! Sets one cfg per external test backend whose tests should run: the
//! backend's URL is set, or `CI` is set (then a missing URL fails the test
//! instead of ignoring it). Tests of the other backends are `#[ignore]`d.

fn main() {
    println!("cargo::rerun-if-env-changed=CI");
    let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty());
    for (var, cfg) in [
        ("WARDEN_TEST_POSTGRES_URL", "warden_test_postgres"),
        ("WARDEN_TEST_MYSQL_URL", "warden_test_mysql"),
        ("WARDEN_TEST_REDIS_URL", "warden_test_redis"),
    ] {
        println!("cargo::rerun-if-env-changed={var}");
        println!("cargo::rustc-check-cfg=cfg({cfg})");
        let set = std::env::var_os(var).is_some_and(|v| !v.is_empty());
        if set || ci {
            println!("cargo::rustc-cfg={cfg}");
        }
    }
}
