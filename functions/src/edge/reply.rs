//! The JSON envelope: every body has `status_code` and `status_msg`, then the
//! endpoint's keys.

use lambda_http::{Body, Response};
use serde::Serialize;
use serde_json::{Map, Value};
use shared::Error;

/// What an error body carries beside the envelope.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorFields {
    /// Only `status_code` and `status_msg`.
    EnvelopeOnly,
    /// Also `user_id: 0` and `token: ""` (register and login).
    Session,
}

impl ErrorFields {
    /// The keys an error body carries beside the envelope.
    fn fields(self) -> serde_json::Map<String, serde_json::Value> {
        let mut fields = serde_json::Map::new();
        if self == ErrorFields::Session {
            fields.insert("user_id".into(), 0.into());
            fields.insert("token".into(), "".into());
        }
        fields
    }
}

/// A successful reply: the keys beside the envelope.
#[derive(Debug, Default)]
pub struct Reply(Map<String, Value>);

impl Reply {
    /// A reply with no keys beside the envelope.
    pub fn empty() -> Reply {
        Reply::default()
    }

    /// A reply with the fields of `body`, which must serialize to an object.
    pub fn with(body: &impl Serialize) -> shared::Result<Reply> {
        match serde_json::to_value(body) {
            Ok(Value::Object(fields)) => Ok(Reply(fields)),
            Ok(_) => Err(Error::Internal(anyhow::anyhow!("reply body is not an object"))),
            Err(error) => Err(Error::Internal(anyhow::Error::new(error).context("encode reply"))),
        }
    }
}

/// The HTTP response of a successful reply.
pub(crate) fn success(reply: Reply) -> Response<Body> {
    envelope(200, 0, "success", reply.0)
}

/// The HTTP response of an error; a rate limit also says when to come back
/// (`Retry-After`, seconds).
pub(crate) fn failure(error: &Error, extra: ErrorFields) -> Response<Body> {
    let mut response = envelope(error.http_status(), error.status_code(), &error.status_msg(), extra.fields());
    if let Some(seconds) = error.retry_after_secs() {
        response.headers_mut().insert(lambda_http::http::header::RETRY_AFTER, seconds.into());
    }
    response
}

/// Builds `{"status_code":…,"status_msg":…, …fields}` with the JSON content type.
pub fn envelope(http_status: u16, status_code: u32, status_msg: &str, fields: Map<String, Value>) -> Response<Body> {
    let mut body = Map::with_capacity(fields.len() + 2);
    body.insert("status_code".into(), status_code.into());
    body.insert("status_msg".into(), status_msg.into());
    body.extend(fields);
    let text = Value::Object(body).to_string();
    let mut response = Response::new(Body::Text(text));
    *response.status_mut() = lambda_http::http::StatusCode::from_u16(http_status)
        .unwrap_or(lambda_http::http::StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        lambda_http::http::header::CONTENT_TYPE,
        lambda_http::http::HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}
