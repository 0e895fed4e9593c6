//! Cold starts, measured the way Lambda has them: a fresh process, started
//! with the Lambda environment, asks a Runtime API for its first event and
//! answers it. The Runtime API is the rehearsal's emulator (the `rehearsal`
//! library, the one `lambda-host` runs), so the clock runs from process spawn
//! to the first response received, then over one warm invocation.
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
use std::path::{Path, PathBuf};
use std::time::Duration;

use bench::{Summary, millis};
use clap::Parser;
use rehearsal::config::{Credentials, FunctionConfig, RESERVED_VARIABLES};
use rehearsal::{Function, InvokeRequest, LaunchOptions, Outcome};

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
    /// Keep the functions' logs (`run-<r>/<function>-1.log`) here; a temporary folder, removed, by default.
    #[arg(long)]
    log_dir: Option<PathBuf>,
    /// Functions to measure (bootstrap names in --bin-dir).
    names: Vec<String>,
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
    let temporary = tempfile::tempdir()?;
    let log_dir = args.log_dir.clone().unwrap_or_else(|| temporary.path().to_path_buf());
    let mut init: BTreeMap<&str, Vec<Duration>> = BTreeMap::new();
    let mut cold: BTreeMap<&str, Vec<Duration>> = BTreeMap::new();
    let mut warm: BTreeMap<&str, Vec<Duration>> = BTreeMap::new();
    let mut outcomes: BTreeMap<&str, String> = BTreeMap::new();
    for run in 0..args.runs {
        for name in &args.names {
            let event_name = if name.starts_with("baseline-") { "feed" } else { name.as_str() };
            let event = std::fs::read_to_string(args.event_dir.join(format!("{event_name}.json")))?
                .replace("{{token}}", &args.token);
            let run_logs = log_dir.join(format!("run-{}", run + 1));
            std::fs::create_dir_all(&run_logs)?;
            let measured = measure(&args, name, &env, event, &run_logs).await?;
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

/// One cold process: spawn, two invocations (cold, then warm), stop it.
async fn measure(
    args: &Args,
    name: &str,
    env: &[(String, String)],
    event: String,
    log_dir: &Path,
) -> anyhow::Result<Measurement> {
    let mut config = FunctionConfig::new(name, args.bin_dir.join(name), None);
    config.memory_mb = args.memory;
    config.timeout = Duration::from_secs(30);
    config.init_timeout = Duration::from_secs(30);
    config.max_instances = 1;
    let mut credentials =
        Credentials { access_key_id: String::new(), secret_access_key: String::new(), session_token: None };
    // What Lambda sets itself goes where the emulator expects it; the rest is the function's configuration.
    for (key, value) in env {
        match key.as_str() {
            "AWS_REGION" | "AWS_DEFAULT_REGION" => config.region = Some(value.clone()),
            "AWS_ACCESS_KEY_ID" => credentials.access_key_id = value.clone(),
            "AWS_SECRET_ACCESS_KEY" => credentials.secret_access_key = value.clone(),
            "AWS_SESSION_TOKEN" => credentials.session_token = Some(value.clone()),
            key if RESERVED_VARIABLES.contains(&key) => anyhow::bail!("{key} is set by Lambda, not by the env file"),
            _ => {
                config.env.insert(key.clone(), value.clone());
            }
        }
    }
    if !credentials.access_key_id.is_empty() {
        config.credentials = Some(credentials);
    }
    config.env.insert("DOUYIN_LOG".into(), "warn".into());
    // Nothing between the spawn and the bootstrap (no `setpriv`), no platform
    // lines: the clock measures the function alone. The function's output is kept.
    let options = LaunchOptions { log_dir: log_dir.to_path_buf(), parent_death_signal: false, platform_log: false };
    let function = Function::new(config, options);
    let first = function.invoke(InvokeRequest::new(event.clone())).await;
    let second = function.invoke(InvokeRequest::new(event)).await;
    function.shutdown().await;
    let log = log_dir.join(format!("{name}-1.log"));
    let (Some(spawned), Some(init_done), Some(_)) = (first.spawned, first.init_done, first.handed) else {
        anyhow::bail!("{name} failed to initialise: {:?} (log: {})", first.outcome, log.display())
    };
    if let Some(fatal @ ("Runtime.ExitError" | "Sandbox.Timedout")) = first.error_type().or(second.error_type()) {
        anyhow::bail!("{name} did not answer: {fatal} (log: {})", log.display())
    }
    let Some(warm) = second.duration() else { anyhow::bail!("{name}: no warm invocation (log: {})", log.display()) };
    Ok(Measurement {
        init: init_done.duration_since(spawned),
        cold: first.answered.duration_since(spawned),
        warm,
        outcome: match &first.outcome {
            Outcome::Response(body) => outcome(false, body),
            Outcome::Error { body, .. } => outcome(true, body),
        },
    })
}

/// How the first invocation ended, for the table: the HTTP status and the
/// envelope's `status_code`, or the SQS/S3 result.
fn outcome(error: bool, body: &[u8]) -> String {
    if error {
        return "invocation error".into();
    }
    bench::describe_answer(body)
}
