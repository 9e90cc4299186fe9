//! Unit tests of [`super::Tokens`].

#![allow(clippy::unwrap_used, clippy::expect_used)]
use super::*;
use crate::clock::ManualClock;

fn cfg() -> TokenConfig {
    TokenConfig {
        issuer: "warden".into(),
        audience: None,
        access_ttl: Duration::minutes(5),
        leeway: Duration::seconds(30),
        cache_size: 65_536,
    }
}

#[test]
fn every_alg_signs_and_verifies() {
    let clock = ManualClock::at_unix(1_700_000_000);
    for alg in [
        SigningAlg::EdDSA,
        SigningAlg::ES256,
        SigningAlg::RS256,
        SigningAlg::HS256,
        SigningAlg::HS384,
        SigningAlg::HS512,
    ] {
        let stored = if alg.is_hmac() {
            vec![]
        } else {
            vec![generate_key(alg, clock.now()).unwrap()]
        };
        let t = Tokens::new(
            cfg(),
            alg,
            &stored,
            Some(b"0123456789abcdef0123456789abcdef"),
            Arc::new(clock.clone()),
        )
        .unwrap();
        let c = t.claims(
            AccountId::new(),
            SessionId::new(),
            &["admin".into()],
            true,
            &["pwd".into()],
            clock.now() + Duration::hours(1),
        );
        let jwt = t.sign(&c).unwrap();
        let back = t.verify(&jwt).unwrap();
        assert_eq!(*back, c, "{alg:?}");
        assert_eq!(t.jwks().keys.len(), usize::from(!alg.is_hmac()));
    }
}

#[test]
fn the_token_caches_hold_at_most_their_size() {
    let clock = ManualClock::at_unix(1_700_000_000);
    let key = generate_key(SigningAlg::EdDSA, clock.now()).unwrap();
    let cfg = TokenConfig {
        cache_size: 3,
        ..cfg()
    };
    let t = Tokens::new(
        cfg,
        SigningAlg::EdDSA,
        &[key],
        None,
        Arc::new(clock.clone()),
    )
    .unwrap();
    let end = clock.now() + Duration::hours(1);
    for _ in 0..10 {
        let c = t.claims(AccountId::new(), SessionId::new(), &[], false, &[], end);
        let jwt = t.sign(&c).unwrap();
        assert_eq!(*t.verify(&jwt).unwrap(), c);
        assert!(t.verify_subject(&jwt).is_ok());
        assert!(t.cache.read().len() <= 3 && t.subject_cache.read().len() <= 3);
        assert_eq!(*t.verify(&jwt).unwrap(), c, "a hit answers the same");
    }
}

#[test]
fn rotation_keeps_old_tokens_valid_until_they_expire() {
    let clock = ManualClock::at_unix(1_700_000_000);
    let first = generate_key(SigningAlg::EdDSA, clock.now()).unwrap();
    let t = Tokens::new(
        cfg(),
        SigningAlg::EdDSA,
        std::slice::from_ref(&first),
        None,
        Arc::new(clock.clone()),
    )
    .unwrap();
    let c = t.claims(
        AccountId::new(),
        SessionId::new(),
        &[],
        false,
        &[],
        clock.now() + Duration::hours(1),
    );
    let old = t.sign(&c).unwrap();
    // Rotate: the first key retires now, a second one signs.
    let mut retired = first.clone();
    retired.retired_at = Some(clock.now());
    let second = generate_key(SigningAlg::EdDSA, clock.now()).unwrap();
    t.reload(SigningAlg::EdDSA, &[retired.clone(), second.clone()], None)
        .unwrap();
    assert_eq!(t.current_kid(), second.kid);
    assert!(t.verify(&old).is_ok(), "old token must keep verifying");
    assert_eq!(t.jwks().keys.len(), 2);
    let new = t
        .sign(&t.claims(
            AccountId::new(),
            SessionId::new(),
            &[],
            false,
            &[],
            clock.now() + Duration::hours(1),
        ))
        .unwrap();
    assert!(t.verify(&new).is_ok());
    // Long after every old token expired, the retired key leaves the ring.
    clock.advance(Duration::hours(1));
    t.reload(SigningAlg::EdDSA, &[retired, second], None)
        .unwrap();
    assert_eq!(t.jwks().keys.len(), 1);
    assert!(t.verify(&old).is_err());
}

#[test]
fn header_alg_must_match_the_key() {
    let clock = ManualClock::at_unix(1_700_000_000);
    let stored = vec![generate_key(SigningAlg::EdDSA, clock.now()).unwrap()];
    let t = Tokens::new(
        cfg(),
        SigningAlg::EdDSA,
        &stored,
        None,
        Arc::new(clock.clone()),
    )
    .unwrap();
    let c = t.claims(
        AccountId::new(),
        SessionId::new(),
        &[],
        false,
        &[],
        clock.now() + Duration::hours(1),
    );
    let jwt = t.sign(&c).unwrap();
    let mut parts: Vec<String> = jwt.split('.').map(str::to_owned).collect();
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = String::from_utf8(b64.decode(&parts[0]).unwrap()).unwrap();
    parts[0] = b64.encode(header.replace("EdDSA", "none"));
    assert!(matches!(
        t.verify(&format!("{}.{}.", parts[0], parts[1])),
        Err(Error::InvalidToken)
    ));
    parts[0] = b64.encode(header.replace("EdDSA", "HS256"));
    assert!(matches!(
        t.verify(&parts.join(".")),
        Err(Error::InvalidToken)
    ));
}

#[test]
fn expiry_uses_the_clock() {
    let clock = ManualClock::at_unix(1_700_000_000);
    let stored = vec![generate_key(SigningAlg::EdDSA, clock.now()).unwrap()];
    let t = Tokens::new(
        cfg(),
        SigningAlg::EdDSA,
        &stored,
        None,
        Arc::new(clock.clone()),
    )
    .unwrap();
    let c = t.claims(
        AccountId::new(),
        SessionId::new(),
        &[],
        false,
        &[],
        clock.now() + Duration::hours(1),
    );
    let jwt = t.sign(&c).unwrap();
    clock.advance(Duration::seconds(300 + 29));
    assert!(t.verify(&jwt).is_ok());
    clock.advance(Duration::seconds(2));
    assert!(matches!(t.verify(&jwt), Err(Error::TokenExpired)));
}
