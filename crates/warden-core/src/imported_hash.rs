//! Password hashes made by other systems, kept as imported until the first
//! successful sign-in replaces them with Argon2id.
//!
//! Recognised (the formats the Python packages Warden replaces leave in their
//! tables): `$2a$` / `$2b$` / `$2y$` bcrypt (passlib, the `bcrypt` package),
//! `$pbkdf2-sha256$` (passlib's `rounds$salt$checksum` and the PHC
//! `i=…,l=…` form), `$scrypt$ln=…,r=…,p=…$` (passlib and PHC), Django's
//! `pbkdf2_sha256$iterations$salt$hash`, and `$argon2i$` / `$argon2id$` PHC
//! strings (verified by [`crate::argon2_phc`]).
//!
//! ```
//! use warden_core::imported_hash::{Scheme, check, verify};
//! let django = "pbkdf2_sha256$1000$nEn0n5ivSVZs$rlEemOqAoco76GiJcCSaLlozb7a+b5zN5jm5ROrAEbg=";
//! assert_eq!(check(django).unwrap(), Scheme::DjangoPbkdf2Sha256);
//! assert!(verify("Correct-horse-9!", django).unwrap());
//! assert!(!verify("wrong", django).unwrap());
//! assert!(check("$md5$nope").is_err());
//! ```

use crate::error::{Error, FieldError, Result};
use aws_lc_rs::pbkdf2;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use std::num::NonZeroU32;

/// The scheme of a stored password hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// `$argon2id$` (Warden's own) or `$argon2i$`.
    Argon2,
    /// `$2a$`, `$2b$` or `$2y$` bcrypt.
    Bcrypt,
    /// `$pbkdf2-sha256$` (passlib or PHC).
    Pbkdf2Sha256,
    /// `$scrypt$` (passlib or PHC).
    Scrypt,
    /// Django's `pbkdf2_sha256$`.
    DjangoPbkdf2Sha256,
}

impl Scheme {
    /// The scheme's name in audit events and reports: `argon2`, `bcrypt`,
    /// `pbkdf2-sha256`, `scrypt` or `django-pbkdf2-sha256`.
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Argon2 => "argon2",
            Scheme::Bcrypt => "bcrypt",
            Scheme::Pbkdf2Sha256 => "pbkdf2-sha256",
            Scheme::Scrypt => "scrypt",
            Scheme::DjangoPbkdf2Sha256 => "django-pbkdf2-sha256",
        }
    }
}

/// Most PBKDF2 iterations accepted (a hash asking for more is malformed:
/// verifying it would hold a hash thread for minutes).
const PBKDF2_MAX_ITERATIONS: u32 = 10_000_000;
/// Largest bcrypt cost accepted (2^16 rounds take seconds; passlib's default is 12).
const BCRYPT_MAX_COST: u32 = 16;
/// Largest scrypt cost accepted (`ln`, N = 2^ln; passlib's default is 16).
const SCRYPT_MAX_LN: u8 = 20;

/// The field error of a hash that is not one of the recognised formats.
fn malformed() -> FieldError {
    FieldError::new(
        "password_hash",
        "not a recognised password hash (argon2, bcrypt, pbkdf2-sha256, scrypt or Django pbkdf2_sha256)",
    )
}

/// The scheme of `hash`, when it is well-formed (the 422 on `password_hash`
/// of an import otherwise).
pub fn check(hash: &str) -> std::result::Result<Scheme, FieldError> {
    parse(hash).map(|p| p.scheme()).ok_or_else(malformed)
}

/// Whether `password` matches `hash` (any recognised scheme; compared in
/// constant time). A malformed hash is an internal error: imports check it.
pub fn verify(password: &str, hash: &str) -> Result<bool> {
    let parsed =
        parse(hash).ok_or_else(|| Error::Internal("stored hash: unknown format".into()))?;
    let pw = password.as_bytes();
    Ok(match parsed {
        Parsed::Argon2 => crate::argon2_phc::verify_argon2(password, hash)?,
        Parsed::Bcrypt => bcrypt::verify(pw, hash).unwrap_or(false),
        Parsed::Pbkdf2 {
            rounds, salt, hash, ..
        } => pbkdf2::verify(pbkdf2::PBKDF2_HMAC_SHA256, rounds, &salt, pw, &hash).is_ok(),
        Parsed::Scrypt { params, salt, hash } => {
            let mut out = vec![0u8; hash.len()];
            scrypt::scrypt(pw, &salt, &params, &mut out).map_err(Error::internal)?;
            crate::random::ct_eq(&out, &hash)
        }
    })
}

/// Whether a stored hash should be replaced by Warden's Argon2id at the next
/// successful sign-in.
pub fn needs_upgrade(hash: &str) -> bool {
    !hash.starts_with("$argon2id$")
}

/// A hash taken apart.
enum Parsed {
    Argon2,
    Bcrypt,
    Pbkdf2 {
        /// `Pbkdf2Sha256` (passlib, PHC) or `DjangoPbkdf2Sha256`.
        scheme: Scheme,
        rounds: NonZeroU32,
        salt: Vec<u8>,
        hash: Vec<u8>,
    },
    Scrypt {
        params: scrypt::Params,
        salt: Vec<u8>,
        hash: Vec<u8>,
    },
}

impl Parsed {
    fn scheme(&self) -> Scheme {
        match self {
            Parsed::Argon2 => Scheme::Argon2,
            Parsed::Bcrypt => Scheme::Bcrypt,
            Parsed::Pbkdf2 { scheme, .. } => *scheme,
            Parsed::Scrypt { .. } => Scheme::Scrypt,
        }
    }
}

fn parse(hash: &str) -> Option<Parsed> {
    if hash.len() > 512 {
        return None;
    }
    if let Some(rest) = hash.strip_prefix("pbkdf2_sha256$") {
        // Django: iterations$salt$base64(hash); the salt is used as text.
        let [iterations, salt, b64] = split3(rest)?;
        return pbkdf2_parts(
            Scheme::DjangoPbkdf2Sha256,
            iterations,
            salt.as_bytes().to_vec(),
            STANDARD.decode(b64).ok()?,
        );
    }
    let mut parts = hash.split('$');
    if !parts.next()?.is_empty() {
        return None;
    }
    let id = parts.next()?;
    let fields: Vec<&str> = parts.collect();
    match (id, fields.as_slice()) {
        ("argon2id" | "argon2i", _) => {
            crate::argon2_phc::parse_argon2(hash).then_some(Parsed::Argon2)
        }
        ("2a" | "2b" | "2y", [cost, rest]) => {
            let cost: u32 = cost.parse().ok()?;
            let alphabet = |c: char| c.is_ascii_alphanumeric() || c == '.' || c == '/';
            ((4..=BCRYPT_MAX_COST).contains(&cost)
                && rest.len() == 53
                && rest.chars().all(alphabet))
            .then_some(Parsed::Bcrypt)
        }
        ("pbkdf2-sha256", [params, salt, checksum]) => {
            // passlib: `rounds$salt$checksum`; PHC: `i=rounds,l=len$salt$hash`.
            let rounds = match params.strip_prefix("i=") {
                Some(p) => p.split(',').next()?,
                None => params,
            };
            pbkdf2_parts(Scheme::Pbkdf2Sha256, rounds, ab64(salt)?, ab64(checksum)?)
        }
        ("scrypt", [params, salt, checksum]) => {
            let (mut ln, mut r, mut p) = (None, None, None);
            for kv in params.split(',') {
                let (k, v) = kv.split_once('=')?;
                match k {
                    "ln" => ln = Some(v.parse::<u8>().ok()?),
                    "r" => r = Some(v.parse::<u32>().ok()?),
                    "p" => p = Some(v.parse::<u32>().ok()?),
                    _ => return None,
                }
            }
            let ln = ln.filter(|ln| (1..=SCRYPT_MAX_LN).contains(ln))?;
            let (r, p) = (
                r.filter(|r| (1..=32).contains(r))?,
                p.filter(|p| (1..=16).contains(p))?,
            );
            let params = scrypt::Params::new(ln, r, p).ok()?;
            let (salt, hash) = (ab64(salt)?, ab64(checksum)?);
            (!hash.is_empty() && hash.len() <= 64).then_some(Parsed::Scrypt { params, salt, hash })
        }
        _ => None,
    }
}

fn split3(s: &str) -> Option<[&str; 3]> {
    let mut it = s.split('$');
    let parts = [it.next()?, it.next()?, it.next()?];
    it.next().is_none().then_some(parts)
}

fn pbkdf2_parts(scheme: Scheme, rounds: &str, salt: Vec<u8>, hash: Vec<u8>) -> Option<Parsed> {
    let rounds: u32 = rounds.parse().ok()?;
    let rounds = NonZeroU32::new(rounds).filter(|r| r.get() <= PBKDF2_MAX_ITERATIONS)?;
    (!salt.is_empty() && (16..=64).contains(&hash.len())).then_some(Parsed::Pbkdf2 {
        scheme,
        rounds,
        salt,
        hash,
    })
}

/// passlib's "adapted base64" (`.` for `+`, no padding) and PHC's B64 (no
/// padding): one decoder for both.
fn ab64(s: &str) -> Option<Vec<u8>> {
    STANDARD_NO_PAD.decode(s.replace('.', "+")).ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const PW: &str = "Correct-horse-9!";
    // Made by passlib 1.7 and the `bcrypt` package (Python), not by this code.
    const PASSLIB_PBKDF2: &str =
        "$pbkdf2-sha256$1000$1JqztjamlDLGeK/VundOSQ$kSpNxTetrzeGAQo1ekdOnhvGChFbLJsqfbH2Cl9upSM";
    const PASSLIB_SCRYPT: &str =
        "$scrypt$ln=4,r=8,p=1$bY2RUgqhVCoFoDSmlDLG2A$6w9W4ta83RVCoe/wDEofIOZCwGKMD5eyq+uNPqOCwb4";
    const DJANGO: &str =
        "pbkdf2_sha256$1000$nEn0n5ivSVZs$rlEemOqAoco76GiJcCSaLlozb7a+b5zN5jm5ROrAEbg=";
    const BCRYPT_2B: &str = "$2b$04$g7AJ53Gqmd2IkkhWrfm7K.RFnhq5n2c./foRa8gmKW/qewYM77Dee";
    const BCRYPT_2A: &str = "$2a$04$CQAK21bRVucz6B6q07IJHOb51F7vMz6eGDcnwFf.03nh855rCsaja";

    #[test]
    fn foreign_hashes_verify_the_right_password_only() {
        for (hash, scheme) in [
            (PASSLIB_PBKDF2, Scheme::Pbkdf2Sha256),
            (PASSLIB_SCRYPT, Scheme::Scrypt),
            (DJANGO, Scheme::DjangoPbkdf2Sha256),
            (BCRYPT_2B, Scheme::Bcrypt),
            (BCRYPT_2A, Scheme::Bcrypt),
        ] {
            assert_eq!(check(hash).unwrap(), scheme, "{hash}");
            assert!(verify(PW, hash).unwrap(), "{hash}");
            assert!(!verify("Correct-horse-9?", hash).unwrap(), "{hash}");
            assert!(needs_upgrade(hash));
        }
    }

    #[test]
    fn malformed_hashes_are_field_errors() {
        for bad in [
            "",
            "plain",
            "$md5$abc$def",
            "$2b$04$short",
            "$2b$99$g7AJ53Gqmd2IkkhWrfm7K.RFnhq5n2c./foRa8gmKW/qewYM77Dee",
            "$pbkdf2-sha256$0$1JqztjamlDLGeK/VundOSQ$kSpNxTetrzeGAQo1ekdOnhvGChFbLJsqfbH2Cl9upSM",
            "$pbkdf2-sha256$99999999999$c2FsdA$kSpNxTetrzeGAQo1ekdOnhvGChFbLJsqfbH2Cl9upSM",
            "$pbkdf2-sha256$1000$!!$kSpNxTetrzeGAQo1ekdOnhvGChFbLJsqfbH2Cl9upSM",
            "$scrypt$ln=40,r=8,p=1$bY2RUgqhVCoFoDSmlDLG2A$6w9W4ta83RVCoe/wDEofIOZCwGKMD5eyq+uNPqOCwb4",
            "$scrypt$ln=4,r=8$bY2RUgqhVCoFoDSmlDLG2A$6w9W4ta83RVCoe/wDEofIOZCwGKMD5eyq+uNPqOCwb4",
            "pbkdf2_sha256$1000$salt",
            "pbkdf2_sha256$x$salt$rlEemOqAoco76GiJcCSaLlozb7a+b5zN5jm5ROrAEbg=",
            "$argon2id$v=19$m=8,t=1,p=1$nonsense",
        ] {
            let e = check(bad).unwrap_err();
            assert_eq!(e.field, "password_hash", "{bad}");
            assert!(verify(PW, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn argon2_hashes_are_recognised() {
        let hasher = crate::password::Hasher::new(
            crate::password::HashParams {
                memory_kib: 8,
                iterations: 1,
                parallelism: 1,
            },
            1,
        )
        .unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let hash = rt.block_on(hasher.hash(PW)).unwrap();
        assert_eq!(check(&hash).unwrap(), Scheme::Argon2);
        assert!(verify(PW, &hash).unwrap());
        assert!(!needs_upgrade(&hash));
        let argon2i = hash.replacen("$argon2id$", "$argon2i$", 1);
        assert_eq!(check(&argon2i).unwrap(), Scheme::Argon2);
        assert!(needs_upgrade(&argon2i));
    }
}
