//! Access tokens: signing keys, claims, pinned-algorithm verification, JWKS.

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::model::{AccountId, SessionId, StoredKey};
use jsonwebtoken::jwk::{Jwk, JwkSet, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Validation};
use parking_lot::RwLock;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

/// The signing algorithms Warden offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SigningAlg {
    /// Ed25519 (default).
    EdDSA,
    /// RSA PKCS#1 v1.5 with SHA-256, 2048-bit keys.
    RS256,
    /// ECDSA P-256 with SHA-256.
    ES256,
    /// HMAC-SHA-256 with `WARDEN_SECRET`.
    HS256,
    /// HMAC-SHA-384 with `WARDEN_SECRET`.
    HS384,
    /// HMAC-SHA-512 with `WARDEN_SECRET`.
    HS512,
}

impl SigningAlg {
    fn jwt(self) -> Algorithm {
        match self {
            SigningAlg::EdDSA => Algorithm::EdDSA,
            SigningAlg::RS256 => Algorithm::RS256,
            SigningAlg::ES256 => Algorithm::ES256,
            SigningAlg::HS256 => Algorithm::HS256,
            SigningAlg::HS384 => Algorithm::HS384,
            SigningAlg::HS512 => Algorithm::HS512,
        }
    }
    /// Whether the algorithm uses the shared secret (no key pair, nothing in JWKS).
    pub fn is_hmac(self) -> bool {
        matches!(
            self,
            SigningAlg::HS256 | SigningAlg::HS384 | SigningAlg::HS512
        )
    }
    /// The JOSE name.
    pub fn name(self) -> &'static str {
        match self {
            SigningAlg::EdDSA => "EdDSA",
            SigningAlg::RS256 => "RS256",
            SigningAlg::ES256 => "ES256",
            SigningAlg::HS256 => "HS256",
            SigningAlg::HS384 => "HS384",
            SigningAlg::HS512 => "HS512",
        }
    }
}

impl FromStr for SigningAlg {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        Ok(match s.to_ascii_uppercase().as_str() {
            "EDDSA" | "ED25519" => SigningAlg::EdDSA,
            "RS256" => SigningAlg::RS256,
            "ES256" => SigningAlg::ES256,
            "HS256" => SigningAlg::HS256,
            "HS384" => SigningAlg::HS384,
            "HS512" => SigningAlg::HS512,
            other => {
                return Err(format!(
                    "unknown JWT algorithm {other:?} (EdDSA, RS256, ES256, HS256, HS384, HS512)"
                ));
            }
        })
    }
}

/// What the subject (`sub`) of an access token is: an account when the
/// `sub_kind` claim is absent, an app subject (a user the application keeps
/// itself, [`crate::app_tokens`]) when it is `"app"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SubjectKind {
    /// An app subject: `sub` is the application's own id of the user.
    App,
}

/// Claims of a Warden access token (API.md "Tokens"). `S` is the type of
/// `sub`: [`AccountId`] for an account's token ([`Claims`], what every
/// account extractor sees), `String` for any subject ([`SubjectClaims`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims<S = AccountId> {
    /// Issuer.
    pub iss: String,
    /// The subject: the account id, or the app subject.
    pub sub: S,
    /// `"app"` for an app subject's token, absent for an account's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_kind: Option<SubjectKind>,
    /// Audience, when configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    /// Issued at (unix seconds).
    pub iat: i64,
    /// Not before (unix seconds).
    pub nbf: i64,
    /// Expires (unix seconds).
    pub exp: i64,
    /// Token id.
    pub jti: String,
    /// Session id.
    pub sid: SessionId,
    /// Space-separated scopes.
    #[serde(default)]
    pub scope: String,
    /// Issued by a password (or second-factor) check just now.
    #[serde(default)]
    pub fresh: bool,
    /// Authentication methods.
    #[serde(default)]
    pub amr: Vec<String>,
    /// Extra claims added by the application.
    #[serde(flatten, default)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// The claims of any verified access token, an account's or an app
/// subject's, with `sub` as text (see [`crate::app_tokens::AppTokens::authenticate`]).
pub type SubjectClaims = Claims<String>;

impl<S> Claims<S> {
    /// Whether the token carries a scope.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scope.split(' ').any(|s| s == scope)
    }
    /// Scopes as a list.
    pub fn scopes(&self) -> Vec<String> {
        self.scope
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }
    /// Whether the subject is an app subject (`sub_kind: "app"`), not an account.
    pub fn is_app(&self) -> bool {
        self.sub_kind == Some(SubjectKind::App)
    }
}

impl<S: ToString> Claims<S> {
    /// The same claims with `sub` as text (what a
    /// [`crate::hooks::TokenDenylist`] is shown).
    pub fn to_subject(&self) -> SubjectClaims {
        Claims {
            iss: self.iss.clone(),
            sub: self.sub.to_string(),
            sub_kind: self.sub_kind,
            aud: self.aud.clone(),
            iat: self.iat,
            nbf: self.nbf,
            exp: self.exp,
            jti: self.jti.clone(),
            sid: self.sid,
            scope: self.scope.clone(),
            fresh: self.fresh,
            amr: self.amr.clone(),
            extra: self.extra.clone(),
        }
    }
}

struct Key {
    kid: String,
    alg: SigningAlg,
    signer: signer::Signer,
    /// The encoded header of an access token (`typ: at+jwt`) of this key.
    access_header: String,
    dec: DecodingKey,
    jwk: Option<Jwk>,
}

struct Ring {
    current: Arc<Key>,
    by_kid: HashMap<String, Arc<Key>>,
}

/// Generate a new key pair for `alg` (not for HMAC algorithms).
pub fn generate_key(alg: SigningAlg, now: OffsetDateTime) -> Result<StoredKey> {
    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair};
    let der: Vec<u8> = match alg {
        SigningAlg::EdDSA => {
            let kp = Ed25519KeyPair::generate().map_err(Error::internal)?;
            kp.to_pkcs8v1().map_err(Error::internal)?.as_ref().to_vec()
        }
        SigningAlg::ES256 => {
            let kp = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
                .map_err(Error::internal)?;
            kp.to_pkcs8v1().map_err(Error::internal)?.as_ref().to_vec()
        }
        SigningAlg::RS256 => {
            let kp = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
                .map_err(Error::internal)?;
            let doc: aws_lc_rs::encoding::Pkcs8V1Der<'static> =
                kp.as_der().map_err(Error::internal)?;
            // jsonwebtoken wants PKCS#1 RSAPrivateKey: the OCTET STRING inside PKCS#8.
            pkcs8_private_key(doc.as_ref())
                .ok_or_else(|| Error::Internal("unexpected PKCS#8 layout".into()))?
                .to_vec()
        }
        SigningAlg::HS256 | SigningAlg::HS384 | SigningAlg::HS512 => {
            return Err(Error::Internal("HMAC keys come from WARDEN_SECRET".into()));
        }
    };
    Ok(StoredKey {
        kid: crate::random::token(12),
        alg: alg.name().to_owned(),
        private_der: der,
        created_at: now,
        retired_at: None,
    })
}

/// One DER element: (tag, contents, rest).
fn der_next(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let (bytes, r) = rest.split_at(n);
        rest = r;
        bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b))
    };
    if rest.len() < len {
        return None;
    }
    let (body, rest) = rest.split_at(len);
    Some((tag, body, rest))
}

/// The `privateKey` OCTET STRING of a PKCS#8 v1 `PrivateKeyInfo`.
fn pkcs8_private_key(der: &[u8]) -> Option<&[u8]> {
    let (0x30, seq, _) = der_next(der)? else {
        return None;
    };
    let (0x02, _, rest) = der_next(seq)? else {
        return None;
    };
    let (0x30, _, rest) = der_next(rest)? else {
        return None;
    };
    let (0x04, key, _) = der_next(rest)? else {
        return None;
    };
    Some(key)
}

fn load_key(stored: &StoredKey) -> Result<Key> {
    let alg: SigningAlg = stored.alg.parse().map_err(Error::Internal)?;
    let enc = match alg {
        SigningAlg::EdDSA => EncodingKey::from_ed_der(&stored.private_der),
        SigningAlg::ES256 => EncodingKey::from_ec_der(&stored.private_der),
        SigningAlg::RS256 => EncodingKey::from_rsa_der(&stored.private_der),
        _ => return Err(Error::Internal("stored HMAC key".into())),
    };
    let mut jwk = Jwk::from_encoding_key(&enc, alg.jwt()).map_err(Error::internal)?;
    jwk.common.key_id = Some(stored.kid.clone());
    jwk.common.public_key_use = Some(PublicKeyUse::Signature);
    jwk.common.key_algorithm = Some(match alg {
        SigningAlg::EdDSA => KeyAlgorithm::EdDSA,
        SigningAlg::ES256 => KeyAlgorithm::ES256,
        _ => KeyAlgorithm::RS256,
    });
    let dec = DecodingKey::from_jwk(&jwk).map_err(Error::internal)?;
    Ok(Key {
        kid: stored.kid.clone(),
        alg,
        signer: signer::Signer::from_der(alg, &stored.private_der)?,
        access_header: signer::encoded_header(alg, ACCESS_TYP, &stored.kid)?,
        dec,
        jwk: Some(jwk),
    })
}

fn hmac_key(alg: SigningAlg, secret: &[u8]) -> Result<Key> {
    let digest = crate::random::sha256(secret);
    let kid: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
    let kid = format!("hs-{kid}");
    Ok(Key {
        access_header: signer::encoded_header(alg, ACCESS_TYP, &kid)?,
        kid,
        alg,
        signer: signer::Signer::hmac(alg, secret),
        dec: DecodingKey::from_secret(secret),
        jwk: None,
    })
}

/// Token settings.
#[derive(Debug, Clone)]
pub struct TokenConfig {
    /// `iss` claim.
    pub issuer: String,
    /// `aud` claim, when set (then required on verification).
    pub audience: Option<String>,
    /// Access-token lifetime.
    pub access_ttl: Duration,
    /// Allowed clock skew on `exp`/`nbf` (at most 30 s).
    pub leeway: Duration,
    /// Verified tokens kept in memory, for each of the two caches (accounts'
    /// tokens, any subject's tokens); a cache is emptied when a new token
    /// would exceed it ([`crate::Settings::token_cache_size`]).
    pub cache_size: usize,
}

/// A cached verification: the whole token (compared exactly on every hit) and its claims.
type CacheEntry<S> = (Box<str>, Arc<Claims<S>>);

/// The verified-token cache is keyed by 8 bytes of the token's signature: they
/// are uniformly random, so no hashing of the ~400-byte token is needed. A hit
/// still compares the whole token, so a collision is only a miss.
#[derive(Default, Clone, Copy)]
struct SigKeyHasher(u64);

impl std::hash::Hasher for SigKeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type SigMap<S> = HashMap<u64, CacheEntry<S>, std::hash::BuildHasherDefault<SigKeyHasher>>;

fn sig_key(token: &str) -> u64 {
    let b = token.as_bytes();
    let tail = &b[b.len().saturating_sub(8)..];
    tail.iter().fold(0u64, |acc, x| acc << 8 | u64::from(*x))
}

/// The `typ` header of an access token.
const ACCESS_TYP: &str = "at+jwt";

/// The longest access token a verifier accepts, in bytes.
pub const MAX_TOKEN_LEN: usize = 8192;

/// How long after a rotation a node may still sign with the retired key
/// (nodes reload keys once a minute; see `Upkeep::housekeeping`).
pub const RELOAD_MARGIN: Duration = Duration::minutes(2);

/// Signs and verifies access tokens with a pinned algorithm and a key ring.
pub struct Tokens {
    cfg: TokenConfig,
    ring: RwLock<Arc<Ring>>,
    clock: Arc<dyn Clock>,
    cache: RwLock<SigMap<AccountId>>,
    subject_cache: RwLock<SigMap<String>>,
}

impl Tokens {
    /// Build from stored keys (asymmetric algorithms) or an HMAC secret.
    /// The newest unretired key of the configured algorithm signs.
    pub fn new(
        cfg: TokenConfig,
        alg: SigningAlg,
        stored: &[StoredKey],
        hmac_secret: Option<&[u8]>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self> {
        let ring = build_ring(&cfg, alg, stored, hmac_secret, clock.now())?;
        Ok(Self {
            cfg,
            ring: RwLock::new(Arc::new(ring)),
            clock,
            cache: RwLock::new(SigMap::default()),
            subject_cache: RwLock::new(SigMap::default()),
        })
    }

    /// Replace the key ring (after `keys rotate`).
    pub fn reload(
        &self,
        alg: SigningAlg,
        stored: &[StoredKey],
        hmac_secret: Option<&[u8]>,
    ) -> Result<()> {
        let ring = build_ring(&self.cfg, alg, stored, hmac_secret, self.clock.now())?;
        *self.ring.write() = Arc::new(ring);
        self.cache.write().clear();
        self.subject_cache.write().clear();
        Ok(())
    }

    /// Access-token lifetime.
    pub fn access_ttl(&self) -> Duration {
        self.cfg.access_ttl
    }

    /// The `kid` of the signing key.
    pub fn current_kid(&self) -> String {
        self.ring.read().current.kid.clone()
    }

    /// Sign claims with the current key (`typ: at+jwt`, `kid` set).
    pub fn sign<S: Serialize>(&self, claims: &Claims<S>) -> Result<String> {
        let key = self.ring.read().current.clone();
        signer::encode(&key.access_header, claims, &key.signer)
    }

    /// The signing algorithm of the current key (its JOSE name).
    pub fn current_alg(&self) -> SigningAlg {
        self.ring.read().current.alg
    }

    /// The issuer (`iss`) of every token.
    pub fn issuer(&self) -> &str {
        &self.cfg.issuer
    }

    /// New claims for a session, valid from now for the access TTL (capped at
    /// `session_end`); `sub_kind` is left unset (an account's token).
    #[allow(clippy::too_many_arguments)]
    pub fn claims<S>(
        &self,
        sub: S,
        sid: SessionId,
        scopes: &[String],
        fresh: bool,
        amr: &[String],
        session_end: OffsetDateTime,
    ) -> Claims<S> {
        let now = self.clock.now();
        let exp = (now + self.cfg.access_ttl).min(session_end);
        Claims {
            iss: self.cfg.issuer.clone(),
            sub,
            sub_kind: None,
            aud: self.cfg.audience.clone(),
            iat: now.unix_timestamp(),
            nbf: now.unix_timestamp(),
            exp: exp.unix_timestamp(),
            jti: crate::random::token(12),
            sid,
            scope: scopes.join(" "),
            fresh,
            amr: amr.to_vec(),
            extra: serde_json::Map::new(),
        }
    }

    /// Verify an account's token: header `alg` must equal the key's pinned
    /// algorithm, `kid` must name a known key, the signature, `iss`, `aud`,
    /// `exp` and `nbf` must hold, and it must not be an app subject's token
    /// (`sub_kind`). Session revocation is checked by the caller.
    pub fn verify(&self, token: &str) -> Result<Arc<Claims>> {
        let claims = self.verify_in(&self.cache, token)?;
        if claims.sub_kind.is_some() {
            return Err(Error::InvalidToken);
        }
        Ok(claims)
    }

    /// [`Tokens::verify`] of any subject's token, an account's or an app
    /// subject's, with `sub` as text (tell them apart by [`Claims::is_app`]).
    pub fn verify_subject(&self, token: &str) -> Result<Arc<SubjectClaims>> {
        self.verify_in(&self.subject_cache, token)
    }

    fn verify_in<S>(&self, cache: &RwLock<SigMap<S>>, token: &str) -> Result<Arc<Claims<S>>>
    where
        S: serde::de::DeserializeOwned,
    {
        let now = self.clock.now().unix_timestamp();
        let leeway = self.cfg.leeway.whole_seconds();
        let key = sig_key(token);
        if let Some((cached, c)) = cache.read().get(&key)
            && **cached == *token
        {
            return check_times(c.clone(), now, leeway);
        }
        let claims = Arc::new(self.verify_uncached::<S>(token)?);
        let checked = check_times(claims.clone(), now, leeway)?;
        let mut cache = cache.write();
        if cache.len() >= self.cfg.cache_size.max(1) && !cache.contains_key(&key) {
            cache.clear();
        }
        cache.insert(key, (token.into(), claims));
        Ok(checked)
    }

    fn verify_uncached<S>(&self, token: &str) -> Result<Claims<S>>
    where
        S: serde::de::DeserializeOwned,
    {
        if token.len() > MAX_TOKEN_LEN {
            return Err(Error::InvalidToken);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| Error::InvalidToken)?;
        let ring = self.ring.read().clone();
        let kid = header.kid.as_deref().ok_or(Error::InvalidToken)?;
        let key = ring.by_kid.get(kid).ok_or(Error::InvalidToken)?;
        if header.alg != key.alg.jwt() || header.typ.as_deref() != Some(ACCESS_TYP) {
            return Err(Error::InvalidToken);
        }
        let mut v = Validation::new(key.alg.jwt());
        v.required_spec_claims.clear();
        v.validate_exp = false;
        v.validate_nbf = false;
        v.leeway = 0;
        v.set_issuer(&[&self.cfg.issuer]);
        match &self.cfg.audience {
            Some(aud) => {
                v.set_audience(&[aud]);
                v.set_required_spec_claims(&["aud", "iss"]);
            }
            None => {
                v.validate_aud = false;
                v.set_required_spec_claims(&["iss"]);
            }
        }
        let data = jsonwebtoken::decode::<Claims<S>>(token, &key.dec, &v)
            .map_err(|_| Error::InvalidToken)?;
        let claims = data.claims;
        if self.cfg.audience.is_none() && claims.aud.is_some() {
            return Err(Error::InvalidToken);
        }
        Ok(claims)
    }

    /// The public keys (current and still-valid retired ones) as a JWKS document.
    pub fn jwks(&self) -> JwkSet {
        let ring = self.ring.read().clone();
        let mut keys: Vec<Jwk> = ring.by_kid.values().filter_map(|k| k.jwk.clone()).collect();
        keys.sort_by(|a, b| a.common.key_id.cmp(&b.common.key_id));
        JwkSet { keys }
    }
}

fn check_times<S>(c: Arc<Claims<S>>, now: i64, leeway: i64) -> Result<Arc<Claims<S>>> {
    // Saturating: a signed token with an extreme `exp`/`nbf` must not overflow.
    if c.exp.saturating_add(leeway) <= now {
        return Err(Error::TokenExpired);
    }
    if c.nbf.saturating_sub(leeway) > now {
        return Err(Error::InvalidToken);
    }
    Ok(c)
}

fn build_ring(
    cfg: &TokenConfig,
    alg: SigningAlg,
    stored: &[StoredKey],
    hmac_secret: Option<&[u8]>,
    now: OffsetDateTime,
) -> Result<Ring> {
    let mut by_kid = HashMap::new();
    let current: Arc<Key> = if alg.is_hmac() {
        let secret = hmac_secret
            .ok_or_else(|| Error::Internal(format!("{} needs WARDEN_SECRET", alg.name())))?;
        let k = Arc::new(hmac_key(alg, secret)?);
        by_kid.insert(k.kid.clone(), k.clone());
        k
    } else {
        let mut current = None;
        for s in stored {
            // Retired keys verify until every token they signed has expired. A node
            // learns of a rotation at its next key reload, so it may sign with the
            // old key for up to RELOAD_MARGIN after the key retired.
            if let Some(r) = s.retired_at
                && r + RELOAD_MARGIN + cfg.access_ttl + cfg.leeway < now
            {
                continue;
            }
            let k = Arc::new(load_key(s)?);
            if s.retired_at.is_none() && k.alg == alg {
                current = Some(k.clone());
            }
            by_kid.insert(k.kid.clone(), k);
        }
        current.ok_or_else(|| Error::Internal(format!("no active {} signing key", alg.name())))?
    };
    Ok(Ring { current, by_kid })
}

#[path = "token_provider.rs"]
mod provider_tokens;
#[path = "token_sign.rs"]
mod signer;

#[cfg(test)]
#[path = "token_tests.rs"]
mod tests;
