//! Argon2id password hashes as PHC strings.
//!
//! Hashing costs tens of milliseconds of CPU by design, so it runs in the
//! process's [`HeavyWork`] pool: on Tokio's blocking pool (a login never stalls
//! the other requests of its runtime), with at most half the cores hashing or
//! decoding video at once, so that a burst of logins on a shared server
//! (`douyin-local`) queues behind itself instead of taking every core from the
//! requests around it. A Lambda instance serves one request at a time and never
//! waits on it.
//! Logins of unknown users verify against a dummy hash of the same cost, so they
//! take about as long as wrong passwords and do not reveal which names exist.

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::config::Argon2Cost;
use crate::domain::Password;
use crate::error::{Error, Result};
use crate::heavy::HeavyWork;

/// Hashes and verifies passwords at one configured cost.
#[derive(Clone, Debug)]
pub struct Passwords {
    cost: Argon2Cost,
    /// A well-formed hash of nothing anybody knows, at `cost`: what an unknown
    /// user's login is verified against.
    dummy_hash: String,
    /// Where hashes run: the process's pool for CPU-heavy work.
    heavy: HeavyWork,
}

impl Passwords {
    /// Prepares the hasher, hashing in `heavy`. Fails on parameters argon2 rejects.
    pub fn new(cost: Argon2Cost, heavy: HeavyWork) -> Result<Passwords> {
        argon2_at(cost)?;
        // A fixed salt and a fixed digest: verifying against it costs a full
        // argon2 run, and no password matches it (the digest is not the hash of
        // anything we know). Built without hashing, so cold start pays nothing.
        let dummy_hash = format!(
            "$argon2id$v=19$m={},t={},p={}$ZHVtbXlzYWx0ZHVtbXk$ZHVtbXlkaWdlc3RkdW1teWRpZ2VzdGR1bW15ZGlnZXM",
            cost.memory_kib, cost.iterations, cost.parallelism
        );
        Ok(Passwords { cost, dummy_hash, heavy })
    }

    /// Hashes a new password with a fresh random salt (PHC string).
    pub async fn hash(&self, password: &Password) -> Result<String> {
        let cost = self.cost;
        let password = password.clone();
        self.blocking(move || {
            let mut salt_bytes = [0u8; 16];
            rand::fill(&mut salt_bytes);
            let salt = SaltString::encode_b64(&salt_bytes)
                .map_err(|e| Error::Internal(anyhow::anyhow!("encode salt: {e}")))?;
            let hash = argon2_at(cost)?
                .hash_password(password.expose().as_bytes(), &salt)
                .map_err(|e| Error::Internal(anyhow::anyhow!("hash password: {e}")))?;
            Ok(hash.to_string())
        })
        .await
    }

    /// Whether `password` matches `stored` (a PHC string); `None` verifies against
    /// the dummy hash and is always `false`, in about the same time.
    pub async fn verify(&self, password: &Password, stored: Option<String>) -> Result<bool> {
        let known = stored.is_some();
        let phc = stored.unwrap_or_else(|| self.dummy_hash.clone());
        let password = password.clone();
        let matches = self
            .blocking(move || {
                let parsed =
                    PasswordHash::new(&phc).map_err(|e| Error::Internal(anyhow::anyhow!("parse stored hash: {e}")))?;
                // The parameters come from the stored string, so older hashes keep
                // verifying after the configured cost changes.
                Ok(Argon2::default().verify_password(password.expose().as_bytes(), &parsed).is_ok())
            })
            .await?;
        Ok(known && matches)
    }
}

fn argon2_at(cost: Argon2Cost) -> Result<Argon2<'static>> {
    let params = Params::new(cost.memory_kib, cost.iterations, cost.parallelism, None)
        .map_err(|e| Error::Internal(anyhow::anyhow!("argon2 parameters: {e}")))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

impl Passwords {
    /// Runs `work` on the blocking pool once a place for heavy work is free.
    async fn blocking<T: Send + 'static>(&self, work: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
        self.heavy.run("password hashing task", work).await?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn password(raw: &str) -> Password {
        Password::parse("password", raw).unwrap()
    }

    #[tokio::test]
    async fn hash_is_argon2id_and_verifies_only_the_right_password() {
        let passwords = Passwords::new(Argon2Cost::TEST, HeavyWork::with_places(1)).unwrap();
        let hash = passwords.hash(&password("correct horse")).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=8,t=1,p=1$"), "{hash}");
        assert!(passwords.verify(&password("correct horse"), Some(hash.clone())).await.unwrap());
        assert!(!passwords.verify(&password("wrong horse"), Some(hash)).await.unwrap());
    }

    #[tokio::test]
    async fn same_password_gets_different_salts() {
        let passwords = Passwords::new(Argon2Cost::TEST, HeavyWork::with_places(1)).unwrap();
        let a = passwords.hash(&password("same-password")).await.unwrap();
        let b = passwords.hash(&password("same-password")).await.unwrap();
        assert_ne!(a, b);
    }

    #[tokio::test]
    async fn unknown_user_is_checked_against_a_parsable_dummy_of_the_same_cost() {
        let passwords = Passwords::new(Argon2Cost::OWASP, HeavyWork::with_places(1)).unwrap();
        assert!(passwords.dummy_hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(PasswordHash::new(&passwords.dummy_hash).is_ok());
        assert!(!passwords.verify(&password("anything"), None).await.unwrap());
    }

    #[test]
    fn parameters_argon2_rejects_fail_at_construction() {
        let bad = Argon2Cost { memory_kib: 1, iterations: 0, parallelism: 1 };
        assert!(Passwords::new(bad, HeavyWork::with_places(1)).is_err());
    }
}
