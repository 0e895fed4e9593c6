//! The Lambda host, driven over its HTTP API (Lambda's Invoke API) the way
//! the rehearsal and the AWS SDK call it, against `rehearsal-test-bootstrap`
//! (a real `lambda_runtime` program) and one real function, `route-fallback`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use rehearsal::config::{Credentials, FunctionConfig};
use rehearsal::{Host, LaunchOptions};
use serde_json::{Value, json};
use tests::http::{Response, send};
use tokio::sync::oneshot;

const BOOTSTRAP: &str = env!("CARGO_BIN_EXE_rehearsal-test-bootstrap");

/// A host serving `functions` on a free port, its logs in a temporary folder.
struct Harness {
    address: SocketAddr,
    logs: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
    served: tokio::task::JoinHandle<()>,
}

impl Harness {
    async fn start(functions: Vec<FunctionConfig>) -> Harness {
        let logs = tempfile::tempdir().unwrap();
        let host = Host::new(functions, Some("us-east-1".into()), None, &LaunchOptions::new(logs.path()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let served = tokio::spawn({
            let host = Arc::clone(&host);
            async move {
                host.serve(listener, async {
                    let _ = stopped.await;
                })
                .await
            }
        });
        Harness { address, logs, stop: Some(stop), served }
    }

    async fn invoke(&self, function: &str, payload: Value) -> Response {
        self.invoke_with(function, &[], payload.to_string().as_bytes()).await
    }

    async fn invoke_with(&self, function: &str, headers: &[(&str, &str)], body: &[u8]) -> Response {
        let headers: Vec<(String, String)> = headers.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        send(self.address, "POST", &format!("/2015-03-31/functions/{function}/invocations"), &headers, body).await
    }

    async fn stats(&self, function: &str) -> Value {
        let response = send(self.address, "GET", "/_host/stats", &[], b"").await;
        assert_eq!(response.status, 200);
        response.json()["functions"][function].clone()
    }

    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(Duration::from_secs(10), &mut self.served).await.unwrap().unwrap();
    }
}

fn function(name: &str, init: Option<&str>) -> FunctionConfig {
    let mut config = FunctionConfig::new(name, BOOTSTRAP, Some("us-east-1"));
    config.timeout = Duration::from_secs(10);
    config.env.insert("DOUYIN_TABLE".into(), "douyin".into());
    if let Some(init) = init {
        config.env.insert("TEST_BOOTSTRAP_INIT".into(), init.into());
    }
    config
}

/// The function's answer, checked to be a success.
fn ok(response: &Response) -> Value {
    assert_eq!(response.status, 200, "{:?}", String::from_utf8_lossy(&response.body));
    assert_eq!(response.header("x-amz-function-error"), None, "{:?}", String::from_utf8_lossy(&response.body));
    assert_eq!(response.header("x-amz-executed-version"), Some("$LATEST"));
    response.json()
}

/// The function error's `(errorType, errorMessage)`, checked to be Lambda's shape.
fn failed(response: &Response) -> (String, String) {
    assert_eq!(response.status, 200, "{:?}", String::from_utf8_lossy(&response.body));
    assert_eq!(response.header("x-amz-function-error"), Some("Unhandled"));
    let body = response.json();
    (body["errorType"].as_str().unwrap().to_owned(), body["errorMessage"].as_str().unwrap().to_owned())
}

fn pid(response: &Response) -> u64 {
    ok(response)["pid"].as_u64().unwrap()
}

/// Whether the process is gone (a zombie nobody reaps counts as gone).
fn gone(pid: u64) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat.rsplit(')').next().is_some_and(|rest| rest.trim_start().starts_with('Z')),
    }
}

/// Waits (at most 10 s) until `condition` holds.
async fn eventually(what: &str, mut condition: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !condition().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_cold_then_a_warm_invocation_reuse_one_instance() {
    let harness = Harness::start(vec![function("f", None)]).await;
    let first = harness.invoke("f", json!({"action": "pid"})).await;
    let second = harness.invoke("f", json!({"action": "pid"})).await;
    assert_eq!(pid(&first), pid(&second), "the warm invocation ran on the same process");
    assert_ne!(first.header("x-amzn-requestid"), second.header("x-amzn-requestid"));

    let stats = harness.stats("f").await;
    assert_eq!((stats["invocations"].as_u64(), stats["cold_starts"].as_u64()), (Some(2), Some(1)));
    assert_eq!(stats["live_instances"], 1);
    let records = stats["records"].as_array().unwrap();
    assert_eq!((records[0]["cold"].as_bool(), records[1]["cold"].as_bool()), (Some(true), Some(false)));
    assert!(records[0]["init_ms"].as_f64().unwrap() > 0.0);
    assert!(records[1]["init_ms"].is_null());
    assert!(records.iter().all(|r| r["outcome"] == "ok" && r["duration_ms"].as_f64().is_some()));
    // The instance's output and Lambda's platform lines are in its log.
    let log = std::fs::read_to_string(stats["instances"][0]["log"].as_str().unwrap()).unwrap();
    let id = first.header("x-amzn-requestid").unwrap();
    assert!(log.contains(&format!("START RequestId: {id} Version: $LATEST")), "{log}");
    assert!(log.contains(&format!("REPORT RequestId: {id}")) && log.contains("Init Duration"), "{log}");
    assert!(stats["instances"][0]["log"].as_str().unwrap().starts_with(harness.logs.path().to_str().unwrap()));
    harness.stop().await;
}

#[tokio::test]
async fn concurrent_invocations_get_an_instance_each() {
    let harness = Harness::start(vec![function("f", None)]).await;
    let gate = harness.logs.path().join("gate");
    let held = harness.invoke("f", json!({"action": "hold", "path": gate}));
    // The first invocation cannot finish before the second has: the gate
    // opens only once the second has answered, so they overlap.
    let other = async {
        let other = harness.invoke("f", json!({"action": "pid"})).await;
        std::fs::write(&gate, "open").unwrap();
        other
    };
    let (held, other) = tokio::join!(held, other);
    assert_ne!(pid(&held), pid(&other));
    let stats = harness.stats("f").await;
    assert_eq!((stats["cold_starts"].as_u64(), stats["live_instances"].as_u64()), (Some(2), Some(2)));
    harness.stop().await;
}

#[tokio::test]
async fn beyond_max_instances_invocations_wait_in_line() {
    let mut config = function("f", None);
    config.max_instances = 1;
    let harness = Harness::start(vec![config]).await;
    let gate = harness.logs.path().join("gate");
    let held = harness.invoke("f", json!({"action": "hold", "path": gate}));
    let queued = async {
        // Both are in flight on one instance: the second waits for it.
        eventually("two invocations are in flight", async || harness.stats("f").await["in_flight"] == 2).await;
        assert_eq!(harness.stats("f").await["live_instances"], 1);
        let queued = harness.invoke("f", json!({"action": "pid"}));
        tokio::pin!(queued);
        // The gate is opened only after the second invocation was made.
        tokio::select! {
            _ = &mut queued => panic!("the queued invocation ran while the only instance was busy"),
            () = async {
                eventually("the third is queued", async || harness.stats("f").await["in_flight"] == 3).await;
            } => {}
        }
        std::fs::write(&gate, "open").unwrap();
        queued.await
    };
    let second = harness.invoke("f", json!({"action": "pid"}));
    let (held, second, queued) = tokio::join!(held, second, queued);
    assert_eq!(pid(&held), pid(&second));
    assert_eq!(pid(&held), pid(&queued));
    assert_eq!(harness.stats("f").await["cold_starts"], 1);
    harness.stop().await;
}

#[tokio::test]
async fn the_environment_is_exactly_the_configured_one_plus_lambdas() {
    let mut config = function("env-check", None);
    config.memory_mb = 512;
    config.credentials = Some(Credentials {
        access_key_id: "AKIDROLE".into(),
        secret_access_key: "role-secret".into(),
        session_token: Some("role-token".into()),
    });
    let configured: BTreeMap<String, String> = config.env.clone();
    let harness = Harness::start(vec![config]).await;
    let env = ok(&harness.invoke("env-check", json!({"action": "env"})).await);
    let mut env: BTreeMap<String, String> = serde_json::from_value(env).unwrap();
    // Set by `lambda_runtime` itself, in its own process, for each event.
    assert!(env.remove("_X_AMZN_TRACE_ID").is_some());

    let lambdas = [
        "AWS_LAMBDA_RUNTIME_API",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_EXECUTION_ENV",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "_HANDLER",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
        "TZ",
        "LANG",
        "PATH",
        "LD_LIBRARY_PATH",
    ];
    let expected: BTreeSet<&str> = configured.keys().map(String::as_str).chain(lambdas).collect();
    let got: BTreeSet<&str> = env.keys().map(String::as_str).collect();
    assert_eq!(got, expected, "nothing of the host's own environment leaks in");
    for (key, value) in &configured {
        assert_eq!(&env[key], value);
    }
    assert_eq!(env["AWS_LAMBDA_FUNCTION_NAME"], "env-check");
    assert_eq!(env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "512");
    assert_eq!(env["AWS_LAMBDA_FUNCTION_VERSION"], "$LATEST");
    assert_eq!(env["AWS_LAMBDA_LOG_GROUP_NAME"], "/aws/lambda/env-check");
    assert_eq!(env["AWS_EXECUTION_ENV"], "AWS_Lambda_provided.al2023");
    assert_eq!((env["AWS_REGION"].as_str(), env["AWS_DEFAULT_REGION"].as_str()), ("us-east-1", "us-east-1"));
    assert_eq!(env["AWS_ACCESS_KEY_ID"], "AKIDROLE");
    assert_eq!(env["AWS_SESSION_TOKEN"], "role-token");
    assert_eq!(env["TZ"], ":UTC");
    assert_eq!(env["LAMBDA_TASK_ROOT"], Path::new(BOOTSTRAP).parent().unwrap().to_str().unwrap());
    assert!(env["AWS_LAMBDA_LOG_STREAM_NAME"].contains("[$LATEST]"));
    assert!(env["AWS_LAMBDA_RUNTIME_API"].starts_with("127.0.0.1:"));
    harness.stop().await;
}

#[tokio::test]
async fn the_runtime_receives_lambdas_invocation_headers() {
    let harness = Harness::start(vec![function("f", None)]).await;
    let context =
        base64::engine::general_purpose::STANDARD.encode(r#"{"custom": {"k": "v"}, "environment": {"e": "1"}}"#);
    let trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
    let before = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
    let response = harness
        .invoke_with(
            "f",
            &[("X-Amz-Client-Context", &context), ("X-Amzn-Trace-Id", trace)],
            json!({"action": "context"}).to_string().as_bytes(),
        )
        .await;
    let seen = ok(&response);
    assert_eq!(seen["request_id"].as_str(), response.header("x-amzn-requestid"));
    assert_eq!(seen["arn"], "arn:aws:lambda:us-east-1:123456789012:function:f");
    assert_eq!(seen["trace_id"], trace);
    assert_eq!(seen["client_context"], json!({"custom": {"k": "v"}, "environment": {"e": "1"}}));
    // The deadline is the timeout (10 s) after the event was handed over.
    let deadline = seen["deadline"].as_u64().unwrap();
    assert!(deadline >= before + 10_000 && deadline < before + 20_000, "{deadline} vs {before}");
    // Without a trace header, one is made up in X-Ray's format.
    let seen = ok(&harness.invoke("f", json!({"action": "context"})).await);
    assert!(seen["trace_id"].as_str().unwrap().starts_with("Root=1-"), "{seen}");
    harness.stop().await;
}

#[tokio::test]
async fn a_crash_fails_the_invocation_and_the_next_one_cold_starts() {
    let harness = Harness::start(vec![function("f", None)]).await;
    let before = pid(&harness.invoke("f", json!({"action": "pid"})).await);
    let crash = harness.invoke("f", json!({"action": "exit", "code": 7})).await;
    let (error_type, message) = failed(&crash);
    assert_eq!(error_type, "Runtime.ExitError");
    let id = crash.header("x-amzn-requestid").unwrap();
    assert_eq!(message, format!("RequestId: {id} Error: Runtime exited with error: exit status 7"));
    let after = harness.invoke("f", json!({"action": "pid"})).await;
    assert_ne!(pid(&after), before);
    let stats = harness.stats("f").await;
    assert_eq!((stats["cold_starts"].as_u64(), stats["exits"].as_u64()), (Some(2), Some(1)));
    assert_eq!(stats["errors"], json!({"Runtime.ExitError": 1}));
    assert_eq!(stats["instances"][0]["ended"], "exit status 7");
    assert_eq!(stats["records"][2]["cold"], true);
    harness.stop().await;
}

#[tokio::test]
async fn a_handler_error_or_panic_is_unhandled_and_the_instance_stays_warm() {
    let harness = Harness::start(vec![function("f", None)]).await;
    let before = pid(&harness.invoke("f", json!({"action": "pid"})).await);
    let (error_type, message) = failed(&harness.invoke("f", json!({"action": "panic"})).await);
    assert!(message.contains("the handler panicked on purpose"), "{error_type}: {message}");
    let (_, message) = failed(&harness.invoke("f", json!({"action": "error"})).await);
    assert_eq!(message, "the handler failed on purpose");
    assert_eq!(pid(&harness.invoke("f", json!({"action": "pid"})).await), before);
    assert_eq!(harness.stats("f").await["cold_starts"], 1);
    harness.stop().await;
}

#[tokio::test]
async fn an_init_error_fails_the_invocation_kills_the_process_and_is_retried() {
    let harness =
        Harness::start(vec![function("posts", Some("init-error-hang")), function("exits", Some("exit"))]).await;
    for attempt in 1..=2 {
        let (error_type, message) = failed(&harness.invoke("posts", json!({})).await);
        assert_eq!(
            (error_type.as_str(), message.as_str()),
            ("Config.Refused", "the configuration is refused on purpose")
        );
        let stats = harness.stats("posts").await;
        assert_eq!((stats["cold_starts"].as_u64(), stats["init_errors"].as_u64()), (Some(attempt), Some(attempt)));
        // The process did not exit by itself: the host killed it.
        let pid = stats["instances"][attempt as usize - 1]["pid"].as_u64().unwrap();
        assert!(gone(pid), "instance {attempt} still runs");
        assert_eq!(stats["live_instances"], 0);
    }
    let exits = harness.invoke("exits", json!({})).await;
    let (error_type, message) = failed(&exits);
    assert_eq!(error_type, "Runtime.ExitError");
    assert!(message.ends_with("Runtime exited with error: exit status 3"), "{message}");
    harness.stop().await;
}

#[tokio::test]
async fn a_timeout_kills_the_process_and_answers_like_lambda() {
    let mut config = function("slow", None);
    config.timeout = Duration::from_secs(1);
    let harness = Harness::start(vec![config]).await;
    let before = pid(&harness.invoke("slow", json!({"action": "pid"})).await);
    let response = harness.invoke("slow", json!({"action": "sleep", "ms": 30_000})).await;
    let (error_type, message) = failed(&response);
    assert_eq!(error_type, "Sandbox.Timedout");
    let id = response.header("x-amzn-requestid").unwrap();
    assert!(message.ends_with(&format!(" {id} Task timed out after 1.00 seconds")), "{message}");
    assert!(gone(before), "the timed-out process was killed");
    let stats = harness.stats("slow").await;
    assert_eq!(stats["timeouts"], 1);
    assert_eq!(stats["instances"][0]["ended"], "killed: timeout");
    let log = std::fs::read_to_string(stats["instances"][0]["log"].as_str().unwrap()).unwrap();
    assert!(log.contains(&message), "Lambda logs the timeout line: {log}");
    assert_ne!(pid(&harness.invoke("slow", json!({"action": "pid"})).await), before, "the next one cold-starts");
    harness.stop().await;
}

#[tokio::test]
async fn a_response_over_6_mb_is_refused_and_the_instance_survives() {
    let harness = Harness::start(vec![function("f", None)]).await;
    let limit = rehearsal::instance::RESPONSE_LIMIT as u64;
    let before = pid(&harness.invoke("f", json!({"action": "pid"})).await);
    // A JSON string of n bytes is n + 2 bytes long: this one is exactly at the limit.
    let at_limit = harness.invoke("f", json!({"action": "big", "bytes": limit - 2})).await;
    assert_eq!(ok(&at_limit).as_str().unwrap().len() as u64, limit - 2);
    let (error_type, message) = failed(&harness.invoke("f", json!({"action": "big", "bytes": limit - 1})).await);
    assert_eq!(error_type, "Function.ResponseSizeTooLarge");
    assert_eq!(message, "Response payload size exceeded maximum allowed payload size (6291556 bytes).");
    assert_eq!(pid(&harness.invoke("f", json!({"action": "pid"})).await), before);
    harness.stop().await;
}

#[tokio::test]
async fn an_event_invocation_is_accepted_then_run_and_retried_on_error() {
    let mut config = function("f", None);
    config.event_retries = 2;
    config.event_retry_delay = Duration::from_millis(1);
    let harness = Harness::start(vec![config]).await;
    let accepted = harness.invoke_with("f", &[("X-Amz-Invocation-Type", "Event")], br#"{"action": "pid"}"#).await;
    assert_eq!(accepted.status, 202);
    assert!(accepted.body.is_empty());
    let failing = harness.invoke_with("f", &[("X-Amz-Invocation-Type", "Event")], br#"{"action": "error"}"#).await;
    assert_eq!(failing.status, 202);
    let idle = send(harness.address, "POST", "/_host/idle?timeout_ms=20000", &[], b"").await;
    assert_eq!(idle.status, 200);
    let stats = harness.stats("f").await;
    let records = stats["records"].as_array().unwrap();
    let of = |id: &str| records.iter().filter(|r| r["request_id"] == id).collect::<Vec<_>>();
    let ok_runs = of(accepted.header("x-amzn-requestid").unwrap());
    assert_eq!(ok_runs.len(), 1);
    assert_eq!((ok_runs[0]["type"].as_str(), ok_runs[0]["outcome"].as_str()), (Some("Event"), Some("ok")));
    let failed_runs = of(failing.header("x-amzn-requestid").unwrap());
    assert_eq!(failed_runs.len(), 3, "one attempt and two retries, under the same request id");
    // A DryRun checks the call and runs nothing.
    let dry = harness.invoke_with("f", &[("X-Amz-Invocation-Type", "DryRun")], b"{}").await;
    assert_eq!(dry.status, 204);
    assert_eq!(harness.stats("f").await["invocations"], 4);
    harness.stop().await;
}

#[tokio::test]
async fn bad_calls_get_lambdas_api_errors() {
    let harness = Harness::start(vec![function("f", None)]).await;
    let unknown = harness.invoke("nope", json!({})).await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.header("x-amzn-errortype"), Some("ResourceNotFoundException"));
    assert_eq!(unknown.json()["Message"], "Function not found: arn:aws:lambda:us-east-1:123456789012:function:nope");
    let qualified = harness.invoke("f:live", json!({})).await;
    assert_eq!(qualified.status, 404);
    // By (URL-encoded) ARN, partial ARN, and with the $LATEST qualifier.
    for name in
        ["arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Af", "123456789012:function:f", "f%3A%24LATEST"]
    {
        assert_eq!(ok(&harness.invoke(name, json!({"action": "echo", "n": 1})).await)["n"], 1, "{name}");
    }
    let not_json = harness.invoke_with("f", &[], b"{not json").await;
    assert_eq!((not_json.status, not_json.header("x-amzn-errortype")), (400, Some("InvalidRequestContentException")));
    let too_big = harness.invoke_with("f", &[], &vec![b' '; rehearsal::host::REQUEST_LIMIT + 1]).await;
    assert_eq!((too_big.status, too_big.header("x-amzn-errortype")), (413, Some("RequestEntityTooLargeException")));
    let event_too_big = harness
        .invoke_with("f", &[("X-Amz-Invocation-Type", "Event")], &vec![b' '; rehearsal::host::EVENT_LIMIT + 1])
        .await;
    assert_eq!(event_too_big.status, 413);
    let bad_type = harness.invoke_with("f", &[("X-Amz-Invocation-Type", "Later")], b"{}").await;
    assert_eq!((bad_type.status, bad_type.header("x-amzn-errortype")), (400, Some("ValidationException")));
    // An empty payload arrives as `{}`.
    assert_eq!(ok(&harness.invoke_with("f", &[], b"").await), json!({}));
    assert_eq!(harness.stats("f").await["invocations"], 4, "refused calls run nothing");
    harness.stop().await;
}

#[tokio::test]
async fn shutdown_kills_every_instance() {
    let harness = Harness::start(vec![function("a", None), function("b", None)]).await;
    let a = pid(&harness.invoke("a", json!({"action": "pid"})).await);
    let b = pid(&harness.invoke("b", json!({"action": "pid"})).await);
    let stopped = send(harness.address, "POST", "/_host/shutdown", &[], b"").await;
    assert_eq!(stopped.status, 200);
    assert!(gone(a) && gone(b));
    tokio::time::timeout(Duration::from_secs(10), harness.served).await.unwrap().unwrap();
}

/// The binary: its manifest, port file, a call, and no child left behind on
/// SIGTERM or even SIGKILL of the host.
#[tokio::test]
async fn lambda_host_serves_a_manifest_and_leaves_no_child_behind() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("manifest.json");
    std::fs::write(
        &manifest,
        json!({"region": "eu-west-1", "account": "111122223333", "functions": {
            "f": {"bootstrap": BOOTSTRAP, "env": {"DOUYIN_TABLE": "t"}, "memory_mb": 256, "timeout_s": 5, "max_instances": 2}
        }})
        .to_string(),
    )
    .unwrap();
    for signal in ["TERM", "KILL"] {
        let port_file = dir.path().join(format!("port-{signal}"));
        let mut host = tokio::process::Command::new(env!("CARGO_BIN_EXE_lambda-host"))
            .arg("--manifest")
            .arg(&manifest)
            .arg("--log-dir")
            .arg(dir.path().join("logs"))
            .arg("--port-file")
            .arg(&port_file)
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        eventually("the port file is written", async || port_file.exists()).await;
        let address: SocketAddr = std::fs::read_to_string(&port_file).unwrap().trim().parse().unwrap();
        let response = send(
            address,
            "POST",
            "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aeu-west-1%3A111122223333%3Afunction%3Af/invocations",
            &[],
            br#"{"action": "env"}"#,
        )
        .await;
        let env = ok(&response);
        assert_eq!(
            (env["AWS_REGION"].as_str(), env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"].as_str()),
            (Some("eu-west-1"), Some("256"))
        );
        let child =
            pid(&send(address, "POST", "/2015-03-31/functions/f/invocations", &[], br#"{"action": "pid"}"#).await);
        let status = std::process::Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(host.id().unwrap().to_string())
            .status()
            .unwrap();
        assert!(status.success());
        let exit = tokio::time::timeout(Duration::from_secs(10), host.wait()).await.unwrap().unwrap();
        if signal == "TERM" {
            assert_eq!(exit.code(), Some(0), "a clean stop on SIGTERM");
        }
        eventually(&format!("the instance is gone after SIGKILL of the host ({signal})"), async || gone(child)).await;
    }
    let logs: Vec<PathBuf> = std::fs::read_dir(dir.path().join("logs")).unwrap().map(|e| e.unwrap().path()).collect();
    assert!(logs.iter().any(|p| p.file_name().unwrap() == "f-1.log"), "{logs:?}");
}

/// Builds the real `route-fallback` bootstrap as it is deployed (no local
/// engines) and returns its path.
fn build_route_fallback() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let output = std::process::Command::new(cargo)
        .current_dir(&root)
        .args(["build", "--locked", "-p", "functions", "--no-default-features", "--bin", "route-fallback"])
        .arg("--message-format=json-render-diagnostics")
        .stderr(std::process::Stdio::inherit())
        .output()
        .unwrap();
    assert!(output.status.success(), "cargo build of route-fallback failed");
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|message| message["reason"] == "compiler-artifact" && message["target"]["name"] == "route-fallback")
        .find_map(|message| message["executable"].as_str().map(PathBuf::from))
        .expect("cargo names the route-fallback executable")
}

/// One real function through the host: `route-fallback` needs no AWS and
/// answers API Gateway HTTP API (v2) events with the 404/405 envelopes.
#[tokio::test]
async fn the_real_route_fallback_answers_api_gateway_events() {
    let bootstrap = build_route_fallback();
    let harness = Harness::start(vec![FunctionConfig::new("route-fallback", bootstrap, Some("eu-west-1"))]).await;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut event: Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("events/route-fallback.json")).unwrap()).unwrap();
    let envelope = |answer: &Value| -> Value { serde_json::from_str(answer["body"].as_str().unwrap()).unwrap() };

    let response = harness.invoke("route-fallback", event.clone()).await;
    let answer = ok(&response);
    assert_eq!(answer["statusCode"], 404);
    assert_eq!(envelope(&answer)["status_code"], 10004);

    event["rawPath"] = json!("/douyin/user/register/");
    event["requestContext"]["http"]["path"] = json!("/douyin/user/register/");
    let answer = ok(&harness.invoke("route-fallback", event).await);
    assert_eq!(answer["statusCode"], 405);
    assert_eq!(envelope(&answer)["status_code"], 10001);

    let stats = harness.stats("route-fallback").await;
    assert_eq!((stats["cold_starts"].as_u64(), stats["invocations"].as_u64()), (Some(1), Some(2)));
    // Its JSON log lines, with the request id the host gave, are in the instance's log.
    let log = std::fs::read_to_string(stats["instances"][0]["log"].as_str().unwrap()).unwrap();
    let id = response.header("x-amzn-requestid").unwrap();
    assert!(
        log.lines().any(|line| line.starts_with('{') && line.contains("request refused") && line.contains(id)),
        "{log}"
    );
    harness.stop().await;
}

#[tokio::test]
async fn an_init_longer_than_its_limit_fails_and_the_process_is_killed() {
    let harness_logs = tempfile::tempdir().unwrap();
    let never = harness_logs.path().join("never");
    let mut config = function("stuck", Some(&format!("hold:{}", never.display())));
    config.init_timeout = Duration::from_millis(500);
    let harness = Harness::start(vec![config]).await;
    let response = harness.invoke("stuck", json!({})).await;
    let (error_type, message) = failed(&response);
    assert_eq!(error_type, "Sandbox.Timedout");
    assert!(message.ends_with("Init timed out after 0.50 seconds"), "{message}");
    let stats = harness.stats("stuck").await;
    assert_eq!((stats["timeouts"].as_u64(), stats["live_instances"].as_u64()), (Some(1), Some(0)));
    assert!(gone(stats["instances"][0]["pid"].as_u64().unwrap()));
    harness.stop().await;
}

#[tokio::test]
async fn log_type_tail_returns_the_invocations_log_lines() {
    let harness = Harness::start(vec![function("f", None)]).await;
    harness.invoke("f", json!({"action": "pid"})).await;
    let response = harness.invoke_with("f", &[("X-Amz-Log-Type", "Tail")], br#"{"action": "panic"}"#).await;
    let id = response.header("x-amzn-requestid").unwrap();
    let tail = base64::engine::general_purpose::STANDARD.decode(response.header("x-amz-log-result").unwrap()).unwrap();
    let tail = String::from_utf8(tail).unwrap();
    assert!(tail.starts_with(&format!("START RequestId: {id}")), "only this invocation's lines: {tail}");
    assert!(
        tail.contains("the handler panicked on purpose") && tail.contains(&format!("REPORT RequestId: {id}")),
        "{tail}"
    );
    harness.stop().await;
}

/// Issue J's hook: with `cpu`, the process runs in its own cgroup at the
/// init quota until its first `next`, then at the invoke quota.
#[tokio::test]
async fn cpu_quotas_follow_the_init_boost_then_the_memory_share() {
    if let Err(error) = rehearsal::cgroup::CpuCgroup::create("probe", 1.0).and_then(|probe| probe.remove()) {
        eprintln!(
            "\n!!!! SKIPPED cpu_quotas_follow_the_init_boost_then_the_memory_share: no writable cgroup cpu \
             controller ({error}); CPU quotas (issue J) are NOT tested on this machine !!!!\n"
        );
        return;
    }
    let gate_dir = tempfile::tempdir().unwrap();
    let gate = gate_dir.path().join("gate");
    let mut config = function("throttled", Some(&format!("hold:{}", gate.display())));
    config.cpu =
        Some(rehearsal::config::CpuQuota { init_quota: 1.0, invoke_quota: 0.25, shares: None, period_us: None });
    let harness = Harness::start(vec![config]).await;
    let quota_of = |pid: u64| -> f64 {
        let cgroups = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
        let dir = cgroups
            .lines()
            .find_map(|line| line.split_once(":cpu:").map(|(_, path)| path.to_owned()))
            .or_else(|| cgroups.lines().find_map(|line| line.strip_prefix("0::").map(str::to_owned)))
            .unwrap();
        assert!(dir.contains("lambda-host-"), "the process is in its own cgroup: {cgroups}");
        let v1 = Path::new("/sys/fs/cgroup/cpu").join(dir.trim_start_matches('/'));
        if v1.join("cpu.cfs_quota_us").exists() {
            let read = |file: &str| std::fs::read_to_string(v1.join(file)).unwrap().trim().parse::<f64>().unwrap();
            read("cpu.cfs_quota_us") / read("cpu.cfs_period_us")
        } else {
            let max =
                std::fs::read_to_string(Path::new("/sys/fs/cgroup").join(dir.trim_start_matches('/')).join("cpu.max"))
                    .unwrap();
            let (quota, period) = max.trim().split_once(' ').unwrap();
            quota.parse::<f64>().unwrap() / period.parse::<f64>().unwrap()
        }
    };
    let invocation = harness.invoke("throttled", json!({"action": "pid"}));
    let observe = async {
        let mut child = 0;
        eventually("the instance is started", async || {
            child = harness.stats("throttled").await["instances"][0]["pid"].as_u64().unwrap_or(0);
            child != 0
        })
        .await;
        // Still in init (held by the gate): the init quota.
        assert_eq!(quota_of(child), 1.0);
        std::fs::write(&gate, "open").unwrap();
        child
    };
    let (response, child) = tokio::join!(invocation, observe);
    assert_eq!(pid(&response), child);
    assert_eq!(quota_of(child), 0.25, "after the first next: the invoke quota");
    let cgroup_dir = std::fs::read_to_string(format!("/proc/{child}/cgroup")).unwrap();
    harness.stop().await;
    let name = cgroup_dir.split("lambda-host-").nth(1).unwrap().lines().next().unwrap().to_owned();
    let leftovers = [Path::new("/sys/fs/cgroup/cpu"), Path::new("/sys/fs/cgroup")]
        .iter()
        .any(|root| root.join(format!("lambda-host-{name}")).exists());
    assert!(!leftovers, "the cgroup is removed with its process");
}

/// The AWS SDK's own Lambda client (boto3, where Python has it) calls the
/// host unchanged: payloads, function errors, log tails, `Event`, and the
/// modelled `ResourceNotFoundException`.
#[tokio::test]
async fn the_aws_sdks_lambda_client_calls_the_host_unchanged() {
    let has_boto3 =
        std::process::Command::new("python3").args(["-c", "import boto3"]).status().is_ok_and(|s| s.success());
    if !has_boto3 {
        eprintln!(
            "\n!!!! SKIPPED the_aws_sdks_lambda_client_calls_the_host_unchanged: python3 has no boto3; the Invoke API \
             is tested over raw HTTP only !!!!\n"
        );
        return;
    }
    let harness = Harness::start(vec![function("f", None)]).await;
    let script = r#"
import base64, json, sys, boto3
from botocore.config import Config
c = boto3.client("lambda", endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id="AKID",
                 aws_secret_access_key="secret", config=Config(retries={"max_attempts": 1}))
r = c.invoke(FunctionName="f", Payload=json.dumps({"action": "echo", "n": 1}))
assert (r["StatusCode"], r["ExecutedVersion"]) == (200, "$LATEST"), r
assert "FunctionError" not in r and json.load(r["Payload"]) == {"action": "echo", "n": 1}
r = c.invoke(FunctionName="arn:aws:lambda:us-east-1:123456789012:function:f", Payload=b'{"action": "error"}', LogType="Tail")
assert r["FunctionError"] == "Unhandled", r
assert json.load(r["Payload"])["errorMessage"] == "the handler failed on purpose"
assert "REPORT RequestId" in base64.b64decode(r["LogResult"]).decode()
assert c.invoke(FunctionName="f", InvocationType="Event", Payload=b"{}")["StatusCode"] == 202
try:
    c.invoke(FunctionName="nope", Payload=b"{}")
    raise SystemExit("no error for an unknown function")
except c.exceptions.ResourceNotFoundException as e:
    assert "Function not found" in str(e), e
print("boto3 ok")
"#;
    let output = tokio::process::Command::new("python3")
        .args(["-c", script, &format!("http://{}", harness.address)])
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    harness.stop().await;
}
