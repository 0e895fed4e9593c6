//! The Lambda runner: what every function's `main` calls. It owns the cold
//! start (logging, configuration, SDK clients, the signing secret, all once)
//! and hands each invocation to the endpoint's handler through
//! [`crate::edge::respond`].

use std::future::Future;
use std::process::ExitCode;

use lambda_http::{Request, service_fn};
use shared::App;
use shared::config::Config;
use shared::telemetry::{self, LogFormat};

use crate::routes::{Endpoint, Route};

/// Runs `endpoint` as a Lambda function until the runtime stops it.
pub fn run(endpoint: &'static Endpoint) -> ExitCode {
    block_on(async move {
        let filter = Config::from_env().map(|config| config.log_filter).unwrap_or_else(|_| "info".into());
        telemetry::init(&filter, LogFormat::Json);
        // The app lives as long as the process; leaking it lets every
        // invocation borrow it without reference counting.
        let app: &'static App = match App::from_env().await {
            Ok(app) => Box::leak(Box::new(app)),
            Err(error) => {
                tracing::error!(error = format!("{error:#}"), "cold start failed");
                return ExitCode::FAILURE;
            }
        };
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
            let route = crate::routes::route(request.method(), request.uri().path());
            Ok::<_, std::convert::Infallible>(crate::edge::no_route(matches!(route, Route::WrongMethod)))
        });
        outcome(lambda_http::run(handler).await)
    })
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
