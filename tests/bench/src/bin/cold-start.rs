//! Cold starts, measured the way Lambda has them: a fresh process, started
//! with the Lambda environment, asks a Runtime API for its first event and
//! answers it. This binary *is* that Runtime API (a small emulator of the
//! four routes a function uses), so the clock runs from process spawn to the
//! first response received, then over one warm invocation.
//!
//! `cold-start --runs 15 --bin-dir target/release --env-file data/lambda.env
//!  --event-dir events --token T feed user-info baseline-hello …`
//!
//! Runs are interleaved (run 1 of every function, then run 2, …) so that the
//! machine's noise falls on all of them alike; the table shows medians and
//! ratios to the baselines measured in the same run.
// A benchmark's output is its table on stdout.
#![allow(clippy::print_stdout)]

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bench::{Summary, millis};
use bytes::Bytes;
use clap::Parser;
use http_body_util::{BodyExt as _, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{Mutex, mpsc};

#[derive(Parser)]
struct Args {
    /// Runs per function.
    #[arg(long, default_value_t = 15)]
    runs: usize,
    /// Folder of the built bootstraps.
    #[arg(long)]
    bin_dir: PathBuf,
    /// KEY=VALUE lines added to each function's environment (douyin-local's lambda.env).
    #[arg(long)]
    env_file: PathBuf,
    /// Folder of the sample events (`<name>.json`); baselines use `feed.json`.
    #[arg(long)]
    event_dir: PathBuf,
    /// Substituted for `{{token}}` in the events.
    #[arg(long, default_value = "")]
    token: String,
    /// Memory size the function is told it has (MB).
    #[arg(long, default_value_t = 512)]
    memory: u32,
    /// Write the medians as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Functions to measure (bootstrap names in --bin-dir).
    names: Vec<String>,
}

/// What the emulator saw of one process.
#[derive(Debug)]
enum Seen {
    Handed(Instant),
    Answered { at: Instant, error: bool, body: Bytes },
    InitError(Bytes),
}

struct Measurement {
    /// Spawn → the first `next` (the function's own init).
    init: Duration,
    cold: Duration,
    warm: Duration,
    outcome: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let env_lines = std::fs::read_to_string(&args.env_file)?;
    let env: Vec<(String, String)> = env_lines
        .lines()
        .filter_map(|line| line.split_once('='))
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .collect();
    let mut init: BTreeMap<&str, Vec<Duration>> = BTreeMap::new();
    let mut cold: BTreeMap<&str, Vec<Duration>> = BTreeMap::new();
    let mut warm: BTreeMap<&str, Vec<Duration>> = BTreeMap::new();
    let mut outcomes: BTreeMap<&str, String> = BTreeMap::new();
    for run in 0..args.runs {
        for name in &args.names {
            let event_name = if name.starts_with("baseline-") { "feed" } else { name.as_str() };
            let event = std::fs::read_to_string(args.event_dir.join(format!("{event_name}.json")))?
                .replace("{{token}}", &args.token);
            let measured = measure(&args, name, &env, Bytes::from(event)).await?;
            init.entry(name).or_default().push(measured.init);
            cold.entry(name).or_default().push(measured.cold);
            warm.entry(name).or_default().push(measured.warm);
            outcomes.insert(name, measured.outcome);
        }
        eprintln!("run {}/{} done", run + 1, args.runs);
    }
    let median = |name: &str| cold.get(name).and_then(|s| Summary::of(s.clone())).map(|s| s.p50);
    let hello = median("baseline-hello");
    let sdk = median("baseline-sdk");
    let ratio = |value: Duration, base: Option<Duration>| {
        base.map_or("-".to_owned(), |base| format!("{:.2}×", value.as_secs_f64() / base.as_secs_f64()))
    };
    println!(
        "| function | init p50 (ms) | cold p50 (ms) | cold p90 (ms) | warm p50 (ms) | vs hello | vs SDK baseline | first response |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---|");
    let mut json = serde_json::Map::new();
    for name in &args.names {
        let (Some(c), Some(w)) = (
            cold.get(name.as_str()).and_then(|s| Summary::of(s.clone())),
            warm.get(name.as_str()).and_then(|s| Summary::of(s.clone())),
        ) else {
            continue;
        };
        let i = init.get(name.as_str()).and_then(|s| Summary::of(s.clone())).map_or(0.0, |s| millis(s.p50));
        println!(
            "| {name} | {i:.1} | {:.1} | {:.1} | {:.2} | {} | {} | {} |",
            millis(c.p50),
            millis(c.p90),
            millis(w.p50),
            ratio(c.p50, hello),
            ratio(c.p50, sdk),
            outcomes.get(name.as_str()).map_or("", String::as_str)
        );
        json.insert(
            name.clone(),
            serde_json::json!({"init_ms": i, "cold_ms": millis(c.p50), "warm_ms": millis(w.p50)}),
        );
    }
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&json)?)?;
    }
    Ok(())
}

/// One cold process: spawn, serve it two invocations, stop it.
async fn measure(args: &Args, name: &str, env: &[(String, String)], event: Bytes) -> anyhow::Result<Measurement> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let api = listener.local_addr()?;
    let (seen, mut events) = mpsc::unbounded_channel();
    let served = Arc::new(Mutex::new(0usize));
    let server = tokio::spawn(serve(listener, event, seen, served));

    let spawned = Instant::now();
    let mut child = std::process::Command::new(args.bin_dir.join(name))
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("AWS_LAMBDA_RUNTIME_API", api.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", name)
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", args.memory.to_string())
        .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "2026/11/24/[$LATEST]bench")
        .env("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023")
        .env("DOUYIN_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;

    let mut answers = Vec::new();
    let mut handed = Vec::new();
    let deadline = Duration::from_secs(30);
    while answers.len() < 2 {
        match tokio::time::timeout(deadline, events.recv()).await {
            Ok(Some(Seen::Handed(at))) => handed.push(at),
            Ok(Some(Seen::Answered { at, error, body })) => answers.push((at, error, body)),
            Ok(Some(Seen::InitError(body))) => {
                let _ = child.kill();
                anyhow::bail!("{name} failed to initialise: {}", String::from_utf8_lossy(&body))
            }
            Ok(None) | Err(_) => {
                let _ = child.kill();
                anyhow::bail!("{name} did not answer within {deadline:?}")
            }
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    server.abort();
    let (first_at, first_error, first_body) = &answers[0];
    let (second_at, _, _) = &answers[1];
    Ok(Measurement {
        init: handed[0].duration_since(spawned),
        cold: first_at.duration_since(spawned),
        warm: second_at.duration_since(handed[1]),
        outcome: outcome(*first_error, first_body),
    })
}

/// How the first invocation ended, for the table: the HTTP status and the
/// envelope's `status_code`, or the SQS/S3 result.
fn outcome(error: bool, body: &[u8]) -> String {
    if error {
        return "invocation error".into();
    }
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(body) else { return "non-JSON".into() };
    match (json.get("statusCode"), json.get("body").and_then(|b| b.as_str())) {
        (Some(status), Some(body)) => {
            let code = serde_json::from_str::<serde_json::Value>(body)
                .ok()
                .and_then(|b| b.get("status_code").cloned())
                .unwrap_or_default();
            format!("HTTP {status}, status_code {code}")
        }
        _ => format!("ok {}", json.to_string().chars().take(40).collect::<String>()),
    }
}

/// The Runtime API: `next` hands out the event twice, then holds the
/// function (it is killed); `response`/`error` record the answer.
async fn serve(listener: TcpListener, event: Bytes, seen: mpsc::UnboundedSender<Seen>, served: Arc<Mutex<usize>>) {
    while let Ok((stream, _)) = listener.accept().await {
        let (event, seen, served) = (event.clone(), seen.clone(), served.clone());
        tokio::spawn(async move {
            let service = service_fn(move |request: Request<hyper::body::Incoming>| {
                let (event, seen, served) = (event.clone(), seen.clone(), served.clone());
                async move { Ok::<_, Infallible>(runtime_api(request, event, seen, served).await) }
            });
            let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    }
}

async fn runtime_api(
    request: Request<hyper::body::Incoming>,
    event: Bytes,
    seen: mpsc::UnboundedSender<Seen>,
    served: Arc<Mutex<usize>>,
) -> Response<Full<Bytes>> {
    let path = request.uri().path().to_owned();
    let method = request.method().clone();
    if method == Method::GET && path == "/2018-06-01/runtime/invocation/next" {
        let number = {
            let mut served = served.lock().await;
            *served += 1;
            *served
        };
        if number > 2 {
            // Measured enough: the function waits here until it is killed.
            std::future::pending::<()>().await;
        }
        let deadline = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default()
            + Duration::from_secs(30);
        let _ = seen.send(Seen::Handed(Instant::now()));
        return Response::builder()
            .header("lambda-runtime-aws-request-id", format!("bench-{number}"))
            .header("lambda-runtime-deadline-ms", deadline.as_millis().to_string())
            .header("lambda-runtime-invoked-function-arn", "arn:aws:lambda:eu-west-1:123456789012:function:bench")
            .header("lambda-runtime-trace-id", "Root=1-67891233-abcdef012345678912345678;Sampled=0")
            .header("content-type", "application/json")
            .body(Full::new(event))
            .unwrap_or_default();
    }
    let body = request.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let at = Instant::now();
    if path.ends_with("/response") {
        let _ = seen.send(Seen::Answered { at, error: false, body });
    } else if path.ends_with("/error") && path.contains("/invocation/") {
        let _ = seen.send(Seen::Answered { at, error: true, body });
    } else if path.ends_with("/init/error") {
        let _ = seen.send(Seen::InitError(body));
    }
    Response::builder().status(202).body(Full::new(Bytes::new())).unwrap_or_default()
}
