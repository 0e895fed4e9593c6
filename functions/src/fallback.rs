//! `route-fallback`, the function behind API Gateway's `$default` route.
//!
//! A path outside the contract gets the contract's 404 (10004), a contract
//! path with the wrong method its 405 (10001). A contract request that reached
//! `$default` anyway is passed on, as it came, to its endpoint's function:
//! HTTP API route keys cannot end in `/` (a route `/x/` is dropped at import),
//! and the stock client calls `/x/`, which API Gateway may or may not match to
//! the route `/x` (docs/decisions.md, "Routes without a trailing slash"). The
//! client does not follow redirects on POST, so passing the event on is the
//! one answer that works either way.
//!
//! Routing uses [`route_kind`] over [`crate::routes::ROUTE_KEYS`], never the
//! handlers: this binary must not link every endpoint's code.

use lambda_http::lambda_runtime::LambdaEvent;
use lambda_http::{Body, Response};
use serde_json::{Map, Value};
use shared::config::FallbackConfig;
use shared::invoke::Invoker;

use crate::routes::{ROUTE_KEYS, RouteKind, route_kind};

/// The fallback's state, made at cold start.
#[derive(Debug)]
pub struct Fallback {
    /// Each route's function, by position in [`ROUTE_KEYS`]; empty when
    /// nothing is passed on.
    targets: Vec<String>,
    invoker: Option<Invoker>,
}

impl Fallback {
    /// The fallback of `config`. Every word must be an endpoint's, and when
    /// any is given, every endpoint must have its function: a stack that
    /// names some but not all would answer 404 for the rest.
    pub fn new(config: &FallbackConfig, invoker: Option<Invoker>) -> anyhow::Result<Fallback> {
        let targets = targets(config)?;
        if targets.is_empty() {
            return Ok(Fallback { targets, invoker: None });
        }
        let Some(invoker) = invoker else { anyhow::bail!("functions to pass requests on to, but no Lambda client") };
        Ok(Fallback { targets, invoker: Some(invoker) })
    }

    /// Whether contract requests are passed on.
    pub fn passes_on(&self) -> bool {
        self.invoker.is_some()
    }

    /// The answer to one API Gateway (HTTP API, v2) event, as the v2 response
    /// JSON: the endpoint function's own answer when the request is passed
    /// on, else the 404/405 envelope.
    pub async fn answer(&self, event: LambdaEvent<Value>) -> Value {
        let payload = event.payload;
        let method = payload.pointer("/requestContext/http/method").and_then(Value::as_str).unwrap_or_default();
        let path = payload.get("rawPath").and_then(Value::as_str).unwrap_or_default();
        let method = lambda_http::http::Method::from_bytes(method.as_bytes()).unwrap_or_default();
        let kind = route_kind(&method, path);
        let target = match kind {
            RouteKind::Endpoint(index) => self.targets.get(index).zip(self.invoker.as_ref()),
            _ => None,
        };
        let Some((function, invoker)) = target else {
            let wrong_method = kind == RouteKind::WrongMethod;
            let status_code = if wrong_method { 10001 } else { 10004 };
            tracing::info!(status_code, path, "request refused");
            return v2_response(crate::edge::no_route(wrong_method));
        };
        let deadline = (event.context.deadline > 0)
            .then(|| shared::deadline::from_epoch_ms(event.context.deadline, crate::edge::ANSWER_RESERVE));
        let bytes = serde_json::to_vec(&payload).unwrap_or_default();
        let answer = shared::deadline::scope(deadline, invoker.invoke(function, bytes)).await;
        let failure = match answer {
            Some(Ok(answer)) => match serde_json::from_slice::<Value>(&answer) {
                Ok(answer) => {
                    tracing::info!(path, function = function.as_str(), "request passed on");
                    return answer;
                }
                Err(error) => anyhow::anyhow!("{function} answered non-JSON: {error}"),
            },
            Some(Err(error)) => anyhow::Error::from(error),
            None => anyhow::anyhow!("{function} did not answer before the deadline"),
        };
        tracing::error!(path, error = format!("{failure:#}"), "request not passed on");
        v2_response(crate::edge::reply::internal_error())
    }
}

/// Each endpoint's function, in the order of [`ROUTE_KEYS`], from `config`
/// (empty: nothing is passed on). Refused, as the cold start refuses them: a
/// word that is not an endpoint, and a map that misses an endpoint. The
/// rehearsal checks a deployed environment with this too (`config-check`).
pub fn targets(config: &FallbackConfig) -> anyhow::Result<Vec<String>> {
    if let Some((word, _)) =
        config.route_functions.iter().find(|(word, _)| !ROUTE_KEYS.iter().any(|key| key.name == word))
    {
        anyhow::bail!("DOUYIN_ROUTE_FUNCTIONS: {word} is not an endpoint");
    }
    if config.route_functions.is_empty() {
        return Ok(Vec::new());
    }
    ROUTE_KEYS
        .iter()
        .map(|key| match config.route_functions.iter().find(|(word, _)| word == key.name) {
            Some((_, function)) => Ok(function.clone()),
            None => anyhow::bail!("DOUYIN_ROUTE_FUNCTIONS: no function for {}", key.name),
        })
        .collect()
}

/// An HTTP response as API Gateway's v2 (HTTP API, payload 2.0) response JSON.
pub fn v2_response(response: Response<Body>) -> Value {
    let (parts, body) = response.into_parts();
    let headers: Map<String, Value> = parts
        .headers
        .iter()
        .filter_map(|(name, value)| Some((name.as_str().to_owned(), Value::from(value.to_str().ok()?))))
        .collect();
    let body = match body {
        Body::Text(text) => text,
        Body::Binary(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        _ => String::new(),
    };
    serde_json::json!({
        "statusCode": parts.status.as_u16(),
        "headers": headers,
        "body": body,
        "isBase64Encoded": false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(method: &str, path: &str) -> LambdaEvent<Value> {
        let payload = serde_json::json!({
            "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "",
            "requestContext": {"http": {"method": method, "path": path}}
        });
        LambdaEvent::new(payload, lambda_http::Context::default())
    }

    fn status_of(answer: &Value) -> (u64, u64) {
        let body: Value = serde_json::from_str(answer["body"].as_str().unwrap()).unwrap();
        (answer["statusCode"].as_u64().unwrap(), body["status_code"].as_u64().unwrap())
    }

    #[tokio::test]
    async fn without_functions_it_answers_the_contracts_404_and_405() {
        let fallback = Fallback::new(&FallbackConfig::from_lookup(|_| None).unwrap(), None).unwrap();
        assert!(!fallback.passes_on());
        assert_eq!(status_of(&fallback.answer(event("GET", "/favicon.ico")).await), (404, 10004));
        assert_eq!(status_of(&fallback.answer(event("GET", "/douyin/user/register/")).await), (405, 10001));
        let answer = fallback.answer(event("GET", "/nope")).await;
        assert_eq!(answer["headers"]["content-type"], "application/json; charset=utf-8");
    }

    #[test]
    fn every_endpoint_needs_its_function_and_every_word_an_endpoint() {
        let some = FallbackConfig::from_lookup(|name| {
            (name == "DOUYIN_ROUTE_FUNCTIONS").then(|| "feed=stack-FeedFunction-1".to_owned())
        })
        .unwrap();
        let error = Fallback::new(&some, None).unwrap_err().to_string();
        assert!(error.contains("no function for user-register"), "{error}");
        let unknown = FallbackConfig::from_lookup(|name| {
            (name == "DOUYIN_ROUTE_FUNCTIONS").then(|| "feeds=stack-FeedFunction-1".to_owned())
        })
        .unwrap();
        assert!(Fallback::new(&unknown, None).unwrap_err().to_string().contains("feeds is not an endpoint"));
    }
}
