//! What every invocation leaves behind, whatever triggered it (an HTTP request,
//! an SQS batch, an S3 event): a span whose fields every log line of the
//! invocation carries, and one metrics line (`shared::metrics`).
//!
//! The span's fields: `route` (the endpoint's or the function's name),
//! `request_id` and `trace_id` (the Lambda request id and the X-Ray trace id,
//! from the invocation's context; absent in the local server), and `user_id`,
//! the authenticated caller, recorded by [`record_user`] once known.

use lambda_http::Context;
use shared::domain::UserId;
use shared::metrics::Invocation;
use tracing::Span;
use tracing::field::Empty;

/// The span of one invocation of `route`. It is at level ERROR so that it is
/// enabled whenever any line is: every line carries the ids, whatever
/// `DOUYIN_LOG` filters out.
pub fn span(route: &'static str, context: Option<&Context>) -> Span {
    let span = tracing::error_span!("request", route, request_id = Empty, trace_id = Empty, user_id = Empty);
    if let Some(context) = context {
        if !context.request_id.is_empty() {
            span.record("request_id", context.request_id.as_str());
        }
        if let Some(trace_id) = &context.xray_trace_id {
            span.record("trace_id", trace_id.as_str());
        }
    }
    span
}

/// Records the caller on the current invocation's span (from then on, and on
/// the closing "request served" line).
pub fn record_user(user: UserId) {
    Span::current().record("user_id", user.0);
}

/// Puts the request id and the trace id on the metrics line too, so that a
/// metric's line leads to the invocation's logs and trace.
pub fn identify(invocation: &mut Invocation, context: Option<&Context>) {
    let Some(context) = context else { return };
    if !context.request_id.is_empty() {
        invocation.property("request_id", context.request_id.as_str());
    }
    if let Some(trace_id) = &context.xray_trace_id {
        invocation.property("trace_id", trace_id.as_str());
    }
}

/// Milliseconds since `started`.
pub fn elapsed_ms(started: std::time::Instant) -> f64 {
    started.elapsed().as_secs_f64() * 1000.0
}
