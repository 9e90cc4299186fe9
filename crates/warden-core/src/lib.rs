//! # warden-core
//!
//! The domain of Warden: accounts, password rules and hashing, access tokens,
//! refresh-token sessions, lockout, audit, and the storage traits every backend
//! implements. No HTTP and no SQL types live here.
//!
//! The entry point is [`Auth`], built from a [`store::Store`] and [`Settings`]:
//!
//! ```
//! # tokio_test_block(async {
//! use std::sync::Arc;
//! use warden_core::{Auth, Settings, NewAccount, model::ClientInfo, store::MemoryStore};
//! let mut settings = Settings::default();
//! settings.hash = warden_core::password::HashParams { memory_kib: 64, iterations: 1, parallelism: 1 };
//! let auth = Auth::new(Arc::new(MemoryStore::new()), settings).await?;
//! let account = auth.create_account(NewAccount::new("alice", "correct horse battery"), &ClientInfo::default()).await?;
//! let pair = auth.login("ALICE", "correct horse battery", false, &ClientInfo::default()).await?.tokens().expect("no MFA");
//! let claims = auth.authenticate(&pair.access_token)?;
//! assert_eq!(claims.sub, account.id);
//! # Ok::<(), warden_core::Error>(()) });
//! # fn tokio_test_block<F: std::future::Future<Output = Result<(), warden_core::Error>>>(f: F) {
//! #     tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f).unwrap()
//! # }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod api_key;
mod auth;
pub mod clock;
mod email_flow;
pub mod error;
pub mod hooks;
pub mod imported_hash;
pub mod limits;
pub mod mail;
pub mod mfa;
mod mfa_flow;
pub mod model;
pub mod oauth;
pub mod passkey;
pub mod password;
pub mod random;
mod settings;
pub mod store;
pub mod token;

pub use auth::{AccountPatch, Auth, LoginOutcome, NewAccount, TokenPair, rotate_signing_key};
pub use error::{Error, FieldError, Result};
pub use mfa_flow::TotpSetup;
pub use passkey::{PasskeyChallenge, PasskeySignup, WebauthnSettings};
pub use settings::{Registration, Settings};
