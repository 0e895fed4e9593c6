//! Signed, expiring session tokens: JWT, HS256 pinned on both sides, `sub`,
//! `iat`, `nbf` and `exp` required, `sub` = the user id written canonically,
//! and no token valid for longer than the configured lifetime.

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
    /// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds.
    pub const LEEWAY_SECS: u64 = 5;

    /// Tokens signed with `secret`, valid for `ttl`.
    pub fn new(secret: &[u8], ttl: Duration) -> Tokens {
        let mut validation = Validation::new(Algorithm::HS256);
        // `iat` is required too: `Claims` cannot be read without it.
        validation.set_required_spec_claims(&["exp", "nbf", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = Self::LEEWAY_SECS;
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
    /// HS256, not expired, and could have been issued by [`Tokens::issue`]:
    /// its lifetime (`exp - iat`) is at most the configured one, it expires no
    /// later than a token issued now would, it was not issued in the future,
    /// and its `sub` is a user id written as `issue` writes it (decimal
    /// digits, no sign, space or leading zero, 1 to 2^53 − 1). The reason for a
    /// refusal is for the log only.
    pub fn verify(&self, token: &str) -> Result<UserId, TokenRejected> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| TokenRejected(format!("{:?}", e.kind())))?;
        let Claims { sub, iat, exp, .. } = data.claims;
        let now = unix_now();
        let longest = self.ttl.as_secs().saturating_add(Self::LEEWAY_SECS);
        if iat > now.saturating_add(Self::LEEWAY_SECS) {
            return Err(TokenRejected("issued in the future".into()));
        }
        if exp.saturating_sub(iat) > longest || exp > now.saturating_add(longest) {
            return Err(TokenRejected("valid for longer than the configured lifetime".into()));
        }
        let id = crate::domain::parse_canonical_id(&sub).ok_or_else(|| TokenRejected("bad subject".into()))?;
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
    fn tokens_living_longer_than_the_configured_lifetime_are_refused() {
        let now = unix_now();
        let ttl = 3600;
        let sign = |iat: u64, exp: u64| {
            forge(Header::new(Algorithm::HS256), &Claims { sub: "7".into(), iat, nbf: iat, exp }, SECRET)
        };
        // As issued, and at the edges the leeway allows.
        assert_eq!(tokens().verify(&sign(now, now + ttl)).unwrap(), UserId(7));
        assert!(tokens().verify(&sign(now, now + ttl + Tokens::LEEWAY_SECS)).is_ok());
        for (what, iat, exp) in [
            ("exp 2^63", now, 1 << 63),
            ("exp u64::MAX", now, u64::MAX),
            ("a day longer than the lifetime", now, now + ttl + 86_400),
            ("one second past lifetime and leeway", now, now + ttl + Tokens::LEEWAY_SECS + 1),
            ("issued in the past with a lifetime ending too late", now - 60, now + ttl + 30),
            ("issued in the future", now + 600, now + 600 + ttl),
            ("iat 0, so exp - iat is huge", 0, now + 60),
        ] {
            assert!(tokens().verify(&sign(iat, exp)).is_err(), "{what}");
        }
    }

    #[test]
    fn only_the_canonical_subject_is_accepted() {
        let now = unix_now();
        for sub in ["+7", " 007 ", "07", "7 ", " 7", "7\n", "٧", "0", "-7", "7.0"] {
            let token = forge(Header::new(Algorithm::HS256), &claims(sub, now, now + 60), SECRET);
            assert!(tokens().verify(&token).is_err(), "{sub:?}");
        }
    }

    #[test]
    fn token_without_iat_is_refused() {
        #[derive(Serialize)]
        struct NoIat {
            sub: String,
            nbf: u64,
            exp: u64,
        }
        let now = unix_now();
        let token = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &NoIat { sub: "7".into(), nbf: now, exp: now + 60 },
            &EncodingKey::from_secret(SECRET),
        )
        .unwrap();
        assert!(tokens().verify(&token).is_err());
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
