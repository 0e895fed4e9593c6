//! The Lambda runner: what every function's `main` calls. It owns the cold
//! start (logging, configuration, SDK clients, the signing secret, all once)
//! and hands each invocation to the endpoint's handler through
//! [`crate::edge::respond`], or to [`consume`] and [`ingest`] for the queue's
//! and the bucket's events. Each invocation runs in its span and writes one
//! metrics line ([`crate::invocation`]).

use std::future::Future;
use std::process::ExitCode;
use std::time::Instant;

use aws_lambda_events::event::s3::S3Event;
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use lambda_http::{LambdaEvent, Request, service_fn};
use shared::App;
use shared::app::{DynamoDbWarmup, S3Warmup, Warmup};
use shared::config::{Config, FallbackConfig};
use shared::queue::{BatchReport, Consumer, Delivery};
use shared::telemetry::{self, LogFormat};
use tracing::Instrument as _;

use crate::edge::Endpoint;
use crate::invocation;

/// Runs `endpoint` as a Lambda function until the runtime stops it.
pub fn run(endpoint: &'static Endpoint) -> ExitCode {
    block_on(async move {
        let Some(app) = cold_start(warmup(endpoint.name)).await else { return ExitCode::FAILURE };
        let handler = service_fn(move |request: Request| async move {
            Ok::<_, std::convert::Infallible>(crate::edge::respond(app, endpoint, request).await)
        });
        outcome(lambda_http::run(handler).await)
    })
}

/// Runs the catch-all function behind API Gateway's `$default` route
/// ([`crate::fallback`]): the contract's 404/405 envelopes, and contract
/// requests passed on to their endpoint's function.
pub fn run_fallback() -> ExitCode {
    block_on(async {
        let config = FallbackConfig::from_env();
        telemetry::init(config.as_ref().map_or("info", |config| config.log_filter.as_str()), LogFormat::Json);
        let fallback = match config {
            Ok(config) => {
                // Clients only when there is someone to pass requests on to.
                if config.route_functions.is_empty() {
                    crate::fallback::Fallback::new(&config, None)
                } else {
                    match shared::app::load_sdk_config(&config.tls_roots, config.sdk_credentials).await {
                        Ok(sdk) => crate::fallback::Fallback::new(&config, Some(shared::invoke::Invoker::new(&sdk))),
                        Err(error) => Err(error),
                    }
                }
            }
            Err(error) => Err(error.into()),
        };
        let fallback: &'static crate::fallback::Fallback = match fallback {
            Ok(fallback) => Box::leak(Box::new(fallback)),
            Err(error) => {
                tracing::error!(error = format!("{error:#}"), "cold start failed");
                return ExitCode::FAILURE;
            }
        };
        let handler =
            lambda_http::lambda_runtime::service_fn(move |event: LambdaEvent<serde_json::Value>| async move {
                let span = invocation::span("route-fallback", Some(&event.context));
                Ok::<_, std::convert::Infallible>(fallback.answer(event).instrument(span).await)
            });
        outcome(lambda_http::lambda_runtime::run(handler).await)
    })
}

/// Runs an SQS-triggered consumer: each batch goes to the same [`Consumer`]
/// the local server's in-process queue feeds, and only the messages it reports
/// as failed are returned to SQS (`ReportBatchItemFailures`).
pub fn run_consumer(name: &'static str, make: fn(&'static App) -> Box<dyn Consumer>) -> ExitCode {
    block_on(async move {
        let Some(app) = cold_start(warmup(name)).await else { return ExitCode::FAILURE };
        let consumer: &'static dyn Consumer = Box::leak(make(app));
        let handler = lambda_http::lambda_runtime::service_fn(move |event: LambdaEvent<SqsEvent>| async move {
            Ok::<_, std::convert::Infallible>(consume(app, name, consumer, event).await)
        });
        outcome(lambda_http::lambda_runtime::run(handler).await)
    })
}

/// Runs the S3-triggered ingest ([`crate::video_ingest`]). A fault of ours
/// fails the invocation so that Lambda retries the event.
pub fn run_ingest() -> ExitCode {
    block_on(async move {
        let Some(app) = cold_start(warmup("video-ingest")).await else { return ExitCode::FAILURE };
        let handler = lambda_http::lambda_runtime::service_fn(move |event: LambdaEvent<S3Event>| ingest(app, event));
        outcome(lambda_http::lambda_runtime::run(handler).await)
    })
}

/// One SQS batch of the consumer `name` (its function's binary): the report
/// as SQS wants it, a log line for the batch and its metrics line.
pub async fn consume(
    app: &App,
    name: &'static str,
    consumer: &dyn Consumer,
    event: LambdaEvent<SqsEvent>,
) -> SqsBatchResponse {
    let span = invocation::span(name, Some(&event.context));
    let started = Instant::now();
    let messages = event.payload.records.len();
    let work = consumer.consume(deliveries(event.payload)).instrument(span.clone());
    let (report, mut measured) = shared::metrics::record(work).await;
    let latency_ms = invocation::elapsed_ms(started);
    span.in_scope(|| tracing::info!(messages, failed = report.failed.len(), latency_ms, "batch consumed"));
    invocation::identify(&mut measured, Some(&event.context));
    app.metrics.emit(name, &measured);
    batch_response(report)
}

/// One S3 event of `video-ingest` ([`crate::video_ingest`]). A fault of ours
/// fails the invocation so that Lambda retries the event.
pub async fn ingest(app: &App, event: LambdaEvent<S3Event>) -> Result<(), lambda_http::Error> {
    let span = invocation::span("video-ingest", Some(&event.context));
    let started = Instant::now();
    let work = crate::video_ingest::handle(app, event.payload).instrument(span.clone());
    let (result, mut measured) = shared::metrics::record(work).await;
    let latency_ms = invocation::elapsed_ms(started);
    invocation::identify(&mut measured, Some(&event.context));
    app.metrics.emit("video-ingest", &measured);
    span.in_scope(|| match result {
        Ok(outcomes) => {
            tracing::info!(objects = outcomes.len(), latency_ms, "event processed");
            Ok(())
        }
        Err(error) => {
            tracing::error!(latency_ms, error = format!("{:#}", anyhow::Error::from(error)), "ingest failed");
            Err(lambda_http::Error::from("ingest failed"))
        }
    })
}

/// What each function opens during init, while it reads the signing secret
/// ([`Warmup`]): DynamoDB for every data function, S3 for those that call it
/// in a request (register's default images, publish's uploads, the ingest's
/// reads); the functions that allocate ids
/// reserve their first block, the feed reads a guest's newest page into its
/// cache, and those whose answers carry presigned links sign the default
/// images' (the upload's signs a PUT: the same presigner). Each call reads nothing a request
/// would not (register's writes the default images it would write anyway),
/// and each is one the function's policy allows (template.yaml grants the one
/// it would not use otherwise: publish's read of the default images; the
/// rehearsal's stage 5 judges every call).
/// Any answer of the service counts: what it is for is the open connection.
/// A function whose first request makes DynamoDB calls at once (with the
/// deployment's rate limits: a count beside a read) opens as many connections.
pub fn warmup(function: &str) -> Warmup {
    match function {
        // The rate limit's count beside the first read: two connections
        // (with the deployment's limits on, their default).
        "user-register" => Warmup {
            dynamodb: DynamoDbWarmup::IdBlock,
            dynamodb_connections: 2,
            s3: S3Warmup::Defaults,
            ..Warmup::DYNAMODB
        },
        "user-login" => Warmup { dynamodb_connections: 2, ..Warmup::DYNAMODB },
        "publish-action" => Warmup {
            dynamodb: DynamoDbWarmup::IdBlock,
            s3: S3Warmup::Head(shared::media::DEFAULT_AVATAR_KEY),
            // The video and its cover are stored at once: two connections.
            s3_connections: 2,
            ..Warmup::DYNAMODB
        },
        "publish-upload" => Warmup { dynamodb: DynamoDbWarmup::IdBlock, links: true, ..Warmup::DYNAMODB },
        "video-ingest" => Warmup { s3: S3Warmup::Head(shared::videos::UPLOAD_PREFIX), ..Warmup::DYNAMODB },
        // The send is one transaction; the queue is its path only when that
        // fails, and that path opens the queue's connection itself.
        "message-action" => Warmup { dynamodb: DynamoDbWarmup::IdBlock, ..Warmup::DYNAMODB },
        "feed" => Warmup { dynamodb: DynamoDbWarmup::FeedPage, links: true, ..Warmup::DYNAMODB },
        // Their first request makes two calls at once (the comment's
        // transaction and the profile's read; the chat's messages and its
        // caller): two connections.
        "comment-action" => {
            Warmup { dynamodb: DynamoDbWarmup::IdBlock, dynamodb_connections: 2, links: true, ..Warmup::DYNAMODB }
        }
        "message-chat" => Warmup { dynamodb_connections: 2, ..Warmup::DYNAMODB },
        "user-info"
        | "publish-list"
        | "publish-status"
        | "favorite-list"
        | "comment-list"
        | "relation-follow-list"
        | "relation-follower-list"
        | "relation-friend-list" => Warmup { links: true, ..Warmup::DYNAMODB },
        _ => Warmup::DYNAMODB,
    }
}

/// Logging, configuration and the app, once per process. The app lives as
/// long as the process; leaking it lets every invocation borrow it.
async fn cold_start(warmup: Warmup) -> Option<&'static App> {
    // The environment is read once: first for the log filter, then for the app.
    let config = Config::from_env();
    telemetry::init(config.as_ref().map_or("info", |config| config.log_filter.as_str()), LogFormat::Json);
    let app = match config {
        Ok(config) => App::for_lambda(config, warmup).await,
        Err(error) => Err(error.into()),
    };
    match app {
        Ok(app) => Some(Box::leak(Box::new(app))),
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "cold start failed");
            None
        }
    }
}

/// The messages of an SQS event, as the queue trait delivers them.
pub fn deliveries(event: SqsEvent) -> Vec<Delivery> {
    event
        .records
        .into_iter()
        .map(|record| Delivery {
            receive_count: record.attributes.get("ApproximateReceiveCount").and_then(|n| n.parse().ok()).unwrap_or(1),
            message_id: record.message_id.unwrap_or_default(),
            body: record.body.unwrap_or_default(),
        })
        .collect()
}

/// The partial-batch answer: SQS redelivers exactly the failed messages.
pub fn batch_response(report: BatchReport) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = report
        .failed
        .into_iter()
        .map(|message_id| {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = message_id;
            failure
        })
        .collect();
    response
}

/// Lambda gives a function one vCPU at 1,769 MB of memory, proportionally
/// less below (`/work/shared/platform-facts.md`), however many cores the
/// sandbox shows.
const MB_PER_VCPU: u64 = 1769;

/// How many async worker threads a function runs: `TOKIO_WORKER_THREADS`
/// when set (tokio's own variable, which wins), else the vCPUs its memory
/// size buys (`AWS_LAMBDA_FUNCTION_MEMORY_SIZE`), rounded up, at most the
/// cores it sees. One means the current-thread runtime: below 1,769 MB a
/// second worker only takes turns with the first on the same share, and
/// costs a thread start and cross-thread wake-ups in the cold start
/// (docs/performance.md, "Cold starts as Lambda has them"). Blocking work
/// (argon2, cover decoding) has its own threads either way.
fn worker_threads(explicit: Option<&str>, memory_mb: Option<&str>, cores: usize) -> usize {
    if let Some(workers) = explicit.and_then(|value| value.trim().parse::<usize>().ok()).filter(|n| *n > 0) {
        return workers;
    }
    match memory_mb.and_then(|value| value.trim().parse::<u64>().ok()).filter(|mb| *mb > 0) {
        Some(mb) => usize::try_from(mb.div_ceil(MB_PER_VCPU)).unwrap_or(usize::MAX).clamp(1, cores.max(1)),
        None => cores.max(1),
    }
}

fn block_on(main: impl Future<Output = ExitCode>) -> ExitCode {
    let (explicit, memory_mb) = shared::config::runtime_sizing();
    let workers = worker_threads(
        explicit.as_deref(),
        memory_mb.as_deref(),
        std::thread::available_parallelism().map_or(1, usize::from),
    );
    let runtime = if workers == 1 {
        tokio::runtime::Builder::new_current_thread().enable_all().build()
    } else {
        tokio::runtime::Builder::new_multi_thread().worker_threads(workers).enable_all().build()
    };
    match runtime {
        Ok(runtime) => runtime.block_on(main),
        Err(error) => {
            telemetry::init("info", LogFormat::Json);
            tracing::error!(%error, "cannot start the async runtime");
            ExitCode::FAILURE
        }
    }
}

fn outcome(result: Result<(), lambda_http::Error>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "lambda runtime stopped");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_runtime_has_the_workers_the_memory_size_buys() {
        // Below one vCPU's worth: one worker (the current-thread runtime).
        assert_eq!(worker_threads(None, Some("128"), 2), 1);
        assert_eq!(worker_threads(None, Some("1769"), 2), 1);
        assert_eq!(worker_threads(None, Some("1770"), 2), 2);
        // Never more than the cores the sandbox shows.
        assert_eq!(worker_threads(None, Some("10240"), 2), 2);
        assert_eq!(worker_threads(None, Some("10240"), 6), 6);
        // Outside Lambda, every core; tokio's variable wins when set.
        assert_eq!(worker_threads(None, None, 4), 4);
        assert_eq!(worker_threads(Some("2"), Some("128"), 2), 2);
        assert_eq!(worker_threads(Some("x"), Some("512"), 2), 1);
        assert_eq!(worker_threads(None, Some("lots"), 0), 1);
    }

    #[test]
    fn sqs_records_become_deliveries_and_failures_become_item_failures() {
        let event: SqsEvent = serde_json::from_value(serde_json::json!({
            "Records": [
                {"messageId": "m1", "body": "{}", "attributes": {"ApproximateReceiveCount": "3"}},
                {"messageId": "m2", "body": "x", "attributes": {}}
            ]
        }))
        .unwrap();
        let batch = deliveries(event);
        assert_eq!(batch[0], Delivery { message_id: "m1".into(), body: "{}".into(), receive_count: 3 });
        assert_eq!(batch[1].receive_count, 1);
        let response = batch_response(BatchReport { failed: vec!["m2".into()] });
        let json = serde_json::to_value(&response).unwrap();
        assert_eq!(json, serde_json::json!({"batchItemFailures": [{"itemIdentifier": "m2"}]}));
    }
}
