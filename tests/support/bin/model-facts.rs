//! Prints, as JSON, what the code says a deployment must provide, for the
//! rehearsal's stage 3 (`tests/rehearsal`), which checks the deployed stack
//! against it. Each fact is taken from the code that relies on it, run where
//! it can be:
//!
//! - `table`: the table as `Table::create_if_missing` creates it (the
//!   definition every test and the local server run on), created on the
//!   embedded DynamoDB engine and described back: keys, attribute types,
//!   indexes with their projection, TTL attribute; `model`: the names in
//!   `store/model.rs`;
//! - `chat_queue`: what `SqsQueue::send` puts in a SendMessage request,
//!   captured by an SDK interceptor before it leaves (a message group id needs
//!   a FIFO queue);
//! - `media`: the upload key the ingest is triggered by and every key the
//!   functions write (covers, inline videos, default images);
//! - `routes`: the route table (`ROUTE_KEYS`), and the bins that serve the
//!   default route, the queue and the bucket's events;
//! - `sdk`: the call timeouts and retry policies of `App::build`;
//! - `payload`: the inline publish limit and Lambda's payload budget.

// A tool whose output is its stdout.
#![allow(clippy::print_stdout)]

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::Context as _;
use aws_sdk_sqs::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_sqs::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_sqs::error::BoxError;
use serde_json::{Value, json};
use shared::embedded::{self, EngineCredentials};
use shared::queue::{Outgoing, Queue, SqsQueue};
use shared::store::{Table, model};

/// The bins that are not endpoints (their file names in `functions/src/bin`).
const DEFAULT_ROUTE_BIN: &str = "route-fallback";
const QUEUE_CONSUMER_BIN: &str = "message-consumer";
const BUCKET_EVENTS_BIN: &str = "video-ingest";

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let facts = json!({
        "model": {
            "pk": model::PK, "sk": model::SK,
            "gsi1": {"name": model::GSI1, "pk": model::GSI1_PK, "sk": model::GSI1_SK},
            "gsi2": {"name": model::GSI2, "pk": model::GSI2_PK, "sk": model::GSI2_SK},
            "ttl": model::TTL,
        },
        "table": table_as_the_code_creates_it().await?,
        "chat_queue": chat_send_request().await?,
        "media": media(),
        "routes": routes(),
        "bins": {"default_route": DEFAULT_ROUTE_BIN, "queue_consumer": QUEUE_CONSUMER_BIN, "bucket_events": BUCKET_EVENTS_BIN},
        "sdk": sdk(),
        "payload": {
            "lambda_payload_bytes": shared::videos::LAMBDA_PAYLOAD_BYTES,
            "event_allowance_bytes": shared::videos::EVENT_ALLOWANCE_BYTES,
            "multipart_allowance_bytes": shared::videos::MULTIPART_ALLOWANCE_BYTES,
            "inline_max_bytes": shared::videos::INLINE_MAX_BYTES,
        },
    });
    println!("{}", serde_json::to_string_pretty(&facts)?);
    Ok(())
}

async fn table_as_the_code_creates_it() -> anyhow::Result<Value> {
    let (_stop, stopped) = tokio::sync::watch::channel(false);
    let address = embedded::serve_dynamodb(embedded::open_dynamodb(None)?, stopped).await?;
    let sdk = EngineCredentials::random().sdk_config();
    let config = aws_sdk_dynamodb::config::Builder::from(&sdk).endpoint_url(format!("http://{address}")).build();
    let client = aws_sdk_dynamodb::Client::from_conf(config);
    Table::new(client.clone(), "facts").create_if_missing().await?;
    let table =
        client.describe_table().table_name("facts").send().await?.table.context("DescribeTable without a table")?;
    let ttl = client.describe_time_to_live().table_name("facts").send().await?.time_to_live_description;
    let keys = |schema: &[aws_sdk_dynamodb::types::KeySchemaElement]| {
        let of = |kind: aws_sdk_dynamodb::types::KeyType| {
            schema.iter().find(|key| key.key_type == kind).map(|key| key.attribute_name.clone())
        };
        (of(aws_sdk_dynamodb::types::KeyType::Hash), of(aws_sdk_dynamodb::types::KeyType::Range))
    };
    let (hash, range) = keys(table.key_schema());
    let indexes: serde_json::Map<String, Value> = table
        .global_secondary_indexes()
        .iter()
        .map(|index| {
            let (hash, range) = keys(index.key_schema());
            let projection = index.projection.as_ref();
            let name = index.index_name.clone().unwrap_or_default();
            let value = json!({
                "hash_key": hash, "range_key": range,
                "projection": projection.and_then(|p| p.projection_type.as_ref()).map(|p| p.as_str().to_owned()),
                "non_key_attributes": projection.map(|p| p.non_key_attributes().to_vec()).unwrap_or_default(),
            });
            (name, value)
        })
        .collect();
    let attributes: serde_json::Map<String, Value> = table
        .attribute_definitions()
        .iter()
        .map(|definition| (definition.attribute_name.clone(), json!(definition.attribute_type.as_str())))
        .collect();
    Ok(json!({
        "hash_key": hash,
        "range_key": range,
        "attribute_definitions": attributes,
        "gsis": indexes,
        "ttl_attribute": ttl.and_then(|ttl| ttl.attribute_name),
    }))
}

/// Captures the body of the first request of the client it is attached to,
/// and stops it there.
#[derive(Clone, Debug, Default)]
struct Capture(Arc<Mutex<Option<String>>>);

impl Intercept for Capture {
    fn name(&self) -> &'static str {
        "Capture"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let body = context.request().body().bytes().map(|bytes| String::from_utf8_lossy(bytes).into_owned());
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = body;
        Err("captured; not sent".into())
    }
}

async fn chat_send_request() -> anyhow::Result<Value> {
    let capture = Capture::default();
    let sdk = EngineCredentials::random().sdk_config();
    let config = aws_sdk_sqs::config::Builder::from(&sdk)
        .endpoint_url("http://127.0.0.1:9")
        .interceptor(capture.clone())
        .build();
    let queue = SqsQueue::new(aws_sdk_sqs::Client::from_conf(config), "http://127.0.0.1:9/000000000000/chat.fifo");
    let message = Outgoing { group: "conversation".into(), dedup_id: "message".into(), body: "{}".into() };
    // The capture stops the request: the send fails by design.
    let _ = queue.send(message).await;
    let body = capture.0.lock().unwrap_or_else(PoisonError::into_inner).clone().unwrap_or_default();
    Ok(json!({
        "sends_message_group_id": body.contains("MessageGroupId"),
        "sends_deduplication_id": body.contains("MessageDeduplicationId"),
    }))
}

fn media() -> Value {
    use shared::videos;
    let id = 1_234_567;
    json!({
        "upload_prefix": videos::UPLOAD_PREFIX,
        "upload_key": videos::upload_object_key(id),
        "upload_tag": {"key": shared::media::UPLOAD_TAG.0, "value": shared::media::UPLOAD_TAG.1},
        "written_keys": {
            "cover (ingest and publish)": videos::cover_key(id, b"stored video"),
            "published video (ingest and publish)": videos::play_key(id, b"stored video"),
            "default avatar": shared::media::DEFAULT_AVATAR_KEY,
            "default background": shared::media::DEFAULT_BACKGROUND_KEY,
        },
    })
}

fn routes() -> Value {
    functions::routes::ROUTE_KEYS
        .iter()
        .map(|key| json!({"name": key.name, "method": key.method.as_str(), "path": key.path}))
        .collect()
}

fn seconds(duration: Option<Duration>) -> Option<f64> {
    duration.map(|duration| duration.as_secs_f64())
}

fn sdk() -> Value {
    let timeouts = shared::app::call_timeouts();
    let retry = |policy: aws_config::retry::RetryConfig| {
        json!({
            "max_attempts": policy.max_attempts(),
            "initial_backoff_s": policy.initial_backoff().as_secs_f64(),
            "max_backoff_s": policy.max_backoff().as_secs_f64(),
        })
    };
    json!({
        "connect_timeout_s": seconds(timeouts.connect_timeout()),
        "attempt_timeout_s": seconds(timeouts.operation_attempt_timeout()),
        "operation_timeout_s": seconds(timeouts.operation_timeout()),
        "retry": retry(shared::app::retry_policy()),
        "dynamodb_retry": retry(shared::app::dynamodb_retry_policy()),
    })
}
