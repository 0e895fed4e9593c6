//! The douyin-serverless library: everything but the HTTP/Lambda edge.
//!
//! - [`domain`]: parsed values and the contract's objects.
//! - [`users`] (and the use cases of later endpoints): what the service does,
//!   over [`app::App`].
//! - [`auth`]: password hashes and tokens.
//! - [`store`] (DynamoDB), [`media`] (S3), [`queue`] (SQS or in-process): the
//!   adapters; the only modules that touch an AWS SDK.
//! - [`limits`]: rate limits, counted in the table across instances.
//! - [`heavy`]: CPU-heavy work (hashing, decoding) on the blocking pool, at most half the cores.
//! - [`config`]: the only module that reads the environment.
//! - [`telemetry`] (logs) and [`metrics`] (CloudWatch embedded metric format).
//! - [`embedded`]: the in-process engines, behind the `embedded` feature.
//! - [`video`]: uploaded videos checked by content, and their JPEG covers (no ffmpeg).
//!
//! The invariants are in ARCHITECTURE.md.

pub mod app;
pub mod auth;
pub mod chat;
pub mod config;
pub mod deadline;
pub mod domain;
#[cfg(feature = "embedded")]
pub mod embedded;
pub mod error;
pub mod feed_cache;
pub mod heavy;
pub mod interactions;
pub mod invoke;
pub mod limits;
pub mod media;
pub mod metrics;
pub mod queue;
pub mod store;
pub mod telemetry;
pub mod users;
pub mod video;
pub mod videos;

pub use app::App;
pub use error::{Error, Result};

/// Settings of the property tests ("fuzz properties"): `default_cases` cases from a fixed seed, so
/// that CI runs the same inputs every time and a failure reproduces. `PROPTEST_CASES` and
/// `PROPTEST_RNG_SEED` override both for a longer or different run (docs/security.md, "Bad input").
/// No failure file is written: a failing input is printed, and kept as a plain `#[test]`.
#[cfg(test)]
pub(crate) fn proptest_config(default_cases: u32) -> proptest::test_runner::Config {
    use proptest::test_runner::{Config, RngAlgorithm, RngSeed};
    let mut config = Config::default();
    #[allow(
        clippy::disallowed_methods,
        reason = "proptest's own settings, read by the test harness, not configuration"
    )]
    let (cases, seed) = (std::env::var_os("PROPTEST_CASES"), std::env::var_os("PROPTEST_RNG_SEED"));
    if cases.is_none() {
        config.cases = default_cases;
    }
    if seed.is_none() {
        config.rng_seed = RngSeed::Fixed(20261124);
    }
    config.rng_algorithm = RngAlgorithm::ChaCha;
    config.failure_persistence = None;
    config
}
