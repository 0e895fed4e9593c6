//! The one error type of the service, named by what the client experiences, and
//! its mapping to the contract's `status_code` and `status_msg` (the HTTP
//! status is the edge's: `functions::edge::reply::Failure::statuses`).
//!
//! Infrastructure failures become [`Error::Internal`] with context; their text
//! never reaches a client (see [`Error::status_msg`]).

use std::fmt::Display;

/// A failure of a request, as the client sees it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A parameter is missing, of the wrong type, out of range or too long. The
    /// message names the field.
    #[error("{0}")]
    InvalidArgument(String),
    /// No valid token on an endpoint that needs one.
    #[error("{0}")]
    Unauthenticated(String),
    /// Authenticated, but not allowed to do this.
    #[error("{0}")]
    Forbidden(String),
    /// The user, video or comment does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The request conflicts with existing state (a taken username).
    #[error("{0}")]
    Conflict(String),
    /// Unknown user or wrong password: one message for both.
    #[error("wrong username or password")]
    BadCredentials,
    /// Not a supported video, corrupt, or too large.
    #[error("{0}")]
    UnsupportedMedia(String),
    /// Too many requests from this caller: `what` names the limit ("login
    /// attempts from this address"), `retry_after_secs` when the window ends.
    #[error("too many {what}, try again in {retry_after_secs} s")]
    RateLimited {
        /// What was counted, for the message.
        what: &'static str,
        /// Seconds until the limit's window ends (`Retry-After`).
        retry_after_secs: u64,
    },
    /// A fault on our side. The source chain goes to the log, never to the client.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

/// Result with the service's error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A verified token of a user that no longer exists.
    pub fn caller_gone() -> Error {
        Error::Unauthenticated("the token's user no longer exists".into())
    }

    /// The contract's `status_code` for this error.
    pub fn status_code(&self) -> u32 {
        match self {
            Error::InvalidArgument(_) => 10001,
            Error::Unauthenticated(_) => 10002,
            Error::Forbidden(_) => 10003,
            Error::NotFound(_) => 10004,
            Error::Conflict(_) => 10005,
            Error::BadCredentials => 10006,
            Error::UnsupportedMedia(_) => 10007,
            Error::RateLimited { .. } => 10008,
            Error::Internal(_) => 50000,
        }
    }

    /// The `status_msg` shown to the user: the variant's message, except for
    /// internal errors, whose cause stays in the log.
    pub fn status_msg(&self) -> String {
        self.to_string()
    }

    /// An [`Error::InvalidArgument`] about `field`.
    pub fn invalid(field: &str, problem: impl Display) -> Self {
        Error::InvalidArgument(format!("{field}: {problem}"))
    }

    /// Seconds the client should wait before trying again (the `Retry-After`
    /// header of a 429), for rate limits only.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            Error::RateLimited { retry_after_secs, .. } => Some(*retry_after_secs),
            _ => None,
        }
    }

    /// Whether this is our fault (logged at error level) rather than the caller's.
    pub fn is_internal(&self) -> bool {
        matches!(self, Error::Internal(_))
    }
}

/// Wraps any infrastructure error as [`Error::Internal`] with a short note of what
/// we were doing, like `anyhow::Context`.
pub trait Context<T> {
    /// Turn the error into [`Error::Internal`], noting what failed.
    fn context(self, what: &'static str) -> Result<T>;
}

impl<T, E> Context<T> for std::result::Result<T, E>
where
    E: std::error::Error + Send + Sync + 'static,
{
    fn context(self, what: &'static str) -> Result<T> {
        self.map_err(|source| Error::Internal(anyhow::Error::new(source).context(what)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_hide_their_cause() {
        let error: Result<()> = Err(std::io::Error::other("secret table arn")).context("put user");
        let error = error.unwrap_err();
        assert_eq!(error.status_code(), 50000);
        assert_eq!(error.status_msg(), "internal error");
        assert!(format!("{:#}", anyhow::Error::from(error)).contains("secret table arn"));
    }

    #[test]
    fn caller_errors_have_their_contract_codes() {
        assert_eq!(Error::invalid("user_id", "must be a number").status_code(), 10001);
        assert_eq!(Error::BadCredentials.status_code(), 10006);
        let limited = Error::RateLimited { what: "login attempts from this address", retry_after_secs: 42 };
        assert_eq!(limited.status_code(), 10008);
        assert_eq!(limited.status_msg(), "too many login attempts from this address, try again in 42 s");
        assert_eq!(limited.retry_after_secs(), Some(42));
    }
}
