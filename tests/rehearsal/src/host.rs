//! The host: Lambda's Invoke API over the functions of a manifest, and a
//! small control API under `/_host/`.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};

use crate::config::{DEFAULT_ACCOUNT, FunctionConfig, function_arn};
use crate::function::{Function, InvocationType, InvokeRequest, Outcome};
use crate::http::{self, Body};
use crate::instance::LaunchOptions;

/// A synchronous invocation's request payload limit (Lambda: 6 MB).
pub const REQUEST_LIMIT: usize = 6_291_456;
/// An asynchronous invocation's payload limit (Lambda: 1 MB since 2025).
pub const EVENT_LIMIT: usize = 1_048_576;

/// The functions of a manifest and their instances.
pub struct Host {
    functions: BTreeMap<String, Arc<Function>>,
    region: Option<String>,
    account: String,
    pending: Arc<watch::Sender<usize>>,
    stop: Notify,
}

impl Host {
    /// A host for `functions` (no process is started before its first invocation).
    pub fn new(
        functions: Vec<FunctionConfig>,
        region: Option<String>,
        account: Option<String>,
        options: &LaunchOptions,
    ) -> Arc<Host> {
        let pending = Arc::new(watch::channel(0).0);
        let functions = functions
            .into_iter()
            .map(|config| (config.name.clone(), Function::with_pending(config, options.clone(), Arc::clone(&pending))))
            .collect();
        Arc::new(Host {
            functions,
            region,
            account: account.unwrap_or_else(|| DEFAULT_ACCOUNT.to_owned()),
            pending,
            stop: Notify::new(),
        })
    }

    /// A function by name.
    pub fn function(&self, name: &str) -> Option<&Arc<Function>> {
        self.functions.get(name)
    }

    /// Serves the Invoke and control APIs on `listener` until `/_host/shutdown`
    /// or `stop` completes, then kills every instance.
    pub async fn serve(self: &Arc<Self>, listener: TcpListener, stop: impl Future<Output = ()>) {
        let (stop_server, server_stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(http::serve_until(listener, Arc::clone(self), handle, async {
            let _ = server_stopped.await;
        }));
        tokio::select! {
            () = stop => {}
            () = self.stop.notified() => {}
        }
        self.shutdown().await;
        // The answers in progress (the `/_host/shutdown` one among them) are written before returning.
        let _ = stop_server.send(());
        let _ = server.await;
    }

    /// Kills every instance of every function and waits for them.
    pub async fn shutdown(&self) {
        for function in self.functions.values() {
            function.shutdown().await;
        }
    }

    /// `/_host/stats`.
    pub fn stats(&self) -> serde_json::Value {
        let functions: serde_json::Map<String, serde_json::Value> = self
            .functions
            .iter()
            .map(|(name, function)| (name.clone(), serde_json::to_value(function.stats()).unwrap_or_default()))
            .collect();
        json!({"pending": *self.pending.borrow(), "functions": functions})
    }

    /// Waits until no invocation is queued or running (`Event` retries included).
    pub async fn idle(&self, limit: Duration) -> bool {
        let mut pending = self.pending.subscribe();
        tokio::time::timeout(limit, pending.wait_for(|n| *n == 0)).await.is_ok()
    }

    /// Resolves `FunctionName` as the Invoke API takes it: a name, a partial
    /// ARN (`123456789012:function:name`) or a full ARN, qualified or not.
    fn resolve(&self, name: &str, qualifier: Option<&str>) -> Result<&Arc<Function>, String> {
        let parts: Vec<&str> = name.split(':').collect();
        let (base, arn_qualifier) = match parts.as_slice() {
            [name] => (*name, None),
            [name, qualifier] => (*name, Some(*qualifier)),
            [_account, "function", name] => (*name, None),
            [_account, "function", name, qualifier] => (*name, Some(*qualifier)),
            ["arn", _, "lambda", _region, _account, "function", name] => (*name, None),
            ["arn", _, "lambda", _region, _account, "function", name, qualifier] => (*name, Some(*qualifier)),
            _ => ("", None),
        };
        let qualifier = qualifier.or(arn_qualifier);
        let arn = |base: &str| {
            let arn = function_arn(self.region.as_deref(), &self.account, base);
            qualifier.map_or(arn.clone(), |q| format!("{arn}:{q}"))
        };
        match self.functions.get(base) {
            Some(function) if qualifier.is_none_or(|q| q == "$LATEST") => Ok(function),
            _ => Err(arn(if base.is_empty() { name } else { base })),
        }
    }
}

async fn handle(host: Arc<Host>, request: Request<Incoming>) -> Response<Body> {
    let path = request.uri().path().to_owned();
    let method = request.method().clone();
    match (method, path.as_str()) {
        (Method::GET, "/_host/stats") => http::json(StatusCode::OK, &host.stats()),
        (Method::POST, "/_host/shutdown") => {
            host.shutdown().await;
            host.stop.notify_one();
            http::json(StatusCode::OK, &json!({"stopped": true}))
        }
        (Method::GET | Method::POST, "/_host/idle") => {
            let limit = query(&request, "timeout_ms").and_then(|v| v.parse().ok()).unwrap_or(30_000);
            if host.idle(Duration::from_millis(limit)).await {
                http::json(StatusCode::OK, &json!({"idle": true}))
            } else {
                http::json(StatusCode::GATEWAY_TIMEOUT, &json!({"idle": false, "pending": *host.pending.borrow()}))
            }
        }
        (Method::POST, path) => {
            match path.strip_prefix("/2015-03-31/functions/").and_then(|p| p.strip_suffix("/invocations")) {
                Some(name) => invoke(&host, name.to_owned(), request).await,
                None => unknown_operation(),
            }
        }
        _ => unknown_operation(),
    }
}

/// `POST /2015-03-31/functions/{FunctionName}/invocations`.
async fn invoke(host: &Arc<Host>, name: String, request: Request<Incoming>) -> Response<Body> {
    let name = percent_encoding::percent_decode_str(&name).decode_utf8_lossy().into_owned();
    let qualifier = query(&request, "Qualifier");
    let function = match host.resolve(&name, qualifier.as_deref()) {
        Ok(function) => Arc::clone(function),
        Err(arn) => {
            return aws_error(
                StatusCode::NOT_FOUND,
                "ResourceNotFoundException",
                &format!("Function not found: {arn}"),
            );
        }
    };
    let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let invocation_type = match header("x-amz-invocation-type").as_deref() {
        None | Some("RequestResponse") => Some(InvocationType::RequestResponse),
        Some("Event") => Some(InvocationType::Event),
        Some("DryRun") => None,
        Some(other) => {
            return aws_error(
                StatusCode::BAD_REQUEST,
                "ValidationException",
                &format!(
                    "1 validation error detected: Value '{other}' at 'invocationType' failed to satisfy constraint: \
                     Member must satisfy enum value set: [Event, RequestResponse, DryRun]"
                ),
            );
        }
    };
    let client_context = match header("x-amz-client-context") {
        None => None,
        Some(encoded) => match base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .ok()
            .and_then(|raw| String::from_utf8(raw).ok())
        {
            Some(context) if serde_json::from_str::<serde_json::Value>(&context).is_ok_and(|v| v.is_object()) => {
                Some(context)
            }
            _ => {
                return aws_error(
                    StatusCode::BAD_REQUEST,
                    "InvalidRequestContentException",
                    "Client context must be a valid Base64-encoded JSON object.",
                );
            }
        },
    };
    let log_tail = header("x-amz-log-type").as_deref() == Some("Tail");
    let trace_id = header("x-amzn-trace-id");
    let limit = if invocation_type == Some(InvocationType::Event) { EVENT_LIMIT } else { REQUEST_LIMIT };
    let payload = match http::read_body(request.into_body(), limit).await {
        Ok(payload) => payload,
        Err(true) => {
            return aws_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestEntityTooLargeException",
                &format!("Request must be smaller than {limit} bytes for the InvokeFunction operation"),
            );
        }
        Err(false) => {
            return aws_error(
                StatusCode::BAD_REQUEST,
                "InvalidRequestContentException",
                "Could not read the request body",
            );
        }
    };
    // Lambda hands an empty payload over as `{}` and refuses what is not JSON.
    let payload = if payload.iter().all(u8::is_ascii_whitespace) { Bytes::from_static(b"{}") } else { payload };
    if let Err(error) = serde_json::from_slice::<serde::de::IgnoredAny>(&payload) {
        return aws_error(
            StatusCode::BAD_REQUEST,
            "InvalidRequestContentException",
            &format!("Could not parse request body into json: {error}"),
        );
    }
    let Some(invocation_type) = invocation_type else {
        return Response::builder().status(StatusCode::NO_CONTENT).body(Body::default()).unwrap_or_default();
    };
    let mut invoke = InvokeRequest::new(payload);
    invoke.client_context = client_context;
    invoke.trace_id = trace_id;
    invoke.invocation_type = invocation_type;
    let request_id = invoke.request_id.clone();
    if invocation_type == InvocationType::Event {
        queue_event(host, function, invoke);
        return Response::builder()
            .status(StatusCode::ACCEPTED)
            .header("x-amzn-requestid", &request_id)
            .body(Body::default())
            .unwrap_or_default();
    }
    let invocation = function.invoke(invoke).await;
    let mut response = Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/json")
        .header("x-amzn-requestid", &request_id)
        .header("x-amz-executed-version", "$LATEST");
    if log_tail && let Some((path, start, end)) = &invocation.log_range {
        response = response.header("x-amz-log-result", log_tail_of(path, *start, *end));
    }
    match invocation.outcome {
        Outcome::Response(body) => response.body(Body::new(body)),
        Outcome::Error { body, .. } => response.header("x-amz-function-error", "Unhandled").body(Body::new(body)),
    }
    .unwrap_or_default()
}

/// An `Event` invocation: queued, run when an instance is free, retried
/// (same request id) after a function error as Lambda does.
fn queue_event(host: &Arc<Host>, function: Arc<Function>, request: InvokeRequest) {
    host.pending.send_modify(|n| *n += 1);
    let pending = Arc::clone(&host.pending);
    tokio::spawn(async move {
        let retries = function.config.event_retries;
        for attempt in 0..=retries {
            let invocation = function.invoke(request.clone()).await;
            if invocation.error_type().is_none() || invocation.error_type() == Some("Host.ShuttingDown") {
                break;
            }
            if attempt < retries {
                // Lambda's own back-off between attempts (configurable; ~1 and ~2 minutes there).
                tokio::time::sleep(function.config.event_retry_delay * (attempt + 1)).await;
            }
        }
        pending.send_modify(|n| *n = n.saturating_sub(1));
    });
}

/// The last 4 KB of an invocation's log lines, base64, as `X-Amz-Log-Result`.
fn log_tail_of(path: &std::path::Path, start: u64, end: u64) -> String {
    use std::io::{Read as _, Seek as _};
    let from = start.max(end.saturating_sub(4096));
    let mut bytes = Vec::new();
    if let Ok(mut file) = std::fs::File::open(path)
        && file.seek(std::io::SeekFrom::Start(from)).is_ok()
    {
        let _ = file.take(end - from).read_to_end(&mut bytes);
    }
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn query(request: &Request<Incoming>, key: &str) -> Option<String> {
    let query = request.uri().query()?;
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == key).then(|| percent_encoding::percent_decode_str(v).decode_utf8_lossy().into_owned())
    })
}

/// An error of the Lambda API, as its REST-JSON protocol carries them.
fn aws_error(status: StatusCode, error_type: &str, message: &str) -> Response<Body> {
    let mut response = http::json(status, &json!({"Type": "User", "Message": message, "message": message}));
    if let Ok(value) = error_type.parse() {
        response.headers_mut().insert("x-amzn-errortype", value);
    }
    response
}

fn unknown_operation() -> Response<Body> {
    aws_error(StatusCode::NOT_FOUND, "UnknownOperationException", "Unknown operation")
}
