//! [`App`]: everything a request needs, built once at cold start (config, SDK
//! clients, keys) and borrowed by every invocation.

use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;
use aws_config::timeout::TimeoutConfig;

use crate::auth::password::Passwords;
use crate::auth::token::Tokens;
use crate::config::{Config, SecretSource};
use crate::error::{Error, Result};
use crate::limits::Limiter;
use crate::media::{LinkPolicy, Media};
use crate::queue::Queue;
use crate::store::Table;
use crate::store::ids::IdAllocator;
use crate::telemetry::CallCounter;

/// The application: shared, read-only state of one process.
#[derive(Debug)]
pub struct App {
    /// The configuration it was built from.
    pub config: Config,
    /// The DynamoDB table.
    pub table: Table,
    /// The media bucket.
    pub media: Media,
    /// The chat queue, where this process sends chat messages.
    pub chat_queue: Option<Arc<dyn Queue>>,
    /// Token issuing and verification.
    pub tokens: Tokens,
    /// Password hashing.
    pub passwords: Passwords,
    /// Unique ids.
    pub ids: IdAllocator,
    /// Rate limits (counted in the table, so they hold across instances).
    pub limiter: Limiter,
    /// Every DynamoDB call this process makes, counted (benchmarks, tests).
    pub dynamodb_calls: CallCounter,
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

impl App {
    /// Builds the app of a Lambda function: configuration from the environment,
    /// SDK configuration from the SDK's usual chain, the signing secret from
    /// Secrets Manager.
    pub async fn from_env() -> anyhow::Result<App> {
        let config = Config::from_env()?;
        let sdk = load_sdk_config().await;
        App::build(config, &sdk, &Endpoints::default(), None).await
    }

    /// Builds the app from parts (local server, tests). Without `chat_queue`,
    /// chat goes to `DOUYIN_CHAT_QUEUE_URL`'s SQS queue when configured.
    pub async fn build(
        config: Config,
        sdk: &SdkConfig,
        endpoints: &Endpoints,
        chat_queue: Option<Arc<dyn Queue>>,
    ) -> anyhow::Result<App> {
        let secret = match &config.jwt_secret {
            SecretSource::Value(secret) => secret.clone(),
            SecretSource::SecretsManager(arn) => read_secret(sdk, arn).await?,
        };
        if secret.len() < 32 {
            anyhow::bail!("the token-signing secret must be at least 32 bytes");
        }

        let dynamodb_calls = CallCounter::default();
        let mut dynamodb = aws_sdk_dynamodb::config::Builder::from(sdk).interceptor(dynamodb_calls.clone());
        if let Some(url) = &endpoints.dynamodb {
            dynamodb = dynamodb.endpoint_url(url);
        }
        let table = Table::new(aws_sdk_dynamodb::Client::from_conf(dynamodb.build()), &config.table_name);

        let path_style = config.s3_path_style;
        let s3_client = |endpoint: Option<&String>| {
            let mut s3 = aws_sdk_s3::config::Builder::from(sdk);
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
            s3_client(endpoints.s3.as_ref()),
            s3_client(endpoints.s3_public.as_ref().or(endpoints.s3.as_ref())),
            &config.media_bucket,
            links,
        );

        let chat_queue = chat_queue.or_else(|| {
            config.chat_queue_url.as_ref().map(|url| {
                let queue: Arc<dyn Queue> =
                    Arc::new(crate::queue::SqsQueue::new(aws_sdk_sqs::Client::new(sdk), url.clone()));
                queue
            })
        });
        Ok(App {
            tokens: Tokens::new(secret.as_bytes(), config.token_ttl),
            passwords: Passwords::new(config.argon2)?,
            ids: IdAllocator::new(table.clone(), config.id_block),
            limiter: Limiter::new(table.clone(), config.rate_limits),
            table,
            media,
            chat_queue,
            config,
            dynamodb_calls,
        })
    }
}

/// The SDK configuration from the environment (region, credentials,
/// `AWS_ENDPOINT_URL_*`), with bounded timeouts on every call: a stuck call
/// fails the request instead of the Lambda timing out.
pub async fn load_sdk_config() -> SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest()).timeout_config(call_timeouts()).load().await
}

/// Timeouts of every AWS call: connect, each attempt, and the whole operation
/// with its retries.
pub fn call_timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(2))
        .operation_attempt_timeout(Duration::from_secs(5))
        .operation_timeout(Duration::from_secs(15))
        .build()
}

async fn read_secret(sdk: &SdkConfig, arn: &str) -> anyhow::Result<String> {
    let client = aws_sdk_secretsmanager::Client::new(sdk);
    let output = client.get_secret_value().secret_id(arn).send().await?;
    output.secret_string.ok_or_else(|| anyhow::anyhow!("secret {arn} has no string value"))
}

impl App {
    /// Fails with [`Error::Internal`] when the chat queue is not configured.
    pub fn chat_queue(&self) -> Result<&Arc<dyn Queue>> {
        self.chat_queue.as_ref().ok_or(()).map_err(|_| Error::Internal(anyhow::anyhow!("no chat queue configured")))
    }
}
