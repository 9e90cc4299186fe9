//! The conformance suite every [`Store`] backend must pass.
//!
//! Each check panics (via `assert!`) when the backend breaks the contract of
//! [`crate::store`]. Every check makes its own accounts, sessions, keys and
//! counter keys with fresh UUIDs, so the suite can run again and again against
//! one persistent database. [`run_all`] runs the checks one after another:
//! [`check_prune`] and [`check_prune_audit`] delete old rows of every account,
//! so do not run it concurrently with other tests on the same database.
//! `warden_testkit::conformance_tests!` runs one named test per check, each
//! on a fresh store, so a failure names its check and backend.
//!
//! The checks are grouped by capability: accounts, sessions, the feed with
//! audit, keys, settings and pruning, counters, MFA, API keys, one-time
//! tokens, identities, passkeys and logins.
//!
//! ```no_run
//! # async fn demo() {
//! use std::sync::Arc;
//! use warden_core::store::{MemoryStore, Store, conformance};
//! let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
//! conformance::run_all(store).await;
//! # }
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::Store;
use std::sync::Arc;

/// Run every check, one after another.
pub async fn run_all(store: Arc<dyn Store>) {
    let s: &dyn Store = store.as_ref();
    check_ping(s).await;
    check_account_roundtrip(s).await;
    check_unique_on_insert(s).await;
    check_unique_on_update(s).await;
    check_update_not_found(s).await;
    check_update_replaces_row(s).await;
    check_update_revokes(s).await;
    check_delete_account(s).await;
    check_list_accounts(s).await;
    check_sessions(s).await;
    check_rotate_refresh(s).await;
    check_rotate_refresh_concurrent(&store).await;
    check_create_session_capped(s).await;
    check_create_session_capped_concurrent(&store).await;
    check_revoke_session(s).await;
    check_revoke_sessions(s).await;
    check_reissue_refresh(s).await;
    check_touch_session(s).await;
    check_changes_since(s).await;
    check_append_changes(s).await;
    check_audit(s).await;
    check_prune_audit(s).await;
    check_signing_keys(s).await;
    check_settings(s).await;
    check_settings_concurrent(&store).await;
    check_counters(s).await;
    check_counters_in_flight(s).await;
    check_counters_concurrent(&store).await;
    check_totp_enable(s).await;
    check_totp_step(s).await;
    check_totp_step_concurrent(&store).await;
    check_recovery_codes(&store).await;
    check_totp_disable(s).await;
    check_mfa_challenges(s).await;
    check_mfa_challenges_concurrent(&store).await;
    check_prune(s).await;
    check_api_key_roundtrip(s).await;
    check_list_api_keys(s).await;
    check_revoke_api_key(s).await;
    check_renew_api_key(s).await;
    check_api_key_usage(s).await;
    check_delete_account_deletes_api_keys(s).await;
    check_one_time_tokens(s).await;
    check_one_time_replaced(s).await;
    check_one_time_concurrent(&store).await;
    check_identities(s).await;
    check_oauth_states(&store).await;
    check_passkeys(s).await;
    check_last_sign_in_method(s).await;
    check_last_sign_in_method_concurrent(&store).await;
    check_account_kind(s).await;
    check_api_key_with_new_owner(s).await;
    check_api_key_widens_owner(s).await;
    check_login_skeletons(s).await;
    check_login_skeleton_concurrent(&store).await;
    check_replace_password_hash(s).await;
    check_replace_password_hash_concurrent(&store).await;
    check_app_sessions(s).await;
    check_app_sessions_capped(s).await;
    check_app_sessions_capped_concurrent(&store).await;
    check_oauth_clients(s).await;
    check_auth_codes(s).await;
    check_auth_codes_concurrent(&store).await;
    check_consents(s).await;
    check_organizations(s).await;
    check_rotation_reads_org(s).await;
    check_org_members_and_roles(s).await;
    check_org_invitations(s).await;
    check_org_sessions(s).await;
    check_last_owner_concurrent(&store).await;
}

mod api_keys;
pub use api_keys::*;

mod one_time;
pub use one_time::*;

mod identities;
pub use identities::*;

mod passkeys;
pub use passkeys::*;

mod service_accounts;
pub use service_accounts::*;
mod logins;
pub use logins::*;
mod session_cap;
pub use session_cap::*;
mod password_hashes;
pub use password_hashes::*;
mod app_sessions;
pub use app_sessions::*;
mod provider;
pub use provider::*;
mod organizations;
pub use organizations::*;

mod accounts;
mod counters;
mod feed;
mod helpers;
mod mfa;
mod sessions;
pub use accounts::*;
pub use counters::*;
pub use feed::*;
use helpers::*;
pub use mfa::*;
pub use sessions::*;
