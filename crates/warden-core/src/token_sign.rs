//! Signing a JWT with a key parsed once, when the key ring is loaded:
//! `jsonwebtoken::encode` parses the key on every call (for Ed25519 that
//! means deriving the public key from the seed, as costly as the signature).

use crate::error::{Error, Result};
use aws_lc_rs::hmac;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, RSA_PKCS1_SHA256, RsaKeyPair,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Header;
use serde::Serialize;

use super::SigningAlg;

/// The private key of a [`super::Key`], ready to sign.
pub(super) enum Signer {
    /// Ed25519 (`EdDSA`).
    Ed25519(Ed25519KeyPair),
    /// ECDSA P-256 (`ES256`).
    Es256(EcdsaKeyPair),
    /// RSA PKCS#1 v1.5 (`RS256`).
    Rs256(RsaKeyPair),
    /// HMAC (`HS256`, `HS384`, `HS512`); boxed, its state is large.
    Hmac(Box<hmac::Key>),
}

impl Signer {
    /// Parse a stored private key (`der` as [`super::generate_key`] writes
    /// it: PKCS#8 for Ed25519 and P-256, PKCS#1 for RSA).
    pub(super) fn from_der(alg: SigningAlg, der: &[u8]) -> Result<Self> {
        let bad = |e: aws_lc_rs::error::KeyRejected| Error::Internal(format!("signing key: {e}"));
        Ok(match alg {
            SigningAlg::EdDSA => Signer::Ed25519(Ed25519KeyPair::from_pkcs8(der).map_err(bad)?),
            SigningAlg::ES256 => Signer::Es256(
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der).map_err(bad)?,
            ),
            SigningAlg::RS256 => Signer::Rs256(RsaKeyPair::from_der(der).map_err(bad)?),
            SigningAlg::HS256 | SigningAlg::HS384 | SigningAlg::HS512 => {
                return Err(Error::Internal("stored HMAC key".into()));
            }
        })
    }

    /// The HMAC key of `alg` (an HMAC algorithm) with `secret`.
    pub(super) fn hmac(alg: SigningAlg, secret: &[u8]) -> Self {
        let algorithm = match alg {
            SigningAlg::HS384 => hmac::HMAC_SHA384,
            SigningAlg::HS512 => hmac::HMAC_SHA512,
            _ => hmac::HMAC_SHA256,
        };
        Signer::Hmac(Box::new(hmac::Key::new(algorithm, secret)))
    }

    /// The signature of `msg`.
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>> {
        let failed = |_: aws_lc_rs::error::Unspecified| Error::Internal("signing failed".into());
        Ok(match self {
            Signer::Ed25519(k) => k.sign(msg).as_ref().to_vec(),
            Signer::Es256(k) => k
                .sign(&SystemRandom::new(), msg)
                .map_err(failed)?
                .as_ref()
                .to_vec(),
            Signer::Rs256(k) => {
                let mut sig = vec![0; k.public_modulus_len()];
                k.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), msg, &mut sig)
                    .map_err(failed)?;
                sig
            }
            Signer::Hmac(k) => hmac::sign(k, msg).as_ref().to_vec(),
        })
    }
}

/// The encoded JOSE header (`alg`, `typ`, `kid`): the first part of a JWT.
pub(super) fn encoded_header(alg: SigningAlg, typ: &str, kid: &str) -> Result<String> {
    let mut header = Header::new(alg.jwt());
    header.typ = Some(typ.to_owned());
    header.kid = Some(kid.to_owned());
    let json = serde_json::to_vec(&header).map_err(Error::internal)?;
    Ok(URL_SAFE_NO_PAD.encode(json))
}

/// A compact JWT: `header` (from [`encoded_header`]), the claims and the
/// signature of both.
pub(super) fn encode<T: Serialize>(header: &str, claims: &T, signer: &Signer) -> Result<String> {
    let json = serde_json::to_vec(claims).map_err(Error::internal)?;
    let mut token = String::with_capacity(header.len() + json.len() * 4 / 3 + 100);
    token.push_str(header);
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(json, &mut token);
    let signature = signer.sign(token.as_bytes())?;
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(signature, &mut token);
    Ok(token)
}
