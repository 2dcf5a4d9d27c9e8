//! Password hashing with argon2id (the `argon2` crate's defaults: m = 19 MiB, t = 2,
//! p = 1, the OWASP minimum), run on the blocking pool so a login never stalls the
//! async workers, at most `PASSWORD_HASH_CONCURRENCY` at once ([`Hasher`]).
//! New passwords must also not be common or guessable (zxcvbn).

use std::sync::{Arc, OnceLock};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

use crate::error::ApiError;

/// Shortest accepted password, in characters.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Longest accepted password, in bytes: bounds the hashing work one request can ask for.
pub const MAX_PASSWORD_BYTES: usize = 128;

/// The lowest zxcvbn score accepted for a new password: 3 is "safely unguessable"
/// (at least 10^8 guesses), which refuses its list of common passwords and names,
/// dictionary words, keyboard runs, repeats and dates.
const MIN_SCORE: u8 = 3;
/// How many requests may wait for a hashing slot, per slot.
const QUEUE_PER_SLOT: usize = 4;

/// Checks the password rules; the message never echoes the password. `context` is
/// what the user also typed (email, display name): a password built from it is weak.
pub fn validate_new(password: &str, context: &[&str]) -> Result<(), ApiError> {
    validate(password)?;
    let score = u8::from(zxcvbn::zxcvbn(password, context).score());
    if score < MIN_SCORE {
        return Err(ApiError::unprocessable(
            "common_password",
            "that password is too common or too easy to guess; a few uncommon words make a good one",
        ));
    }
    Ok(())
}

/// The length rules alone.
fn validate(password: &str) -> Result<(), ApiError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(ApiError::unprocessable(
            "weak_password",
            format!("the password must have at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(ApiError::unprocessable(
            "password_too_long",
            format!("the password must be at most {MAX_PASSWORD_BYTES} bytes"),
        ));
    }
    Ok(())
}

/// Bounds argon2id runs (19 MiB each) to `concurrency` at once; a few more requests
/// may wait, the rest are refused (503 `password_hashing_busy`, `Retry-After: 1`).
#[derive(Debug, Clone)]
pub struct Hasher {
    admission: Arc<Semaphore>,
    running: Arc<Semaphore>,
}

/// A request admitted to hash or verify one password.
#[derive(Debug)]
pub struct Admitted {
    _admission: OwnedSemaphorePermit,
    running: Arc<Semaphore>,
}

impl Hasher {
    pub fn new(concurrency: usize) -> Self {
        let concurrency = concurrency.max(1);
        Self {
            admission: Arc::new(Semaphore::new(concurrency * (1 + QUEUE_PER_SLOT))),
            running: Arc::new(Semaphore::new(concurrency)),
        }
    }

    /// A place in the queue, or 503 when it is full.
    pub fn admit(&self) -> Result<Admitted, ApiError> {
        let admission = self.admission.clone().try_acquire_owned().map_err(|_| {
            metrics::counter!("hast_password_hashing_refused_total").increment(1);
            ApiError::unavailable(
                "password_hashing_busy",
                "too many sign-ins at once; try again in a moment",
            )
        })?;
        Ok(Admitted {
            _admission: admission,
            running: self.running.clone(),
        })
    }
}

impl Admitted {
    /// Runs `work` on the blocking pool once a slot is free; the slot is held until
    /// the work ends, even if the request is dropped meanwhile.
    async fn run<T: Send + 'static>(
        self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let slot = self
            .running
            .acquire_owned()
            .await
            .map_err(|e| ApiError::internal("password hashing slots", e))?;
        metrics::counter!("hast_password_hashes_total").increment(1);
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            work()
        })
        .await
        .map_err(|e| ApiError::internal("password hashing task", e))
    }

    /// The argon2id PHC string of `password`.
    pub async fn hash(self, password: String) -> Result<String, ApiError> {
        self.run(move || hash_now(&password))
            .await?
            .map_err(|e| ApiError::internal("password hashing", e))
    }

    /// Whether `password` matches `phc`; see [`verify_now`].
    pub async fn verify(self, password: String, phc: Option<String>) -> Result<bool, ApiError> {
        self.run(move || verify_now(&password, phc)).await
    }
}

fn hash_now(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
}

/// Whether `password` matches `phc`. With `None` (unknown account) a dummy hash is
/// verified instead, so both paths cost the same and timing does not reveal which
/// emails have accounts.
fn verify_now(password: &str, phc: Option<String>) -> bool {
    let known = phc.is_some();
    let phc = phc.unwrap_or_else(|| dummy_hash().to_owned());
    let matches = PasswordHash::new(&phc)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false);
    known && matches
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(b"not a real password, only for timing", &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_and_verify() {
        let hasher = Hasher::new(1);
        let phc = hasher
            .admit()
            .unwrap()
            .hash("correct horse".into())
            .await
            .unwrap();
        assert!(phc.starts_with("$argon2id$"), "{phc}");
        let verify = |password: &str, phc: Option<String>| {
            hasher.admit().unwrap().verify(password.into(), phc)
        };
        assert!(verify("correct horse", Some(phc.clone())).await.unwrap());
        assert!(!verify("wrong horse!", Some(phc)).await.unwrap());
        assert!(!verify("anything at all", None).await.unwrap());
    }

    #[test]
    fn a_full_queue_is_refused() {
        let hasher = Hasher::new(1);
        let admitted: Vec<Admitted> = (0..1 + QUEUE_PER_SLOT)
            .map(|_| hasher.admit().unwrap())
            .collect();
        let refused = hasher.admit().unwrap_err();
        assert_eq!(refused.status.as_u16(), 503);
        assert_eq!(refused.code, "password_hashing_busy");
        drop(admitted);
        assert!(hasher.admit().is_ok());
    }

    #[test]
    fn rules() {
        assert!(validate("short").is_err());
        assert!(validate("long enough").is_ok());
        assert!(validate(&"x".repeat(MAX_PASSWORD_BYTES)).is_ok());
        assert!(validate(&"x".repeat(MAX_PASSWORD_BYTES + 1)).is_err());
    }

    #[test]
    fn common_and_guessable_passwords_are_refused() {
        for weak in [
            "password1",
            "password123",
            "qwertyuiop",
            "iloveyou123",
            "123456789",
            "aaaaaaaaaaaa",
            "P@ssw0rd!",
            "asha1990",
        ] {
            let refused = validate_new(weak, &["asha@example.com", "Asha"]).err();
            assert_eq!(refused.map(|e| e.code), Some("common_password"), "{weak}");
        }
        // The passwords the tests, the benchmark and the web journeys register with.
        for good in [
            "a long test password",
            "correct horse battery",
            "claim my palms please",
            "a memorable secret phrase",
            "benchmark password",
            "a palm full of lines",
            "two hands two palms",
            "another password",
        ] {
            assert!(validate_new(good, &["user@example.com"]).is_ok(), "{good}");
        }
    }
}
