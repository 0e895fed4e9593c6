//! The HTTP edge shared by every endpoint, on Lambda and in the local server:
//! parameter extraction ([`params`]), the reply envelope ([`reply`]) and
//! [`respond`], which runs a handler and turns its result (or its panic) into
//! the contract's JSON response.

pub mod client;
pub mod encoding;
pub mod params;
pub mod reply;

use std::panic::AssertUnwindSafe;
use std::time::Instant;

use futures_util::FutureExt as _;
use lambda_http::{Body, Request, RequestExt as _, Response};
use shared::{App, Error};
use tracing::Instrument as _;

use crate::invocation;
pub use params::Params;
pub use reply::{ErrorFields, Reply};

/// A handler: a plain async function of the app and the request.
pub type Handler = for<'a> fn(&'a App, Request) -> futures_util::future::BoxFuture<'a, shared::Result<Reply>>;

/// One endpoint of the contract (declared in [`crate::routes`]).
pub struct Endpoint {
    /// The endpoint's word, as in its bin, module, event and SAM id.
    pub name: &'static str,
    /// Its method.
    pub method: &'static lambda_http::http::Method,
    /// Its path, with the trailing slash.
    pub path: &'static str,
    /// Its handler.
    pub handler: Handler,
    /// Extra keys of its error bodies.
    pub error_fields: ErrorFields,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} ({})", self.method, self.path, self.name)
    }
}

/// Runs `endpoint`'s handler on `request` and builds the response, inside the
/// invocation's span (`crate::invocation`), gzipped when the request accepts
/// it and the body is large enough ([`encoding`]). Logs one line per request (status
/// code, latency; the caller's id is on the span) and writes its metrics line
/// (`HandlerLatency`, `Errors` by `Code`, and what the use case counted).
/// Internal errors are logged here, once, with their cause; the client gets a
/// generic message. A panicking handler answers 50000 like any internal error.
/// On Lambda the handler is stopped [`ANSWER_RESERVE`] before the invocation's
/// deadline and answers 50000 too: the client gets the envelope, not API
/// Gateway's bare 500 for a function that timed out.
pub async fn respond(app: &App, endpoint: &Endpoint, request: Request) -> Response<Body> {
    let context = request.lambda_context_ref().cloned();
    let span = invocation::span(endpoint.name, context.as_ref());
    let started = Instant::now();
    let calls_before = app.dynamodb_calls.snapshot();
    // Lambda always sets a deadline; 0 is a context built without one (tests).
    let deadline = context
        .as_ref()
        .filter(|context| context.deadline > 0)
        .map(|context| shared::deadline::from_epoch_ms(context.deadline, ANSWER_RESERVE));
    let gzip = encoding::accepts_gzip(request.headers());
    let handler = AssertUnwindSafe((endpoint.handler)(app, request)).catch_unwind();
    let handler = shared::deadline::scope(deadline, handler).instrument(span.clone());
    let (outcome, mut measured) = shared::metrics::record(handler).await;
    // A Lambda instance serves one invocation at a time, so the process-wide
    // counter's difference is this request's (locally it is approximate).
    let calls = app.dynamodb_calls.snapshot() - calls_before;
    if calls.attempts > calls.operations {
        measured.add(shared::metrics::Metric::DynamoDbRetries, calls.attempts - calls.operations);
    }
    let outcome = match outcome {
        Some(Ok(outcome)) => outcome,
        Some(Err(_panic)) => Err(Error::Internal(anyhow::anyhow!("handler panicked"))),
        None => Err(Error::Internal(anyhow::anyhow!("stopped at the invocation's deadline"))),
    };
    let latency_ms = invocation::elapsed_ms(started);
    measured.handler_latency(latency_ms);
    invocation::identify(&mut measured, context.as_ref());
    let response = span.in_scope(|| match outcome {
        Ok(reply) => {
            tracing::info!(status_code = 0, latency_ms, "request served");
            reply::success(reply)
        }
        Err(error) => {
            let status_code = error.status_code();
            measured.error(status_code);
            if let Error::Internal(cause) = &error {
                tracing::error!(status_code, latency_ms, error = format!("{cause:#}"), "request failed");
            } else {
                tracing::info!(status_code, latency_ms, reason = %error, "request refused");
            }
            reply::failure(&reply::Failure::Refused(&error), endpoint.error_fields)
        }
    });
    app.metrics.emit(endpoint.name, &measured);
    encoding::negotiated(response, gzip)
}

/// How long before Lambda's deadline a handler is stopped: time to log, write
/// the metrics line and hand the answer to the runtime.
pub const ANSWER_RESERVE: std::time::Duration = std::time::Duration::from_millis(500);

/// The response to a path outside the contract (404, 10004) or a known path
/// with the wrong method (405, 10001).
pub fn no_route(wrong_method: bool) -> Response<Body> {
    let failure = if wrong_method { reply::Failure::WrongMethod } else { reply::Failure::NoSuchEndpoint };
    reply::failure(&failure, ErrorFields::EnvelopeOnly)
}

/// The caller, from a required `token`: missing, malformed, expired, or for a
/// user that no longer exists is [`Error::Unauthenticated`] (10002).
pub async fn authenticate(app: &App, params: &Params) -> shared::Result<shared::domain::UserId> {
    let caller = verified(app, params)?;
    shared::users::existing_user(app, caller).await?;
    invocation::record_user(caller);
    Ok(caller)
}

/// [`authenticate`] but for the user's existence, which the use case taking
/// the [`Claimed`](shared::users::Claimed) confirms in its own first read:
/// one round fewer for an endpoint that reads before it writes.
pub fn claimant(app: &App, params: &Params) -> shared::Result<shared::users::Claimed> {
    let user_id = verified(app, params)?;
    invocation::record_user(user_id);
    Ok(shared::users::Claimed::of_verified_token(user_id))
}

/// The subject of a required `token` that verifies (signature, lifetime, claims).
fn verified(app: &App, params: &Params) -> shared::Result<shared::domain::UserId> {
    let token = params.text("token")?.filter(|token| !token.is_empty());
    let token = token.ok_or_else(|| Error::Unauthenticated("token: is required, log in first".into()))?;
    let user_id = app.tokens.verify(token).map_err(|rejected| {
        tracing::debug!(%rejected, "token refused");
        Error::Unauthenticated("token is invalid or expired, log in again".into())
    })?;
    Ok(user_id)
}

/// The user a read endpoint is about: `user_id` when given, else the viewer;
/// neither is [`Error::InvalidArgument`] (the contract's "missing ids" rule).
pub fn user_id_or_viewer(
    params: &Params,
    viewer: Option<shared::domain::UserId>,
) -> shared::Result<shared::domain::UserId> {
    match params.text("user_id")? {
        Some(raw) => shared::domain::UserId::parse("user_id", raw),
        None => viewer.ok_or_else(|| Error::invalid("user_id", "is required without a valid token")),
    }
}

/// `cursor` of a list endpoint (this project's addition: the `next_cursor`
/// of the previous page), if any.
pub fn cursor(params: &Params) -> shared::Result<Option<String>> {
    match params.text("cursor")?.filter(|raw| !raw.trim().is_empty()) {
        Some(raw) => shared::domain::parse_cursor("cursor", raw).map(Some),
        None => Ok(None),
    }
}

/// The follow and follower lists: `user_id` (default: the viewer), a page
/// of users as the viewer sees them, and the next page's cursor.
pub async fn user_list(
    app: &App,
    request: &lambda_http::Request,
    relation: shared::interactions::Relation,
) -> shared::Result<Reply> {
    #[derive(serde::Serialize)]
    struct List {
        user_list: Vec<shared::domain::User>,
        /// This project's addition: pass back as `cursor` for the next page; "" at the end.
        next_cursor: String,
    }
    let params = Params::from_request(request).await;
    let viewer = viewer(app, &params);
    let user = user_id_or_viewer(&params, viewer)?;
    let listed = shared::interactions::relation_list(app, user, relation, viewer, cursor(&params)?).await?;
    Reply::with(&List { user_list: listed.items, next_cursor: listed.next_cursor.unwrap_or_default() })
}

/// A page of videos, as the video lists answer it (`video_list` and this
/// project's `next_cursor`: pass it back as `cursor`; "" at the end).
pub fn video_page(listed: shared::domain::Listed<shared::domain::Video>) -> shared::Result<Reply> {
    #[derive(serde::Serialize)]
    struct List {
        video_list: Vec<shared::domain::Video>,
        next_cursor: String,
    }
    Reply::with(&List { video_list: listed.items, next_cursor: listed.next_cursor.unwrap_or_default() })
}

/// The viewer on a read endpoint: the token's user, or a guest (`None`) when
/// the token is missing, invalid or expired.
pub fn viewer(app: &App, params: &Params) -> Option<shared::domain::UserId> {
    let token = params.text("token").ok().flatten()?;
    let viewer = app.tokens.verify(token).ok()?;
    invocation::record_user(viewer);
    Some(viewer)
}
