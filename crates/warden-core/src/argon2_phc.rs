//! Argon2 PHC strings: hashing into `$argon2id$…`, parsing and verifying
//! `$argon2id$` / `$argon2i$`, in each thread's reused Argon2 memory. The
//! hasher pool ([`crate::password::Hasher`]) and imported hashes
//! ([`crate::imported_hash`]) both use it.

use crate::error::{Error, Result};
use argon2::password_hash::phc::PasswordHash;
use argon2::{Algorithm, Argon2, Params, Version};

thread_local! {
    /// This thread's Argon2 memory, reused by every hash it computes: no 19 MiB
    /// allocation (and no page faults, no unmapping) per login. The hash pool
    /// releases it when its thread has been idle ([`release_memory`]).
    static BLOCKS: std::cell::RefCell<Vec<argon2::Block>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Run `f` with this thread's Argon2 memory, grown to `count` blocks.
fn with_blocks<T>(count: usize, f: impl FnOnce(&mut [argon2::Block]) -> T) -> T {
    BLOCKS.with(|cell| {
        let mut blocks = cell.borrow_mut();
        if blocks.len() < count {
            blocks.resize(count, argon2::Block::default());
        }
        f(&mut blocks[..count])
    })
}

/// Whether this thread holds Argon2 memory.
pub(crate) fn holds_memory() -> bool {
    BLOCKS.with(|cell| cell.borrow().capacity() > 0)
}

/// Give this thread's Argon2 memory back to the allocator.
pub(crate) fn release_memory() {
    BLOCKS.with(|cell| *cell.borrow_mut() = Vec::new());
}

fn argon_err(e: impl std::fmt::Display) -> Error {
    Error::Internal(format!("argon2: {e}"))
}

/// Hash into a PHC string (`$argon2id$v=19$m=..,t=..,p=..$salt$hash`).
pub(crate) fn hash_with(argon: &Argon2<'_>, password: &str) -> Result<String> {
    let mut salt = [0u8; 16];
    crate::random::fill(&mut salt);
    let params = argon.params().clone();
    let mut out = vec![0u8; params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN)];
    with_blocks(params.block_count(), |blocks| {
        argon.hash_password_into_with_memory(password.as_bytes(), &salt, &mut out, blocks)
    })
    .map_err(argon_err)?;
    phc_string(&params, &salt, &out)
}

/// A PHC string of `argon`'s parameters with a random salt and a random
/// output, as [`hash_with`] writes them, without hashing: verifying any
/// password against it costs one hash with those parameters and fails (the
/// output matches with probability 2^-256). Unknown logins verify it.
pub(crate) fn dummy_with(argon: &Argon2<'_>) -> Result<String> {
    let params = argon.params().clone();
    let mut salt = [0u8; 16];
    crate::random::fill(&mut salt);
    let mut out = vec![0u8; params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN)];
    crate::random::fill(&mut out);
    phc_string(&params, &salt, &out)
}

fn phc_string(params: &Params, salt: &[u8], out: &[u8]) -> Result<String> {
    use argon2::password_hash::phc::{Output, ParamsString, Salt};
    let phc = PasswordHash {
        algorithm: argon2::ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params).map_err(argon_err)?,
        salt: Some(Salt::new(salt).map_err(argon_err)?),
        hash: Some(Output::new(out).map_err(argon_err)?),
    };
    Ok(phc.to_string())
}

/// Whether `phc` is a well-formed `$argon2id$` or `$argon2i$` string.
pub(crate) fn parse_argon2(phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|p| {
        (p.algorithm == argon2::ARGON2ID_IDENT || p.algorithm == argon2::ARGON2I_IDENT)
            && Params::try_from(&p).is_ok()
            && p.salt.is_some()
            && p.hash.is_some()
    })
}

/// Verify an `$argon2id$` or `$argon2i$` PHC string with the parameters it records
/// (so hashes made under older settings keep working), comparing in constant time.
pub(crate) fn verify_argon2(password: &str, phc: &str) -> Result<bool> {
    let parsed =
        PasswordHash::new(phc).map_err(|e| Error::Internal(format!("stored hash: {e}")))?;
    let algorithm = if parsed.algorithm == argon2::ARGON2ID_IDENT {
        Algorithm::Argon2id
    } else if parsed.algorithm == argon2::ARGON2I_IDENT {
        Algorithm::Argon2i
    } else {
        return Err(Error::Internal("stored hash is not argon2".into()));
    };
    let version = match parsed.version {
        Some(v) => Version::try_from(v).map_err(argon_err)?,
        None => Version::V0x13,
    };
    let params = Params::try_from(&parsed).map_err(argon_err)?;
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
        return Err(Error::Internal("stored hash lacks salt or output".into()));
    };
    let argon = Argon2::new(algorithm, version, params.clone());
    let mut out = vec![0u8; expected.len()];
    with_blocks(params.block_count(), |blocks| {
        argon.hash_password_into_with_memory(password.as_bytes(), salt, &mut out, blocks)
    })
    .map_err(argon_err)?;
    Ok(crate::random::ct_eq(&out, expected.as_bytes()))
}
