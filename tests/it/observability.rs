//! What an invocation leaves behind: one EMF metrics line (valid per the
//! embedded metric format, with the counts of what happened) and JSON log
//! lines carrying the Lambda request id, the X-Ray trace id, the route, the
//! caller and the outcome, never a secret.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use aws_lambda_events::event::s3::S3Event;
use aws_lambda_events::event::sqs::SqsEvent;
use lambda_http::http::Method;
use lambda_http::{Body, Context, LambdaEvent};
use serde_json::{Value, json};
use shared::chat::ChatConsumer;
use shared::metrics::Emitter;
use shared::store::NewMessage;
use tests::http::put_ticket;
use tests::{HeldQueue, TestApp, fixture, form_encode};

/// An application whose metrics lines are kept, and whose chat is held.
async fn observed(function_name: Option<&str>) -> TestApp {
    let mut t = TestApp::new().await;
    t.app.metrics = Emitter::in_memory(function_name.map(str::to_owned));
    t.app.chat_queue = Some(Arc::new(HeldQueue::default()));
    t
}

fn context(request_id: &str) -> Context {
    let mut context = Context::default();
    context.request_id = request_id.to_owned();
    context.xray_trace_id =
        Some(format!("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1;Id={request_id}"));
    context
}

/// Checks `line` against the embedded metric format's specification and
/// returns it parsed: `_aws.Timestamp` in milliseconds, directives with the
/// namespace, dimension sets whose every dimension is a string member of the
/// root, and metrics with a name, a unit and a number member of the root.
fn valid_emf(line: &str) -> Value {
    let emf: Value = serde_json::from_str(line).unwrap_or_else(|error| panic!("not JSON ({error}): {line}"));
    let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
    let timestamp = emf["_aws"]["Timestamp"].as_u64().unwrap_or_else(|| panic!("no _aws.Timestamp: {line}"));
    assert!(now_ms - 60_000 < timestamp && timestamp <= now_ms, "{line}");
    let directives = emf["_aws"]["CloudWatchMetrics"].as_array().unwrap_or_else(|| panic!("{line}"));
    assert!(!directives.is_empty(), "{line}");
    for directive in directives {
        assert_eq!(directive["Namespace"], "DouyinServerless", "{line}");
        let sets = directive["Dimensions"].as_array().unwrap();
        assert!(!sets.is_empty(), "{line}");
        for set in sets {
            let set = set.as_array().unwrap();
            assert!(!set.is_empty() && set.len() <= 30, "{line}");
            for dimension in set {
                let dimension = dimension.as_str().unwrap();
                assert!(emf[dimension].as_str().is_some_and(|v| !v.is_empty()), "dimension {dimension}: {line}");
            }
        }
        let metrics = directive["Metrics"].as_array().unwrap();
        assert!(!metrics.is_empty() && metrics.len() <= 100, "{line}");
        for metric in metrics {
            let name = metric["Name"].as_str().unwrap();
            assert!(["Count", "Milliseconds"].contains(&metric["Unit"].as_str().unwrap()), "{line}");
            assert!(emf[name].is_number(), "metric {name} has no value: {line}");
        }
    }
    emf
}

/// The lines' metrics summed by (function, metric, code).
fn sums(lines: &[String]) -> BTreeMap<(String, String, String), f64> {
    let mut sums = BTreeMap::new();
    for line in lines {
        let emf = valid_emf(line);
        let function = emf["FunctionName"].as_str().unwrap().to_owned();
        for directive in emf["_aws"]["CloudWatchMetrics"].as_array().unwrap() {
            let by_code = directive["Dimensions"][0].as_array().unwrap().iter().any(|d| d == "Code");
            for metric in directive["Metrics"].as_array().unwrap() {
                let name = metric["Name"].as_str().unwrap().to_owned();
                let code = if by_code { emf["Code"].as_str().unwrap().to_owned() } else { String::new() };
                *sums.entry((function.clone(), name.clone(), code)).or_default() += emf[&name].as_f64().unwrap();
            }
        }
    }
    sums
}

fn sum(sums: &BTreeMap<(String, String, String), f64>, function: &str, metric: &str, code: &str) -> f64 {
    sums.get(&(function.to_owned(), metric.to_owned(), code.to_owned())).copied().unwrap_or(0.0)
}

#[tokio::test]
async fn a_scenario_writes_one_valid_emf_line_per_request_with_what_happened() {
    let t = observed(None).await;
    let ann = t.new_user("ann").await;
    let ben = t.new_user("ben").await;
    t.login("ann", "password1").await.ok();
    assert_eq!(t.login("ann", "wrong-password").await.code(), 10006);
    let video = t.new_video(&ann.token, "clip").await; // publish + publish list
    assert_eq!(t.publish(&ann.token, "junk", &fixture("not-a-video.mp4")).await.code(), 10007);
    t.favorite(&ben.token, video, 1).await.ok();
    t.favorite(&ben.token, video, 1).await.ok(); // a repeat: no new like
    assert_eq!(t.favorite("not-a-token", video, 1).await.code(), 10002);
    t.comment(&ben.token, video, "nice").await.ok();
    t.relation(&ben.token, ann.id, 1).await.ok();
    t.relation(&ben.token, ann.id, 1).await.ok(); // a repeat: no new follow
    t.send_message(&ben.token, ann.id, "hi").await.ok();
    let requests = 14;

    let lines = t.app.metrics.lines();
    assert_eq!(lines.len(), requests, "one line per request: {lines:#?}");
    let sums = sums(&lines);
    let expected = [
        ("user-register", "Registrations", "", 2.0),
        ("user-login", "Logins", "", 1.0),
        ("user-login", "Errors", "10006", 1.0),
        ("publish-action", "UploadsAccepted", "", 1.0),
        ("publish-action", "UploadsRejected", "", 1.0),
        ("publish-action", "Errors", "10007", 1.0),
        ("favorite-action", "Likes", "", 1.0),
        ("favorite-action", "Errors", "10002", 1.0),
        ("comment-action", "Comments", "", 1.0),
        ("relation-action", "Follows", "", 1.0),
        ("message-action", "MessagesSent", "", 1.0),
        ("message-action", "MessagesPersisted", "", 1.0),
    ];
    for (function, metric, code, value) in expected {
        assert_eq!(sum(&sums, function, metric, code), value, "{function} {metric} {code}: {sums:#?}");
    }
    let business: BTreeSet<&str> = expected.iter().map(|(_, metric, _, _)| *metric).collect();
    for ((function, metric, code), value) in &sums {
        let known = business.contains(metric.as_str()) || metric == "HandlerLatency";
        assert!(known || metric == "TransactionConflicts", "unexpected {function} {metric} {code} = {value}");
        if metric == "Errors" {
            assert!(expected.contains(&(function.as_str(), "Errors", code.as_str(), *value)), "{function} {code}");
        }
    }
    for line in &lines {
        let emf = valid_emf(line);
        assert!(emf["HandlerLatency"].as_f64().unwrap() > 0.0, "every request has its latency: {line}");
    }
}

#[tokio::test]
async fn the_function_name_dimension_is_the_lambda_functions_and_ids_are_on_the_line() {
    let t = observed(Some("douyin-prod-UserRegisterFunction-AbC123")).await;
    let mut request = lambda_http::http::Request::builder()
        .method(Method::POST)
        .uri("/douyin/user/register/")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::Text(form_encode(&[("username", "ann"), ("password", "password1")])))
        .unwrap();
    request.extensions_mut().insert(context("req-1"));
    t.send(request).await.ok();
    let lines = t.app.metrics.lines();
    let emf = valid_emf(&lines[0]);
    assert_eq!(emf["FunctionName"], "douyin-prod-UserRegisterFunction-AbC123");
    assert_eq!(emf["Registrations"], 1);
    assert_eq!(emf["request_id"], "req-1");
    assert!(emf["trace_id"].as_str().unwrap().starts_with("Root=1-5759e988"));
}

/// The chat consumer and the presigned ingest, as their Lambda functions run
/// them: one line per invocation with what that invocation did.
#[tokio::test]
async fn the_consumer_and_the_ingest_count_what_they_stored() {
    let t = observed(None).await;
    let ann = t.new_user("ann").await;
    let ben = t.new_user("ben").await;
    let before = t.app.metrics.lines().len();

    // A message the send path never wrote, delivered twice: persisted once.
    let message =
        NewMessage { id: 9_000_001, from_user_id: ann.id, to_user_id: ben.id, content: "hi".into(), sent_at: 1 };
    let body = serde_json::to_string(&message).unwrap();
    let batch: SqsEvent =
        serde_json::from_value(json!({"Records": [{"messageId": "m1", "body": body, "attributes": {}}]})).unwrap();
    let consumer = ChatConsumer::new(&t.app);
    for attempt in ["req-c1", "req-c2"] {
        let event = LambdaEvent::new(batch.clone(), context(attempt));
        let response = functions::lambda::consume(&t.app, "message-consumer", &consumer, event).await;
        assert!(response.batch_item_failures.is_empty());
    }
    let lines = t.app.metrics.lines()[before..].to_vec();
    assert_eq!(lines.len(), 1, "the second delivery stored nothing and measured nothing: {lines:#?}");
    let emf = valid_emf(&lines[0]);
    assert_eq!((emf["FunctionName"].as_str(), emf["MessagesPersisted"].as_u64()), (Some("message-consumer"), Some(1)));
    assert_eq!(emf["request_id"], "req-c1");

    // A presigned upload that is a video, then one that is not.
    for (title, clip) in [("good", "h264-320x240-2s.mp4"), ("junk", "not-a-video.mp4")] {
        let clip = fixture(clip);
        let ticket = t.start_upload(&ann.token, title, "video/mp4", clip.len()).await.ok().clone();
        assert_eq!(put_ticket(&ticket, &clip).await.status, 200);
        let key = format!("uploads/{}", ticket["video_id"].as_u64().unwrap());
        let event: S3Event = functions::video_ingest::created_event(&t.app.config.media_bucket, &key, 0);
        functions::lambda::ingest(&t.app, LambdaEvent::new(event, context(title))).await.unwrap();
    }
    let ingested: Vec<Value> = t
        .app
        .metrics
        .lines()
        .iter()
        .map(|line| valid_emf(line))
        .filter(|emf| emf["FunctionName"] == "video-ingest")
        .collect();
    assert_eq!(ingested.len(), 2);
    assert_eq!((ingested[0]["UploadsAccepted"].as_u64(), ingested[0]["request_id"].as_str()), (Some(1), Some("good")));
    assert_eq!((ingested[1]["UploadsRejected"].as_u64(), ingested[1]["request_id"].as_str()), (Some(1), Some("junk")));
}

/// Log lines written while `work` runs on this thread, as the Lambda
/// functions write them (`telemetry::json`), parsed.
async fn json_logs<F: std::future::Future>(work: F) -> (F::Output, Vec<Value>) {
    let buffer = tests::logs::LogBuffer::default();
    let writer = buffer.clone();
    let output = {
        // The test runtime runs everything on this thread: every line of the
        // work comes here, and no other test's.
        let _guard = tracing::subscriber::set_default(shared::telemetry::json("info", writer));
        work.await
    };
    let text = buffer.text();
    let lines = text.lines().map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"))).collect();
    (output, lines)
}

/// A request as Lambda delivers it: with the invocation's context.
fn lambda_request(method: Method, path: &str, params: &[(&str, &str)], request_id: &str) -> lambda_http::Request {
    let uri = format!("{path}?{}", form_encode(params));
    let mut request = lambda_http::http::Request::builder().method(method).uri(uri).body(Body::Empty).unwrap();
    request.extensions_mut().insert(context(request_id));
    request
}

fn served(lines: &[Value], request_id: &str) -> Value {
    let mine: Vec<&Value> = lines.iter().filter(|line| line["span"]["request_id"] == request_id).collect();
    let last = mine.iter().rev().find(|line| line["fields"]["latency_ms"].is_number());
    last.copied().cloned().unwrap_or_else(|| panic!("no closing line for {request_id}: {lines:#?}"))
}

#[tokio::test]
async fn a_requests_json_log_line_has_its_ids_route_caller_latency_and_outcome_and_no_secret() {
    let t = observed(None).await;
    let ann = t.new_user("ann").await;
    let ((), lines) = json_logs(async {
        let login = [("username", "ann"), ("password", "password1")];
        t.send(lambda_request(Method::POST, "/douyin/user/login/", &login, "req-login")).await.ok();
        let params = [("token", ann.token.as_str()), ("video_id", "424242"), ("action_type", "1")];
        let refused = t.send(lambda_request(Method::POST, "/douyin/favorite/action/", &params, "req-like")).await;
        assert_eq!(refused.code(), 10004);
    })
    .await;

    let login = served(&lines, "req-login");
    assert_eq!(login["level"], "INFO");
    assert_eq!(login["span"]["route"], "user-login");
    assert_eq!(login["span"]["user_id"], ann.id);
    assert!(login["span"]["trace_id"].as_str().unwrap().contains("Id=req-login"), "{login}");
    assert_eq!(login["fields"]["status_code"], 0);
    assert!(login["fields"]["latency_ms"].as_f64().unwrap() > 0.0);

    let like = served(&lines, "req-like");
    assert_eq!(
        (like["span"]["route"].as_str(), like["span"]["user_id"].as_u64()),
        (Some("favorite-action"), Some(ann.id))
    );
    assert_eq!(like["fields"]["status_code"], 10004);
    assert!(like["fields"]["reason"].as_str().is_some(), "{like}");

    let text = serde_json::to_string(&lines).unwrap();
    assert!(!text.contains("password1") && !text.contains(&ann.token), "a secret reached the log: {text}");
    for line in &lines {
        let invocation = invocation_span(line);
        assert!(invocation["request_id"].is_string() && invocation["trace_id"].is_string(), "{line}");
    }
}

/// The invocation's span among the line's open spans.
fn invocation_span(line: &Value) -> &Value {
    let spans = line["spans"].as_array().unwrap_or_else(|| panic!("no spans: {line}"));
    spans.iter().find(|span| span["name"] == "request").unwrap_or_else(|| panic!("outside an invocation: {line}"))
}

#[tokio::test]
async fn a_line_inside_a_nested_span_still_carries_the_invocations_ids() {
    let ((), lines) = json_logs(async {
        let invocation = functions::invocation::span("feed", Some(&context("req-nested")));
        let call = tracing::info_span!(parent: &invocation, "invoke", service = "dynamodb");
        call.in_scope(|| tracing::info!("inside a call"));
    })
    .await;
    let line = lines.iter().find(|line| line["fields"]["message"] == "inside a call").unwrap();
    assert_eq!(line["span"]["name"], "invoke", "the innermost span is the call's");
    let invocation = invocation_span(line);
    assert_eq!((invocation["request_id"].as_str(), invocation["route"].as_str()), (Some("req-nested"), Some("feed")));
    assert!(invocation["trace_id"].as_str().unwrap().starts_with("Root=1-"), "{line}");
}

#[tokio::test]
async fn an_internal_errors_cause_is_logged_and_never_answered() {
    let mut t = TestApp::without_storage().await;
    t.app.metrics = Emitter::in_memory(None);
    let (reply, lines) = json_logs(t.send(lambda_request(Method::GET, "/douyin/feed/", &[], "req-feed"))).await;
    assert_eq!(reply.code(), 50000);
    let failed = served(&lines, "req-feed");
    assert_eq!((failed["level"].as_str(), failed["fields"]["status_code"].as_u64()), (Some("ERROR"), Some(50000)));
    let cause = failed["fields"]["error"].as_str().unwrap();
    assert!(!cause.is_empty() && cause != "internal error", "{failed}");
    assert_eq!(reply.msg(), "internal error", "the cause stays in the log");
    let emf = valid_emf(&t.app.metrics.lines()[0]);
    assert_eq!((emf["Code"].as_str(), emf["Errors"].as_u64()), (Some("50000"), Some(1)));
}
