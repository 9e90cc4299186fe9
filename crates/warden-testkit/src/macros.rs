//! The macros that expand one test body to one test per backend.

/// One test body, one `#[tokio::test]` per backend.
///
/// ```ignore
/// each_backend!(async fn login_works(b) {
///     let app = app(b).await;
///     // ..
/// });
/// ```
///
/// makes the module `login_works` with the tests `memory`, `sqlite`,
/// `postgres` and `mysql`; `b` is the [`Backend`](crate::Backend). A list in
/// brackets picks other backends: `each_backend!([memory, sqlite, redis] async
/// fn ..)`. Attributes before `async fn` go on every test. Without `async`,
/// each test is a plain `#[test]` (for bodies that build their own runtime). Tests of a backend
/// whose URL was unset at build time are ignored (see the crate docs).
#[macro_export]
macro_rules! each_backend {
    ($(#[$m:meta])* async fn $name:ident($b:ident) $body:block) => {
        $crate::each_backend!([memory, sqlite, postgres, mysql] $(#[$m])* async fn $name($b) $body);
    };
    ([$($backend:ident),+ $(,)?] $(#[$m:meta])* async fn $name:ident($b:ident) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[allow(dead_code)]
            async fn run($b: $crate::Backend) $body
            $crate::__each_backend_tests!([$($backend),+] [$(#[$m])*]);
        }
    };
    ($(#[$m:meta])* fn $name:ident($b:ident) $body:block) => {
        $crate::each_backend!([memory, sqlite, postgres, mysql] $(#[$m])* fn $name($b) $body);
    };
    ([$($backend:ident),+ $(,)?] $(#[$m:meta])* fn $name:ident($b:ident) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[allow(dead_code)]
            fn run($b: $crate::Backend) $body
            $crate::__each_backend_sync_tests!([$($backend),+] [$(#[$m])*]);
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __each_backend_sync_tests {
    ([] [$($attr:tt)*]) => {};
    ([$first:ident $(, $rest:ident)*] [$($attr:tt)*]) => {
        $crate::__gate!($first,
            #[test]
            $($attr)*
            fn $first() {
                run($crate::__backend!($first))
            }
        );
        $crate::__each_backend_sync_tests!([$($rest),*] [$($attr)*]);
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __each_backend_tests {
    ([] [$($attr:tt)*]) => {};
    ([$first:ident $(, $rest:ident)*] [$($attr:tt)*]) => {
        $crate::__gate!($first,
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            $($attr)*
            async fn $first() {
                run($crate::__backend!($first)).await
            }
        );
        $crate::__each_backend_tests!([$($rest),*] [$($attr)*]);
    };
}

/// The [`Backend`](crate::Backend) named by a lower-case identifier.
#[doc(hidden)]
#[macro_export]
macro_rules! __backend {
    (memory) => {
        $crate::Backend::Memory
    };
    (sqlite) => {
        $crate::Backend::Sqlite
    };
    (postgres) => {
        $crate::Backend::Postgres
    };
    (mysql) => {
        $crate::Backend::MySql
    };
    (redis) => {
        $crate::Backend::Redis
    };
}

/// A hand-written test that needs an external backend (`postgres`, `mysql`,
/// `redis`; several with `+`): ignored when its URL was unset at build time,
/// run (and failing without it) when `CI` is set.
///
/// ```ignore
/// needs!(postgres + redis,
///     #[tokio::test]
///     async fn two_nodes() { let url = warden_testkit::url(Backend::Postgres); .. }
/// );
/// ```
#[macro_export]
macro_rules! needs {
    ($first:ident $(+ $rest:ident)*, $($item:tt)*) => {
        $crate::needs! { @acc [] [$first $($rest)*] $($item)* }
    };
    (@acc [$($a:tt)*] [] $($item:tt)*) => { $($a)* $($item)* };
    (@acc [$($a:tt)*] [$first:ident $($rest:ident)*] $($item:tt)*) => {
        $crate::__acc! { $first [$($a)*] [$($rest)*] $($item)* }
    };
}

/// One step of [`needs!`]: add the `#[ignore]` of backend `$b` if it is
/// gated off and no earlier backend added one.
#[doc(hidden)]
#[macro_export]
macro_rules! __acc {
    (memory $($rest:tt)*) => { $crate::needs! { @acc $($rest)* } };
    (sqlite $($rest:tt)*) => { $crate::needs! { @acc $($rest)* } };
    (postgres $($rest:tt)*) => { $crate::__acc_postgres! { $($rest)* } };
    (mysql $($rest:tt)*) => { $crate::__acc_mysql! { $($rest)* } };
    (redis $($rest:tt)*) => { $crate::__acc_redis! { $($rest)* } };
}

/// Items as they are for in-process backends; behind the build-time gate of
/// an external one.
#[doc(hidden)]
#[macro_export]
macro_rules! __gate {
    (memory, $($i:tt)*) => { $($i)* };
    (sqlite, $($i:tt)*) => { $($i)* };
    (postgres, $($i:tt)*) => { $crate::__if_postgres! { $($i)* } };
    (mysql, $($i:tt)*) => { $crate::__if_mysql! { $($i)* } };
    (redis, $($i:tt)*) => { $crate::__if_redis! { $($i)* } };
}

#[cfg(warden_test_postgres)]
#[doc(hidden)]
#[macro_export]
macro_rules! __if_postgres {
    ($($i:tt)*) => { $($i)* };
}
#[cfg(not(warden_test_postgres))]
#[doc(hidden)]
#[macro_export]
macro_rules! __if_postgres {
    ($($i:tt)*) => { #[ignore = "WARDEN_TEST_POSTGRES_URL is not set"] $($i)* };
}
#[cfg(warden_test_mysql)]
#[doc(hidden)]
#[macro_export]
macro_rules! __if_mysql {
    ($($i:tt)*) => { $($i)* };
}
#[cfg(not(warden_test_mysql))]
#[doc(hidden)]
#[macro_export]
macro_rules! __if_mysql {
    ($($i:tt)*) => { #[ignore = "WARDEN_TEST_MYSQL_URL is not set"] $($i)* };
}
#[cfg(warden_test_redis)]
#[doc(hidden)]
#[macro_export]
macro_rules! __if_redis {
    ($($i:tt)*) => { $($i)* };
}
#[cfg(not(warden_test_redis))]
#[doc(hidden)]
#[macro_export]
macro_rules! __if_redis {
    ($($i:tt)*) => { #[ignore = "WARDEN_TEST_REDIS_URL is not set"] $($i)* };
}

/// The store conformance suite as one test per check, in a module named
/// after the backend: `conformance_tests!(postgres)` makes
/// `postgres::check_ping`, `postgres::check_account_roundtrip`, .. each on a
/// fresh store of [`store`](crate::store).
///
/// `conformance_tests!(name, gate, make)` runs on the store of the
/// expression `make` (a future of `Arc<dyn Store>`), gated like backend
/// `gate`; two lists in brackets after it pick the checks, those that take
/// `&dyn Store` and those that take `&Arc<dyn Store>` (Redis holds only the
/// counters: `[check_counters, check_counters_in_flight], [check_counters_concurrent]`).
#[macro_export]
macro_rules! conformance_tests {
    ($backend:ident) => {
        $crate::conformance_tests!($backend, $backend, $crate::store($crate::__backend!($backend)));
    };
    ($name:ident, $gate:ident, $make:expr) => {
        $crate::conformance_tests!($name, $gate, $make, [
            check_ping,
            check_account_roundtrip,
            check_unique_on_insert,
            check_unique_on_update,
            check_update_not_found,
            check_update_replaces_row,
            check_update_revokes,
            check_delete_account,
            check_list_accounts,
            check_sessions,
            check_rotate_refresh,
            check_create_session_capped,
            check_revoke_session,
            check_revoke_sessions,
            check_reissue_refresh,
            check_touch_session,
            check_changes_since,
            check_append_changes,
            check_audit,
            check_prune_audit,
            check_signing_keys,
            check_settings,
            check_counters,
            check_counters_in_flight,
            check_totp_enable,
            check_totp_step,
            check_totp_disable,
            check_mfa_challenges,
            check_prune,
            check_api_key_roundtrip,
            check_list_api_keys,
            check_revoke_api_key,
            check_renew_api_key,
            check_api_key_usage,
            check_delete_account_deletes_api_keys,
            check_one_time_tokens,
            check_one_time_replaced,
            check_identities,
            check_passkeys,
            check_last_sign_in_method,
            check_account_kind,
            check_api_key_with_new_owner,
            check_api_key_widens_owner,
            check_login_skeletons,
            check_replace_password_hash,
            check_app_sessions,
            check_app_sessions_capped,
            check_oauth_clients,
            check_auth_codes,
            check_consents,
            check_organizations,
            check_rotation_reads_org,
            check_org_members_and_roles,
            check_org_invitations,
            check_org_sessions,
        ], [
            check_rotate_refresh_concurrent,
            check_create_session_capped_concurrent,
            check_settings_concurrent,
            check_counters_concurrent,
            check_totp_step_concurrent,
            check_recovery_codes,
            check_mfa_challenges_concurrent,
            check_one_time_concurrent,
            check_oauth_states,
            check_last_sign_in_method_concurrent,
            check_login_skeleton_concurrent,
            check_replace_password_hash_concurrent,
            check_app_sessions_capped_concurrent,
            check_auth_codes_concurrent,
            check_last_owner_concurrent,
        ]);
    };
    ($name:ident, $gate:ident, $make:expr, [$($check:ident),* $(,)?], [$($arc:ident),* $(,)?]) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            $(
                $crate::__gate!($gate,
                    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                    async fn $check() {
                        let store: ::std::sync::Arc<dyn $crate::__core::store::Store> = ($make).await;
                        $crate::__core::store::conformance::$check(&*store).await;
                    }
                );
            )*
            $(
                $crate::__gate!($gate,
                    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                    async fn $arc() {
                        let store: ::std::sync::Arc<dyn $crate::__core::store::Store> = ($make).await;
                        $crate::__core::store::conformance::$arc(&store).await;
                    }
                );
            )*
        }
    };
}

#[cfg(warden_test_postgres)]
#[doc(hidden)]
#[macro_export]
macro_rules! __acc_postgres {
    ($($rest:tt)*) => { $crate::needs! { @acc $($rest)* } };
}
#[cfg(not(warden_test_postgres))]
#[doc(hidden)]
#[macro_export]
macro_rules! __acc_postgres {
    ([] $($rest:tt)*) => { $crate::needs! { @acc [#[ignore = "WARDEN_TEST_POSTGRES_URL is not set"]] $($rest)* } };
    ([$($a:tt)+] $($rest:tt)*) => { $crate::needs! { @acc [$($a)+] $($rest)* } };
}

#[cfg(warden_test_mysql)]
#[doc(hidden)]
#[macro_export]
macro_rules! __acc_mysql {
    ($($rest:tt)*) => { $crate::needs! { @acc $($rest)* } };
}
#[cfg(not(warden_test_mysql))]
#[doc(hidden)]
#[macro_export]
macro_rules! __acc_mysql {
    ([] $($rest:tt)*) => { $crate::needs! { @acc [#[ignore = "WARDEN_TEST_MYSQL_URL is not set"]] $($rest)* } };
    ([$($a:tt)+] $($rest:tt)*) => { $crate::needs! { @acc [$($a)+] $($rest)* } };
}

#[cfg(warden_test_redis)]
#[doc(hidden)]
#[macro_export]
macro_rules! __acc_redis {
    ($($rest:tt)*) => { $crate::needs! { @acc $($rest)* } };
}
#[cfg(not(warden_test_redis))]
#[doc(hidden)]
#[macro_export]
macro_rules! __acc_redis {
    ([] $($rest:tt)*) => { $crate::needs! { @acc [#[ignore = "WARDEN_TEST_REDIS_URL is not set"]] $($rest)* } };
    ([$($a:tt)+] $($rest:tt)*) => { $crate::needs! { @acc [$($a)+] $($rest)* } };
}
