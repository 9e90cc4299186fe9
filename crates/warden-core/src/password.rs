//! Login and password rules (NIST SP 800-63B) and Argon2id hashing off the async workers.
//!
//! The rules are types so an application can reuse them in its own forms:
//!
//! ```
//! use warden_core::password::{Login, Password};
//! assert!(Login::parse("Alice.Smith").is_ok());
//! assert!(Login::parse("a b").is_err());
//! assert!(Password::parse("correct horse battery staple").is_ok());
//! assert!(Password::parse("password1").is_err()); // on the common-password list
//! assert!(Password::parse("short").is_err());
//! ```

use crate::error::{Error, FieldError, Result};
use argon2::{Algorithm, Argon2, Params, Version};
use std::collections::HashSet;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Shortest accepted password, in characters.
pub const PASSWORD_MIN: usize = 8;
/// Longest accepted password, in characters; longer ones are refused before hashing.
pub const PASSWORD_MAX: usize = 128;
pub use crate::login_rules::{LOGIN_MAX, LOGIN_MIN};

static COMMON: &str = include_str!("common_passwords.txt");

fn common_set() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| {
        COMMON
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect()
    })
}

/// Whether a password is on the built-in list of the 10,000 most common passwords
/// (compared case-insensitively).
pub fn is_common(password: &str) -> bool {
    common_set().contains(password.to_lowercase().as_str())
}

/// A login that follows the rules: its RFC 8265 `UsernameCasePreserved` form
/// (width mapping, NFC) is 3–64 characters of letters, digits and `_ . - @`
/// (see [`crate::login_rules`]). Every entry point that takes a new login
/// parses it with [`Login::parse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    prepared: String,
    key: String,
}

impl Login {
    /// Check a login against the rules and prepare it.
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        let prepared = crate::login_rules::prepare_login(s)?;
        let key = crate::login_rules::login_key(&prepared);
        Ok(Self { prepared, key })
    }
    /// The prepared login (stored and displayed): `ａｌｉｃｅ` is `alice`.
    pub fn as_str(&self) -> &str {
        &self.prepared
    }
    /// The case-mapped key (`UsernameCaseMapped`), unique among accounts.
    pub fn key(&self) -> String {
        self.key.clone()
    }
    /// The TR39 confusable skeleton, unique among accounts made under these rules.
    pub fn skeleton(&self) -> String {
        crate::login_rules::login_skeleton(&self.prepared)
    }
}

/// A password that follows the rules: 8–128 characters, not a common password.
/// Its `Debug` output is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password([redacted])")
    }
}

impl Password {
    /// Check a new password against the rules.
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        Self::parse_field(s, "password")
    }
    /// As [`Password::parse`], naming the request field in the error.
    pub fn parse_field(s: &str, field: &str) -> Result<Self, FieldError> {
        let n = s.chars().count();
        if n < PASSWORD_MIN {
            return Err(FieldError::new(
                field,
                format!("must be at least {PASSWORD_MIN} characters"),
            ));
        }
        if n > PASSWORD_MAX {
            return Err(FieldError::new(
                field,
                format!("must be at most {PASSWORD_MAX} characters"),
            ));
        }
        if is_common(s) {
            return Err(FieldError::new(field, "is too common; choose another"));
        }
        Ok(Self(s.to_owned()))
    }
    /// The password text.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// A valid email address (a pragmatic check: one `@`, a dot in the domain, no spaces, at most 254 chars).
pub fn check_email(s: &str) -> Result<String, FieldError> {
    let s = s.trim();
    let bad = || FieldError::new("email", "is not a valid email address");
    if s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad());
    }
    let (local, domain) = s.split_once('@').ok_or_else(bad)?;
    if local.is_empty() || local.len() > 64 || domain.contains('@') {
        return Err(bad());
    }
    if domain.len() < 3 || !domain.contains('.') || domain.starts_with('.') || domain.ends_with('.')
    {
        return Err(bad());
    }
    Ok(s.to_owned())
}

/// Argon2id parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashParams {
    /// Memory in KiB (OWASP: 19456).
    pub memory_kib: u32,
    /// Iterations (OWASP: 2).
    pub iterations: u32,
    /// Parallelism (OWASP: 1).
    pub parallelism: u32,
}

impl Default for HashParams {
    fn default() -> Self {
        Self {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
        }
    }
}

/// A unit of work for the hash pool.
type Job = Box<dyn FnOnce() + Send + 'static>;

/// Jobs that may wait for a hash thread before new ones are refused with 503.
const QUEUE: usize = 4096;

/// How long a hash thread without a job keeps its Argon2 memory.
pub const POOL_IDLE: Duration = Duration::from_secs(1);

/// The loop of one hash thread: run jobs until every `Hasher` is gone. While
/// it holds Argon2 memory it waits at most `idle` (for the queue, then for a
/// job) and releases the memory when that wait ends empty.
fn pool_thread(rx: &parking_lot::Mutex<std::sync::mpsc::Receiver<Job>>, idle: Duration) {
    use std::sync::mpsc::RecvTimeoutError;
    loop {
        let holding = crate::argon2_phc::holds_memory();
        // Take the next job; the lock is held only while waiting for it.
        let job = if holding {
            let Some(guard) = rx.try_lock_for(idle) else {
                crate::argon2_phc::release_memory();
                continue;
            };
            match guard.recv_timeout(idle) {
                Ok(job) => job,
                Err(RecvTimeoutError::Timeout) => {
                    drop(guard);
                    crate::argon2_phc::release_memory();
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => return, // every Hasher is gone
            }
        } else {
            match rx.lock().recv() {
                Ok(job) => job,
                Err(_) => return, // every Hasher is gone
            }
        };
        // A panicking job must not shrink the pool.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
    }
}

/// Hashes and verifies passwords on a dedicated pool of `concurrency` threads,
/// so that a login storm never starves the async workers.
///
/// The pool is fixed on purpose: each Argon2id hash needs its whole memory
/// cost (19 MiB by default). A thread keeps that memory while jobs keep coming
/// (no allocation, no page faults per login) and gives it back after
/// [`POOL_IDLE`] without a job, so memory is at most about
/// `concurrency × memory_kib` during a login storm and none of it while no one
/// logs in; tokio's elastic blocking pool would let it grow with every new
/// thread. The threads run at nice 19 under `SCHED_BATCH` (Linux): while
/// hashes saturate the cores, a token check that wakes up gets the CPU first
/// and is not preempted by a hash. The threads end when the last clone of the
/// `Hasher` is dropped.
#[derive(Clone)]
pub struct Hasher {
    argon: Arc<Argon2<'static>>,
    jobs: std::sync::mpsc::SyncSender<Job>,
    dummy: Arc<String>,
}

impl Hasher {
    /// Build a hasher; starts the pool and makes the dummy hash used for unknown logins.
    pub fn new(params: HashParams, concurrency: usize) -> Result<Self> {
        Self::with_idle(params, concurrency, POOL_IDLE)
    }

    /// [`Hasher::new`] whose threads give their Argon2 memory back after
    /// `idle` without a job.
    fn with_idle(params: HashParams, concurrency: usize, idle: Duration) -> Result<Self> {
        let p = Params::new(
            params.memory_kib,
            params.iterations,
            params.parallelism,
            None,
        )
        .map_err(|e| Error::Internal(format!("argon2 parameters: {e}")))?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, p);
        let (tx, rx) = std::sync::mpsc::sync_channel::<Job>(QUEUE);
        let rx = Arc::new(parking_lot::Mutex::new(rx));
        for i in 0..concurrency.max(1) {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("warden-hash-{i}"))
                .spawn(move || {
                    lower_priority();
                    pool_thread(&rx, idle);
                })
                .map_err(|e| Error::Internal(format!("cannot start a hash thread: {e}")))?;
        }
        // The dummy costs one verification with these parameters and never
        // matches; it is built without hashing, so no Argon2 memory is taken
        // at start.
        let dummy = crate::argon2_phc::dummy_with(&argon)?;
        Ok(Self {
            argon: Arc::new(argon),
            jobs: tx,
            dummy: Arc::new(dummy),
        })
    }

    /// Hash a password (PHC string).
    pub async fn hash(&self, password: &str) -> Result<String> {
        let argon = self.argon.clone();
        let pw = password.to_owned();
        self.run(move || crate::argon2_phc::hash_with(&argon, &pw))
            .await
    }

    /// Verify `password` against `hash`; with `None`, verifies against a dummy hash
    /// (same cost) and returns false, so unknown logins take as long as known ones.
    pub async fn verify(&self, password: &str, hash: Option<&str>) -> Result<bool> {
        let pw = password.to_owned();
        let (phc, real) = match hash {
            Some(h) => (h.to_owned(), true),
            None => (self.dummy.as_str().to_owned(), false),
        };
        let ok = self.run(move || verify_with(&pw, &phc)).await?;
        Ok(ok && real)
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = tx.send(f());
        });
        self.jobs.try_send(job).map_err(|e| match e {
            std::sync::mpsc::TrySendError::Full(_) => {
                Error::Unavailable("too many password checks queued".into())
            }
            std::sync::mpsc::TrySendError::Disconnected(_) => {
                Error::Internal("the hash pool stopped".into())
            }
        })?;
        rx.await
            .map_err(|_| Error::Internal("a hash job was dropped".into()))?
    }
}

/// Lower the calling thread to nice 19 under the batch policy, which never
/// preempts a thread that wakes up (best effort: where the OS refuses, nothing
/// changes).
fn lower_priority() {
    use thread_priority::{
        NormalThreadSchedulePolicy, ThreadPriority, ThreadSchedulePolicy,
        set_thread_priority_and_policy, thread_native_id,
    };
    // Crossplatform 0 maps to nice 19 on Linux.
    if let Ok(p) = thread_priority::ThreadPriorityValue::try_from(0u8) {
        let _ = set_thread_priority_and_policy(
            thread_native_id(),
            ThreadPriority::Crossplatform(p),
            ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Batch),
        );
    }
}

/// Verify against any stored hash: Argon2 in [`crate::argon2_phc`], imported
/// schemes in [`crate::imported_hash`].
fn verify_with(password: &str, stored: &str) -> Result<bool> {
    if stored.starts_with("$argon2") {
        crate::argon2_phc::verify_argon2(password, stored)
    } else {
        crate::imported_hash::verify(password, stored)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::panic)]
    use super::*;

    #[test]
    fn rules() {
        assert!(Login::parse("ab").is_err());
        assert!(Login::parse(&"a".repeat(65)).is_err());
        assert!(Login::parse("user@example.com").is_ok());
        assert!(Password::parse(&"x".repeat(129)).is_err());
        assert!(Password::parse(&"x".repeat(128)).is_ok());
        assert!(Password::parse("PASSWORD1").is_err());
        assert!(check_email("a@b.co").is_ok());
        assert!(check_email("nope").is_err());
    }

    #[test]
    fn stored_hashes_from_other_settings_and_the_standard_api_verify() {
        use argon2::password_hash::PasswordHasher as _;
        let old = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(32, 3, 2, Some(24)).unwrap_or_else(|e| panic!("{e}")),
        );
        let phc = old
            .hash_password_with_salt(b"correct horse", b"0123456789abcdef")
            .unwrap_or_else(|e| panic!("{e}"))
            .to_string();
        assert!(verify_with("correct horse", &phc).unwrap_or(false));
        assert!(!verify_with("correct horsf", &phc).unwrap_or(true));
        let ours = crate::argon2_phc::hash_with(&old, "battery staple").unwrap_or_default();
        assert!(ours.starts_with("$argon2id$v=19$m=32,t=3,p=2$"));
        assert!(verify_with("battery staple", &ours).unwrap_or(false));
        assert!(verify_with("x", "$argon2i$v=19$m=32,t=3,p=2$c2FsdHNhbHQ$aGFzaGhhc2g").is_err());
    }

    #[tokio::test]
    async fn hash_and_verify() {
        let h = Hasher::new(cheap(), 2).unwrap_or_else(|e| panic!("{e}"));
        let phc = h.hash("correct horse").await.unwrap_or_default();
        assert!(phc.starts_with("$argon2id$"));
        assert!(h.verify("correct horse", Some(&phc)).await.unwrap_or(false));
        assert!(!h.verify("wrong horse", Some(&phc)).await.unwrap_or(true));
        assert!(!h.verify("correct horse", None).await.unwrap_or(true));
    }

    /// The hash threads yield to token checks: nice 19 under `SCHED_BATCH`
    /// (`/proc/thread-self/stat` field 19 is the nice value).
    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn hash_threads_run_at_the_lowest_priority() {
        let h = Hasher::new(cheap(), 1).unwrap_or_else(|e| panic!("{e}"));
        let (policy, stat) = h
            .run(|| {
                let stat = std::fs::read_to_string("/proc/thread-self/stat")
                    .map_err(|e| Error::Internal(e.to_string()))?;
                Ok((thread_priority::thread_schedule_policy(), stat))
            })
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let after_name = stat.rsplit(") ").next().unwrap_or_default();
        let nice = after_name.split(' ').nth(16).unwrap_or_default();
        assert_eq!(nice, "19", "{stat}");
        assert!(
            matches!(
                policy,
                Ok(thread_priority::ThreadSchedulePolicy::Normal(
                    thread_priority::NormalThreadSchedulePolicy::Batch
                ))
            ),
            "{policy:?}"
        );
    }

    #[test]
    fn the_dummy_has_the_settings_parameters_and_a_random_output() {
        let params = HashParams {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
        };
        let a = Hasher::new(params, 1).unwrap_or_else(|e| panic!("{e}"));
        let b = Hasher::new(params, 1).unwrap_or_else(|e| panic!("{e}"));
        assert!(a.dummy.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(crate::argon2_phc::parse_argon2(&a.dummy));
        assert_ne!(a.dummy, b.dummy);
        let parsed = argon2::password_hash::phc::PasswordHash::new(&a.dummy)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(parsed.salt.map(|s| s.len()), Some(16));
        assert_eq!(parsed.hash.map(|h| h.len()), Some(32));
    }

    fn cheap() -> HashParams {
        HashParams {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        }
    }

    async fn holds_memory(h: &Hasher) -> bool {
        h.run(|| Ok(crate::argon2_phc::holds_memory()))
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[tokio::test]
    async fn a_busy_hash_thread_keeps_its_memory() {
        let h = Hasher::with_idle(cheap(), 1, Duration::from_secs(60))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!holds_memory(&h).await);
        h.hash("correct horse")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(holds_memory(&h).await);
    }

    #[tokio::test]
    async fn an_idle_hash_thread_gives_its_memory_back() {
        let h = Hasher::with_idle(cheap(), 1, Duration::from_millis(20))
            .unwrap_or_else(|e| panic!("{e}"));
        h.hash("correct horse")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        // Probes further apart than the idle time: each finds the thread idle
        // since the last job, so one soon finds the memory given back.
        for _ in 0..100 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if !holds_memory(&h).await {
                return;
            }
        }
        panic!("the hash thread kept its Argon2 memory");
    }
}
