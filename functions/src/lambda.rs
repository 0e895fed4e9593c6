//! The Lambda runner: what every function's `main` calls. It owns the cold
//! start (logging, configuration, SDK clients, the signing secret, all once)
//! and hands each invocation to the endpoint's handler through
//! [`crate::edge::respond`].

use std::future::Future;
use std::process::ExitCode;

use aws_lambda_events::event::s3::S3Event;
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use lambda_http::{LambdaEvent, Request, service_fn};
use shared::App;
use shared::config::Config;
use shared::queue::{BatchReport, Consumer, Delivery};
use shared::telemetry::{self, LogFormat};

use crate::routes::{Endpoint, RouteKind};

/// Runs `endpoint` as a Lambda function until the runtime stops it.
pub fn run(endpoint: &'static Endpoint) -> ExitCode {
    block_on(async move {
        let Some(app) = cold_start().await else { return ExitCode::FAILURE };
        let handler = service_fn(move |request: Request| async move {
            Ok::<_, std::convert::Infallible>(crate::edge::respond(app, endpoint, request).await)
        });
        outcome(lambda_http::run(handler).await)
    })
}

/// Runs the catch-all function behind API Gateway's `$default` route: a path
/// outside the contract gets the contract's 404 (10004), a contract path with
/// the wrong method its 405 (10001). It needs no configuration and no AWS.
pub fn run_fallback() -> ExitCode {
    block_on(async {
        telemetry::init("info", LogFormat::Json);
        let handler = service_fn(|request: Request| async move {
            // route_kind, not route: this binary must not link the handlers.
            let route = crate::routes::route_kind(request.method(), request.uri().path());
            Ok::<_, std::convert::Infallible>(crate::edge::no_route(route == RouteKind::WrongMethod))
        });
        outcome(lambda_http::run(handler).await)
    })
}

/// Runs an SQS-triggered consumer: each batch goes to the same [`Consumer`]
/// the local server's in-process queue feeds, and only the messages it reports
/// as failed are returned to SQS (`ReportBatchItemFailures`).
pub fn run_consumer(make: fn(&'static App) -> Box<dyn Consumer>) -> ExitCode {
    block_on(async move {
        let Some(app) = cold_start().await else { return ExitCode::FAILURE };
        let consumer: &'static dyn Consumer = Box::leak(make(app));
        let handler = lambda_http::lambda_runtime::service_fn(move |event: LambdaEvent<SqsEvent>| async move {
            let report = consumer.consume(deliveries(event.payload)).await;
            Ok::<_, std::convert::Infallible>(batch_response(report))
        });
        outcome(lambda_http::lambda_runtime::run(handler).await)
    })
}

/// Runs the S3-triggered ingest ([`crate::video_ingest`]). A fault of ours
/// fails the invocation so that Lambda retries the event.
pub fn run_ingest() -> ExitCode {
    block_on(async move {
        let Some(app) = cold_start().await else { return ExitCode::FAILURE };
        let handler = lambda_http::lambda_runtime::service_fn(move |event: LambdaEvent<S3Event>| async move {
            match crate::video_ingest::handle(app, event.payload).await {
                Ok(_) => Ok(()),
                Err(error) => {
                    tracing::error!(error = format!("{:#}", anyhow::Error::from(error)), "ingest failed");
                    Err(lambda_http::Error::from("ingest failed"))
                }
            }
        });
        outcome(lambda_http::lambda_runtime::run(handler).await)
    })
}

/// Logging, configuration and the app, once per process. The app lives as
/// long as the process; leaking it lets every invocation borrow it.
async fn cold_start() -> Option<&'static App> {
    let filter = Config::from_env().map(|config| config.log_filter).unwrap_or_else(|_| "info".into());
    telemetry::init(&filter, LogFormat::Json);
    match App::from_env().await {
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

fn block_on(main: impl Future<Output = ExitCode>) -> ExitCode {
    match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
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
