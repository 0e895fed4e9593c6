//! Signed, expiring session tokens: JWT, HS256 pinned on both sides, `exp`
//! required, `sub` = the user id.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::domain::UserId;
use crate::error::{Error, Result};

/// Issues and verifies tokens with one secret.
#[derive(Clone)]
pub struct Tokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens").field("ttl", &self.ttl).finish_non_exhaustive()
    }
}

/// A token as issued: hidden from `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(pub String);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    iat: u64,
    nbf: u64,
    exp: u64,
}

impl Tokens {
    /// Tokens signed with `secret`, valid for `ttl`.
    pub fn new(secret: &[u8], ttl: Duration) -> Tokens {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp", "nbf", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = 5;
        Tokens {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            ttl,
        }
    }

    /// A token for `user`, valid from now for the configured lifetime.
    pub fn issue(&self, user: UserId) -> Result<Token> {
        let now = unix_now();
        let claims = Claims { sub: user.0.to_string(), iat: now, nbf: now, exp: now + self.ttl.as_secs() };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map(Token)
            .map_err(|e| Error::Internal(anyhow::Error::new(e).context("sign token")))
    }

    /// The user a token was issued to, if it is well-formed, signed by us with
    /// HS256, and not expired. The reason for a refusal is for the log only.
    pub fn verify(&self, token: &str) -> Result<UserId, TokenRejected> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| TokenRejected(format!("{:?}", e.kind())))?;
        let id = crate::domain::parse_id("sub", &data.claims.sub).map_err(|_| TokenRejected("bad subject".into()))?;
        Ok(UserId(id))
    }
}

/// Why a token was refused (never shown to the client, which gets 10002).
#[derive(Debug, thiserror::Error)]
#[error("token rejected: {0}")]
pub struct TokenRejected(pub String);

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn tokens() -> Tokens {
        Tokens::new(SECRET, Duration::from_secs(3600))
    }

    fn forge(header: Header, claims: &Claims, secret: &[u8]) -> String {
        jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(secret)).unwrap()
    }

    fn claims(sub: &str, nbf: u64, exp: u64) -> Claims {
        Claims { sub: sub.into(), iat: nbf, nbf, exp }
    }

    #[test]
    fn issued_token_verifies_to_its_user() {
        let token = tokens().issue(UserId(7)).unwrap();
        assert_eq!(tokens().verify(&token.0).unwrap(), UserId(7));
        assert_eq!(format!("{token:?}"), "Token(<redacted>)");
    }

    #[test]
    fn expired_and_not_yet_valid_tokens_are_refused() {
        let now = unix_now();
        let expired = forge(Header::new(Algorithm::HS256), &claims("7", now - 7200, now - 3600), SECRET);
        assert!(tokens().verify(&expired).is_err());
        let future = forge(Header::new(Algorithm::HS256), &claims("7", now + 3600, now + 7200), SECRET);
        assert!(tokens().verify(&future).is_err());
    }

    #[test]
    fn other_secret_other_algorithm_and_alg_none_are_refused() {
        let now = unix_now();
        let good = claims("7", now, now + 60);
        let other_secret = forge(Header::new(Algorithm::HS256), &good, b"another-secret-another-secret-xx");
        assert!(tokens().verify(&other_secret).is_err());
        let hs512 = forge(Header::new(Algorithm::HS512), &good, SECRET);
        assert!(tokens().verify(&hs512).is_err());
        // {"alg":"none"} with the same claims and an empty signature.
        let token = tokens().issue(UserId(7)).unwrap().0;
        let payload = token.split('.').nth(1).unwrap();
        let none = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.");
        assert!(tokens().verify(&none).is_err());
    }

    #[test]
    fn tampered_payload_is_refused() {
        let token = tokens().issue(UserId(7)).unwrap().0;
        let mut parts: Vec<&str> = token.split('.').collect();
        let other = tokens().issue(UserId(8)).unwrap().0;
        let other_payload = other.split('.').nth(1).unwrap().to_owned();
        parts[1] = &other_payload;
        assert!(tokens().verify(&parts.join(".")).is_err());
    }

    #[test]
    fn token_without_exp_or_with_bad_subject_is_refused() {
        #[derive(Serialize)]
        struct NoExp {
            sub: String,
            nbf: u64,
        }
        let now = unix_now();
        let no_exp = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &NoExp { sub: "7".into(), nbf: now },
            &EncodingKey::from_secret(SECRET),
        )
        .unwrap();
        assert!(tokens().verify(&no_exp).is_err());
        let zero = forge(Header::new(Algorithm::HS256), &claims("0", now, now + 60), SECRET);
        assert!(tokens().verify(&zero).is_err());
        assert!(tokens().verify("not-a-token").is_err());
    }
}
