//! # warden-core
//!
//! The domain of Warden: accounts, password rules and hashing, access tokens,
//! refresh-token sessions, lockout, audit, and the storage traits every backend
//! implements. No HTTP and no SQL types live here.
//!
//! The entry point is [`Auth`], built from a [`store::Store`] and [`Settings`];
//! it hands out one service per capability ([`Accounts`], [`Sessions`], [`AppTokens`],
//! [`Mfa`], [`ApiKeys`], [`EmailFlows`], [`Passkeys`], [`Identities`],
//! [`Upkeep`]), each holding only the store traits it uses:
//!
//! ```
//! # tokio_test_block(async {
//! use std::sync::Arc;
//! use warden_core::{Auth, Settings, NewAccount, model::ClientInfo, store::MemoryStore};
//! let mut settings = Settings::default();
//! settings.hash = warden_core::password::HashParams { memory_kib: 64, iterations: 1, parallelism: 1 };
//! let auth = Auth::new(Arc::new(MemoryStore::new()), settings).await?;
//! let account = auth.accounts().create_account(NewAccount::new("alice", "correct horse battery"), &ClientInfo::default()).await?;
//! let pair = auth.sessions().login("ALICE", "correct horse battery", false, &ClientInfo::default()).await?.tokens().expect("no MFA");
//! let claims = auth.sessions().authenticate(&pair.access_token).await?;
//! assert_eq!(claims.sub, account.id);
//! # Ok::<(), warden_core::Error>(()) });
//! # fn tokio_test_block<F: std::future::Future<Output = Result<(), warden_core::Error>>>(f: F) {
//! #     tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f).unwrap()
//! # }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod accounts;
pub mod api_key;
pub mod app_tokens;
mod argon2_phc;
mod auth;
mod caches;
pub mod clock;
mod email_flow;
pub mod error;
pub mod flush;
pub mod hooks;
pub mod import;
pub mod imported_hash;
mod key_cache;
pub mod limits;
pub mod login_gate;
pub mod login_rules;
pub mod mail;
mod mail_tokens;
pub mod mfa;
mod mfa_flow;
pub mod model;
pub mod oauth;
pub mod organizations;
pub mod passkey;
pub mod password;
pub mod provider;
pub mod random;
pub mod service_accounts;
mod sessions;
mod settings;
mod shared;
pub mod store;
pub mod token;
mod upkeep;

pub use accounts::Accounts;
pub use api_key::ApiKeys;
pub use app_tokens::{AppGrant, AppTokens};
pub use auth::{Auth, rotate_signing_key};
pub use email_flow::EmailFlows;
pub use error::{Error, FieldError, Result};
pub use mfa_flow::{Mfa, TotpSetup};
pub use model::{AccountPatch, NewAccount};
pub use oauth::Identities;
pub use organizations::Organizations;
pub use passkey::{PasskeyChallenge, PasskeySignup, Passkeys};
pub use provider::Provider;
pub use service_accounts::NewServiceAccount;
pub use sessions::{LoginOutcome, Sessions, TokenPair};
pub use settings::{Registration, Settings, WebauthnSettings};
pub use upkeep::Upkeep;
