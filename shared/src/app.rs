//! [`App`]: everything a request needs, built once at cold start (config, SDK
//! clients, keys) and borrowed by every invocation.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use aws_config::SdkConfig;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::config::SharedInterceptor;

use crate::auth::password::Passwords;
use crate::auth::token::Tokens;
use crate::config::{Config, SdkCredentials, SecretSource, TlsRoots};
use crate::error::{Error, Result};
use crate::feed_cache::FeedCache;
use crate::heavy::HeavyWork;
use crate::limits::Limiter;
use crate::media::{LinkPolicy, Media};
use crate::metrics::Emitter;
use crate::queue::Queue;
use crate::store::Table;
use crate::store::ids::IdAllocator;
use crate::telemetry::CallCounter;

/// The application: shared, read-only state of one process. Its adapters
/// (table, media, ids, password hashing, the heavy-work pool, the feed cache)
/// are private to `shared`: handlers reach them only through the use cases.
/// The tests see them through the accessors of the `testing` feature.
#[derive(Debug)]
pub struct App {
    /// The configuration it was built from.
    pub config: Config,
    /// Where each invocation's metrics line goes.
    pub metrics: Emitter,
    /// The DynamoDB table.
    pub(crate) table: Table,
    /// The media bucket.
    pub(crate) media: Media,
    /// The chat queue, where this process sends chat messages.
    pub chat_queue: Option<Arc<dyn Queue>>,
    /// Token issuing and verification.
    pub tokens: Tokens,
    /// Password hashing.
    pub(crate) passwords: Passwords,
    /// Where CPU-heavy work runs (hashing, video inspection): off the
    /// runtime's threads, at most `config.heavy_places` at once.
    pub(crate) heavy: HeavyWork,
    /// Unique ids.
    pub(crate) ids: IdAllocator,
    /// Rate limits (counted in the table, so they hold across instances).
    pub limiter: Limiter,
    /// Every DynamoDB call this process makes, counted (benchmarks, tests).
    pub dynamodb_calls: CallCounter,
    /// Every S3 call this process makes (the presigner sends none), counted (tests).
    pub s3_calls: CallCounter,
    /// The newest feed page, for `config.feed_cache`.
    pub(crate) feed_cache: Arc<FeedCache>,
}

/// Endpoints that override the SDK's defaults, per service. `None` keeps the
/// SDK's own resolution (the region's endpoint, or `AWS_ENDPOINT_URL_*`).
#[derive(Clone, Debug, Default)]
pub struct Endpoints {
    /// DynamoDB.
    pub dynamodb: Option<String>,
    /// S3, for our own calls.
    pub s3: Option<String>,
    /// S3 as clients reach it, for presigned links (defaults to `s3`).
    pub s3_public: Option<String>,
}

/// Extra SDK interceptors for the DynamoDB and S3 clients [`App::build`]
/// makes (after its own). Empty in production; the tests attach a fault
/// injector here to fail chosen calls.
#[derive(Clone, Debug, Default)]
pub struct Interceptors {
    /// On the DynamoDB client.
    pub dynamodb: Vec<SharedInterceptor>,
    /// On the S3 client of our own calls (not the presigner, which sends nothing).
    pub s3: Vec<SharedInterceptor>,
}

impl App {
    /// Builds the app of a Lambda function from its configuration (read from
    /// the environment by the caller, which needs it first for logging): SDK
    /// configuration from the SDK's usual chain, the signing secret from
    /// Secrets Manager, and the function's `warmup` connections opened
    /// meanwhile (none with `DOUYIN_WARMUP=off`).
    pub async fn for_lambda(config: Config, warmup: Warmup) -> anyhow::Result<App> {
        let warmup = if config.warm_up { warmup } else { Warmup::NONE };
        let sdk = load_sdk_config(&config.tls_roots, config.sdk_credentials).await?;
        App::build_warm(config, &sdk, &Endpoints::default(), None, &Interceptors::default(), warmup).await
    }

    /// Builds the app from parts (local server, tests). Without `chat_queue`,
    /// chat goes to `DOUYIN_CHAT_QUEUE_URL`'s SQS queue when configured.
    pub async fn build(
        config: Config,
        sdk: &SdkConfig,
        endpoints: &Endpoints,
        chat_queue: Option<Arc<dyn Queue>>,
    ) -> anyhow::Result<App> {
        App::build_intercepted(config, sdk, endpoints, chat_queue, &Interceptors::default()).await
    }

    /// [`App::build`] with extra interceptors on the DynamoDB and S3 clients.
    pub async fn build_intercepted(
        config: Config,
        sdk: &SdkConfig,
        endpoints: &Endpoints,
        chat_queue: Option<Arc<dyn Queue>>,
        interceptors: &Interceptors,
    ) -> anyhow::Result<App> {
        App::build_warm(config, sdk, endpoints, chat_queue, interceptors, Warmup::NONE).await
    }

    /// [`App::build_intercepted`] that also opens the connections `warmup`
    /// names while it reads the signing secret (a Lambda function's init),
    /// each bounded by [`WARMUP_LIMIT`]. A warm-up that fails or runs out of
    /// time is logged and forgotten: the app is built all the same, and the
    /// first request opens its own connection.
    pub async fn build_warm(
        config: Config,
        sdk: &SdkConfig,
        endpoints: &Endpoints,
        chat_queue: Option<Arc<dyn Queue>>,
        interceptors: &Interceptors,
        warmup: Warmup,
    ) -> anyhow::Result<App> {
        // Every client below (and the Secrets Manager one) gets the call
        // timeouts and retry policy from here, whatever `sdk` carried.
        let sdk = &with_call_policy(sdk);

        let dynamodb_calls = CallCounter::default();
        let dynamodb = dynamodb_config(sdk, endpoints.dynamodb.as_deref(), &dynamodb_calls, &interceptors.dynamodb);
        let table = Table::new(aws_sdk_dynamodb::Client::from_conf(dynamodb), &config.table_name);

        let path_style = config.s3_path_style;
        let s3_calls = CallCounter::default();
        // `calls` counts the client's calls, as `dynamodb_config` counts DynamoDB's.
        let s3_client = |endpoint: Option<&String>, calls: Option<&CallCounter>, extra: &[SharedInterceptor]| {
            let mut s3 = aws_sdk_s3::config::Builder::from(sdk);
            if let Some(calls) = calls {
                s3 = s3.interceptor(calls.clone());
            }
            for interceptor in extra {
                s3.push_interceptor(interceptor.clone());
            }
            if let Some(url) = endpoint {
                // Engines other than S3 itself serve buckets at paths, not at
                // virtual hosts.
                s3 = s3.endpoint_url(url).force_path_style(true);
            } else if path_style {
                s3 = s3.force_path_style(true);
            }
            aws_sdk_s3::Client::from_conf(s3.build())
        };
        let links = LinkPolicy { base_url: config.media_base_url.clone(), ttl: config.media_url_ttl };
        let media = Media::new(
            s3_client(endpoints.s3.as_ref(), Some(&s3_calls), &interceptors.s3),
            s3_client(endpoints.s3_public.as_ref().or(endpoints.s3.as_ref()), None, &[]),
            &config.media_bucket,
            links,
        )
        .with_signing_credentials(sdk.credentials_provider());

        let heavy = HeavyWork::with_places(config.heavy_places);
        let sqs = match (&chat_queue, &config.chat_queue_url) {
            (None, Some(url)) => Some(crate::queue::SqsQueue::on_first_use(sdk, url.clone())),
            _ => None,
        };

        let ids = IdAllocator::new(table.clone(), config.id_block);

        // The secret (needed) and the warm-up (wanted) at once: the first TLS
        // handshake and the others overlap, all at init's CPU share.
        let secret = async {
            match &config.jwt_secret {
                SecretSource::Value(secret) => Ok(secret.clone()),
                SecretSource::SecretsManager(arn) => read_secret(sdk, arn).await,
            }
        };
        let warm = Warm { table: &table, ids: &ids, media: &media, feed_shards: config.feed_shards };
        // Boxed: the warm-up's calls make a large future, which would
        // otherwise sit in every caller's (a test's stack overflowed).
        let (secret, primed) = tokio::join!(secret, Box::pin(warm_up(warmup, warm)));
        let secret = secret?;
        if secret.len() < 32 {
            anyhow::bail!("the token-signing secret must be at least 32 bytes");
        }

        let chat_queue = chat_queue.or_else(|| sqs.map(|queue| Arc::new(queue) as Arc<dyn Queue>));
        let app = App {
            metrics: Emitter::new(config.function_name.clone()),
            tokens: Tokens::new(secret.as_bytes(), config.token_ttl),
            passwords: Passwords::new(config.argon2, heavy.clone())?,
            heavy,
            ids,
            limiter: Limiter::new(table.clone(), config.rate_limits),
            table,
            media,
            chat_queue,
            config,
            dynamodb_calls,
            s3_calls,
            feed_cache: Arc::default(),
        };
        if let Some(page) = primed {
            crate::videos::prime_feed_cache(&app, page);
        }
        Ok(app)
    }
}

/// The connections a Lambda function opens during its init, while it reads
/// the signing secret, so that its first request (at the invocation's CPU
/// share, a fraction of init's) finds them open: TLS handshake, credentials,
/// endpoint resolution and the client's first signed call all paid in init
/// (docs/performance.md, "Cold starts as Lambda has them"). Each is one call
/// the function's policy allows; `functions::lambda::warmup` says which
/// function opens what.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Warmup {
    /// DynamoDB, for every data function.
    pub dynamodb: DynamoDbWarmup,
    /// How many connections to DynamoDB it opens when it opens any (see
    /// [`Warmup::dynamodb_connections_opened`]): as many as the function's
    /// first request uses at once (each call in flight needs its own), the
    /// others by a `GetItem` of a key no item has, at the same time.
    pub dynamodb_connections: usize,
    /// S3, for the functions that call it in a request (presigning sends nothing).
    pub s3: S3Warmup,
    /// How many connections to S3 a [`S3Warmup::Head`] opens (see
    /// [`Warmup::s3_connections_opened`]): as many as the function's first
    /// request uses at once (publish stores its video and its cover at once).
    pub s3_connections: usize,
    /// The default images' links signed ([`Media::link`], no call: the
    /// signing is local), for the functions whose answers carry links: the
    /// presigner's first use (the S3 client's endpoint rules, its signing
    /// pipeline) costs about 1 ms of CPU, paid here at init's share instead
    /// of in the first request at the invocation's; and nearly every profile
    /// shows these two links, which the link cache then holds.
    pub links: bool,
}

/// How a function opens its DynamoDB connection during init.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DynamoDbWarmup {
    /// It does not.
    #[default]
    None,
    /// A `GetItem` of a key no item has ([`Table::warm_up`]).
    Read,
    /// For a function that allocates ids: its first block of ids reserved
    /// ([`IdAllocator::reserve_ahead`]), so its first request does not wait
    /// for one.
    IdBlock,
    /// For the feed: a guest's newest page read and rendered (its links
    /// signed), and the app built with it in its feed cache, so
    /// that a guest's first request makes no call and signs nothing; a
    /// logged-in viewer's finds the connection open and the links signed.
    FeedPage,
}

/// How a function opens its S3 connection during init.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum S3Warmup {
    /// It does not.
    #[default]
    None,
    /// `HeadObject` of this key, which the function may read ([`Media::warm_up`]).
    Head(&'static str),
    /// The register function's own first step, [`Media::ensure_defaults`].
    Defaults,
}

impl Warmup {
    /// The DynamoDB connections this warm-up opens: none without a DynamoDB
    /// warm-up, else [`Warmup::dynamodb_connections`] (at least one).
    pub fn dynamodb_connections_opened(&self) -> usize {
        match self.dynamodb {
            DynamoDbWarmup::None => 0,
            _ => self.dynamodb_connections.max(1),
        }
    }

    /// The S3 connections this warm-up opens: none without an S3 warm-up,
    /// one for [`S3Warmup::Defaults`], else [`Warmup::s3_connections`] (at least one).
    pub fn s3_connections_opened(&self) -> usize {
        match self.s3 {
            S3Warmup::None => 0,
            S3Warmup::Defaults => 1,
            S3Warmup::Head(_) => self.s3_connections.max(1),
        }
    }

    /// Nothing opened before the first request (the local server, tests).
    pub const NONE: Warmup = Warmup {
        dynamodb: DynamoDbWarmup::None,
        dynamodb_connections: 0,
        s3: S3Warmup::None,
        s3_connections: 1,
        links: false,
    };
    /// DynamoDB only: every data function.
    pub const DYNAMODB: Warmup = Warmup {
        dynamodb: DynamoDbWarmup::Read,
        dynamodb_connections: 1,
        s3: S3Warmup::None,
        s3_connections: 1,
        links: false,
    };
}

/// The longest a warm-up call may hold a function's init: a healthy endpoint
/// answers in a few round trips; one that does not is left to the first request.
pub const WARMUP_LIMIT: Duration = Duration::from_secs(1);

/// What the warm-up calls go through.
struct Warm<'a> {
    table: &'a Table,
    ids: &'a IdAllocator,
    media: &'a Media,
    feed_shards: u32,
}

/// Runs the calls `warmup` names at once, each within [`WARMUP_LIMIT`]; never
/// fails. Returns the feed page it read, for [`DynamoDbWarmup::FeedPage`].
async fn warm_up(warmup: Warmup, warm: Warm<'_>) -> Option<crate::feed_cache::CachedFeed> {
    let Warm { table, ids, media, feed_shards } = warm;
    async fn bounded<T>(service: &'static str, call: impl std::future::Future<Output = Result<T>>) -> Option<T> {
        match tokio::time::timeout(WARMUP_LIMIT, call).await {
            Ok(Ok(value)) => Some(value),
            Ok(Err(error)) => {
                tracing::warn!(service, %error, "warm-up failed: the first request opens its own connection");
                None
            }
            Err(_) => {
                tracing::warn!(
                    service,
                    limit_ms = WARMUP_LIMIT.as_millis() as u64,
                    "warm-up ran out of time: the first request opens its own connection"
                );
                None
            }
        }
    }
    let more_connections = async {
        let more = warmup.dynamodb_connections_opened().saturating_sub(1);
        futures_util::future::join_all((0..more).map(|_| bounded("dynamodb", table.warm_up()))).await;
    };
    let dynamodb = async {
        match warmup.dynamodb {
            DynamoDbWarmup::None => None,
            DynamoDbWarmup::Read => bounded("dynamodb", table.warm_up()).await.and(None),
            DynamoDbWarmup::IdBlock => bounded("dynamodb", ids.reserve_ahead()).await.and(None),
            DynamoDbWarmup::FeedPage => {
                bounded("dynamodb", crate::videos::read_newest_page(table, media, feed_shards)).await
            }
        }
    };
    let s3 = async {
        match warmup.s3 {
            S3Warmup::None => {}
            S3Warmup::Head(key) => {
                let heads = (0..warmup.s3_connections_opened()).map(|_| bounded("s3", media.warm_up(key)));
                futures_util::future::join_all(heads).await;
            }
            S3Warmup::Defaults => _ = bounded("s3", media.ensure_defaults()).await,
        }
    };
    let links = async {
        if warmup.links {
            let sign = async {
                for key in [crate::media::DEFAULT_AVATAR_KEY, crate::media::DEFAULT_BACKGROUND_KEY] {
                    media.link(key).await?;
                }
                Ok(())
            };
            bounded("s3 links", sign).await;
        }
    };
    tokio::join!(dynamodb, more_connections, s3, links).0
}

/// The SDK configuration from the environment (region, credentials,
/// `AWS_ENDPOINT_URL_*`), with the call policy of [`with_call_policy`], TLS
/// trusting `roots` and the credentials of `credentials`. Fails only when
/// `roots` is a file that cannot be read or holds no certificate.
pub async fn load_sdk_config(roots: &TlsRoots, credentials: SdkCredentials) -> anyhow::Result<SdkConfig> {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if credentials == SdkCredentials::Environment {
        loader = loader.credentials_provider(aws_config::environment::EnvironmentVariableCredentialsProvider::new());
    }
    match roots {
        TlsRoots::Amazon => loader = loader.http_client(amazon_trust_https_client()),
        TlsRoots::Native => {}
        TlsRoots::File(path) => {
            let pem = std::fs::read(path).with_context(|| format!("reading DOUYIN_TLS_ROOTS {}", path.display()))?;
            loader = loader.http_client(https_client_trusting(&pem)?);
        }
    }
    Ok(with_call_policy(&loader.load().await))
}

/// The certificates every AWS endpoint chains to: Amazon Root CA 1–4 and
/// Starfield Services Root G2, which cross-signs them (Amazon Trust Services;
/// copied from Debian's ca-certificates, valid until 2037–2040).
pub const AMAZON_TRUST_ROOTS: &[u8] = include_bytes!("../assets/amazon-trust-services-roots.pem");

/// The SDK's own HTTPS client (hyper, rustls on aws-lc), trusting only
/// [`AMAZON_TRUST_ROOTS`]. The default client reads and parses the system's
/// whole root store (300 files on Debian) at every cold start: ~4 ms of a
/// ~9 ms cold start here (docs/performance.md, "Cold starts").
pub fn amazon_trust_https_client() -> aws_sdk_dynamodb::config::SharedHttpClient {
    // Cannot fail with the certificates above (a test parses them); the
    // system's roots are the safe fallback.
    https_client_trusting(AMAZON_TRUST_ROOTS).unwrap_or_else(|_| {
        use aws_smithy_http_client::tls;
        aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(tls::rustls_provider::CryptoMode::AwsLc))
            .build_https()
    })
}

/// The same HTTPS client as [`amazon_trust_https_client`], trusting exactly
/// the PEM certificates `pem` (`DOUYIN_TLS_ROOTS=file:`, a private CA).
pub fn https_client_trusting(pem: &[u8]) -> anyhow::Result<aws_sdk_dynamodb::config::SharedHttpClient> {
    use aws_smithy_http_client::tls;
    if !pem.windows(27).any(|window| window == b"-----BEGIN CERTIFICATE-----") {
        anyhow::bail!("no PEM certificate in the trust store");
    }
    let trust = tls::TrustStore::empty().with_native_roots(false).with_pem_certificate(pem.to_vec());
    let context = tls::TlsContext::builder().with_trust_store(trust).build().context("trust store")?;
    Ok(aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(tls::rustls_provider::CryptoMode::AwsLc))
        .tls_context(context)
        .build_https())
}

/// `sdk` with bounded timeouts ([`call_timeouts`]) and the retry policy
/// ([`retry_policy`]) on every call: a stuck call fails the request instead of
/// the Lambda timing out, a transient failure is retried a bounded number of
/// times. [`App::build`] applies it to every client it makes.
pub fn with_call_policy(sdk: &SdkConfig) -> SdkConfig {
    sdk.to_builder().timeout_config(call_timeouts()).retry_config(retry_policy()).build()
}

/// Timeouts of every AWS call: connect, each attempt, and the whole operation
/// with its retries. Presigning sends nothing, so no timeout applies to it.
pub fn call_timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(2))
        .operation_attempt_timeout(Duration::from_secs(5))
        .operation_timeout(Duration::from_secs(15))
        .build()
}

/// Retries of S3, SQS and Secrets Manager calls: the SDK's standard mode
/// (exponential backoff with full jitter, a retry quota that stops retry storms
/// when a service is down), three attempts in all. Not adaptive: its client-side
/// rate limiter learns per client, and a Lambda instance serves one request at a
/// time, so it would only add waits without ever seeing the fleet's load.
pub fn retry_policy() -> RetryConfig {
    RetryConfig::standard().with_max_attempts(3)
}

/// Retries of DynamoDB calls: standard mode too, four attempts, backoff from
/// 50 ms up to 1 s. DynamoDB answers in milliseconds, and throttling on a hot
/// partition clears in tens of milliseconds, so the SDK's default first backoff
/// (1 s) would only add latency; four attempts fit in [`call_timeouts`]'s
/// operation timeout. Conflicts between transactions are not SDK retries:
/// `store` retries them itself (with the transaction's one client request
/// token, which the SDK's retries reuse too).
pub fn dynamodb_retry_policy() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(4)
        .with_initial_backoff(Duration::from_millis(50))
        .with_max_backoff(Duration::from_secs(1))
}

/// The DynamoDB client's configuration: `sdk` with the DynamoDB retry policy,
/// the call counter and any extra interceptors.
fn dynamodb_config(
    sdk: &SdkConfig,
    endpoint: Option<&str>,
    calls: &CallCounter,
    extra: &[SharedInterceptor],
) -> aws_sdk_dynamodb::Config {
    let mut dynamodb =
        aws_sdk_dynamodb::config::Builder::from(sdk).retry_config(dynamodb_retry_policy()).interceptor(calls.clone());
    for interceptor in extra {
        dynamodb.push_interceptor(interceptor.clone());
    }
    if let Some(url) = endpoint {
        dynamodb = dynamodb.endpoint_url(url);
    }
    dynamodb.build()
}

async fn read_secret(sdk: &SdkConfig, arn: &str) -> anyhow::Result<String> {
    let client = aws_sdk_secretsmanager::Client::new(sdk);
    let output = client.get_secret_value().secret_id(arn).send().await?;
    output.secret_string.ok_or_else(|| anyhow::anyhow!("secret {arn} has no string value"))
}

/// The adapters, for the tests (feature `testing`; never in a Lambda or
/// `douyin-local` build, which is how the compiler keeps handlers off them).
#[cfg(feature = "testing")]
impl App {
    /// The DynamoDB table.
    pub fn table(&self) -> &Table {
        &self.table
    }
    /// The media bucket.
    pub fn media(&self) -> &Media {
        &self.media
    }
    /// Password hashing.
    pub fn passwords(&self) -> &Passwords {
        &self.passwords
    }
    /// The heavy-work pool.
    pub fn heavy(&self) -> &HeavyWork {
        &self.heavy
    }
    /// Unique ids.
    pub fn ids(&self) -> &IdAllocator {
        &self.ids
    }
    /// The newest feed page's cache.
    pub fn feed_cache(&self) -> &FeedCache {
        &self.feed_cache
    }
}

impl App {
    /// Creates what a deployment that manages its own storage needs and may
    /// lack (the local server): the table, the bucket, the default images.
    pub async fn prepare_storage(&self) -> Result<()> {
        self.table.create_if_missing().await?;
        self.media.create_bucket_if_missing().await?;
        self.media.ensure_defaults().await
    }

    /// Fails with [`Error::Internal`] when the chat queue is not configured.
    pub fn chat_queue(&self) -> Result<&Arc<dyn Queue>> {
        self.chat_queue.as_ref().ok_or(()).map_err(|_| Error::Internal(anyhow::anyhow!("no chat queue configured")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_sdk_takes_the_environments_keys_without_building_the_default_chain() {
        let provider = |sdk: SdkConfig| format!("{:?}", sdk.credentials_provider().unwrap());
        let environment = load_sdk_config(&TlsRoots::Amazon, SdkCredentials::Environment).await.unwrap();
        let provider_of_environment = provider(environment);
        assert!(
            provider_of_environment.contains("EnvironmentVariableCredentialsProvider"),
            "{provider_of_environment}"
        );
        assert!(!provider_of_environment.contains("DefaultCredentialsChain"), "{provider_of_environment}");
        let chain = provider(load_sdk_config(&TlsRoots::Amazon, SdkCredentials::DefaultChain).await.unwrap());
        assert!(chain.contains("DefaultCredentialsChain"), "{chain}");
    }

    /// `AWS_LC_SYS_NO_JITTER_ENTROPY=1` (`.cargo/config.toml`, `[env]`)
    /// reached aws-lc-sys's build script: the crypto library this binary
    /// links has no CPU jitter entropy collector, whose start-up the first
    /// TLS handshake of a process would pay (tens of milliseconds on a full
    /// core, hundreds at 128 MB's share; docs/performance.md). Read off this
    /// test binary's own symbols, which name the collector's functions when
    /// it is built in.
    #[test]
    fn the_crypto_library_is_built_without_cpu_jitter_entropy() {
        let binary = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        // The names are written backwards here, so that this test's own
        // constants cannot be what it finds.
        let has = |backwards: &[u8]| {
            let name: Vec<u8> = backwards.iter().rev().copied().collect();
            binary.windows(name.len()).any(|window| window == name.as_slice())
        };
        // The symbols are there to be read: aws-lc's own are.
        assert!(has(b"wen_YEKP_PVE"), "this test binary has no symbols to read");
        assert!(
            !has(b"colla_rotcelloc_yportne_tnej"),
            "aws-lc-sys was built with CPU jitter entropy: AWS_LC_SYS_NO_JITTER_ENTROPY did not reach its build script"
        );
    }

    #[test]
    fn the_compiled_in_trust_store_is_the_five_amazon_trust_services_roots() {
        let pem = std::str::from_utf8(AMAZON_TRUST_ROOTS).unwrap_or_default();
        assert_eq!(pem.matches("-----BEGIN CERTIFICATE-----").count(), 5);
        assert_eq!(pem.matches("-----END CERTIFICATE-----").count(), 5);
        // Builds without touching the system's root store.
        let _client = amazon_trust_https_client();
        assert!(https_client_trusting(AMAZON_TRUST_ROOTS).is_ok());
        assert!(https_client_trusting(b"not a certificate").is_err());
    }

    #[test]
    fn every_client_gets_the_timeouts_and_the_retry_policy() {
        // An SDK configuration without any policy, as a caller might pass it.
        let bare = SdkConfig::builder().behavior_version(aws_config::BehaviorVersion::latest()).build();
        let sdk = with_call_policy(&bare);
        let s3 = aws_sdk_s3::config::Builder::from(&sdk).build();
        let sqs = aws_sdk_sqs::config::Builder::from(&sdk).build();
        let secrets = aws_sdk_secretsmanager::config::Builder::from(&sdk).build();
        let dynamodb = dynamodb_config(&sdk, None, &CallCounter::default(), &[]);
        for (timeouts, retries) in [
            (s3.timeout_config(), s3.retry_config()),
            (sqs.timeout_config(), sqs.retry_config()),
            (secrets.timeout_config(), secrets.retry_config()),
        ] {
            assert_eq!(timeouts, Some(&call_timeouts()));
            assert_eq!(retries, Some(&retry_policy()));
        }
        assert_eq!(dynamodb.timeout_config(), Some(&call_timeouts()));
        assert_eq!(dynamodb.retry_config(), Some(&dynamodb_retry_policy()));
        let attempts = |policy: RetryConfig| (policy.mode(), policy.max_attempts());
        assert_eq!(attempts(retry_policy()), (aws_config::retry::RetryMode::Standard, 3));
        assert_eq!(attempts(dynamodb_retry_policy()), (aws_config::retry::RetryMode::Standard, 4));
        assert!(call_timeouts().operation_timeout().is_some() && call_timeouts().operation_attempt_timeout().is_some());
    }
}
