//! Rate limits on the write endpoints people abuse: registering and logging
//! in (per source address, and per username for logins), sending messages,
//! commenting, following, publishing videos and asking for upload tickets
//! (per user).
//!
//! Each limit is a fixed window: at most `max` calls per `window`, counted in
//! one item of the table per (limit, subject, window), raised by one atomic
//! conditional update ([`crate::store::Table::count_in_window`]), or by the
//! same update inside the transaction of the write it limits ([`Count`]: a
//! comment, a follow, an upload ticket; one round for both, and only what is
//! written counts). The count is therefore shared by every Lambda instance,
//! and concurrent calls can never pass more than `max` times. A refused call
//! writes nothing: it is
//! [`Error::RateLimited`] (10008, HTTP 429, `Retry-After` = the end of the
//! window). Window items carry the table's TTL and disappear after their window.
//!
//! Fixed windows let a client make up to `2 × max` calls around a window
//! boundary; for the abuse these limits are for (guessing passwords, spam),
//! that is the same order of magnitude, and it costs one write per call.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::{Error, Result};
use crate::store::Table;
use crate::store::model;

/// At most `max` calls per `window`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    /// Calls allowed in one window (at least 1).
    pub max: u64,
    /// Length of a window (at least one second, whole seconds).
    pub window: Duration,
}

impl RateLimit {
    /// `max` calls per `seconds`.
    pub const fn per(max: u64, seconds: u64) -> RateLimit {
        RateLimit { max, window: Duration::from_secs(seconds) }
    }

    /// Parses `<max>/<seconds>` (`10/60`: ten calls a minute); `off` is no limit.
    pub fn parse(raw: &str) -> std::result::Result<Option<RateLimit>, String> {
        let raw = raw.trim();
        if raw.eq_ignore_ascii_case("off") {
            return Ok(None);
        }
        let problem = || format!("expected <calls>/<seconds> such as 10/60, or off; found {raw:?}");
        let (max, seconds) = raw.split_once('/').ok_or_else(problem)?;
        let max: u64 = max.trim().parse().map_err(|_| problem())?;
        let seconds: u64 = seconds.trim().parse().map_err(|_| problem())?;
        if max == 0 || seconds == 0 || seconds > 7 * 24 * 3600 {
            return Err(format!("calls must be at least 1 and seconds between 1 and 604800; found {raw:?}"));
        }
        Ok(Some(RateLimit::per(max, seconds)))
    }
}

/// Every limit; `None` is unlimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimits {
    /// Registrations per source address (`DOUYIN_RATE_REGISTER_IP`).
    pub register_ip: Option<RateLimit>,
    /// Login attempts per source address (`DOUYIN_RATE_LOGIN_IP`).
    pub login_ip: Option<RateLimit>,
    /// Login attempts per username (`DOUYIN_RATE_LOGIN_USER`).
    pub login_user: Option<RateLimit>,
    /// Chat messages sent per user (`DOUYIN_RATE_MESSAGE`).
    pub message: Option<RateLimit>,
    /// Comments posted per user (`DOUYIN_RATE_COMMENT`).
    pub comment: Option<RateLimit>,
    /// Follow and unfollow actions per user (`DOUYIN_RATE_FOLLOW`).
    pub follow: Option<RateLimit>,
    /// Videos published in one request per user (`DOUYIN_RATE_PUBLISH`).
    pub publish: Option<RateLimit>,
    /// Presigned upload tickets per user (`DOUYIN_RATE_UPLOAD`).
    pub upload: Option<RateLimit>,
}

impl RateLimits {
    /// The defaults on AWS.
    pub const DEFAULT: RateLimits = RateLimits {
        register_ip: Some(RateLimit::per(5, 3600)),
        login_ip: Some(RateLimit::per(10, 60)),
        login_user: Some(RateLimit::per(10, 60)),
        message: Some(RateLimit::per(60, 60)),
        comment: Some(RateLimit::per(30, 60)),
        follow: Some(RateLimit::per(60, 60)),
        publish: Some(RateLimit::per(20, 3600)),
        upload: Some(RateLimit::per(30, 3600)),
    };

    /// No limits: the local server and the tests (the contract asks that the
    /// local defaults never get in the way of a test suite).
    pub const OFF: RateLimits = RateLimits {
        register_ip: None,
        login_ip: None,
        login_user: None,
        message: None,
        comment: None,
        follow: None,
        publish: None,
        upload: None,
    };

    /// The limit of `scope`.
    pub fn of(&self, scope: Scope) -> Option<RateLimit> {
        match scope {
            Scope::RegisterIp => self.register_ip,
            Scope::LoginIp => self.login_ip,
            Scope::LoginUser => self.login_user,
            Scope::Message => self.message,
            Scope::Comment => self.comment,
            Scope::Follow => self.follow,
            Scope::Publish => self.publish,
            Scope::Upload => self.upload,
        }
    }
}

/// What a limit counts, and per what.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Registrations, per source address.
    RegisterIp,
    /// Login attempts, per source address.
    LoginIp,
    /// Login attempts, per username.
    LoginUser,
    /// Chat messages, per sender.
    Message,
    /// Comments posted, per author.
    Comment,
    /// Follows and unfollows, per follower.
    Follow,
    /// Videos published in one request, per author.
    Publish,
    /// Presigned upload tickets, per author.
    Upload,
}

impl Scope {
    /// The scope's name inside window keys.
    pub fn name(self) -> &'static str {
        match self {
            Scope::RegisterIp => "register-ip",
            Scope::LoginIp => "login-ip",
            Scope::LoginUser => "login-user",
            Scope::Message => "message",
            Scope::Comment => "comment",
            Scope::Follow => "follow",
            Scope::Publish => "publish",
            Scope::Upload => "upload",
        }
    }

    /// What was counted, as the client reads it in `status_msg`.
    fn what(self) -> &'static str {
        match self {
            Scope::RegisterIp => "registrations from this address",
            Scope::LoginIp => "login attempts from this address",
            Scope::LoginUser => "login attempts for this username",
            Scope::Message => "messages",
            Scope::Comment => "comments",
            Scope::Follow => "follow actions",
            Scope::Publish => "videos published",
            Scope::Upload => "upload tickets",
        }
    }
}

/// The time windows are cut from, in epoch seconds: the system clock, or a
/// hand-moved one in tests (no sleeping to reach the next window).
#[derive(Clone, Debug, Default)]
pub enum Clock {
    /// The system clock.
    #[default]
    System,
    /// A clock that only moves when the test moves it.
    Manual(Arc<AtomicU64>),
}

impl Clock {
    /// A manual clock at `epoch_secs`, and the handle that moves it.
    pub fn manual(epoch_secs: u64) -> (Clock, Arc<AtomicU64>) {
        let now = Arc::new(AtomicU64::new(epoch_secs));
        (Clock::Manual(Arc::clone(&now)), now)
    }

    /// Now, in seconds since the epoch.
    pub fn now_secs(&self) -> u64 {
        match self {
            Clock::System => SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default(),
            Clock::Manual(now) => now.load(Ordering::SeqCst),
        }
    }
}

/// Counts calls against the configured limits.
#[derive(Clone, Debug)]
pub struct Limiter {
    table: Table,
    limits: RateLimits,
    clock: Clock,
}

impl Limiter {
    /// A limiter of `limits` counting in `table`, on the system clock.
    pub fn new(table: Table, limits: RateLimits) -> Limiter {
        Limiter { table, limits, clock: Clock::System }
    }

    /// The same limiter on another clock (tests).
    pub fn with_clock(self, clock: Clock) -> Limiter {
        Limiter { clock, ..self }
    }

    /// The limits it enforces.
    pub fn limits(&self) -> &RateLimits {
        &self.limits
    }

    /// Counts one call of `subject` under `scope`, or refuses it with
    /// [`Error::RateLimited`] when the window already holds the limit's
    /// calls. An unlimited scope costs nothing (no request).
    pub async fn hit(&self, scope: Scope, subject: &str) -> Result<()> {
        let Some(count) = self.count(scope, subject) else { return Ok(()) };
        if self.table.count_in_window(&count).await? {
            return Ok(());
        }
        Err(count.refused())
    }

    /// The count of one call of `subject` under `scope` (`None`: unlimited),
    /// for a write to make in its own transaction
    /// ([`Table::count_in_window`](crate::store::Table::count_in_window) makes it alone): the write and its count
    /// then commit together, or neither does, in one round.
    pub fn count(&self, scope: Scope, subject: &str) -> Option<Count> {
        let limit = self.limits.of(scope)?;
        let window = limit.window.as_secs().max(1);
        let now = self.clock.now_secs();
        let start = now - now % window;
        let end = start + window;
        Some(Count {
            key: model::rate_window_key(scope.name(), subject, start),
            max: limit.max,
            // Kept a window past its end, so a slow clock on another instance
            // still finds it; DynamoDB deletes expired items within days anyway.
            expires_at: end + window,
            scope,
            retry_after_secs: end - now,
        })
    }
}

/// One call to count in its rate window: raise the window item's count by
/// one unless it already holds `max`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Count {
    /// The window item.
    pub key: model::Key,
    /// The most calls the window takes.
    pub max: u64,
    /// When the window item expires (epoch seconds, the table's TTL).
    pub expires_at: u64,
    scope: Scope,
    retry_after_secs: u64,
}

impl Count {
    /// The answer to a call its full window refuses ([`Error::RateLimited`]).
    pub fn refused(&self) -> Error {
        tracing::info!(scope = self.scope.name(), max = self.max, "rate limited");
        Error::RateLimited { what: self.scope.what(), retry_after_secs: self.retry_after_secs }
    }
}

/// The subject of a per-address limit: an IPv4 address as it is, an IPv6
/// address by its /64 network (one host usually holds a whole /64, so single
/// addresses would be free to rotate through). IPv4-mapped IPv6 is IPv4.
pub fn address_subject(address: IpAddr) -> String {
    match address {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_parse_as_calls_per_seconds_or_off() {
        assert_eq!(RateLimit::parse("10/60"), Ok(Some(RateLimit::per(10, 60))));
        assert_eq!(RateLimit::parse(" 5 / 3600 "), Ok(Some(RateLimit::per(5, 3600))));
        assert_eq!(RateLimit::parse("OFF"), Ok(None));
        for bad in ["10", "0/60", "10/0", "ten/60", "10/60s", "-1/60", "1/9999999"] {
            assert!(RateLimit::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ipv6_addresses_count_by_their_64_network() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_subject(a), address_subject(b));
        assert_ne!(address_subject(a), address_subject(other));
        assert_eq!(address_subject("::ffff:203.0.113.9".parse().unwrap()), "203.0.113.9");
        assert_eq!(address_subject("203.0.113.9".parse().unwrap()), "203.0.113.9");
    }

    #[test]
    fn a_manual_clock_moves_only_when_told() {
        let (clock, now) = Clock::manual(1_000);
        assert_eq!(clock.now_secs(), 1_000);
        now.fetch_add(60, Ordering::SeqCst);
        assert_eq!(clock.now_secs(), 1_060);
    }
}
