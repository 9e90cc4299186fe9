//! Randomness for secrets (OS-seeded CSPRNG) and their encodings.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// Fill `buf` with cryptographically secure random bytes.
pub fn fill(buf: &mut [u8]) {
    rand::fill(buf);
}

/// `n` random bytes as URL-safe base64 without padding.
pub fn token(n: usize) -> String {
    let mut buf = vec![0u8; n];
    fill(&mut buf);
    URL_SAFE_NO_PAD.encode(&buf)
}

/// SHA-256 of a secret, as stored.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// Constant-time equality of two byte strings.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}
