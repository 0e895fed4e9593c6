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

/// A successful reply: the whole body, `{"status_code":0,"status_msg":"success"`
/// and then the endpoint's keys, serialized once, straight from the
/// endpoint's types (no intermediate `serde_json::Value`: a page of 100
/// comments is ~300 KB, and building a tree of it first cost a second pass).
#[derive(Debug)]
pub struct Reply(String);

/// What every successful body starts with.
const SUCCESS: &str = r#"{"status_code":0,"status_msg":"success""#;

impl Default for Reply {
    fn default() -> Reply {
        Reply(format!("{SUCCESS}}}"))
    }
}

impl Reply {
    /// A reply with no keys beside the envelope.
    pub fn empty() -> Reply {
        Reply::default()
    }

    /// A reply with the fields of `body`, which must serialize to an object
    /// without the envelope's own keys.
    pub fn with(body: &impl Serialize) -> shared::Result<Reply> {
        let mut text = Vec::with_capacity(256);
        text.extend_from_slice(SUCCESS.as_bytes());
        let start = text.len();
        serde_json::to_writer(&mut text, body)
            .map_err(|error| Error::Internal(anyhow::Error::new(error).context("encode reply")))?;
        match (text.get(start), text.get(start + 1)) {
            // `{}`: the envelope alone, closed.
            (Some(b'{'), Some(b'}')) => {
                text.truncate(start);
                text.push(b'}');
            }
            // `{"key":…}`: its keys after the envelope's (the object's brace
            // becomes the comma between), closed by the object's own brace.
            (Some(b'{'), _) => text[start] = b',',
            _ => return Err(Error::Internal(anyhow::anyhow!("reply body is not an object"))),
        }
        String::from_utf8(text).map(Reply).map_err(|error| Error::Internal(anyhow::Error::new(error)))
    }
}

/// The HTTP response of a successful reply.
pub(crate) fn success(reply: Reply) -> Response<Body> {
    json_response(200, reply.0)
}

/// Why a request ends in an error: what a handler (or a parameter) refused,
/// or what the edge refused before any handler ran. [`Failure::statuses`] is
/// the one place an error gets its HTTP status and the contract's
/// `status_code`; every error answer is built from it by [`failure`].
#[derive(Debug)]
pub enum Failure<'a> {
    /// An error of the domain or of the request's parameters.
    Refused(&'a Error),
    /// No endpoint has this path.
    NoSuchEndpoint,
    /// A contract path asked with another method.
    WrongMethod,
    /// The HTTP request itself, refused before routing (the local server's
    /// limits): its kind, and what the client is told.
    Protocol(Protocol, String),
}

/// How an HTTP request can fail before routing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// The request target is too long.
    UriTooLong,
    /// The head (headers) is too large or has too many fields.
    HeadersTooLarge,
    /// Not valid HTTP/1.x framing (length, encoding, syntax), or a body cut off.
    Malformed,
    /// The head or body did not arrive in time.
    Timeout,
}

impl Failure<'_> {
    /// The HTTP status and the contract's `status_code`. HTTP 200 for every
    /// error the caller caused in a request we understood, 429 when rate
    /// limited, 500 for our faults; the HTTP errors of routing and framing.
    pub fn statuses(&self) -> (u16, u32) {
        match self {
            Failure::Refused(error @ Error::RateLimited { .. }) => (429, error.status_code()),
            Failure::Refused(error @ Error::Internal(_)) => (500, error.status_code()),
            Failure::Refused(error) => (200, error.status_code()),
            Failure::NoSuchEndpoint => (404, 10004),
            Failure::WrongMethod => (405, 10001),
            Failure::Protocol(Protocol::UriTooLong, _) => (414, 10001),
            Failure::Protocol(Protocol::HeadersTooLarge, _) => (431, 10001),
            Failure::Protocol(Protocol::Malformed, _) => (400, 10001),
            Failure::Protocol(Protocol::Timeout, _) => (408, 10001),
        }
    }

    fn status_msg(&self) -> String {
        match self {
            Failure::Refused(error) => error.status_msg(),
            Failure::NoSuchEndpoint => "no such endpoint".to_owned(),
            Failure::WrongMethod => "method not allowed on this path".to_owned(),
            Failure::Protocol(_, message) => message.clone(),
        }
    }
}

/// The HTTP response of a failure; a rate limit also says when to come back
/// (`Retry-After`, seconds).
pub fn failure(failure: &Failure<'_>, extra: ErrorFields) -> Response<Body> {
    let (http_status, status_code) = failure.statuses();
    let mut response = envelope(http_status, status_code, &failure.status_msg(), extra.fields());
    if let Failure::Refused(error) = failure
        && let Some(seconds) = error.retry_after_secs()
    {
        response.headers_mut().insert(lambda_http::http::header::RETRY_AFTER, seconds.into());
    }
    response
}

/// The HTTP response of an internal error (its cause is logged by the caller).
pub fn internal_error() -> Response<Body> {
    failure(&Failure::Refused(&Error::Internal(anyhow::anyhow!("internal error"))), ErrorFields::EnvelopeOnly)
}

/// Builds `{"status_code":…,"status_msg":…, …fields}` with the JSON content type.
fn envelope(http_status: u16, status_code: u32, status_msg: &str, fields: Map<String, Value>) -> Response<Body> {
    let mut body = Map::with_capacity(fields.len() + 2);
    body.insert("status_code".into(), status_code.into());
    body.insert("status_msg".into(), status_msg.into());
    body.extend(fields);
    json_response(http_status, Value::Object(body).to_string())
}

/// A JSON body `text` with `http_status`.
fn json_response(http_status: u16, text: String) -> Response<Body> {
    let mut response = Response::new(Body::Text(text));
    *response.status_mut() = lambda_http::http::StatusCode::from_u16(http_status)
        .unwrap_or(lambda_http::http::StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        lambda_http::http::header::CONTENT_TYPE,
        lambda_http::http::HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caller_errors_answer_http_200_except_rate_limits_and_our_faults() {
        assert_eq!(Failure::Refused(&Error::invalid("user_id", "must be a number")).statuses(), (200, 10001));
        assert_eq!(Failure::Refused(&Error::BadCredentials).statuses(), (200, 10006));
        let limited = Error::RateLimited { what: "login attempts from this address", retry_after_secs: 42 };
        assert_eq!(Failure::Refused(&limited).statuses(), (429, 10008));
        let response = failure(&Failure::Refused(&limited), ErrorFields::EnvelopeOnly);
        assert_eq!(response.headers()[lambda_http::http::header::RETRY_AFTER], "42");
        let internal = Error::Internal(anyhow::anyhow!("secret table arn"));
        assert_eq!(Failure::Refused(&internal).statuses(), (500, 50000));
        let Body::Text(text) = internal_error().into_body() else { panic!("a text body") };
        assert_eq!(text, r#"{"status_code":50000,"status_msg":"internal error"}"#);
    }

    #[test]
    fn routing_and_framing_failures_have_their_http_errors_and_10001_or_10004() {
        assert_eq!(Failure::NoSuchEndpoint.statuses(), (404, 10004));
        assert_eq!(Failure::WrongMethod.statuses(), (405, 10001));
        for (kind, status) in [
            (Protocol::UriTooLong, 414),
            (Protocol::HeadersTooLarge, 431),
            (Protocol::Malformed, 400),
            (Protocol::Timeout, 408),
        ] {
            let response = failure(&Failure::Protocol(kind, "why".into()), ErrorFields::Session);
            assert_eq!(response.status().as_u16(), status);
            let Body::Text(text) = response.into_body() else { panic!("a text body") };
            let body: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(body, serde_json::json!({"status_code": 10001, "status_msg": "why", "user_id": 0, "token": ""}));
        }
    }

    fn text_of(reply: Reply) -> String {
        let Body::Text(text) = success(reply).into_body() else { panic!("a text body") };
        text
    }

    #[test]
    fn a_reply_is_the_envelope_then_the_endpoints_keys_in_one_object() {
        #[derive(Serialize)]
        struct Page<'a> {
            video_list: Vec<u32>,
            next_time: u64,
            note: &'a str,
        }
        let page = Page { video_list: vec![1, 2], next_time: 7, note: "a \"quoted\" {brace}" };
        let text = text_of(Reply::with(&page).unwrap());
        assert_eq!(
            text,
            r#"{"status_code":0,"status_msg":"success","video_list":[1,2],"next_time":7,"note":"a \"quoted\" {brace}"}"#
        );
        assert_eq!(text_of(Reply::empty()), r#"{"status_code":0,"status_msg":"success"}"#);
        #[derive(Serialize)]
        struct Nothing {}
        assert_eq!(text_of(Reply::with(&Nothing {}).unwrap()), r#"{"status_code":0,"status_msg":"success"}"#);
        assert!(Reply::with(&[1, 2]).is_err(), "not an object");
        assert!(Reply::with(&"text").is_err(), "not an object");
    }
}
