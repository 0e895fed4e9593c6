//! Cold starts as Lambda has them (`tests/bench/run lambda`, issue J): each
//! function runs under the rehearsal's Lambda host library with
//!
//! - Lambda's CPU share: its own cgroup at one core during init (Lambda's init
//!   boost), then `memory / 1769` of a core for its invocations (cgroup CPU
//!   quota, 100 ms period), for the template's `MemorySize` and the sizes
//!   asked for; its weight is raised (`--shares`) so that on a machine busy
//!   with other work the quota is what it gets, as Lambda guarantees it;
//! - TLS on every AWS endpoint: a TLS front per service (`--backend`) with a
//!   test CA the functions trust through `DOUYIN_TLS_ROOTS=file:` (production
//!   trusts Amazon's roots; nothing else changes);
//! - a network round trip (`--rtt-ms`, 1 by default) on every exchange
//!   (`bench::front`);
//! - the sample events of `events/` on the seeded cast `tests/bench/run` makes.
//!
//! Before measuring it checks its own model and prints it: the CPU a spinning
//! process really gets at each quota, and the time of a new connection and of
//! a request on an open one through a front. Then, interleaved (run 1 of
//! every function at every size, then run 2, …), each measurement is a new
//! instance: spawn → first `next` (init), the first invocation (first
//! response), spawn → its answer (cold start), then `--warm` invocations
//! `--warm-gap-ms` apart (warm). Ratios are to the floor (`baseline-floor`)
//! and the hello world (`baseline-hello`) at the same memory size, same run.
//!
//! `lambda-bench --bin-dir target/release --env-file lambda.env --set K=V…
//!   --backend DYNAMODB=127.0.0.1:8000 … --cert c.pem --key k.pem --ca ca.pem
//!   --event-dir events --template template.yaml --token T --log-dir logs
//!   baseline-hello baseline-floor feed …`
// A benchmark's output is its table on stdout.
#![allow(clippy::print_stdout)]

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use bench::front::{self, Delays, Front};
use bench::{Summary, millis};
use bytes::Bytes;
use clap::Parser;
use rehearsal::cgroup::CpuCgroup;
use rehearsal::config::{CpuQuota, Credentials, FunctionConfig};
use rehearsal::{Function, InvokeRequest, LaunchOptions, Outcome};

/// Lambda gives one vCPU at 1,769 MB, proportionally less below.
const MB_PER_VCPU: f64 = 1769.0;

/// The functions whose first response is heavy work by design (an argon2
/// verify, a cover decode): the goal excepts them and states their ratio
/// without that work too.
const REAL_WORK: &[&str] = &["user-login", "publish-action"];

/// The read endpoints (the warm p99 ≤ 3× p50 goal).
const READS: &[&str] = &[
    "feed",
    "user-info",
    "publish-list",
    "publish-status",
    "favorite-list",
    "comment-list",
    "relation-follow-list",
    "relation-follower-list",
    "relation-friend-list",
    "message-chat",
];

#[derive(Parser)]
struct Args {
    /// Cold starts per function and memory size.
    #[arg(long, default_value_t = 7)]
    runs: usize,
    /// Warm invocations after each cold start.
    #[arg(long, default_value_t = 10)]
    warm: usize,
    /// Pause before each warm invocation (ms): one quota period, so each starts with its full share.
    #[arg(long, default_value_t = 100)]
    warm_gap_ms: u64,
    /// Memory sizes (MB), comma-separated; `template` is each function's MemorySize in the template.
    #[arg(long, default_value = "template,128,512,1024")]
    memory: String,
    /// Injected network round trip (ms).
    #[arg(long, default_value_t = 1.0)]
    rtt_ms: f64,
    /// cgroup v1 `cpu.shares` of each instance (1024 is the kernel's default weight).
    #[arg(long, default_value_t = 262_144)]
    shares: u64,
    /// The scheduler period of the CPU quotas, ms: within one a process may
    /// spend its whole quota at once, so a shorter period throttles short work
    /// sooner (Lambda's is not published; 100 is the kernel's default).
    #[arg(long, default_value_t = 100)]
    cpu_period_ms: u64,
    /// Folder of the release bootstraps.
    #[arg(long)]
    bin_dir: PathBuf,
    /// KEY=VALUE lines: the functions' environment (douyin-local's lambda.env).
    #[arg(long)]
    env_file: PathBuf,
    /// KEY=VALUE set in (or, with an empty value, removed from) every function's environment.
    #[arg(long = "set")]
    set: Vec<String>,
    /// SERVICE=host:port: a TLS front for `AWS_ENDPOINT_URL_<SERVICE>` passing to that engine.
    #[arg(long = "backend")]
    backends: Vec<String>,
    /// The fronts' certificate chain and key (PEM), and the CA the functions are told to trust.
    #[arg(long)]
    cert: PathBuf,
    #[arg(long)]
    key: PathBuf,
    #[arg(long)]
    ca: PathBuf,
    /// Folder of the sample events; the baselines get `feed.json`.
    #[arg(long)]
    event_dir: PathBuf,
    /// `template.yaml`, for each function's MemorySize.
    #[arg(long)]
    template: PathBuf,
    /// Substituted for `{{token}}` in the events.
    #[arg(long, default_value = "")]
    token: String,
    /// Each instance's log (appended per function).
    #[arg(long)]
    log_dir: PathBuf,
    /// Every cell's figures as JSON.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Only the model checks (CPU and network), no function.
    #[arg(long)]
    check_only: bool,
    /// The length of the session token the functions' credentials carry when
    /// the environment gives none (0: none). Lambda always gives its role's
    /// temporary credentials, and the token rides in every signed request and
    /// every presigned link (`X-Amz-Security-Token`); STS documents no fixed
    /// size, so its length is a model: 1024 characters.
    #[arg(long, default_value_t = 1024)]
    session_token_chars: usize,
    /// Functions to measure (bootstrap names in --bin-dir).
    names: Vec<String>,
}

/// One cold start and its warm invocations.
struct Sample {
    init: Duration,
    first: Duration,
    cold: Duration,
    warm: Vec<Duration>,
    /// TLS connections opened during init, and during the first invocation.
    connections_init: usize,
    connections_first: usize,
    /// The process's CPU time (all threads) in init, and in the first invocation.
    cpu_init: Option<Duration>,
    cpu_first: Option<Duration>,
    /// How long the services behind the fronts were answering between the
    /// spawn and the first response (overlaps once): the engines' time, not ours.
    services: Duration,
    /// The part of it during init.
    services_init: Duration,
    outcome: String,
    warm_failures: usize,
}

#[derive(Default)]
struct Cell {
    init: Vec<Duration>,
    first: Vec<Duration>,
    cold: Vec<Duration>,
    warm: Vec<Duration>,
    connections_init: Vec<usize>,
    connections_first: Vec<usize>,
    cpu_init: Vec<Duration>,
    cpu_first: Vec<Duration>,
    services: Vec<Duration>,
    services_init: Vec<Duration>,
    outcomes: BTreeSet<String>,
    warm_failures: usize,
}

impl Cell {
    /// Each cold start less its services' time.
    fn net(&self) -> Vec<Duration> {
        self.cold.iter().zip(&self.services).map(|(cold, services)| cold.saturating_sub(*services)).collect()
    }
}

fn main() -> anyhow::Result<()> {
    // The CPU check's child: spin, then print the share of a core it got.
    let mut raw = std::env::args().skip(1);
    if raw.next().as_deref() == Some("--spin-ms") {
        let ms: u64 = raw.next().context("--spin-ms N")?.parse()?;
        println!("{:.4}", spin(Duration::from_millis(ms))?);
        return Ok(());
    }
    let args = Args::parse();
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let memories = parse_memories(&args.memory)?;
    let rtt = Duration::from_secs_f64(args.rtt_ms / 1000.0);
    println!("\n### The model, checked\n");
    cpu_check(&memories, args.shares, args.cpu_period_ms * 1000)?;

    let tls = front::server_config(&std::fs::read(&args.cert)?, &std::fs::read(&args.key)?)?;
    let ca = std::fs::read(&args.ca)?;
    let delays = Delays::start();
    let mut fronts = Vec::new();
    for backend in &args.backends {
        let (service, address) = backend.split_once('=').context("--backend SERVICE=host:port")?;
        let address: SocketAddr = address.parse().with_context(|| format!("--backend {backend}"))?;
        fronts.push(Front::start(service, address, Arc::clone(&tls), rtt, delays.clone()).await?);
    }
    network_check(&fronts, &ca, rtt).await?;
    if args.check_only {
        return Ok(());
    }

    let (region, credentials, env) = environment(&args, &fronts)?;
    let sqs_engine = fronts.iter().find(|f| f.service == "SQS").map(|f| f.backend);
    let drain = QueueDrain::for_run(&env, sqs_engine, region.as_deref(), credentials.as_ref());
    let template = template_functions(&args.template)?;
    let template_memory: BTreeMap<String, u32> =
        template.iter().map(|(name, function)| (name.clone(), function.memory)).collect();
    let bin_dir = stage_bootstraps(&args.bin_dir, &args.names, &args.log_dir.join("bootstraps"))?;
    // The sizes each function is measured at; the baselines at every size any function is.
    let mut sizes: BTreeMap<&str, BTreeSet<u32>> = BTreeMap::new();
    for name in args.names.iter().filter(|name| !name.starts_with("baseline-")) {
        let deployed =
            template_memory.get(name.as_str()).copied().with_context(|| format!("{name}: not in the template"))?;
        sizes.insert(name, memories.iter().map(|m| m.unwrap_or(deployed)).collect());
    }
    let every_size: BTreeSet<u32> = sizes.values().flatten().copied().collect();
    for name in args.names.iter().filter(|name| name.starts_with("baseline-")) {
        sizes.insert(name, every_size.clone());
    }
    let mut events = BTreeMap::new();
    for name in &args.names {
        let event_name = if name.starts_with("baseline-") { "feed" } else { name.as_str() };
        let path = args.event_dir.join(format!("{event_name}.json"));
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        events.insert(name.as_str(), Bytes::from(text.replace("{{token}}", &args.token)));
    }
    std::fs::create_dir_all(&args.log_dir)?;

    let mut cells: BTreeMap<(u32, &str), Cell> = BTreeMap::new();
    let started = Instant::now();
    for run in 0..args.runs {
        for &memory in &every_size {
            for name in &args.names {
                if !sizes.get(name.as_str()).is_some_and(|s| s.contains(&memory)) {
                    continue;
                }
                let mut config = FunctionConfig::new(name, bin_dir.join(name), region.as_deref());
                config.env = function_environment(template.get(name.as_str()).map(|f| &f.literals), &env, &args.set);
                config.credentials = credentials.clone();
                config.memory_mb = memory;
                config.timeout = Duration::from_secs(30);
                config.init_timeout = Duration::from_secs(30);
                config.max_instances = 1;
                config.cpu = Some(CpuQuota {
                    init_quota: 1.0,
                    invoke_quota: invoke_quota(memory),
                    shares: Some(args.shares),
                    period_us: Some(args.cpu_period_ms * 1000),
                });
                let sample = measure(config, &args, &fronts, events[name.as_str()].clone()).await?;
                if let Some(drain) = &drain {
                    drain.empty().await?;
                }
                let cell = cells.entry((memory, name.as_str())).or_default();
                cell.init.push(sample.init);
                cell.first.push(sample.first);
                cell.cold.push(sample.cold);
                cell.warm.extend(sample.warm);
                cell.connections_init.push(sample.connections_init);
                cell.connections_first.push(sample.connections_first);
                cell.cpu_init.extend(sample.cpu_init);
                cell.cpu_first.extend(sample.cpu_first);
                cell.services.push(sample.services);
                cell.services_init.push(sample.services_init);
                cell.outcomes.insert(sample.outcome);
                cell.warm_failures += sample.warm_failures;
            }
        }
        eprintln!("run {}/{} done ({:.0} s)", run + 1, args.runs, started.elapsed().as_secs_f64());
    }
    let run = Run {
        names: &args.names,
        rtt_ms: args.rtt_ms,
        period_ms: args.cpu_period_ms,
        runs: args.runs,
        warm: args.warm,
        session_token_chars: credentials.as_ref().and_then(|c| c.session_token.as_ref()).map_or(0, String::len),
        template_memory: &template_memory,
        cells: &cells,
    };
    let (text, json) = render(&run)?;
    print!("{text}");
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&json)?)?;
    }
    Ok(())
}

/// `template,128,512`: `None` for the template's size.
fn parse_memories(list: &str) -> anyhow::Result<Vec<Option<u32>>> {
    list.split(',')
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(|m| {
            if m == "template" {
                return Ok(None);
            }
            let mb: u32 = m.parse().with_context(|| format!("memory size {m:?}"))?;
            anyhow::ensure!((128..=10_240).contains(&mb), "memory size {mb} MB is outside Lambda's 128-10240");
            Ok(Some(mb))
        })
        .collect()
}

/// What the template says of a function that the bench models.
#[derive(Debug, Clone, PartialEq, Eq)]
struct TemplateFunction {
    /// Its MemorySize (Globals' when it sets none).
    memory: u32,
    /// The environment variables it is given literally (Globals' and its
    /// own; its own win). The values the template takes from the stack
    /// (`!Ref`, `!Sub`: the table's, the bucket's, the secret's names) are
    /// the run's, from `--env-file`; a literal (the allocator's
    /// `GLIBC_TUNABLES`) is the same on Lambda as here, so the function runs
    /// with it as deployed.
    literals: BTreeMap<String, String>,
}

/// Binary name → what the template says of it.
fn template_functions(path: &Path) -> anyhow::Result<BTreeMap<String, TemplateFunction>> {
    template_functions_of(&std::fs::read_to_string(path)?).with_context(|| path.display().to_string())
}

/// [`template_functions`] of the template's text.
fn template_functions_of(text: &str) -> anyhow::Result<BTreeMap<String, TemplateFunction>> {
    let mut template: serde_norway::Value = serde_norway::from_str(text)?;
    template.apply_merge()?; // `<<: *AppVariables`, as `sam build` applies it
    let number = |value: &serde_norway::Value| value.as_u64().and_then(|n| u32::try_from(n).ok());
    let literals = |variables: &serde_norway::Value| -> BTreeMap<String, String> {
        let Some(variables) = variables.as_mapping() else { return BTreeMap::new() };
        let text = |value: &serde_norway::Value| match value {
            serde_norway::Value::String(text) => Some(text.clone()),
            serde_norway::Value::Number(number) => Some(number.to_string()),
            serde_norway::Value::Bool(flag) => Some(flag.to_string()),
            _ => None,
        };
        variables.iter().filter_map(|(key, value)| Some((key.as_str()?.to_owned(), text(value)?))).collect()
    };
    let globals = &template["Globals"]["Function"];
    let (default_memory, global_literals) =
        (number(&globals["MemorySize"]).unwrap_or(128), literals(&globals["Environment"]["Variables"]));
    let mut functions = BTreeMap::new();
    if let Some(resources) = template["Resources"].as_mapping() {
        for resource in resources.values() {
            if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
                continue;
            }
            if let Some(binary) = resource["Metadata"]["BuildProperties"]["Binary"].as_str() {
                let properties = &resource["Properties"];
                let mut own = global_literals.clone();
                own.extend(literals(&properties["Environment"]["Variables"]));
                let memory = number(&properties["MemorySize"]).unwrap_or(default_memory);
                functions.insert(binary.to_owned(), TemplateFunction { memory, literals: own });
            }
        }
    }
    anyhow::ensure!(!functions.is_empty(), "no function with a Binary in the template");
    Ok(functions)
}

/// One function's environment: the template's literals, then the run's (the
/// services' names and endpoints), then `--set`, whose empty values remove
/// a variable from either (`LAMBDA_SET=GLIBC_TUNABLES=` runs without it).
fn function_environment(
    template: Option<&BTreeMap<String, String>>,
    run: &BTreeMap<String, String>,
    set: &[String],
) -> BTreeMap<String, String> {
    let mut env = template.cloned().unwrap_or_default();
    env.extend(run.iter().map(|(key, value)| (key.clone(), value.clone())));
    for (key, value) in set.iter().filter_map(|pair| pair.split_once('=')) {
        if value.is_empty() {
            env.remove(key);
        }
    }
    env
}

/// The region and credentials (given as Lambda gives them) and the rest.
type FunctionEnvironment = (Option<String>, Option<Credentials>, BTreeMap<String, String>);

/// Copies the bootstraps `names` of `from` into `to` and returns it: they run
/// from copies, as Lambda runs a function from the package it unzipped into
/// the sandbox. A binary just written by the linker starts slower from the
/// page cache (its pages fault in smaller pieces): user-info's start to its
/// first call took ~25 more page faults and 0.2–0.6 ms more CPU than from a
/// copy (`perf stat -e page-faults,task-clock`; equal once both were read
/// afresh after dropping the caches), so the figures depended on whether the
/// release build had just run.
fn stage_bootstraps(from: &Path, names: &[String], to: &Path) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(to)?;
    for name in names {
        std::fs::copy(from.join(name), to.join(name))
            .with_context(|| format!("copying the bootstrap {}", from.join(name).display()))?;
    }
    Ok(to.to_path_buf())
}

/// Empties the chat queue behind the SQS front after each instance. moto's
/// FIFO `SendMessage` takes longer the more messages wait in the queue (4 ms
/// empty, 20 ms at 300, 37 ms at 600, on this machine), where SQS's does
/// not; the bench's queue has no consumer, so without this message-action's
/// sends slowed through a run (warm p50 12.7 ms in a short run, 21 ms in the
/// full one), a figure of the emulator's bookkeeping, not of our start.
struct QueueDrain {
    client: aws_sdk_sqs::Client,
    url: String,
}

impl QueueDrain {
    /// For a run whose functions send to `DOUYIN_CHAT_QUEUE_URL` on the
    /// engine at `engine` (behind the SQS front), reached directly.
    fn for_run(
        env: &BTreeMap<String, String>,
        engine: Option<SocketAddr>,
        region: Option<&str>,
        credentials: Option<&Credentials>,
    ) -> Option<QueueDrain> {
        let url = env.get("DOUYIN_CHAT_QUEUE_URL")?.clone();
        let engine = engine?;
        let keys = credentials.map_or(("bench", "bench"), |c| (c.access_key_id.as_str(), c.secret_access_key.as_str()));
        let config = aws_sdk_sqs::Config::builder()
            .behavior_version(aws_sdk_sqs::config::BehaviorVersion::latest())
            .region(aws_sdk_sqs::config::Region::new(region.unwrap_or("us-east-1").to_owned()))
            .endpoint_url(format!("http://{engine}"))
            .credentials_provider(aws_sdk_sqs::config::Credentials::new(keys.0, keys.1, None, None, "bench"))
            .build();
        Some(QueueDrain { client: aws_sdk_sqs::Client::from_conf(config), url })
    }

    async fn empty(&self) -> anyhow::Result<()> {
        self.client.purge_queue().queue_url(&self.url).send().await.context("emptying the chat queue")?;
        Ok(())
    }
}

/// The functions' environment: the env file, the region and credentials as
/// Lambda gives them, the fronts as the services' endpoints, then `--set`.
fn environment(args: &Args, fronts: &[Front]) -> anyhow::Result<FunctionEnvironment> {
    let mut env = BTreeMap::new();
    for line in std::fs::read_to_string(&args.env_file)?.lines() {
        if let Some((key, value)) = line.split_once('=') {
            env.insert(key.trim().to_owned(), value.to_owned());
        }
    }
    for front in fronts {
        env.insert(format!("AWS_ENDPOINT_URL_{}", front.service), front.url());
    }
    env.insert("DOUYIN_TLS_ROOTS".into(), format!("file:{}", args.ca.display()));
    for pair in &args.set {
        let (key, value) = pair.split_once('=').context("--set KEY=VALUE")?;
        if value.is_empty() {
            env.remove(key);
        } else {
            env.insert(key.to_owned(), value.to_owned());
        }
    }
    let region = env.remove("AWS_REGION");
    env.remove("AWS_DEFAULT_REGION");
    let credentials = match (env.remove("AWS_ACCESS_KEY_ID"), env.remove("AWS_SECRET_ACCESS_KEY")) {
        (Some(access_key_id), Some(secret_access_key)) => {
            let session_token = env.remove("AWS_SESSION_TOKEN").or_else(|| session_token(args.session_token_chars));
            Some(Credentials { access_key_id, secret_access_key, session_token })
        }
        _ => None,
    };
    Ok((region, credentials, env))
}

/// A session token of `chars` characters of base64 (none for 0), the same
/// in every run: what the engines here accept, as long as a role's.
fn session_token(chars: usize) -> Option<String> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    let token: String = (0..chars)
        .map(|_| {
            // xorshift64: spread over the alphabet, no pattern to compress.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            char::from(ALPHABET[usize::try_from(state % 64).unwrap_or(0)])
        })
        .collect();
    (chars > 0).then_some(token)
}

/// One new instance: its cold start, then the warm invocations.
async fn measure(config: FunctionConfig, args: &Args, fronts: &[Front], event: Bytes) -> anyhow::Result<Sample> {
    let name = config.name.clone();
    let options = LaunchOptions { log_dir: args.log_dir.clone(), parent_death_signal: false, platform_log: true };
    let function = Function::new(config, options);
    let cold = function.invoke(InvokeRequest::new(event.clone())).await;
    let connections = |from: Instant, to: Instant| fronts.iter().map(|f| f.connections_between(from, to)).sum();
    let services =
        |from: Instant, to: Instant| front::busy(fronts.iter().flat_map(|f| f.exchanges_between(from, to)).collect());
    let (Some(spawned), Some(init_done), Some(handed)) = (cold.spawned, cold.init_done, cold.handed) else {
        function.shutdown().await;
        anyhow::bail!("{name}: the cold invocation did not run: {}", describe(&cold.outcome));
    };
    let mut sample = Sample {
        init: init_done.duration_since(spawned),
        first: cold.answered.duration_since(handed),
        cold: cold.answered.duration_since(spawned),
        warm: Vec::new(),
        connections_init: connections(spawned, init_done),
        connections_first: connections(handed, cold.answered),
        cpu_init: cold.init_cpu,
        cpu_first: cold.init_cpu.zip(cold.cpu_after).map(|(init, after)| after.saturating_sub(init)),
        services: services(spawned, cold.answered),
        services_init: services(spawned, init_done),
        outcome: describe(&cold.outcome),
        warm_failures: 0,
    };
    for _ in 0..args.warm {
        tokio::time::sleep(Duration::from_millis(args.warm_gap_ms)).await;
        let warm = function.invoke(InvokeRequest::new(event.clone())).await;
        match (warm.duration(), &warm.outcome) {
            (Some(duration), Outcome::Response(_)) if !warm.cold => sample.warm.push(duration),
            _ => sample.warm_failures += 1,
        }
    }
    function.shutdown().await;
    Ok(sample)
}

/// How an invocation ended: the HTTP status and the envelope's `status_code`,
/// or the SQS/S3 result, or the error.
fn describe(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Response(body) => bench::describe_answer(body),
        Outcome::Error { error_type, .. } => format!("error {error_type}"),
    }
}

/// Spins on one thread for `length`; the share of a core it got over the
/// last part (the first 200 ms leave time to be moved into its cgroup).
fn spin(length: Duration) -> anyhow::Result<f64> {
    let start = Instant::now();
    let mut counter = 0u64;
    while start.elapsed() < Duration::from_millis(200) {
        counter = std::hint::black_box(counter.wrapping_add(1));
    }
    let (cpu_before, wall_before) = (cpu_time()?, Instant::now());
    while wall_before.elapsed() < length {
        counter = std::hint::black_box(counter.wrapping_add(1));
    }
    let _ = std::hint::black_box(counter);
    Ok((cpu_time()? - cpu_before).as_secs_f64() / wall_before.elapsed().as_secs_f64())
}

/// CPU time of this process so far (the spinner's: one thread), as the
/// Lambda host reads an instance's.
fn cpu_time() -> anyhow::Result<Duration> {
    rehearsal::instance::cpu_time(std::process::id()).context("schedstat")
}

/// Runs the spinner in a cgroup at each quota the benchmark uses and prints
/// what it got: the check that the quota really throttles, and that the
/// weight gives the quota on a busy machine.
fn cpu_check(memories: &[Option<u32>], shares: u64, period_us: u64) -> anyhow::Result<()> {
    let mut quotas: Vec<(String, f64, Option<u64>)> =
        vec![("init, default weight (what the machine's load leaves)".into(), 1.0, None)];
    quotas.push(("init (one core)".into(), 1.0, Some(shares)));
    for mb in memories.iter().flatten() {
        quotas.push((format!("{mb} MB"), invoke_quota(*mb), Some(shares)));
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("CPU share a spinning process gets in its cgroup, 1 s each (load average {}):\n", load.trim());
    println!("| quota | cores asked | cores measured |");
    println!("|---|---:|---:|");
    let me = std::env::current_exe()?;
    for (index, (label, cores, weight)) in quotas.iter().enumerate() {
        let cgroup = CpuCgroup::create_with_period(&format!("spin-{index}"), *cores, period_us)
            .context("a cgroup with a cpu quota (needs root and a cgroup cpu controller)")?;
        if let Some(weight) = weight {
            cgroup.set_shares(*weight)?;
        }
        let child =
            std::process::Command::new(&me).args(["--spin-ms", "1000"]).stdout(std::process::Stdio::piped()).spawn()?;
        let added = cgroup.add(child.id());
        let output = child.wait_with_output()?;
        let _ = cgroup.remove();
        added?;
        let measured: f64 = String::from_utf8_lossy(&output.stdout).trim().parse().context("spinner output")?;
        println!("| {label} | {cores:.3} | {measured:.3} |");
    }
    println!();
    Ok(())
}

/// Times a new connection and a request on an open one through each front.
async fn network_check(fronts: &[Front], ca: &[u8], rtt: Duration) -> anyhow::Result<()> {
    println!(
        "Network through the TLS fronts (round trip {:.2} ms injected; a new connection with one request is \
         TCP + TLS 1.3 + the request = 3 round trips, a request on an open connection 1), median of 5:\n",
        millis(rtt)
    );
    println!("| service | engine behind it | new connection + request (ms) | request on it (ms) |");
    println!("|---|---|---:|---:|");
    for front in fronts {
        let mut new = Vec::new();
        let mut again = Vec::new();
        for _ in 0..5 {
            let (first, second) = front::probe(front, ca).await?;
            new.push(first);
            // AWS keeps its connections open; a front that does not would
            // charge every request a new handshake (bench::front).
            again.push(
                second.with_context(|| format!("the {} front closed a connection after one request", front.service))?,
            );
        }
        let median =
            |sample: Vec<Duration>| Summary::of(sample).map_or_else(|| "-".into(), |s| format!("{:.2}", millis(s.p50)));
        println!("| {} | {} | {} | {} |", front.service, front.backend, median(new), median(again));
    }
    println!();
    Ok(())
}

fn summary(sample: &[Duration]) -> Option<Summary> {
    Summary::of(sample.to_vec())
}

/// The share of a vCPU Lambda gives an invocation at `memory_mb`.
fn invoke_quota(memory_mb: u32) -> f64 {
    f64::from(memory_mb) / MB_PER_VCPU
}

/// What the tables are made of: the run's settings and its measurements.
struct Run<'a> {
    /// Functions in the order asked for (baselines first).
    names: &'a [String],
    rtt_ms: f64,
    /// The CPU quotas' period.
    period_ms: u64,
    runs: usize,
    warm: usize,
    /// The functions' session token's length (0: none).
    session_token_chars: usize,
    template_memory: &'a BTreeMap<String, u32>,
    cells: &'a BTreeMap<(u32, &'a str), Cell>,
}

/// The Markdown tables (one per memory size, then the goal), and every
/// cell's figures as JSON.
fn render(run: &Run) -> Result<(String, serde_json::Value), std::fmt::Error> {
    use std::fmt::Write as _;
    let mut out = String::new();
    let cells = run.cells;
    let every_size: BTreeSet<u32> = cells.keys().map(|(memory, _)| *memory).collect();
    let cold_p50 = |memory: u32, name: &str| cells.get(&(memory, name)).and_then(|c| summary(&c.cold)).map(|s| s.p50);
    let net_p50 = |memory: u32, name: &str| cells.get(&(memory, name)).and_then(|c| summary(&c.net())).map(|s| s.p50);
    let warm_p50 = |memory: u32, name: &str| cells.get(&(memory, name)).and_then(|c| summary(&c.warm)).map(|s| s.p50);
    let ratio = |value: Duration, base: Option<Duration>| {
        base.map_or_else(|| "-".to_owned(), |base| format!("{:.2}×", value.as_secs_f64() / base.as_secs_f64()))
    };
    let mut json = serde_json::Map::new();
    for &memory in &every_size {
        writeln!(
            out,
            "\n### {memory} MB ({:.3} vCPU per invocation over {} ms periods, one core during init; round trip {} ms; \
             session token {} characters; {} cold starts, {} warm invocations each)\n",
            invoke_quota(memory),
            run.period_ms,
            run.rtt_ms,
            run.session_token_chars,
            run.runs,
            run.runs * run.warm
        )?;
        writeln!(
            out,
            "| function | init p50 | first response p50 | cold p50 | cold p90 | warm p50 | warm p99 | p99/p50 | \
             vs floor | vs hello | CPU init / 1st | TLS opened init / 1st | services init / all | vs floor, services out | \
             first answer |"
        )?;
        writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---|")?;
        let floor = cold_p50(memory, "baseline-floor");
        let floor_net = net_p50(memory, "baseline-floor");
        let hello = cold_p50(memory, "baseline-hello");
        for name in run.names {
            let Some(cell) = cells.get(&(memory, name.as_str())) else { continue };
            let (Some(init), Some(first), Some(cold)) =
                (summary(&cell.init), summary(&cell.first), summary(&cell.cold))
            else {
                continue;
            };
            let warm = summary(&cell.warm);
            let (warm50, warm99) = warm.as_ref().map_or(("-".into(), "-".into()), |w| {
                (format!("{:.2}", millis(w.p50)), format!("{:.2}", millis(w.p99)))
            });
            let spread =
                warm.as_ref().map_or("-".into(), |w| format!("{:.1}×", w.p99.as_secs_f64() / w.p50.as_secs_f64()));
            let deployed = if run.template_memory.get(name.as_str()) == Some(&memory) { " (template)" } else { "" };
            let median_count = |counts: &[usize]| {
                let mut counts = counts.to_vec();
                counts.sort_unstable();
                counts.get(counts.len() / 2).copied().unwrap_or(0)
            };
            let outcome: Vec<&str> = cell.outcomes.iter().map(String::as_str).collect();
            let failures =
                if cell.warm_failures > 0 { format!("; {} warm failures", cell.warm_failures) } else { String::new() };
            let cpu = match (summary(&cell.cpu_init), summary(&cell.cpu_first)) {
                (Some(init), Some(first)) => format!("{:.1} / {:.1}", millis(init.p50), millis(first.p50)),
                _ => "-".into(),
            };
            let (services, net) = (summary(&cell.services), summary(&cell.net()));
            let services_ms = match (summary(&cell.services_init), services.as_ref()) {
                (Some(init), Some(all)) => format!("{:.1} / {:.1}", millis(init.p50), millis(all.p50)),
                _ => "-".into(),
            };
            let net_ratio = net.as_ref().map_or("-".into(), |n| ratio(n.p50, floor_net));
            writeln!(
                out,
                "| {name}{deployed} | {:.1} | {:.1} | {:.1} | {:.1} | {warm50} | {warm99} | {spread} | {} | {} | {cpu} | {} / {} | {services_ms} | {net_ratio} | {}{failures} |",
                millis(init.p50),
                millis(first.p50),
                millis(cold.p50),
                millis(cold.p90),
                ratio(cold.p50, floor),
                ratio(cold.p50, hello),
                median_count(&cell.connections_init),
                median_count(&cell.connections_first),
                outcome.join(" / "),
            )?;
            json.insert(
                format!("{name}@{memory}"),
                serde_json::json!({
                    "function": name, "memory_mb": memory,
                    "init_ms": millis(init.p50), "first_ms": millis(first.p50),
                    "cold_ms": millis(cold.p50), "cold_p90_ms": millis(cold.p90),
                    "warm_p50_ms": warm.as_ref().map(|w| millis(w.p50)),
                    "warm_p99_ms": warm.as_ref().map(|w| millis(w.p99)),
                    "cpu_init_ms": summary(&cell.cpu_init).map(|s| millis(s.p50)),
                    "cpu_first_ms": summary(&cell.cpu_first).map(|s| millis(s.p50)),
                    "vs_floor": floor.map(|f| cold.p50.as_secs_f64() / f.as_secs_f64()),
                    "vs_hello": hello.map(|h| cold.p50.as_secs_f64() / h.as_secs_f64()),
                    "services_ms": services.as_ref().map(|s| millis(s.p50)),
                    "services_init_ms": summary(&cell.services_init).map(|s| millis(s.p50)),
                    "net_ms": net.as_ref().map(|n| millis(n.p50)),
                    "vs_floor_services_out": net.as_ref().zip(floor_net).map(|(n, f)| n.p50.as_secs_f64() / f.as_secs_f64()),
                    "runs": cell.cold.len(), "warm_samples": cell.warm.len(),
                    "outcomes": cell.outcomes,
                }),
            );
        }
    }

    // The goal, read off the tables above.
    writeln!(out, "\n### Against the goal\n")?;
    let data: Vec<&str> = run
        .names
        .iter()
        .map(String::as_str)
        .filter(|n| !n.starts_with("baseline-") && *n != "route-fallback")
        .collect();
    // Each bound twice: on the cold starts as measured, then with the
    // services' own time taken out of every cold start, the floor's too
    // (what the engines here take is not what AWS's take).
    for (memory, bound) in [(512u32, 1.3f64), (128, 2.0)] {
        for services_out in [false, true] {
            let figure = |name: &str| if services_out { net_p50(memory, name) } else { cold_p50(memory, name) };
            let Some(floor) = figure("baseline-floor") else { continue };
            let floor_warm = warm_p50(memory, "baseline-floor").unwrap_or_default();
            let mut over = Vec::new();
            let mut worst: Option<(f64, &str)> = None;
            for name in &data {
                let Some(cold) = figure(name) else { continue };
                let mut value = cold.as_secs_f64() / floor.as_secs_f64();
                let mut note = String::new();
                // The goal excepts the real work at 512 MB; at 128 MB it is
                // shown beside the ratio that counts.
                let real_work = REAL_WORK.contains(name);
                let excepted = real_work && memory == 512;
                if excepted || (real_work && !services_out) {
                    // Its own work: what its warm request takes beyond the floor's.
                    let work = warm_p50(memory, name).unwrap_or_default().saturating_sub(floor_warm);
                    let without = cold.saturating_sub(work).as_secs_f64() / floor.as_secs_f64();
                    if !services_out {
                        let counts = if excepted { "excepted by the goal" } else { "excepted at 512 MB only: shown" };
                        writeln!(
                            out,
                            "- {name} at {memory} MB: {value:.2}× the floor; without its own work ({:.1} ms, its \
                             warm request beyond the floor's) {without:.2}× ({counts})",
                            millis(work)
                        )?;
                    }
                    if excepted {
                        value = without;
                        note = " (without its work)".into();
                    }
                }
                if value > bound {
                    over.push(format!("{name} {value:.2}×{note} (by {:.0}%)", (value / bound - 1.0) * 100.0));
                }
                if worst.is_none_or(|(w, _)| value > w) {
                    worst = Some((value, name));
                }
            }
            let worst = worst.map_or(String::new(), |(v, n)| format!("worst {n} {v:.2}×"));
            let what = if services_out { ", the services' time taken out" } else { "" };
            if over.is_empty() {
                writeln!(
                    out,
                    "- {memory} MB{what}, every data function's cold start ≤ {bound}× the floor: **met** ({worst})"
                )?;
            } else {
                writeln!(
                    out,
                    "- {memory} MB{what}, cold start ≤ {bound}× the floor: **not met** by {}",
                    over.join(", ")
                )?;
            }
        }
    }
    run_by_run(&mut out, run, &data)?;
    for &memory in &every_size {
        let mut over = Vec::new();
        for name in READS {
            let Some(warm) = cells.get(&(memory, *name)).and_then(|c| summary(&c.warm)) else { continue };
            let spread = warm.p99.as_secs_f64() / warm.p50.as_secs_f64();
            if spread > 3.0 {
                over.push(format!("{name} {spread:.1}×"));
            }
        }
        if over.is_empty() {
            writeln!(out, "- {memory} MB, every read endpoint's warm p99 ≤ 3× its p50: **met**")?;
        } else {
            writeln!(out, "- {memory} MB, warm p99 ≤ 3× p50: **not met** by {}", over.join(", "))?;
        }
    }
    Ok((out, serde_json::Value::Object(json)))
}

/// How sure the run-by-run interval is to hold the true median, at least
/// (the widest interval, the slowest and fastest run, when fewer runs
/// cannot give this).
const MEDIAN_COVERAGE: f64 = 0.85;

/// The median of `values` and a distribution-free interval for it: the k-th
/// smallest to the k-th largest value, k the largest whose chance of holding
/// the true median (a sign test: binomial(n, ½)) is at least
/// [`MEDIAN_COVERAGE`], and that chance. `None` when empty.
fn median_interval(values: &[f64]) -> Option<Interval> {
    let mut sorted: Vec<f64> = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let median = if n % 2 == 1 { sorted[n / 2] } else { f64::midpoint(sorted[n / 2 - 1], sorted[n / 2]) };
    let (rank, coverage) = sign_test(n);
    Some(Interval { median, low: sorted[rank - 1], high: sorted[n - rank], coverage, rank })
}

/// For `n` values (at least one): the rank k of [`median_interval`]'s ends
/// (the k-th smallest and k-th largest) and their chance of holding the true
/// median, `1 - 2 P(B < k)` for B ~ binomial(n, ½). It depends on `n` alone.
fn sign_test(n: usize) -> (usize, f64) {
    // P(B ≤ j), by the running sum of C(n, i) / 2^n.
    let below = |j: usize| -> f64 {
        let mut term = 0.5f64.powi(i32::try_from(n).unwrap_or(i32::MAX));
        let mut sum = 0.0;
        for i in 0..=j {
            sum += term;
            term *= (n - i) as f64 / (i + 1) as f64;
        }
        sum
    };
    let coverage = |k: usize| 1.0 - 2.0 * below(k - 1);
    let mut k = 1;
    while k < n.div_ceil(2) && coverage(k + 1) >= MEDIAN_COVERAGE {
        k += 1;
    }
    (k, coverage(k))
}

/// `1st`, `2nd`, `3rd`, `4th`…
fn ordinal(n: usize) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// The ends of an interval of rank `rank`: `smallest to the largest`,
/// `2nd smallest to the 2nd largest`…
fn ends(rank: usize) -> String {
    if rank == 1 {
        "smallest to the largest".to_owned()
    } else {
        let nth = ordinal(rank);
        format!("{nth} smallest to the {nth} largest")
    }
}

/// [`median_interval`]'s answer.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Interval {
    median: f64,
    low: f64,
    high: f64,
    /// The chance that `low..=high` holds the true median.
    coverage: f64,
    /// `low` is the `rank`-th smallest value, `high` the `rank`-th largest.
    rank: usize,
}

/// Where an interval lies against a bound: all of it at or under, all of it
/// over, or across it (the runs cannot tell).
fn verdict(interval: &Interval, bound: f64) -> &'static str {
    if interval.high <= bound {
        "met"
    } else if interval.low > bound {
        "not met"
    } else {
        "undecided"
    }
}

/// The goal read run by run: each run's cold start over the floor's of the
/// same run (they ran seconds apart, so the machine's drift between runs,
/// which moves the floor by 1–2 ms, cancels), the median of those ratios and
/// its interval over the runs, and whether the bound lies above, below or
/// inside it. Login's and publish's own work (as above: their warm request
/// beyond the floor's) is taken out at 512 MB, where the goal excepts it.
fn run_by_run(out: &mut String, run: &Run, data: &[&str]) -> std::fmt::Result {
    use std::fmt::Write as _;
    let cells = run.cells;
    let bounds = [(512u32, 1.3f64), (128, 2.0)];
    let mut rows = Vec::new();
    let mut lines = Vec::new();
    for (memory, bound) in bounds {
        let Some(floor) = cells.get(&(memory, "baseline-floor")) else { continue };
        let floor_warm = summary(&floor.warm).map(|s| s.p50).unwrap_or_default();
        let (mut met, mut not_met, mut undecided) = (0, Vec::new(), Vec::new());
        for name in data {
            let Some(cell) = cells.get(&(memory, *name)) else { continue };
            let work = if memory == 512 && REAL_WORK.contains(name) {
                summary(&cell.warm).map(|s| s.p50).unwrap_or_default().saturating_sub(floor_warm)
            } else {
                Duration::ZERO
            };
            let ratios: Vec<f64> = cell
                .cold
                .iter()
                .zip(&floor.cold)
                .map(|(cold, floor)| cold.saturating_sub(work).as_secs_f64() / floor.as_secs_f64())
                .collect();
            let Some(interval) = median_interval(&ratios) else { continue };
            let said = verdict(&interval, bound);
            let note = if work > Duration::ZERO { " (without its work)" } else { "" };
            let figure = format!("{name} {:.2}× ({:.2}–{:.2}×){note}", interval.median, interval.low, interval.high);
            match said {
                "met" => met += 1,
                "not met" => not_met.push(figure.clone()),
                _ => undecided.push(figure.clone()),
            }
            rows.push((memory, figure, said));
        }
        let judged = met + not_met.len() + undecided.len();
        if judged == 0 {
            continue;
        }
        let (rank, coverage) = sign_test(floor.cold.len());
        let mut line = format!(
            "- {memory} MB, run by run (each run's cold start over its floor's; the median of the {} runs, and the \
             {}, which hold the true median with {:.1}% confidence), ≤ {bound}× the floor: **met** by {met} of \
             {judged}",
            run.runs,
            ends(rank),
            coverage * 100.0,
        );
        if !not_met.is_empty() {
            line.push_str(&format!("; **not met** by {}", not_met.join(", ")));
        }
        if !undecided.is_empty() {
            line.push_str(&format!("; undecided (the bound inside the interval): {}", undecided.join(", ")));
        }
        lines.push(line);
    }
    if rows.is_empty() {
        return Ok(());
    }
    writeln!(out, "\n#### Run by run\n")?;
    writeln!(out, "| memory | function: median of the runs' ratios to their floor (interval) | bound |")?;
    writeln!(out, "|---|---|---|")?;
    for (memory, figure, said) in &rows {
        writeln!(out, "| {memory} MB | {figure} | {said} |")?;
    }
    writeln!(out)?;
    for line in lines {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_invocation_quota_is_lambdas_share_of_a_vcpu() {
        assert!((invoke_quota(1769) - 1.0).abs() < 1e-9);
        assert!((invoke_quota(512) - 0.2894).abs() < 1e-3);
        assert!((invoke_quota(128) - 0.0724).abs() < 1e-3);
    }

    #[test]
    fn memory_sizes_are_lambdas_or_the_templates() {
        assert_eq!(parse_memories("template, 128,512,").unwrap(), vec![None, Some(128), Some(512)]);
        assert!(parse_memories("64").is_err());
        assert!(parse_memories("10241").is_err());
        assert!(parse_memories("big").is_err());
    }

    #[test]
    fn each_binary_gets_its_memory_size_or_the_globals() {
        let template = r#"
Globals:
  Function:
    MemorySize: 256
Resources:
  Feed:
    Type: AWS::Serverless::Function
    Metadata: {BuildProperties: {Binary: feed}}
  Login:
    Type: AWS::Serverless::Function
    Properties: {MemorySize: 1024}
    Metadata: {BuildProperties: {Binary: user-login}}
  Table:
    Type: AWS::DynamoDB::Table
"#;
        let sizes: BTreeMap<String, u32> =
            template_functions_of(template).unwrap().into_iter().map(|(name, f)| (name, f.memory)).collect();
        assert_eq!(sizes, BTreeMap::from([("feed".to_owned(), 256), ("user-login".to_owned(), 1024)]));
        assert!(template_functions_of("Resources: {}").is_err());
        // The real template: every function has a size Lambda accepts.
        let real = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../template.yaml")).unwrap();
        let real = template_functions_of(&real).unwrap();
        assert!(real.contains_key("feed") && real.values().all(|f| (128..=10_240).contains(&f.memory)), "{real:?}");
    }

    #[test]
    fn each_function_runs_with_the_templates_literal_variables_under_the_runs() {
        let template = r#"
Globals:
  Function:
    Environment: {Variables: {GLIBC_TUNABLES: "glibc.malloc.trim_threshold=1", SHARED: "globals"}}
Resources:
  Feed:
    Type: AWS::Serverless::Function
    Metadata: {BuildProperties: {Binary: feed}}
    Properties:
      Environment:
        Variables: {DOUYIN_TABLE: !Ref Table, SHARED: "own", DOUYIN_FEED_SHARDS: 4}
"#;
        let functions = template_functions_of(template).unwrap();
        let feed = &functions["feed"].literals;
        let literal = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
        };
        // The name the stack gives (`!Ref`) is not a literal; a function's own value wins.
        assert_eq!(
            feed,
            &literal(&[
                ("GLIBC_TUNABLES", "glibc.malloc.trim_threshold=1"),
                ("SHARED", "own"),
                ("DOUYIN_FEED_SHARDS", "4")
            ])
        );
        // The run's values win; `--set KEY=` removes a literal too.
        let run = literal(&[("DOUYIN_TABLE", "bench"), ("SHARED", "run")]);
        let env = function_environment(Some(feed), &run, &["GLIBC_TUNABLES=".to_owned()]);
        assert_eq!(env, literal(&[("DOUYIN_TABLE", "bench"), ("SHARED", "run"), ("DOUYIN_FEED_SHARDS", "4")]));
        // The real template's publish function decodes with the allocator's tunables.
        let real = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../template.yaml")).unwrap();
        let real = template_functions_of(&real).unwrap();
        assert!(real["publish-action"].literals.contains_key("GLIBC_TUNABLES"), "{real:?}");
    }

    #[tokio::test]
    async fn the_chat_queue_is_emptied_on_its_engine() {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        // An engine that keeps the first request it gets and answers it as SQS answers PurgeQueue.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let engine = listener.local_addr().unwrap();
        let (got, request) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut seen = Vec::new();
            let mut buffer = [0u8; 4096];
            while !String::from_utf8_lossy(&seen).contains("QueueUrl") {
                let n = socket.read(&mut buffer).await.unwrap();
                assert!(n > 0);
                seen.extend_from_slice(&buffer[..n]);
            }
            let answer = "HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: 2\r\n\r\n{}";
            socket.write_all(answer.as_bytes()).await.unwrap();
            got.send(String::from_utf8_lossy(&seen).to_lowercase()).unwrap();
        });
        let url = "http://sqs.us-east-1.localhost/123456789012/douyin-chat.fifo";
        let env = BTreeMap::from([("DOUYIN_CHAT_QUEUE_URL".to_owned(), url.to_owned())]);
        assert!(
            QueueDrain::for_run(&BTreeMap::new(), Some(engine), None, None).is_none(),
            "no queue, nothing to empty"
        );
        assert!(QueueDrain::for_run(&env, None, None, None).is_none(), "no SQS engine, nothing to empty");
        QueueDrain::for_run(&env, Some(engine), Some("us-east-1"), None).unwrap().empty().await.unwrap();
        let request = request.await.unwrap();
        assert!(request.contains("x-amz-target: amazonsqs.purgequeue"), "{request}");
        assert!(request.contains(url), "{request}");
    }

    fn cell(cold_ms: &[u64], warm_ms: &[u64]) -> Cell {
        let ms = |list: &[u64]| list.iter().map(|m| Duration::from_millis(*m)).collect::<Vec<_>>();
        Cell {
            init: ms(&cold_ms.iter().map(|m| m / 2).collect::<Vec<_>>()),
            first: ms(&cold_ms.iter().map(|m| m - m / 2).collect::<Vec<_>>()),
            cold: ms(cold_ms),
            warm: ms(warm_ms),
            connections_init: vec![1; cold_ms.len()],
            connections_first: vec![0; cold_ms.len()],
            cpu_init: ms(&cold_ms.iter().map(|m| m / 4).collect::<Vec<_>>()),
            cpu_first: ms(&cold_ms.iter().map(|m| m / 8).collect::<Vec<_>>()),
            services: ms(&cold_ms.iter().map(|m| m / 10).collect::<Vec<_>>()),
            services_init: ms(&cold_ms.iter().map(|m| m / 20).collect::<Vec<_>>()),
            outcomes: BTreeSet::from(["HTTP 200, 0".to_owned()]),
            warm_failures: 0,
        }
    }

    fn owned(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    #[test]
    fn the_median_interval_is_a_sign_test_over_the_runs() {
        // 7 runs: the 2nd smallest to the 2nd largest hold the median with
        // 1 - 2 (1 + 7) / 128 = 87.5%; the 3rd would be 54.7%.
        let seven = median_interval(&[1.5, 1.1, 1.3, 1.2, 1.0, 1.4, 1.6]).unwrap();
        assert_eq!((seven.median, seven.low, seven.high, seven.rank), (1.3, 1.1, 1.5, 2));
        assert!((seven.coverage - 0.875).abs() < 1e-12, "{seven:?}");
        // 5 runs: only the slowest and fastest reach 85% (93.75%).
        let five = median_interval(&[3.0, 1.0, 2.0, 5.0, 4.0]).unwrap();
        assert_eq!((five.median, five.low, five.high, five.rank), (3.0, 1.0, 5.0, 1));
        assert!((five.coverage - 0.9375).abs() < 1e-12, "{five:?}");
        // 15 runs: the 5th from each end, 88.2% (the 6th would be 69.8%).
        let fifteen = median_interval(&(1..=15).map(f64::from).collect::<Vec<_>>()).unwrap();
        assert_eq!((fifteen.median, fifteen.low, fifteen.high, fifteen.rank), (8.0, 5.0, 11.0, 5));
        assert!((fifteen.coverage - (1.0 - 2.0 * 1941.0 / 32768.0)).abs() < 1e-12, "{fifteen:?}");
        // Too few runs for 85%: the widest, and what it is worth.
        let three = median_interval(&[2.0, 1.0, 3.0]).unwrap();
        assert_eq!((three.low, three.high, three.rank), (1.0, 3.0, 1));
        assert!((three.coverage - 0.75).abs() < 1e-12, "{three:?}");
        assert_eq!(median_interval(&[1.0, 2.0, 3.0, 4.0]).unwrap().median, 2.5);
        assert_eq!(median_interval(&[]), None);
        let ordinals: Vec<String> = [1, 2, 3, 4, 11, 12, 13, 21, 22].into_iter().map(ordinal).collect();
        assert_eq!(ordinals, ["1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd"]);
    }

    #[test]
    fn the_goal_is_also_read_run_by_run_against_each_runs_own_floor() {
        let names = owned(&["baseline-floor", "feed", "user-info", "comment-list", "user-login"]);
        // The floor drifts between runs (10 ms, then 20); each function's run tracks its run's floor.
        let floor = [10, 20, 10, 20, 10, 20, 10];
        let times = |ratios: &[f64]| -> Vec<u64> {
            floor.iter().zip(ratios).map(|(f, r)| (*f as f64 * r).round() as u64).collect()
        };
        let mut cells = BTreeMap::new();
        cells.insert((512, "baseline-floor"), cell(&floor, &[2; 7]));
        cells.insert((512, "feed"), cell(&times(&[1.2; 7]), &[3; 7]));
        cells.insert((512, "user-info"), cell(&times(&[1.5; 7]), &[3; 7]));
        cells.insert((512, "comment-list"), cell(&times(&[1.2, 1.4, 1.2, 1.4, 1.2, 1.4, 1.2]), &[3; 7]));
        // Login's own work, 8 ms (its warm 10 against the floor's 2), taken out of each run at 512 MB.
        cells.insert((512, "user-login"), cell(&floor.map(|f| f + 8 + f / 10), &[10; 7]));
        cells.insert((128, "baseline-floor"), cell(&floor, &[2; 7]));
        cells.insert((128, "user-login"), cell(&floor.map(|f| f + 8 + f / 10), &[10; 7]));
        let template = BTreeMap::new();
        let run = Run {
            names: &names,
            rtt_ms: 1.0,
            period_ms: 100,
            runs: 7,
            warm: 1,
            session_token_chars: 0,
            template_memory: &template,
            cells: &cells,
        };
        let data = ["feed", "user-info", "comment-list", "user-login"];
        let mut out = String::new();
        run_by_run(&mut out, &run, &data).unwrap();
        assert!(out.contains("| 512 MB | feed 1.20× (1.20–1.20×) | met |"), "{out}");
        assert!(out.contains("| 512 MB | user-info 1.50× (1.50–1.50×) | not met |"), "{out}");
        assert!(out.contains("| 512 MB | comment-list 1.20× (1.20–1.40×) | undecided |"), "{out}");
        assert!(out.contains("| 512 MB | user-login 1.10× (1.10–1.10×) (without its work) | met |"), "{out}");
        // At 128 MB the work counts: 1.9× at 10 ms, 1.5× at 20.
        assert!(out.contains("| 128 MB | user-login 1.90× (1.50–1.90×) | met |"), "{out}");
        assert!(
            out.contains(
                "- 512 MB, run by run (each run's cold start over its floor's; the median of the 7 runs, and the 2nd \
                 smallest to the 2nd largest, which hold the true median with 87.5% confidence), ≤ 1.3× the floor: \
                 **met** by 2 of 4; **not met** by user-info 1.50× (1.50–1.50×); undecided (the bound inside the \
                 interval): comment-list 1.20× (1.20–1.40×)"
            ),
            "{out}"
        );
        assert!(out.contains("≤ 2× the floor: **met** by 1 of 1"), "{out}");
    }

    #[test]
    fn every_function_gets_a_session_token_as_lambda_gives_one() {
        let token = session_token(1024).unwrap();
        assert_eq!(token.len(), 1024);
        assert!(token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/'), "{token}");
        assert_eq!(session_token(1024), Some(token), "the same in every run");
        assert_eq!(session_token(0), None);
        let dir = tempfile::tempdir().unwrap();
        let env_file = dir.path().join("lambda.env");
        std::fs::write(&env_file, "AWS_ACCESS_KEY_ID=LOCAL\nAWS_SECRET_ACCESS_KEY=secret\nAWS_REGION=us-east-1\n")
            .unwrap();
        let args = |extra: &[&str]| {
            let mut argv = vec!["lambda-bench", "--env-file", env_file.to_str().unwrap()];
            for flag in ["--bin-dir", "--cert", "--key", "--ca", "--event-dir", "--template", "--log-dir"] {
                argv.extend([flag, "unused"]);
            }
            argv.extend(extra);
            Args::try_parse_from(argv).unwrap()
        };
        let token_of = |args: &Args| environment(args, &[]).unwrap().1.unwrap().session_token;
        assert_eq!(token_of(&args(&[])).map(|t| t.len()), Some(1024));
        assert_eq!(token_of(&args(&["--session-token-chars", "0"])), None);
        assert_eq!(token_of(&args(&["--set", "AWS_SESSION_TOKEN=given"])).as_deref(), Some("given"));
    }

    #[test]
    fn the_table_gives_ratios_to_both_baselines_and_reads_the_goal_off_them() {
        let names = owned(&["baseline-hello", "baseline-floor", "feed", "user-login", "message-action"]);
        let template = BTreeMap::from([("feed".to_owned(), 512), ("user-login".to_owned(), 512)]);
        let mut cells = BTreeMap::new();
        cells.insert((512, "baseline-hello"), cell(&[10, 10, 10], &[1, 1, 1]));
        cells.insert((512, "baseline-floor"), cell(&[40, 40, 40], &[2, 2, 2]));
        cells.insert((512, "feed"), cell(&[48, 48, 48], &[3, 3, 20]));
        cells.insert((512, "user-login"), cell(&[140, 140, 140], &[102, 102, 102]));
        // 1.5× the floor as measured, of which 20 ms its services' answers: 40 against the floor's 36 without.
        let mut slow_service = cell(&[60, 60, 60], &[21, 21, 21]);
        slow_service.services = vec![Duration::from_millis(20); 3];
        slow_service.services_init = vec![Duration::from_millis(5); 3];
        cells.insert((512, "message-action"), slow_service);
        cells.insert((128, "baseline-floor"), cell(&[100, 100, 100], &[5, 5, 5]));
        cells.insert((128, "feed"), cell(&[250, 250, 250], &[8, 8, 8]));
        cells.insert((128, "user-login"), cell(&[400, 400, 400], &[300, 300, 300]));
        let run = Run {
            names: &names,
            rtt_ms: 1.0,
            period_ms: 100,
            runs: 3,
            warm: 1,
            session_token_chars: 1024,
            template_memory: &template,
            cells: &cells,
        };
        let (text, json) = render(&run).unwrap();
        assert!(text.contains("### 128 MB (0.072 vCPU per invocation over 100 ms periods"), "{text}");
        assert!(text.contains("round trip 1 ms; session token 1024 characters; 3 cold starts"), "{text}");
        assert!(
            text.contains(
                "| feed (template) | 24.0 | 24.0 | 48.0 | 48.0 | 3.00 | 20.00 | 6.7× | 1.20× | 4.80× | 12.0 / 6.0 | 1 / 0 | \
                 2.0 / 4.0 | 1.22× |"
            ),
            "{text}"
        );
        // No hello world at 128 MB: that ratio is a dash.
        assert!(text.contains("| feed | 125.0 | 125.0 | 250.0 | 250.0 | 8.00 | 8.00 | 1.0× | 2.50× | - |"), "{text}");
        // login: 3.5× the floor, 1.0× without its 100 ms of work beyond the floor's warm request.
        assert!(text.contains("user-login at 512 MB: 3.50× the floor; without its own work (100.0 ms"), "{text}");
        // Only login's and publish's work is taken out: message-action counts as measured.
        assert!(!text.contains("message-action at 512 MB"), "{text}");
        assert!(text.contains("| message-action | 30.0 | 30.0 | 60.0 | 60.0 | 21.00 | 21.00 | 1.0× | 1.50× | 6.00× | 15.0 / 7.0 | 1 / 0 | 5.0 / 20.0 | 1.11× |"), "{text}");
        assert!(
            text.contains("- 512 MB, cold start ≤ 1.3× the floor: **not met** by message-action 1.50× (by 15%)"),
            "{text}"
        );
        // login without its work: (140 - 4 - 100) / 36 = 1.0×.
        assert!(
            text.contains(
                "- 512 MB, the services' time taken out, every data function's cold start ≤ 1.3× the floor: **met** \
                 (worst feed 1.22×)"
            ),
            "{text}"
        );
        // At 128 MB login counts as measured; its ratio without its work
        // ((400 - 295) / 100) is shown.
        assert!(
            text.contains(
                "- 128 MB, cold start ≤ 2× the floor: **not met** by feed 2.50× (by 25%), user-login 4.00× (by 100%)"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "- user-login at 128 MB: 4.00× the floor; without its own work (295.0 ms, its warm request beyond the \
                 floor's) 1.05× (excepted at 512 MB only: shown)"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "- 128 MB, the services' time taken out, cold start ≤ 2× the floor: **not met** by feed 2.50×"
            ),
            "{text}"
        );
        assert!(text.contains("- 512 MB, warm p99 ≤ 3× p50: **not met** by feed 6.7×"), "{text}");
        assert!(text.contains("- 128 MB, every read endpoint's warm p99 ≤ 3× its p50: **met**"), "{text}");
        assert_eq!(json["feed@512"]["vs_floor"].as_f64().unwrap(), 1.2);
        assert_eq!(json["feed@512"]["vs_hello"].as_f64().unwrap(), 4.8);
        assert_eq!(json["feed@512"]["cpu_init_ms"].as_f64().unwrap(), 12.0);
        assert_eq!(json["message-action@512"]["services_ms"].as_f64().unwrap(), 20.0);
        assert!((json["message-action@512"]["vs_floor_services_out"].as_f64().unwrap() - 40.0 / 36.0).abs() < 1e-9);
    }
}
