//! The TOTP second factor through the engine, on a manual clock.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use time::Duration;
use warden_core::clock::{Clock, ManualClock};
use warden_core::mfa::{self, EncryptionKey};
use warden_core::model::{AccountId, ClientInfo};
use warden_core::password::HashParams;
use warden_core::store::{AuditQuery, KeyStore, MemoryStore, MfaStore, Store};
use warden_core::{Auth, Error, LoginOutcome, NewAccount, Settings, TokenPair};

const PASSWORD: &str = "correct horse battery";
/// A step boundary: 1_700_000_010 = 56_666_667 * 30.
const T0: i64 = 1_700_000_010;

struct Env {
    auth: Auth,
    store: Arc<MemoryStore>,
    clock: ManualClock,
    id: AccountId,
}

fn settings() -> Settings {
    Settings {
        hash: HashParams {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        },
        ..Settings::default()
    }
}

fn client() -> ClientInfo {
    ClientInfo::default()
}

async fn env_with(settings: Settings) -> Env {
    let store = Arc::new(MemoryStore::new());
    let clock = ManualClock::at_unix(T0);
    let dyn_store: Arc<dyn Store> = store.clone();
    let auth = Auth::with_clock(dyn_store, settings, Arc::new(clock.clone()))
        .await
        .unwrap();
    let id = auth
        .accounts()
        .create_account(NewAccount::new("alice", PASSWORD), &client())
        .await
        .unwrap()
        .id;
    Env {
        auth,
        store,
        clock,
        id,
    }
}

async fn env() -> Env {
    env_with(settings()).await
}

fn decode(secret_b32: &str) -> Vec<u8> {
    let secret = totp_rs::Secret::try_from_base32(secret_b32).unwrap();
    let bytes: &[u8] = secret.as_ref();
    bytes.to_vec()
}

impl Env {
    fn unix(&self) -> i64 {
        self.clock.now().unix_timestamp()
    }

    /// The 6-digit code of `secret` at `offset` seconds from now.
    fn code(&self, secret: &[u8], offset: i64) -> String {
        mfa::generate(secret, (self.unix() + offset) as u64, 6).unwrap()
    }

    /// Enrol and confirm; returns the secret and the recovery codes. The clock
    /// moves on a step so the confirming code's step is in the past.
    async fn enrol(&self) -> (Vec<u8>, Vec<String>) {
        let setup = self
            .auth
            .mfa()
            .totp_setup(self.id, &client())
            .await
            .unwrap();
        let secret = decode(&setup.secret);
        let codes = self
            .auth
            .mfa()
            .totp_confirm(self.id, &self.code(&secret, 0), &client())
            .await
            .unwrap();
        self.clock.advance(Duration::seconds(30));
        (secret, codes)
    }

    async fn mfa_token(&self) -> String {
        match self
            .auth
            .sessions()
            .login("alice", PASSWORD, false, &client())
            .await
            .unwrap()
        {
            LoginOutcome::MfaRequired { mfa_token, methods } => {
                assert_eq!(methods, vec!["totp", "recovery_code"]);
                mfa_token
            }
            LoginOutcome::Tokens(_) => panic!("expected the MFA step"),
        }
    }

    async fn finish(&self, token: &str, code: &str) -> Result<TokenPair, Error> {
        self.auth.mfa().login_mfa(token, code, &client()).await
    }

    async fn events(&self) -> Vec<(String, serde_json::Value)> {
        self.auth
            .accounts()
            .audit_events(&AuditQuery {
                account_id: Some(self.id),
                limit: 1000,
                ..AuditQuery::default()
            })
            .await
            .unwrap()
            .into_iter()
            .map(|e| (e.event, e.detail))
            .collect()
    }
}

#[test]
fn rfc6238_sha1_vectors_on_a_manual_clock() {
    let secret = b"12345678901234567890";
    for (t, want) in [
        (59, "94287082"),
        (1_111_111_109, "07081804"),
        (1_111_111_111, "14050471"),
        (1_234_567_890, "89005924"),
        (2_000_000_000, "69279037"),
        (20_000_000_000, "65353130"),
    ] {
        let clock = ManualClock::at_unix(t);
        let now = clock.now().unix_timestamp();
        assert_eq!(mfa::generate(secret, now as u64, 8).unwrap(), want);
        assert_eq!(mfa::generate(secret, now as u64, 6).unwrap(), want[2..]);
        let step = mfa::verify(secret, &want[2..], now, None);
        assert_eq!(step, Some(t / 30), "t = {t}");
    }
}

#[tokio::test]
async fn enrol_then_login_with_totp() {
    let e = env().await;
    assert!(!e.auth.mfa().mfa_status(e.id).await.unwrap());
    let setup = e.auth.mfa().totp_setup(e.id, &client()).await.unwrap();
    assert!(
        setup
            .otpauth_uri
            .starts_with("otpauth://totp/Warden:alice?secret=")
    );
    assert!(setup.otpauth_uri.contains("issuer=Warden"));
    assert!(setup.qr_svg.contains("<svg"));
    assert_eq!(format!("{setup:?}"), "TotpSetup([redacted])");
    let secret = decode(&setup.secret);
    assert_eq!(secret.len(), 20);
    // Not active before confirmation: the login still answers tokens.
    assert!(
        e.auth
            .sessions()
            .login("alice", PASSWORD, false, &client())
            .await
            .unwrap()
            .tokens()
            .is_some()
    );
    // Wrong code: refused, still off.
    let wrong = e
        .auth
        .mfa()
        .totp_confirm(e.id, &e.code(&secret, 120), &client())
        .await;
    assert!(matches!(wrong, Err(Error::InvalidMfaCode)), "{wrong:?}");
    assert!(!e.auth.mfa().mfa_status(e.id).await.unwrap());
    // Right code.
    let confirm_code = e.code(&secret, 0);
    let codes = e
        .auth
        .mfa()
        .totp_confirm(e.id, &confirm_code, &client())
        .await
        .unwrap();
    assert_eq!(codes.len(), 10);
    assert!(e.auth.mfa().mfa_status(e.id).await.unwrap());
    assert_eq!(e.auth.mfa().recovery_codes_left(e.id).await.unwrap(), 10);
    // The confirming code cannot be used again to log in.
    let token = e.mfa_token().await;
    let replay = e.finish(&token, &confirm_code).await;
    assert!(matches!(replay, Err(Error::InvalidMfaCode)), "{replay:?}");
    // The next step's code works; the session says pwd + otp.
    e.clock.advance(Duration::seconds(30));
    let pair = e.finish(&token, &e.code(&secret, 0)).await.unwrap();
    let claims = e
        .auth
        .sessions()
        .authenticate(&pair.access_token)
        .await
        .unwrap();
    assert_eq!(claims.sub, e.id);
    assert_eq!(claims.amr, vec!["pwd".to_owned(), "otp".to_owned()]);
    // The token is single use.
    e.clock.advance(Duration::seconds(30));
    let again = e.finish(&token, &e.code(&secret, 0)).await;
    assert!(matches!(again, Err(Error::InvalidMfaCode)), "{again:?}");

    let events = e.events().await;
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    for want in ["mfa.setup", "mfa.enabled", "mfa.failure", "login.success"] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    let (_, detail) = events.iter().find(|(n, _)| n == "login.success").unwrap();
    assert_eq!(detail["amr"], serde_json::json!(["pwd", "otp"]));
    // Nothing secret in the audit trail.
    let trail = serde_json::to_string(&events).unwrap();
    assert!(!trail.contains(&setup.secret));
    assert!(!trail.contains(&codes[0]));
    assert!(!trail.contains(&token));
}

#[tokio::test]
async fn replay_refused_within_the_window() {
    let e = env().await;
    let (secret, _) = e.enrol().await;
    let code = e.code(&secret, 0);
    let token = e.mfa_token().await;
    e.finish(&token, &code).await.unwrap();
    // Same code, same step, on a new login: refused.
    let token = e.mfa_token().await;
    assert!(matches!(
        e.finish(&token, &code).await,
        Err(Error::InvalidMfaCode)
    ));
    // Ten seconds later the step is still the same: still refused.
    e.clock.advance(Duration::seconds(10));
    assert!(matches!(
        e.finish(&token, &code).await,
        Err(Error::InvalidMfaCode)
    ));
    // An older step's code is refused too once a newer one was used.
    assert!(matches!(
        e.finish(&token, &e.code(&secret, -30)).await,
        Err(Error::InvalidMfaCode)
    ));
    let failures = e
        .events()
        .await
        .into_iter()
        .filter(|(n, d)| n == "mfa.failure" && d["reason"] == "replay")
        .count();
    assert!(failures >= 2);
}

#[tokio::test]
async fn skew_of_one_step_accepted_two_refused() {
    let e = env().await;
    let (secret, _) = e.enrol().await;
    // Far enough ahead that no earlier step blocks the checks below.
    e.clock.advance(Duration::seconds(300));
    for offset in [-60, 60] {
        let token = e.mfa_token().await;
        let r = e.finish(&token, &e.code(&secret, offset)).await;
        assert!(matches!(r, Err(Error::InvalidMfaCode)), "offset {offset}");
    }
    let token = e.mfa_token().await;
    e.finish(&token, &e.code(&secret, -30)).await.unwrap();
    let token = e.mfa_token().await;
    e.finish(&token, &e.code(&secret, 30)).await.unwrap();
}

#[tokio::test]
async fn three_wrong_codes_kill_the_mfa_token() {
    let e = env().await;
    let (secret, _) = e.enrol().await;
    let token = e.mfa_token().await;
    let wrong = format!(
        "{:06}",
        (e.code(&secret, 0).parse::<u32>().unwrap() + 1) % 1_000_000
    );
    for _ in 0..3 {
        assert!(matches!(
            e.finish(&token, &wrong).await,
            Err(Error::InvalidMfaCode)
        ));
    }
    // Even the right code fails now.
    assert!(matches!(
        e.finish(&token, &e.code(&secret, 0)).await,
        Err(Error::InvalidMfaCode)
    ));
    // A new login works.
    let token = e.mfa_token().await;
    e.finish(&token, &e.code(&secret, 0)).await.unwrap();
    let lefts: Vec<serde_json::Value> = e
        .events()
        .await
        .into_iter()
        .filter(|(n, _)| n == "mfa.failure")
        .map(|(_, d)| d["attempts_left"].clone())
        .collect();
    assert_eq!(lefts, vec![0, 1, 2], "newest first");
}

#[tokio::test]
async fn block_tries_is_a_setting() {
    let e = env_with(Settings {
        otp_block_tries: 1,
        ..settings()
    })
    .await;
    let (secret, _) = e.enrol().await;
    let token = e.mfa_token().await;
    assert!(e.finish(&token, "000000").await.is_err());
    assert!(e.finish(&token, &e.code(&secret, 0)).await.is_err());
}

#[tokio::test]
async fn mfa_token_expires_after_five_minutes() {
    let e = env().await;
    let (secret, _) = e.enrol().await;
    let token = e.mfa_token().await;
    e.clock.advance(Duration::seconds(301));
    assert!(matches!(
        e.finish(&token, &e.code(&secret, 0)).await,
        Err(Error::InvalidMfaCode)
    ));
    let token = e.mfa_token().await;
    e.clock.advance(Duration::seconds(290));
    e.finish(&token, &e.code(&secret, 0)).await.unwrap();
    // Housekeeping prunes dead tokens.
    let dead = e.mfa_token().await;
    e.clock.advance(Duration::minutes(10));
    e.auth.upkeep().housekeeping().await.unwrap();
    let hash = warden_core::random::sha256(dead.as_bytes());
    assert_eq!(
        e.store
            .take_mfa_challenge(&hash, e.clock.now() - Duration::hours(1))
            .await
            .unwrap(),
        None
    );
    assert!(matches!(
        e.finish("garbage", "123456").await,
        Err(Error::InvalidMfaCode)
    ));
}

#[tokio::test]
async fn recovery_codes_work_once() {
    let e = env().await;
    let (_, codes) = e.enrol().await;
    let token = e.mfa_token().await;
    let pair = e.finish(&token, &codes[0].to_uppercase()).await.unwrap();
    let claims = e
        .auth
        .sessions()
        .authenticate(&pair.access_token)
        .await
        .unwrap();
    assert_eq!(claims.amr, vec!["pwd".to_owned(), "otp".to_owned()]);
    assert_eq!(e.auth.mfa().recovery_codes_left(e.id).await.unwrap(), 9);
    let token = e.mfa_token().await;
    assert!(matches!(
        e.finish(&token, &codes[0]).await,
        Err(Error::InvalidMfaCode)
    ));
    // Without dashes works too.
    e.finish(&token, &codes[1].replace('-', "")).await.unwrap();
    let events = e.events().await;
    let used: Vec<_> = events
        .iter()
        .filter(|(n, _)| n == "mfa.recovery_code_used")
        .map(|(_, d)| d["remaining"].clone())
        .collect();
    assert_eq!(used, vec![8, 9]);
}

#[tokio::test]
async fn setup_twice_replaces_the_pending_secret() {
    let e = env().await;
    let first = decode(
        &e.auth
            .mfa()
            .totp_setup(e.id, &client())
            .await
            .unwrap()
            .secret,
    );
    let second = decode(
        &e.auth
            .mfa()
            .totp_setup(e.id, &client())
            .await
            .unwrap()
            .secret,
    );
    assert_ne!(first, second);
    assert!(matches!(
        e.auth
            .mfa()
            .totp_confirm(e.id, &e.code(&first, 0), &client())
            .await,
        Err(Error::InvalidMfaCode)
    ));
    e.auth
        .mfa()
        .totp_confirm(e.id, &e.code(&second, 0), &client())
        .await
        .unwrap();
    // Enabled: a further setup is refused, confirm without setup too.
    assert!(matches!(
        e.auth.mfa().totp_setup(e.id, &client()).await,
        Err(Error::BadRequest(_))
    ));
    assert!(matches!(
        e.auth.mfa().totp_confirm(e.id, "123456", &client()).await,
        Err(Error::BadRequest(_))
    ));
}

#[tokio::test]
async fn disable_needs_the_password_and_deletes_everything() {
    let e = env().await;
    let (_, codes) = e.enrol().await;
    assert!(matches!(
        e.auth
            .mfa()
            .totp_disable(e.id, "wrong password!", &client())
            .await,
        Err(Error::InvalidCredentials)
    ));
    assert!(e.auth.mfa().mfa_status(e.id).await.unwrap());
    e.auth
        .mfa()
        .totp_disable(e.id, PASSWORD, &client())
        .await
        .unwrap();
    assert!(!e.auth.mfa().mfa_status(e.id).await.unwrap());
    assert_eq!(e.store.active_totp(e.id).await.unwrap(), None);
    assert_eq!(e.auth.mfa().recovery_codes_left(e.id).await.unwrap(), 0);
    assert_eq!(
        e.store
            .use_recovery_code(e.id, &mfa::recovery_code_hash(&codes[2]).unwrap())
            .await
            .unwrap(),
        None
    );
    let outcome = e
        .auth
        .sessions()
        .login("alice", PASSWORD, false, &client())
        .await
        .unwrap();
    let pair = outcome.tokens().expect("no MFA step any more");
    assert_eq!(
        e.auth
            .sessions()
            .authenticate(&pair.access_token)
            .await
            .unwrap()
            .amr,
        vec!["pwd".to_owned()]
    );
    let disabled: Vec<_> = e
        .events()
        .await
        .into_iter()
        .filter(|(n, _)| n == "mfa.disabled")
        .map(|(_, d)| d["by"].clone())
        .collect();
    assert_eq!(disabled, vec!["self"]);
}

#[tokio::test]
async fn admin_disable_deletes_the_secret() {
    let e = env().await;
    e.enrol().await;
    let token = e.mfa_token().await;
    e.auth.mfa().disable_mfa(e.id, &client()).await.unwrap();
    assert!(!e.auth.mfa().mfa_status(e.id).await.unwrap());
    assert_eq!(e.store.active_totp(e.id).await.unwrap(), None);
    assert_eq!(e.auth.mfa().recovery_codes_left(e.id).await.unwrap(), 0);
    // A pending MFA login cannot be finished any more.
    assert!(e.finish(&token, "123456").await.is_err());
    assert!(
        e.auth
            .sessions()
            .login("alice", PASSWORD, false, &client())
            .await
            .unwrap()
            .tokens()
            .is_some()
    );
    // A no-op the second time; still only one event.
    e.auth.mfa().disable_mfa(e.id, &client()).await.unwrap();
    let n = e
        .events()
        .await
        .iter()
        .filter(|(n, d)| n == "mfa.disabled" && d["by"] == "admin")
        .count();
    assert_eq!(n, 1);
    // Enrolling again works.
    e.enrol().await;
    assert!(e.auth.mfa().mfa_status(e.id).await.unwrap());
}

#[tokio::test]
async fn secrets_are_encrypted_at_rest() {
    let e = env().await;
    let setup = e.auth.mfa().totp_setup(e.id, &client()).await.unwrap();
    let secret = decode(&setup.secret);
    let stored = e.store.pending_totp(e.id).await.unwrap().unwrap();
    assert!(!stored.windows(secret.len()).any(|w| w == secret.as_slice()));
    assert!(!String::from_utf8_lossy(&stored).contains(&setup.secret));
    // The generated key lives in the store settings and opens the secret.
    let key = e.store.setting("encryption_key").await.unwrap().unwrap();
    let key = EncryptionKey::from_base64(&key).unwrap();
    let mut ctx = b"warden-totp:".to_vec();
    ctx.extend_from_slice(e.id.0.as_bytes());
    assert_eq!(key.open(&stored, &ctx).unwrap(), secret);

    // A configured key is used and nothing is stored.
    let configured = EncryptionKey::generate();
    let e2 = env_with(Settings {
        encryption_key: Some(configured.clone()),
        ..settings()
    })
    .await;
    assert_eq!(e2.store.setting("encryption_key").await.unwrap(), None);
    e2.auth.mfa().totp_setup(e2.id, &client()).await.unwrap();
    let stored = e2.store.pending_totp(e2.id).await.unwrap().unwrap();
    let mut ctx = b"warden-totp:".to_vec();
    ctx.extend_from_slice(e2.id.0.as_bytes());
    assert!(configured.open(&stored, &ctx).is_ok());
}

#[tokio::test]
async fn otp_disabled_refuses_enrolment() {
    let e = env_with(Settings {
        otp_enabled: false,
        ..settings()
    })
    .await;
    assert!(matches!(
        e.auth.mfa().totp_setup(e.id, &client()).await,
        Err(Error::Forbidden(_))
    ));
}

#[tokio::test]
async fn bad_settings_are_refused() {
    for s in [
        Settings {
            otp_issuer: "a:b".into(),
            ..settings()
        },
        Settings {
            otp_block_tries: 0,
            ..settings()
        },
    ] {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        assert!(Auth::new(store, s).await.is_err());
    }
}

#[tokio::test]
async fn blocked_account_cannot_finish_mfa() {
    let e = env().await;
    let (secret, _) = e.enrol().await;
    let token = e.mfa_token().await;
    e.auth
        .accounts()
        .block_account(e.id, "test", &client())
        .await
        .unwrap();
    assert!(matches!(
        e.finish(&token, &e.code(&secret, 0)).await,
        Err(Error::AccountBlocked)
    ));
}

#[tokio::test]
async fn wrong_codes_across_tokens_lock_the_account_step() {
    let e = env().await;
    let (secret, _) = e.enrol().await;
    let wrong = |s: &str| format!("{:06}", (s.parse::<u32>().unwrap() + 500_000) % 1_000_000);
    // block_tries (5) wrong codes over two tokens.
    let first = e.mfa_token().await;
    for _ in 0..3 {
        assert!(e.finish(&first, &wrong(&e.code(&secret, 0))).await.is_err());
    }
    let second = e.mfa_token().await;
    for _ in 0..2 {
        assert!(matches!(
            e.finish(&second, &wrong(&e.code(&secret, 0))).await,
            Err(Error::InvalidMfaCode)
        ));
    }
    // Locked: even the right code is refused, with a wait.
    let third = e.mfa_token().await;
    let locked = e.finish(&third, &e.code(&secret, 0)).await;
    assert!(
        matches!(locked, Err(Error::TooManyAttempts { retry_after }) if retry_after > 0),
        "{locked:?}"
    );
    assert!(e.events().await.iter().any(|(n, _)| n == "mfa.lockout"));
    // After the window the right code works and the counter is cleared.
    e.clock.advance(Duration::seconds(61));
    e.finish(&third, &e.code(&secret, 0)).await.unwrap();
}
