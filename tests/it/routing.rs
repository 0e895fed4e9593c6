use std::path::PathBuf;

use lambda_http::http::Method;
use tests::TestApp;

#[tokio::test]
async fn unknown_path_is_404_with_the_envelope() {
    let t = TestApp::new().await;
    let reply = t.call(Method::GET, "/douyin/nothing/", &[]).await;
    assert_eq!((reply.http_status, reply.code()), (404, 10004));
    assert!(!reply.msg().is_empty());
}

#[tokio::test]
async fn wrong_method_is_405_with_the_envelope() {
    let t = TestApp::new().await;
    let reply = t.call(Method::GET, "/douyin/user/register/", &[]).await;
    assert_eq!((reply.http_status, reply.code()), (405, 10001));
}

#[tokio::test]
async fn paths_work_without_the_trailing_slash() {
    let t = TestApp::new().await;
    let alice = t.new_user("alice").await;
    let reply = t.call(Method::GET, "/douyin/user", &[("user_id", &alice.id.to_string())]).await;
    reply.ok();
}

#[tokio::test]
async fn a_storage_fault_is_500_with_a_generic_message() {
    let t = TestApp::without_storage().await;
    for reply in [t.register("alice", "password1").await, t.login("alice", "password1").await] {
        assert_eq!((reply.http_status, reply.code()), (500, 50000));
        assert_eq!(reply.msg(), "internal error");
        assert_eq!((reply.body["user_id"].as_u64(), reply.body["token"].as_str()), (Some(0), Some("")));
    }
    let info = t.user(Some(1), None).await;
    assert_eq!((info.http_status, info.code(), info.msg()), (500, 50000, "internal error"));
}

#[tokio::test]
async fn a_panicking_handler_answers_the_500_envelope() {
    let t = TestApp::new().await;
    let endpoint = functions::edge::Endpoint {
        name: "panics",
        method: &Method::GET,
        path: "/douyin/panics/",
        handler: |_, _| Box::pin(async { panic!("boom") }),
        error_fields: functions::edge::ErrorFields::EnvelopeOnly,
    };
    let request = lambda_http::http::Request::builder().uri("/douyin/panics/").body(lambda_http::Body::Empty).unwrap();
    let response = functions::edge::respond(&t.app, &endpoint, request).await;
    assert_eq!(response.status(), 500);
    let body: serde_json::Value = match response.body() {
        lambda_http::Body::Text(text) => serde_json::from_str(text).unwrap(),
        other => panic!("unexpected body {other:?}"),
    };
    assert_eq!(body["status_code"], 50000);
}

/// A stand-in for Lambda's Invoke API on a loopback port: records each
/// (path, event) and answers `answer` (with `X-Amz-Function-Error` when
/// `function_error`).
async fn fake_lambda(
    answer: serde_json::Value,
    function_error: bool,
) -> (String, std::sync::Arc<std::sync::Mutex<Vec<(String, serde_json::Value)>>>) {
    use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = seen.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let mut stream = tokio::io::BufReader::new(stream);
            let mut request_line = String::new();
            stream.read_line(&mut request_line).await.unwrap();
            let mut length = 0;
            loop {
                let mut line = String::new();
                stream.read_line(&mut line).await.unwrap();
                if line.trim().is_empty() {
                    break;
                }
                if let Some((name, value)) = line.split_once(':')
                    && name.eq_ignore_ascii_case("content-length")
                {
                    length = value.trim().parse().unwrap();
                }
            }
            let mut body = vec![0; length];
            stream.read_exact(&mut body).await.unwrap();
            let path = request_line.split_whitespace().nth(1).unwrap().to_owned();
            record.lock().unwrap().push((path, serde_json::from_slice(&body).unwrap()));
            let text = answer.to_string();
            let error = if function_error { "X-Amz-Function-Error: Unhandled\r\n" } else { "" };
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n{error}content-length: {}\r\nconnection: close\r\n\r\n{text}",
                text.len()
            );
            stream.get_mut().write_all(response.as_bytes()).await.unwrap();
        }
    });
    (url, seen)
}

/// `route-fallback` with every endpoint's function named `fn-<word>`, invoking
/// through `lambda_url`.
fn fallback_to(lambda_url: &str) -> functions::fallback::Fallback {
    let words: Vec<String> = functions::routes::ROUTE_KEYS.iter().map(|key| format!("{0}=fn-{0}", key.name)).collect();
    let config =
        shared::config::FallbackConfig::from_lookup(|name| (name == "DOUYIN_ROUTE_FUNCTIONS").then(|| words.join(",")))
            .unwrap();
    let sdk = tests::engines().credentials.sdk_config().to_builder().endpoint_url(lambda_url).build();
    functions::fallback::Fallback::new(&config, Some(shared::invoke::Invoker::new(&sdk))).unwrap()
}

fn default_route_event(method: &str, path: &str) -> lambda_http::lambda_runtime::LambdaEvent<serde_json::Value> {
    let payload = serde_json::json!({
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "username=a&password=b",
        "headers": {"content-type": "text/plain"},
        "requestContext": {"http": {"method": method, "path": path, "sourceIp": "192.0.2.1"}, "stage": "$default"},
        "isBase64Encoded": false
    });
    lambda_http::lambda_runtime::LambdaEvent::new(payload, lambda_http::Context::default())
}

/// API Gateway may send the stock client's `/x/` to `$default` (a route key
/// cannot end in `/`): the fallback passes the event on, unchanged, to the
/// endpoint's function and answers what it answered.
#[tokio::test]
async fn the_fallback_passes_a_contract_request_on_to_its_function_unchanged() {
    let answer = serde_json::json!({"statusCode": 200, "headers": {"content-type": "application/json"},
        "body": "{\"status_code\":0,\"status_msg\":\"success\",\"user_id\":7,\"token\":\"t\"}", "isBase64Encoded": false});
    let (url, seen) = fake_lambda(answer.clone(), false).await;
    let fallback = fallback_to(&url);
    assert!(fallback.passes_on());
    let event = default_route_event("POST", "/douyin/user/register/");
    let sent = event.payload.clone();
    assert_eq!(fallback.answer(event).await, answer);
    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].0, "/2015-03-31/functions/fn-user-register/invocations");
        assert_eq!(seen[0].1, sent, "the event is passed on as it came");
    }
    // Not a contract request: answered here, nothing invoked.
    let refused = fallback.answer(default_route_event("GET", "/favicon.ico")).await;
    assert_eq!(refused["statusCode"], 404);
    let wrong_method = fallback.answer(default_route_event("GET", "/douyin/user/register/")).await;
    assert_eq!(wrong_method["statusCode"], 405);
    assert_eq!(seen.lock().unwrap().len(), 1);
}

/// A function error (a crash, a timeout) behind the fallback is still the
/// contract's envelope for the client, not Lambda's error document.
#[tokio::test]
async fn a_failing_function_behind_the_fallback_answers_the_envelope() {
    let lambda_error = serde_json::json!({"errorType": "Runtime.ExitError", "errorMessage": "arn:aws:secret"});
    let (url, seen) = fake_lambda(lambda_error, true).await;
    let answer = fallback_to(&url).answer(default_route_event("GET", "/douyin/feed/")).await;
    assert_eq!(seen.lock().unwrap()[0].0, "/2015-03-31/functions/fn-feed/invocations");
    assert_eq!(answer["statusCode"], 500);
    let body: serde_json::Value = serde_json::from_str(answer["body"].as_str().unwrap()).unwrap();
    assert_eq!((body["status_code"].as_u64(), body["status_msg"].as_str()), (Some(50000), Some("internal error")));
}

fn functions_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../functions")
}

/// Each endpoint's bin runs that endpoint and is declared in `functions/Cargo.toml`:
/// the route table is the one declaration, the bins follow it.
#[test]
fn every_endpoint_has_its_bin_and_each_bin_runs_its_own_endpoint() {
    let manifest = std::fs::read_to_string(functions_dir().join("Cargo.toml")).unwrap();
    for endpoint in functions::routes::ENDPOINTS {
        let source = std::fs::read_to_string(functions_dir().join(format!("src/bin/{}.rs", endpoint.name)))
            .unwrap_or_else(|error| panic!("functions/src/bin/{}.rs: {error}", endpoint.name));
        let module = endpoint.name.replace('-', "_");
        assert!(
            source.contains(&format!("functions::lambda::run(&functions::routes::{module})")),
            "functions/src/bin/{}.rs does not run routes::{module}",
            endpoint.name
        );
        assert!(
            manifest.contains(&format!(
                "[[bin]]\nname = \"{0}\"\npath = \"src/bin/{0}.rs\"\ntest = false\n",
                endpoint.name
            )),
            "functions/Cargo.toml lacks the [[bin]] of {} (with test = false: its tests live in the library)",
            endpoint.name
        );
    }
}

/// `cargo lambda watch`'s router (`[package.metadata.lambda.watch.router]` in
/// `functions/Cargo.toml`) is the route table: each path with and without its
/// trailing slash, to the endpoint's function, and nothing else.
#[test]
fn the_cargo_lambda_watch_router_is_the_route_table() {
    let manifest = std::fs::read_to_string(functions_dir().join("Cargo.toml")).unwrap();
    let section = manifest
        .split("[package.metadata.lambda.watch.router]\n")
        .nth(1)
        .expect("functions/Cargo.toml has a [package.metadata.lambda.watch.router] section");
    let mut routed = std::collections::BTreeSet::new();
    for line in section.lines().take_while(|line| !line.starts_with('[')) {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        // "PATH" = [{ method = "METHOD", function = "NAME" }]
        let quoted: Vec<&str> = line.split('"').skip(1).step_by(2).collect();
        let [path, method, function] = quoted[..] else { panic!("unexpected router line {line:?}") };
        assert!(line.contains("method = ") && line.contains("function = "), "unexpected router line {line:?}");
        routed.insert((path.to_owned(), method.to_owned(), function.to_owned()));
    }
    let mut expected = std::collections::BTreeSet::new();
    for key in functions::routes::ROUTE_KEYS {
        for path in [key.path, key.path.trim_end_matches('/')] {
            expected.insert((path.to_owned(), key.method.to_string(), key.name.to_owned()));
        }
    }
    assert_eq!(routed, expected);
}
