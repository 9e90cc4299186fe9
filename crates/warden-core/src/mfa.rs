//! The second factor: TOTP codes (RFC 6238: HMAC-SHA-1, 6 digits, 30 s steps,
//! ±1 step of skew), recovery codes, and the encryption of TOTP secrets at rest
//! (AES-256-GCM). Time is always a parameter.
//!
//! ```
//! use warden_core::mfa;
//! let secret = b"12345678901234567890";
//! let code = mfa::generate(secret, 59, 8).unwrap();
//! assert_eq!(code, "94287082");
//! // A 6-digit code of the current step verifies once its step is past `last_step`.
//! let code = mfa::generate(secret, 1_000_000, mfa::DIGITS).unwrap();
//! let step = mfa::verify(secret, &code, 1_000_000, None).unwrap();
//! assert_eq!(mfa::verify(secret, &code, 1_000_000, Some(step)), None);
//! ```

use crate::error::{Error, Result};
use crate::random;
use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};

/// Digits of a TOTP code.
pub const DIGITS: u8 = 6;
/// Seconds of a TOTP time step.
pub const STEP_SECS: i64 = 30;
/// Steps of clock skew accepted either side of the current one.
pub const SKEW_STEPS: i64 = 1;
/// Bytes of a new TOTP secret (160 bits, as RFC 4226 recommends).
pub const SECRET_LEN: usize = 20;
/// Recovery codes handed out when the second factor is enabled.
pub const RECOVERY_CODES: usize = 10;

/// Crockford's base-32 alphabet (no `i`, `l`, `o`, `u`), lower case.
const RECOVERY_ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
/// Characters of a recovery code, without the dashes (12 × 5 = 60 bits).
const RECOVERY_LEN: usize = 12;
/// Version byte in front of a sealed secret.
const SEALED_V1: u8 = 1;

fn totp(secret: &[u8], digits: u8) -> Result<totp_rs::Totp> {
    totp_rs::Builder::new()
        .with_algorithm(totp_rs::Algorithm::SHA1)
        .with_digits(digits)
        .with_step_duration(STEP_SECS.unsigned_abs())
        .with_skew(0)
        .with_secret(secret.to_vec())
        .build()
        .map_err(|e| Error::Internal(format!("TOTP parameters: {e}")))
}

/// The time step of a unix time (seconds).
pub fn step_of(unix: i64) -> i64 {
    unix.div_euclid(STEP_SECS)
}

/// The code of `secret` at unix time `unix` with `digits` digits (6 to 8).
pub fn generate(secret: &[u8], unix: u64, digits: u8) -> Result<String> {
    Ok(totp(secret, digits)?.generate(unix).to_string())
}

/// Whether `code` has the shape of a TOTP code (6 digits; spaces ignored).
pub fn looks_like_totp(code: &str) -> bool {
    let digits: Vec<char> = code.chars().filter(|c| !c.is_whitespace()).collect();
    digits.len() == usize::from(DIGITS) && digits.iter().all(char::is_ascii_digit)
}

/// Verify a 6-digit code at unix time `now_unix`, accepting the current step and
/// one step either side, but only steps newer than `last_step` (a code is
/// accepted once). Returns the matched step, to be stored as the new `last_step`.
/// Every candidate is computed and compared in constant time.
pub fn verify(secret: &[u8], code: &str, now_unix: i64, last_step: Option<i64>) -> Option<i64> {
    if !looks_like_totp(code) {
        return None;
    }
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    let totp = totp(secret, DIGITS).ok()?;
    let current = step_of(now_unix);
    let mut matched = None;
    for step in current - SKEW_STEPS..=current + SKEW_STEPS {
        if step < 0 || last_step.is_some_and(|last| step <= last) {
            continue;
        }
        let Some(at) = step
            .checked_mul(STEP_SECS)
            .and_then(|t| u64::try_from(t).ok())
        else {
            continue;
        };
        let expected = totp.generate(at).to_string();
        if random::ct_eq(expected.as_bytes(), code.as_bytes()) {
            matched = Some(step);
        }
    }
    matched
}

/// A new random TOTP secret.
pub fn new_secret() -> Vec<u8> {
    let mut secret = vec![0u8; SECRET_LEN];
    random::fill(&mut secret);
    secret
}

/// A secret in base 32 (RFC 4648, no padding), as typed into an authenticator app.
pub fn secret_base32(secret: &[u8]) -> String {
    totp_rs::Secret::from(secret.to_vec()).to_base32()
}

/// The `otpauth://totp/...` URI of a secret for an account (issuer and login
/// percent-encoded; neither may contain `:`).
pub fn otpauth_uri(secret: &[u8], issuer: &str, login: &str) -> Result<String> {
    totp_rs::Builder::new()
        .with_digits(DIGITS)
        .with_step_duration(STEP_SECS.unsigned_abs())
        .with_secret(secret.to_vec())
        .with_issuer(Some(issuer))
        .with_account_name(login)
        .build()
        .and_then(|t| t.to_url())
        .map_err(|e| Error::Internal(format!("otpauth URI: {e}")))
}

/// A QR code of `data` as an SVG document.
pub fn qr_svg(data: &str) -> Result<String> {
    use qrcode::render::svg;
    let code = qrcode::QrCode::with_error_correction_level(data.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| Error::Internal(format!("QR code: {e}")))?;
    Ok(code
        .render::<svg::Color<'_>>()
        .min_dimensions(200, 200)
        .build())
}

/// A new recovery code, `xxxx-xxxx-xxxx` of Crockford base 32 (60 random bits).
pub fn new_recovery_code() -> String {
    let mut bytes = [0u8; RECOVERY_LEN];
    random::fill(&mut bytes);
    let mut out = String::with_capacity(RECOVERY_LEN + 2);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 && i % 4 == 0 {
            out.push('-');
        }
        // 256 is a multiple of 32: taking the low five bits is unbiased.
        out.push(char::from(RECOVERY_ALPHABET[usize::from(b & 31)]));
    }
    out
}

/// The canonical form of a typed recovery code: lower case, dashes and spaces
/// dropped, `i`/`l` read as `1` and `o` as `0`. `None` if it cannot be one.
pub fn normalize_recovery_code(code: &str) -> Option<String> {
    let mut out = String::with_capacity(RECOVERY_LEN);
    for c in code.chars() {
        if c == '-' || c.is_whitespace() {
            continue;
        }
        let c = match c.to_ascii_lowercase() {
            'i' | 'l' => '1',
            'o' => '0',
            c => c,
        };
        if !c.is_ascii() || !RECOVERY_ALPHABET.contains(&(c as u8)) {
            return None;
        }
        out.push(c);
    }
    (out.len() == RECOVERY_LEN).then_some(out)
}

/// The stored hash of a recovery code (SHA-256 of its canonical form).
pub fn recovery_code_hash(code: &str) -> Option<[u8; 32]> {
    normalize_recovery_code(code).map(|c| random::sha256(c.as_bytes()))
}

/// The 32-byte key that encrypts TOTP secrets at rest (AES-256-GCM).
#[derive(Clone, PartialEq, Eq)]
pub struct EncryptionKey([u8; 32]);

impl std::fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EncryptionKey([redacted])")
    }
}

impl EncryptionKey {
    /// From raw bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// A new random key.
    pub fn generate() -> Self {
        let mut k = [0u8; 32];
        random::fill(&mut k);
        Self(k)
    }

    /// From base64 (standard or URL-safe, padded or not) of exactly 32 bytes.
    ///
    /// ```
    /// use warden_core::mfa::EncryptionKey;
    /// let k = EncryptionKey::generate();
    /// assert_eq!(EncryptionKey::from_base64(&k.to_base64()).unwrap(), k);
    /// assert!(EncryptionKey::from_base64("c2hvcnQ=").is_err());
    /// ```
    pub fn from_base64(s: &str) -> Result<Self, String> {
        let s = s.trim().trim_end_matches('=');
        let bytes = STANDARD_NO_PAD
            .decode(s)
            .or_else(|_| URL_SAFE_NO_PAD.decode(s))
            .map_err(|_| "is not base64".to_owned())?;
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|b: Vec<u8>| format!("decodes to {} bytes, not 32", b.len()))?;
        Ok(Self(key))
    }

    /// Standard base64 with padding.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    fn key(&self) -> Result<LessSafeKey> {
        let unbound = UnboundKey::new(&AES_256_GCM, &self.0)
            .map_err(|_| Error::Internal("AES-256-GCM key".into()))?;
        Ok(LessSafeKey::new(unbound))
    }

    /// Encrypt `plain` with a fresh random nonce, bound to `context` (associated
    /// data, e.g. the account id). Output: version, nonce, ciphertext and tag.
    pub fn seal(&self, plain: &[u8], context: &[u8]) -> Result<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        random::fill(&mut nonce);
        let mut in_out = plain.to_vec();
        self.key()?
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context),
                &mut in_out,
            )
            .map_err(|_| Error::Internal("encryption failed".into()))?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + in_out.len());
        out.push(SEALED_V1);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&in_out);
        Ok(out)
    }

    /// Decrypt what [`EncryptionKey::seal`] produced with the same `context`.
    /// Fails for another key, another context or altered bytes.
    pub fn open(&self, sealed: &[u8], context: &[u8]) -> Result<Vec<u8>> {
        let fail = || {
            Error::Internal(
                "cannot decrypt a TOTP secret (was WARDEN_ENCRYPTION_KEY changed?)".into(),
            )
        };
        let Some((&SEALED_V1, rest)) = sealed.split_first() else {
            return Err(fail());
        };
        if rest.len() < NONCE_LEN {
            return Err(fail());
        }
        let (nonce, body) = rest.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| fail())?;
        let mut in_out = body.to_vec();
        let plain = self
            .key()?
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context),
                &mut in_out,
            )
            .map_err(|_| fail())?;
        Ok(plain.to_vec())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    const RFC_SECRET: &[u8] = b"12345678901234567890";

    /// RFC 6238 appendix B, SHA-1 rows.
    const VECTORS: [(u64, &str); 6] = [
        (59, "94287082"),
        (1_111_111_109, "07081804"),
        (1_111_111_111, "14050471"),
        (1_234_567_890, "89005924"),
        (2_000_000_000, "69279037"),
        (20_000_000_000, "65353130"),
    ];

    #[test]
    fn rfc6238_sha1_vectors_8_digits() {
        for (t, want) in VECTORS {
            assert_eq!(generate(RFC_SECRET, t, 8).unwrap(), want, "t = {t}");
        }
    }

    #[test]
    fn rfc6238_sha1_vectors_6_digits_are_the_truncation() {
        for (t, want) in VECTORS {
            assert_eq!(generate(RFC_SECRET, t, 6).unwrap(), &want[2..], "t = {t}");
        }
    }

    #[test]
    fn verify_skew_and_replay() {
        let now = 1_111_111_111_i64;
        let step = step_of(now);
        let at = |s: i64| generate(RFC_SECRET, (s * STEP_SECS) as u64, 6).unwrap();
        assert_eq!(verify(RFC_SECRET, &at(step), now, None), Some(step));
        assert_eq!(verify(RFC_SECRET, &at(step - 1), now, None), Some(step - 1));
        assert_eq!(verify(RFC_SECRET, &at(step + 1), now, None), Some(step + 1));
        assert_eq!(verify(RFC_SECRET, &at(step - 2), now, None), None);
        assert_eq!(verify(RFC_SECRET, &at(step + 2), now, None), None);
        // Replay of the accepted step, and of an older one.
        assert_eq!(verify(RFC_SECRET, &at(step), now, Some(step)), None);
        assert_eq!(verify(RFC_SECRET, &at(step - 1), now, Some(step)), None);
        assert_eq!(
            verify(RFC_SECRET, &at(step + 1), now, Some(step)),
            Some(step + 1)
        );
        // Shape.
        let code = at(step);
        let spaced = format!("{} {}", &code[..3], &code[3..]);
        assert_eq!(verify(RFC_SECRET, &spaced, now, None), Some(step));
        assert_eq!(verify(RFC_SECRET, "12345", now, None), None);
        assert_eq!(verify(RFC_SECRET, "+12345", now, None), None);
        assert_eq!(verify(RFC_SECRET, "１２３４５６", now, None), None);
    }

    #[test]
    fn otpauth_uri_and_qr() {
        let uri = otpauth_uri(RFC_SECRET, "Acme Corp", "alice@example.com").unwrap();
        assert!(uri.starts_with("otpauth://totp/Acme%20Corp:alice%40example.com?"));
        assert!(uri.contains(&format!("secret={}", secret_base32(RFC_SECRET))));
        assert!(uri.contains("issuer=Acme%20Corp"));
        assert_eq!(
            secret_base32(RFC_SECRET),
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
        );
        assert!(otpauth_uri(RFC_SECRET, "a:b", "alice").is_err());
        let svg = qr_svg(&uri).unwrap();
        assert!(svg.contains("<svg"));
    }

    #[test]
    fn recovery_codes() {
        let codes: Vec<String> = (0..100).map(|_| new_recovery_code()).collect();
        for c in &codes {
            assert_eq!(c.len(), 14);
            assert_eq!(normalize_recovery_code(c).unwrap().len(), 12);
            assert_eq!(
                recovery_code_hash(&c.to_uppercase()),
                recovery_code_hash(c),
                "case-insensitive"
            );
        }
        let unique: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(unique.len(), codes.len());
        assert_eq!(
            normalize_recovery_code("IlO0-abcd-efgh").as_deref(),
            Some("1100abcdefgh")
        );
        assert_eq!(normalize_recovery_code("uuuu-abcd-efgh"), None);
        assert_eq!(normalize_recovery_code("abcd-efgh"), None);
        assert!(!looks_like_totp(&codes[0]));
    }

    #[test]
    fn seal_and_open() {
        let key = EncryptionKey::generate();
        let sealed = key.seal(RFC_SECRET, b"account-1").unwrap();
        assert!(!sealed.windows(RFC_SECRET.len()).any(|w| w == RFC_SECRET));
        assert_ne!(sealed, key.seal(RFC_SECRET, b"account-1").unwrap(), "nonce");
        assert_eq!(key.open(&sealed, b"account-1").unwrap(), RFC_SECRET);
        assert!(key.open(&sealed, b"account-2").is_err());
        assert!(
            EncryptionKey::generate()
                .open(&sealed, b"account-1")
                .is_err()
        );
        let mut bad = sealed.clone();
        *bad.last_mut().unwrap() ^= 1;
        assert!(key.open(&bad, b"account-1").is_err());
        assert!(key.open(&[], b"account-1").is_err());
        assert_eq!(format!("{key:?}"), "EncryptionKey([redacted])");
    }
}
