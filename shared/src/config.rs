//! Configuration: read from the environment once, at cold start, into a typed
//! [`Config`]. This is the only module that reads the environment (the AWS SDK
//! reads its own variables, such as `AWS_ENDPOINT_URL_DYNAMODB`, itself).
//!
//! Tests and the local server build a [`Config`] as a value.

use std::time::Duration;

use crate::limits::{RateLimit, RateLimits};

/// Everything a deployer chooses. See the configuration table in docs/operations.md.
#[derive(Clone, Debug)]
pub struct Config {
    /// The DynamoDB table (`DOUYIN_TABLE`).
    pub table_name: String,
    /// The private media bucket (`DOUYIN_MEDIA_BUCKET`).
    pub media_bucket: String,
    /// The chat FIFO queue's URL (`DOUYIN_CHAT_QUEUE_URL`), for functions that send.
    pub chat_queue_url: Option<String>,
    /// Where the token-signing secret comes from.
    pub jwt_secret: SecretSource,
    /// How long an issued token is valid (`DOUYIN_TOKEN_TTL_SECS`).
    pub token_ttl: Duration,
    /// Argon2id cost (`DOUYIN_ARGON2_MEMORY_KIB`, `_ITERATIONS`, `_PARALLELISM`).
    pub argon2: Argon2Cost,
    /// Base URL of media when served by a CDN or a public origin
    /// (`DOUYIN_MEDIA_BASE_URL`); media links are presigned GETs when unset.
    pub media_base_url: Option<String>,
    /// Lifetime of presigned media links (`DOUYIN_MEDIA_URL_TTL_SECS`).
    pub media_url_ttl: Duration,
    /// How many ids one instance reserves at a time (`DOUYIN_ID_BLOCK`).
    pub id_block: u64,
    /// Feed shards written and read (`DOUYIN_FEED_SHARDS`; only ever raise it).
    pub feed_shards: u32,
    /// How long a warm instance serves the newest feed page again before
    /// reading it anew (`DOUYIN_FEED_CACHE_MS`, default 1000; 0 turns it off).
    /// New videos and counters reach the newest page at most this late.
    pub feed_cache: Duration,
    /// Largest video accepted through the presigned upload
    /// (`DOUYIN_MAX_UPLOAD_BYTES`).
    pub max_upload_bytes: u64,
    /// Lifetime of a presigned upload URL (`DOUYIN_UPLOAD_URL_TTL_SECS`).
    pub upload_url_ttl: Duration,
    /// Log filter, `tracing` syntax (`DOUYIN_LOG`, default `info`), made safe
    /// by [`safe_log_filter`].
    pub log_filter: String,
    /// Time zone of comment dates (`DOUYIN_TIME_ZONE`, IANA name, default
    /// [`DEFAULT_TIME_ZONE`]), from the tz database in the binary (jiff's
    /// bundle: no dependence on the host's `/usr/share/zoneinfo`).
    pub time_zone: jiff::tz::TimeZone,
    /// Address buckets by path, not by host (`DOUYIN_S3_PATH_STYLE=true`):
    /// needed by S3 emulators and the local server's engine, never by S3.
    pub s3_path_style: bool,
    /// The Lambda function's name (`AWS_LAMBDA_FUNCTION_NAME`, set by Lambda):
    /// the `FunctionName` dimension of the metrics. `None` outside Lambda.
    pub function_name: Option<String>,
    /// Rate limits (`DOUYIN_RATE_*`, each `<calls>/<seconds>` or `off`).
    pub rate_limits: RateLimits,
    /// Which certificates AWS endpoints are trusted by (`DOUYIN_TLS_ROOTS`:
    /// `amazon` (default), `native` (the system's whole root store) or
    /// `file:<path>` (exactly the PEM certificates in that file)).
    pub tls_roots: TlsRoots,
    /// Where the SDK's credentials come from (the environment's keys when it
    /// has them, else the SDK's default chain).
    pub sdk_credentials: SdkCredentials,
    /// Whether a Lambda function opens its hot connections during init
    /// (`DOUYIN_WARMUP`, `on` (default) or `off`; `crate::app::Warmup`).
    pub warm_up: bool,
    /// Jobs of CPU-heavy work (password hashes, video inspections) that run
    /// at once ([`crate::heavy::HeavyWork`]): half the cores. Not read from the
    /// environment (a Lambda instance runs one request at a time); the
    /// benchmarks change it.
    pub heavy_places: usize,
}

/// What sizes a function's async runtime, read before anything else
/// (`functions::lambda`): `TOKIO_WORKER_THREADS` (tokio's own variable) and
/// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE` (set by Lambda), as found.
#[allow(clippy::disallowed_methods, reason = "this module is where the environment is read")]
pub fn runtime_sizing() -> (Option<String>, Option<String>) {
    (std::env::var("TOKIO_WORKER_THREADS").ok(), std::env::var("AWS_LAMBDA_FUNCTION_MEMORY_SIZE").ok())
}

/// The trust store of the SDK's HTTPS client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TlsRoots {
    /// Amazon Trust Services' roots only, compiled in: no root store to load
    /// at cold start.
    Amazon,
    /// The system's root store (e.g. behind a TLS-inspecting proxy).
    Native,
    /// Exactly the certificates of a PEM file, through the same client as
    /// `Amazon` (`file:<path>`): a private CA, such as the `lambda`
    /// benchmark's TLS front (tests/bench). Never set by the template.
    File(std::path::PathBuf),
}

impl TlsRoots {
    /// `DOUYIN_TLS_ROOTS`: `amazon` when unset.
    fn parse(value: Option<&str>) -> Result<TlsRoots, ConfigError> {
        match value.map(str::trim) {
            None | Some("amazon") => Ok(TlsRoots::Amazon),
            Some("native") => Ok(TlsRoots::Native),
            Some(other) => match other.strip_prefix("file:").map(str::trim) {
                Some(path) if !path.is_empty() => Ok(TlsRoots::File(path.into())),
                _ => Err(ConfigError {
                    variable: "DOUYIN_TLS_ROOTS",
                    problem: format!("expected amazon, native or file:<path of PEM certificates>, found {other:?}"),
                }),
            },
        }
    }
}

/// Where the SDK's credentials come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SdkCredentials {
    /// The environment's keys (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
    /// `AWS_SESSION_TOKEN`), as Lambda gives every function its role's: the
    /// SDK's default chain would take the same keys, its first provider, but
    /// building the whole chain (profile files, SSO, web identity, the
    /// container and instance metadata clients) cost ~0.2 ms of every cold
    /// start (docs/performance.md, session 11).
    Environment,
    /// The SDK's default chain, when the environment holds no keys (a
    /// profile, SSO, an instance role: `douyin-local --backend aws` on a
    /// workstation).
    DefaultChain,
}

impl SdkCredentials {
    /// [`SdkCredentials::Environment`] when both keys are set.
    fn from_lookup(get: impl Fn(&'static str) -> Option<String>) -> SdkCredentials {
        match (get("AWS_ACCESS_KEY_ID"), get("AWS_SECRET_ACCESS_KEY")) {
            (Some(_), Some(_)) => SdkCredentials::Environment,
            _ => SdkCredentials::DefaultChain,
        }
    }
}

/// The log filter `DOUYIN_LOG` asks for (`info` when unset), as given: for
/// `douyin-local`, whose `--log` overrides it (Lambda functions read it with
/// the rest of [`Config`]).
#[allow(clippy::disallowed_methods, reason = "this module is where the environment is read")]
pub fn requested_log_filter() -> String {
    std::env::var("DOUYIN_LOG").unwrap_or_else(|_| "info".into())
}

/// The time zone of comment dates when `DOUYIN_TIME_ZONE` names none.
pub const DEFAULT_TIME_ZONE: &str = "Asia/Shanghai";

/// The zone of the bundled tz database named `name` (an IANA name such as
/// `Asia/Shanghai`, or an alias the database keeps such as `PRC`; the lookup,
/// jiff's, ignores ASCII case), if there is one.
pub fn time_zone(name: &str) -> Option<jiff::tz::TimeZone> {
    jiff::tz::db().get(name).ok()
}

/// [`DEFAULT_TIME_ZONE`]. The database in the binary always has it (a test
/// says so); were it ever missing, its offset all year, UTC+8, is the same.
pub fn default_time_zone() -> jiff::tz::TimeZone {
    time_zone(DEFAULT_TIME_ZONE).unwrap_or_else(|| jiff::tz::TimeZone::fixed(jiff::tz::offset(8)))
}

/// Crates (target prefixes) whose debug and trace output carries request or
/// response bodies: the AWS SDK and its HTTP stack (DynamoDB items with
/// password hashes), the Lambda runtime (the raw event, with the query's
/// password and token), the embedded engines.
pub const LOGS_CAPPED_AT_INFO: &[&str] =
    &["aws_", "hyper", "h2", "rustls", "tower", "lambda_runtime", "lambda_http", "dynoxide", "s3s"];

/// The log filter `requested` (`tracing` syntax), with the crates of
/// [`LOGS_CAPPED_AT_INFO`] held at `info` whatever it asks: their directives
/// are dropped and caps appended, so `DOUYIN_LOG=trace` raises our own
/// crates only, and no setting can make a secret reach a log through them.
pub fn safe_log_filter(requested: &str) -> String {
    let mut directives: Vec<String> = requested
        .split(',')
        .map(str::trim)
        .filter(|directive| !directive.is_empty())
        .filter(|directive| {
            let target = directive.split(['=', '[']).next().unwrap_or_default();
            !LOGS_CAPPED_AT_INFO.iter().any(|capped| target.starts_with(capped))
        })
        .map(str::to_owned)
        .collect();
    directives.extend(LOGS_CAPPED_AT_INFO.iter().map(|capped| format!("{capped}=info")));
    directives.join(",")
}

/// Where the JWT signing secret is read from.
#[derive(Clone)]
pub enum SecretSource {
    /// The secret itself (local server and tests; `DOUYIN_JWT_SECRET`).
    Value(String),
    /// A Secrets Manager secret, read once at cold start (`DOUYIN_JWT_SECRET_ARN`).
    SecretsManager(String),
}

impl std::fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecretSource::Value(_) => f.write_str("Value(<redacted>)"),
            SecretSource::SecretsManager(arn) => write!(f, "SecretsManager({arn})"),
        }
    }
}

/// Argon2id parameters (OWASP: m = 19 MiB, t = 2, p = 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Argon2Cost {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes over memory.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl Argon2Cost {
    /// The OWASP recommendation, our default.
    pub const OWASP: Argon2Cost = Argon2Cost { memory_kib: 19 * 1024, iterations: 2, parallelism: 1 };
    /// The cheapest cost argon2 accepts: for tests only.
    pub const TEST: Argon2Cost = Argon2Cost { memory_kib: 8, iterations: 1, parallelism: 1 };
}

/// A missing or malformed variable, named.
#[derive(Debug, thiserror::Error)]
#[error("configuration: {variable}: {problem}")]
pub struct ConfigError {
    /// The environment variable.
    pub variable: &'static str,
    /// What is wrong with it.
    pub problem: String,
}

impl Config {
    /// The longest `DOUYIN_UPLOAD_URL_TTL_SECS` accepted: an upload link should
    /// live minutes (it dies with the credentials that signed it anyway).
    pub const MAX_UPLOAD_URL_TTL: Duration = Duration::from_secs(3600);

    /// Reads the configuration of a Lambda function from the environment.
    #[allow(clippy::disallowed_methods, reason = "this module is where the environment is read")]
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    /// Builds a configuration from any variable lookup (the environment, or a
    /// map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let get = |name: &'static str| lookup(name).filter(|value| !value.trim().is_empty());
        let required =
            |name: &'static str| get(name).ok_or(ConfigError { variable: name, problem: "is required".into() });
        let number = |name: &'static str, default: u64| -> Result<u64, ConfigError> {
            match get(name) {
                None => Ok(default),
                Some(raw) => raw.trim().parse().map_err(|_| ConfigError {
                    variable: name,
                    problem: format!("expected a whole number, found {raw:?}"),
                }),
            }
        };
        let small = |name: &'static str, default: u32| -> Result<u32, ConfigError> {
            u32::try_from(number(name, u64::from(default))?)
                .map_err(|_| ConfigError { variable: name, problem: "is too large".into() })
        };

        let rate = |name: &'static str, default: Option<RateLimit>| -> Result<Option<RateLimit>, ConfigError> {
            match get(name) {
                None => Ok(default),
                Some(raw) => RateLimit::parse(&raw).map_err(|problem| ConfigError { variable: name, problem }),
            }
        };
        let defaults = RateLimits::DEFAULT;

        let jwt_secret = match (get("DOUYIN_JWT_SECRET_ARN"), get("DOUYIN_JWT_SECRET")) {
            (Some(arn), _) => SecretSource::SecretsManager(arn),
            (None, Some(secret)) => SecretSource::Value(secret),
            (None, None) => {
                return Err(ConfigError {
                    variable: "DOUYIN_JWT_SECRET_ARN",
                    problem: "is required (or DOUYIN_JWT_SECRET outside AWS)".into(),
                });
            }
        };
        let config = Config {
            table_name: required("DOUYIN_TABLE")?,
            media_bucket: required("DOUYIN_MEDIA_BUCKET")?,
            chat_queue_url: get("DOUYIN_CHAT_QUEUE_URL"),
            jwt_secret,
            token_ttl: Duration::from_secs(number("DOUYIN_TOKEN_TTL_SECS", 7 * 24 * 3600)?),
            argon2: Argon2Cost {
                memory_kib: small("DOUYIN_ARGON2_MEMORY_KIB", Argon2Cost::OWASP.memory_kib)?,
                iterations: small("DOUYIN_ARGON2_ITERATIONS", Argon2Cost::OWASP.iterations)?,
                parallelism: small("DOUYIN_ARGON2_PARALLELISM", Argon2Cost::OWASP.parallelism)?,
            },
            media_base_url: get("DOUYIN_MEDIA_BASE_URL").map(|url| url.trim_end_matches('/').to_owned()),
            media_url_ttl: Duration::from_secs(number("DOUYIN_MEDIA_URL_TTL_SECS", 6 * 3600)?),
            id_block: number("DOUYIN_ID_BLOCK", 100)?,
            feed_shards: small("DOUYIN_FEED_SHARDS", 1)?,
            feed_cache: Duration::from_millis(number("DOUYIN_FEED_CACHE_MS", 1000)?),
            max_upload_bytes: number("DOUYIN_MAX_UPLOAD_BYTES", 200 * 1024 * 1024)?,
            upload_url_ttl: Duration::from_secs(number("DOUYIN_UPLOAD_URL_TTL_SECS", 900)?),
            log_filter: safe_log_filter(&get("DOUYIN_LOG").unwrap_or_else(|| "info".into())),
            time_zone: match get("DOUYIN_TIME_ZONE") {
                None => default_time_zone(),
                Some(name) => time_zone(name.trim()).ok_or_else(|| ConfigError {
                    variable: "DOUYIN_TIME_ZONE",
                    problem: format!("{name:?} is not an IANA time zone name such as {DEFAULT_TIME_ZONE}"),
                })?,
            },
            s3_path_style: match get("DOUYIN_S3_PATH_STYLE").as_deref().map(str::trim) {
                None | Some("false") | Some("0") => false,
                Some("true") | Some("1") => true,
                Some(other) => {
                    return Err(ConfigError {
                        variable: "DOUYIN_S3_PATH_STYLE",
                        problem: format!("expected true or false, found {other:?}"),
                    });
                }
            },
            function_name: get("AWS_LAMBDA_FUNCTION_NAME"),
            tls_roots: TlsRoots::parse(get("DOUYIN_TLS_ROOTS").as_deref())?,
            sdk_credentials: SdkCredentials::from_lookup(get),
            warm_up: match get("DOUYIN_WARMUP").as_deref().map(str::trim) {
                None | Some("on") => true,
                Some("off") => false,
                Some(other) => {
                    return Err(ConfigError {
                        variable: "DOUYIN_WARMUP",
                        problem: format!("expected on or off, found {other:?}"),
                    });
                }
            },
            heavy_places: crate::heavy::default_places(),
            rate_limits: RateLimits {
                register_ip: rate("DOUYIN_RATE_REGISTER_IP", defaults.register_ip)?,
                login_ip: rate("DOUYIN_RATE_LOGIN_IP", defaults.login_ip)?,
                login_user: rate("DOUYIN_RATE_LOGIN_USER", defaults.login_user)?,
                message: rate("DOUYIN_RATE_MESSAGE", defaults.message)?,
                comment: rate("DOUYIN_RATE_COMMENT", defaults.comment)?,
                follow: rate("DOUYIN_RATE_FOLLOW", defaults.follow)?,
                publish: rate("DOUYIN_RATE_PUBLISH", defaults.publish)?,
                upload: rate("DOUYIN_RATE_UPLOAD", defaults.upload)?,
            },
        };
        config.check()?;
        Ok(config)
    }

    /// A configuration for tests and the local server: cheap argon2 is *not*
    /// implied; callers choose. No rate limits (tests that need one set it).
    pub fn local(table_name: &str, media_bucket: &str, jwt_secret: &str) -> Config {
        Config {
            table_name: table_name.into(),
            media_bucket: media_bucket.into(),
            chat_queue_url: None,
            jwt_secret: SecretSource::Value(jwt_secret.into()),
            token_ttl: Duration::from_secs(7 * 24 * 3600),
            argon2: Argon2Cost::OWASP,
            media_base_url: None,
            media_url_ttl: Duration::from_secs(6 * 3600),
            id_block: 100,
            feed_shards: 1,
            // Off: a developer (and every test) sees each write at once.
            feed_cache: Duration::ZERO,
            max_upload_bytes: 200 * 1024 * 1024,
            upload_url_ttl: Duration::from_secs(900),
            log_filter: "info".into(),
            time_zone: default_time_zone(),
            s3_path_style: true,
            function_name: None,
            rate_limits: RateLimits::OFF,
            tls_roots: TlsRoots::Amazon,
            sdk_credentials: SdkCredentials::DefaultChain,
            warm_up: true,
            heavy_places: crate::heavy::default_places(),
        }
    }

    /// The argon2id cost as the library will take it (at cold start, rather
    /// than at the first hash): each limit named by its variable.
    fn check_argon2(&self) -> Result<(), ConfigError> {
        let Argon2Cost { memory_kib, iterations, parallelism } = self.argon2;
        let Err(error) = argon2::Params::new(memory_kib, iterations, parallelism, None) else { return Ok(()) };
        let variable = match error {
            argon2::Error::TimeTooSmall => "DOUYIN_ARGON2_ITERATIONS",
            argon2::Error::ThreadsTooFew | argon2::Error::ThreadsTooMany => "DOUYIN_ARGON2_PARALLELISM",
            _ => "DOUYIN_ARGON2_MEMORY_KIB",
        };
        Err(ConfigError {
            variable,
            problem: format!(
                "argon2 refuses m={memory_kib} KiB, t={iterations}, p={parallelism}: {error} \
                 (memory must be at least 8 KiB per lane)"
            ),
        })
    }

    fn check(&self) -> Result<(), ConfigError> {
        if self.token_ttl.is_zero() {
            return Err(ConfigError { variable: "DOUYIN_TOKEN_TTL_SECS", problem: "must be positive".into() });
        }
        // SigV4 presigned URLs live at most seven days.
        if self.media_url_ttl.is_zero() || self.media_url_ttl > Duration::from_secs(7 * 24 * 3600) {
            return Err(ConfigError {
                variable: "DOUYIN_MEDIA_URL_TTL_SECS",
                problem: "must be between 1 and 604800".into(),
            });
        }
        if self.feed_shards == 0 || self.feed_shards > 64 {
            return Err(ConfigError { variable: "DOUYIN_FEED_SHARDS", problem: "must be between 1 and 64".into() });
        }
        if self.upload_url_ttl.is_zero() || self.upload_url_ttl > Self::MAX_UPLOAD_URL_TTL {
            return Err(ConfigError {
                variable: "DOUYIN_UPLOAD_URL_TTL_SECS",
                problem: "must be between 1 and 3600".into(),
            });
        }
        self.check_argon2()?;
        if self.id_block == 0 {
            return Err(ConfigError { variable: "DOUYIN_ID_BLOCK", problem: "must be positive".into() });
        }
        if let SecretSource::Value(secret) = &self.jwt_secret
            && secret.len() < 32
        {
            return Err(ConfigError {
                variable: "DOUYIN_JWT_SECRET",
                problem: "must be at least 32 bytes (256 bits)".into(),
            });
        }
        Ok(())
    }
}

/// The configuration of `route-fallback`, the function behind API Gateway's
/// `$default` route. It reads no table, bucket or secret: only where each
/// endpoint's function is, to pass on a contract request that reached
/// `$default` (API Gateway may not match `/x/` to the route `/x`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FallbackConfig {
    /// Endpoint word (`user-register`) → its function's name or ARN, from
    /// `DOUYIN_ROUTE_FUNCTIONS` (`word=function,word=function,…`). Empty:
    /// nothing is passed on, every request gets the 404/405 envelope.
    pub route_functions: Vec<(String, String)>,
    /// Log filter (`DOUYIN_LOG`), made safe by [`safe_log_filter`].
    pub log_filter: String,
    /// Trust store of the SDK's HTTPS client (`DOUYIN_TLS_ROOTS`).
    pub tls_roots: TlsRoots,
    /// Where the SDK's credentials come from ([`SdkCredentials`]).
    pub sdk_credentials: SdkCredentials,
}

impl FallbackConfig {
    /// Reads the fallback's configuration from the environment.
    #[allow(clippy::disallowed_methods, reason = "this module is where the environment is read")]
    pub fn from_env() -> Result<FallbackConfig, ConfigError> {
        FallbackConfig::from_lookup(|name| std::env::var(name).ok())
    }

    /// Builds the fallback's configuration from any variable lookup.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<FallbackConfig, ConfigError> {
        let get = |name: &'static str| lookup(name).filter(|value| !value.trim().is_empty());
        let variable = "DOUYIN_ROUTE_FUNCTIONS";
        let mut route_functions: Vec<(String, String)> = Vec::new();
        for entry in get(variable).unwrap_or_default().split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (word, function) = entry
                .split_once('=')
                .map(|(word, function)| (word.trim(), function.trim()))
                .filter(|(word, function)| !word.is_empty() && !function.is_empty())
                .ok_or_else(|| ConfigError { variable, problem: format!("expected word=function, found {entry:?}") })?;
            if route_functions.iter().any(|(known, _)| known == word) {
                return Err(ConfigError { variable, problem: format!("{word} is named twice") });
            }
            route_functions.push((word.to_owned(), function.to_owned()));
        }
        Ok(FallbackConfig {
            route_functions,
            log_filter: safe_log_filter(&get("DOUYIN_LOG").unwrap_or_else(|| "info".into())),
            tls_roots: TlsRoots::parse(get("DOUYIN_TLS_ROOTS").as_deref())?,
            sdk_credentials: SdkCredentials::from_lookup(get),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| map.get(name).cloned()
    }

    const BASE: [(&str, &str); 3] = [
        ("DOUYIN_TABLE", "douyin"),
        ("DOUYIN_MEDIA_BUCKET", "media"),
        ("DOUYIN_JWT_SECRET_ARN", "arn:aws:secretsmanager:eu-west-1:1:secret:jwt"),
    ];

    #[test]
    fn the_sdk_credentials_are_the_environments_keys_when_it_has_both() {
        let credentials = |pairs: &[(&str, &str)]| {
            let mut all = BASE.to_vec();
            all.extend_from_slice(pairs);
            let function = Config::from_lookup(lookup(&all)).unwrap().sdk_credentials;
            assert_eq!(FallbackConfig::from_lookup(lookup(pairs)).unwrap().sdk_credentials, function);
            function
        };
        let keys = [("AWS_ACCESS_KEY_ID", "ASIAEXAMPLE"), ("AWS_SECRET_ACCESS_KEY", "secret")];
        assert_eq!(credentials(&keys), SdkCredentials::Environment, "Lambda's case");
        assert_eq!(credentials(&[keys[0]]), SdkCredentials::DefaultChain, "no secret key");
        assert_eq!(
            credentials(&[keys[0], ("AWS_SECRET_ACCESS_KEY", " ")]),
            SdkCredentials::DefaultChain,
            "a blank one"
        );
        assert_eq!(credentials(&[]), SdkCredentials::DefaultChain, "a workstation's profile");
    }

    #[test]
    fn the_time_zone_is_any_zone_of_the_bundled_database_and_shanghai_by_default() {
        let default = Config::from_lookup(lookup(&BASE)).unwrap();
        assert_eq!(default.time_zone.iana_name(), Some(DEFAULT_TIME_ZONE), "the database in the binary has it");
        let mut pairs = BASE.to_vec();
        pairs.push(("DOUYIN_TIME_ZONE", " Pacific/Apia "));
        assert_eq!(Config::from_lookup(lookup(&pairs)).unwrap().time_zone.iana_name(), Some("Pacific/Apia"));
        pairs.pop();
        pairs.push(("DOUYIN_TIME_ZONE", "Mars/Olympus_Mons"));
        let error = Config::from_lookup(lookup(&pairs)).unwrap_err();
        assert_eq!(error.variable, "DOUYIN_TIME_ZONE");
        assert!(error.problem.contains("not an IANA time zone name"), "{}", error.problem);
    }

    #[test]
    fn defaults_follow_owasp_and_a_week_of_tokens() {
        let config = Config::from_lookup(lookup(&BASE)).unwrap();
        assert_eq!(config.argon2, Argon2Cost::OWASP);
        assert_eq!(config.token_ttl, Duration::from_secs(604_800));
        assert!(matches!(config.jwt_secret, SecretSource::SecretsManager(_)));
    }

    #[test]
    fn aws_endpoints_are_trusted_by_amazon_roots_unless_told_native() {
        assert_eq!(Config::from_lookup(lookup(&BASE)).unwrap().tls_roots, TlsRoots::Amazon);
        let mut pairs = BASE.to_vec();
        pairs.push(("DOUYIN_TLS_ROOTS", "native"));
        assert_eq!(Config::from_lookup(lookup(&pairs)).unwrap().tls_roots, TlsRoots::Native);
        let with = |value: &str| {
            let mut pairs = BASE.to_vec();
            pairs.push(("DOUYIN_TLS_ROOTS", value));
            Config::from_lookup(lookup(&pairs))
        };
        assert_eq!(with("all").unwrap_err().variable, "DOUYIN_TLS_ROOTS");
        assert_eq!(with("file:/tmp/ca.pem").unwrap().tls_roots, TlsRoots::File("/tmp/ca.pem".into()));
        assert_eq!(with("file:").unwrap_err().variable, "DOUYIN_TLS_ROOTS");
        assert_eq!(
            FallbackConfig::from_lookup(lookup(&[("DOUYIN_TLS_ROOTS", "file: /ca.pem")])).unwrap().tls_roots,
            TlsRoots::File("/ca.pem".into())
        );
    }

    #[test]
    fn the_init_warm_up_is_on_unless_turned_off() {
        assert!(Config::from_lookup(lookup(&BASE)).unwrap().warm_up);
        let with = |value: &str| {
            let mut pairs = BASE.to_vec();
            pairs.push(("DOUYIN_WARMUP", value));
            Config::from_lookup(lookup(&pairs))
        };
        assert!(with("on").unwrap().warm_up);
        assert!(!with("off").unwrap().warm_up);
        assert_eq!(with("no").unwrap_err().variable, "DOUYIN_WARMUP");
    }

    #[test]
    fn rate_limits_default_on_aws_are_configurable_and_off_locally() {
        let config = Config::from_lookup(lookup(&BASE)).unwrap();
        assert_eq!(config.rate_limits, RateLimits::DEFAULT);
        let mut pairs = BASE.to_vec();
        pairs.extend([
            ("DOUYIN_RATE_LOGIN_IP", "3/10"),
            ("DOUYIN_RATE_MESSAGE", "off"),
            ("DOUYIN_RATE_PUBLISH", "5/60"),
            ("DOUYIN_RATE_UPLOAD", "off"),
        ]);
        let config = Config::from_lookup(lookup(&pairs)).unwrap();
        assert_eq!(config.rate_limits.login_ip, Some(RateLimit::per(3, 10)));
        assert_eq!(config.rate_limits.message, None);
        assert_eq!((config.rate_limits.publish, config.rate_limits.upload), (Some(RateLimit::per(5, 60)), None));
        assert!(RateLimits::DEFAULT.publish.is_some() && RateLimits::DEFAULT.upload.is_some());
        assert_eq!(config.rate_limits.comment, RateLimits::DEFAULT.comment);
        pairs.push(("DOUYIN_RATE_FOLLOW", "lots"));
        assert_eq!(Config::from_lookup(lookup(&pairs)).unwrap_err().variable, "DOUYIN_RATE_FOLLOW");
        assert_eq!(Config::local("t", "b", "s").rate_limits, RateLimits::OFF);
    }

    #[test]
    fn the_log_filter_never_raises_crates_that_log_payloads() {
        let config = Config::from_lookup(lookup(&[BASE[0], BASE[1], BASE[2], ("DOUYIN_LOG", "trace")])).unwrap();
        assert!(config.log_filter.starts_with("trace,aws_=info,"), "{}", config.log_filter);
        let filter =
            safe_log_filter("info, shared=debug ,aws_smithy_runtime=trace,hyper_util[conn]=debug,lambda_runtime");
        assert_eq!(
            filter,
            "info,shared=debug,aws_=info,hyper=info,h2=info,rustls=info,tower=info,lambda_runtime=info,\
             lambda_http=info,dynoxide=info,s3s=info"
        );
    }

    #[test]
    fn missing_variable_is_named() {
        let error = Config::from_lookup(lookup(&BASE[1..])).unwrap_err();
        assert_eq!(error.variable, "DOUYIN_TABLE");
    }

    #[test]
    fn malformed_number_is_named() {
        let mut pairs = BASE.to_vec();
        pairs.push(("DOUYIN_ARGON2_MEMORY_KIB", "lots"));
        let error = Config::from_lookup(lookup(&pairs)).unwrap_err();
        assert_eq!(error.variable, "DOUYIN_ARGON2_MEMORY_KIB");
        assert!(error.to_string().contains("lots"));
    }

    #[test]
    fn argon2_costs_the_library_refuses_are_named_at_cold_start() {
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut pairs = BASE.to_vec();
            pairs.extend_from_slice(extra);
            Config::from_lookup(lookup(&pairs))
        };
        assert!(with(&[("DOUYIN_ARGON2_MEMORY_KIB", "64"), ("DOUYIN_ARGON2_PARALLELISM", "8")]).is_ok());
        let error = with(&[("DOUYIN_ARGON2_MEMORY_KIB", "7")]).unwrap_err();
        assert_eq!(error.variable, "DOUYIN_ARGON2_MEMORY_KIB");
        assert!(error.to_string().contains("m=7 KiB"), "{error}");
        assert_eq!(with(&[("DOUYIN_ARGON2_ITERATIONS", "0")]).unwrap_err().variable, "DOUYIN_ARGON2_ITERATIONS");
        assert_eq!(with(&[("DOUYIN_ARGON2_PARALLELISM", "0")]).unwrap_err().variable, "DOUYIN_ARGON2_PARALLELISM");
        // 8 lanes need 64 KiB.
        let error = with(&[("DOUYIN_ARGON2_MEMORY_KIB", "63"), ("DOUYIN_ARGON2_PARALLELISM", "8")]).unwrap_err();
        assert_eq!(error.variable, "DOUYIN_ARGON2_MEMORY_KIB");
    }

    #[test]
    fn short_literal_secret_is_refused_and_never_printed() {
        let pairs = [("DOUYIN_TABLE", "t"), ("DOUYIN_MEDIA_BUCKET", "b"), ("DOUYIN_JWT_SECRET", "short")];
        let error = Config::from_lookup(lookup(&pairs)).unwrap_err();
        assert_eq!(error.variable, "DOUYIN_JWT_SECRET");
        let config = Config::local("t", "b", "a-secret-that-is-long-enough-for-hs256!!");
        assert!(!format!("{config:?}").contains("long-enough"));
    }

    #[test]
    fn the_fallback_reads_where_each_endpoint_is_and_refuses_malformed_entries() {
        let config = FallbackConfig::from_lookup(lookup(&[(
            "DOUYIN_ROUTE_FUNCTIONS",
            " feed=stack-FeedFunction-1 , user-info=arn:aws:lambda:us-east-1:1:function:x ",
        )]))
        .unwrap();
        assert_eq!(
            config.route_functions,
            [
                ("feed".to_owned(), "stack-FeedFunction-1".to_owned()),
                ("user-info".to_owned(), "arn:aws:lambda:us-east-1:1:function:x".to_owned())
            ]
        );
        assert!(FallbackConfig::from_lookup(lookup(&[])).unwrap().route_functions.is_empty());
        for bad in ["feed", "feed=", "=f", "feed=a,feed=b"] {
            let error = FallbackConfig::from_lookup(lookup(&[("DOUYIN_ROUTE_FUNCTIONS", bad)])).unwrap_err();
            assert_eq!(error.variable, "DOUYIN_ROUTE_FUNCTIONS", "{bad}");
        }
    }
}
