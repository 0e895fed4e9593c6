//! One execution environment: a bootstrap process and the Runtime API it
//! polls, on its own loopback port (the four routes `lambda_runtime` calls:
//! `invocation/next`, `invocation/{id}/response`, `invocation/{id}/error`,
//! `init/error`), watched until it dies.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt as _;
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use serde_json::json;
use tokio::net::TcpListener;
use tokio::process::Child;
use tokio::sync::{mpsc, oneshot, watch};

use crate::cgroup::CpuCgroup;
use crate::config::FunctionConfig;
use crate::http::{self, Body};

/// Lambda's limit on a synchronous response, as its error message states it.
pub const RESPONSE_LIMIT: usize = 6_291_556;

/// How the emulator launches processes.
#[derive(Clone, Debug)]
pub struct LaunchOptions {
    /// Each instance's stdout and stderr go to `<log_dir>/<function>-<n>.log`.
    pub log_dir: PathBuf,
    /// Start the bootstrap through `setpriv --pdeathsig KILL` so that it dies
    /// with the host even when the host is killed by SIGKILL (no `unsafe`
    /// `prctl` needed). Costs one `exec` (about a millisecond) per cold start.
    pub parent_death_signal: bool,
    /// Write Lambda's platform lines (START, END, REPORT) into the instance log.
    pub platform_log: bool,
}

impl LaunchOptions {
    /// Logs in `log_dir`, parent-death signal when `setpriv` supports it, platform lines on.
    pub fn new(log_dir: impl Into<PathBuf>) -> Self {
        LaunchOptions { log_dir: log_dir.into(), parent_death_signal: setpriv_available(), platform_log: true }
    }
}

/// Whether `setpriv --pdeathsig` (util-linux) can be used.
pub fn setpriv_available() -> bool {
    std::process::Command::new("setpriv")
        .arg("--help")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).contains("--pdeathsig"))
        .unwrap_or(false)
}

/// An event for the process, and where its answer goes.
pub(crate) struct Job {
    pub request_id: String,
    pub payload: Bytes,
    pub client_context: Option<String>,
    pub cognito_identity: Option<String>,
    pub trace_id: String,
    pub timeout: Duration,
    pub handed: oneshot::Sender<Instant>,
    pub reply: oneshot::Sender<Reply>,
}

/// What the process answered.
pub(crate) enum Reply {
    Response { body: Bytes, at: Instant },
    Error { error_type: String, body: Bytes, at: Instant },
    TooLarge { at: Instant },
}

/// Why an instance ended.
#[derive(Clone, Debug)]
pub enum Death {
    /// The process exited by itself: `exit status N` or `signal: …`, as Lambda words it.
    Exited(String),
    /// It posted `/init/error` (and was killed).
    InitError { error_type: String, body: Bytes },
    /// The host killed it.
    Killed(KillReason),
}

/// Why the host killed an instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KillReason {
    /// An invocation outlived the function's timeout.
    Timeout,
    /// Init outlived its limit.
    InitTimeout,
    /// The host is stopping (or the instance was dropped).
    Shutdown,
}

impl Death {
    /// A short description for the statistics.
    pub fn describe(&self) -> String {
        match self {
            Death::Exited(status) => status.clone(),
            Death::InitError { error_type, .. } => format!("init error ({error_type})"),
            Death::Killed(KillReason::Timeout) => "killed: timeout".into(),
            Death::Killed(KillReason::InitTimeout) => "killed: init timeout".into(),
            Death::Killed(KillReason::Shutdown) => "killed: shutdown".into(),
        }
    }
}

/// A running (or ended) instance.
pub struct Instance {
    /// 1, 2, … within its function.
    pub number: u64,
    pub pid: Option<u32>,
    pub log_path: PathBuf,
    /// Just before the process was spawned (with CPU quotas: released into its bootstrap, see `spawn`).
    pub spawned: Instant,
    pub spawned_at: SystemTime,
    jobs: mpsc::Sender<Job>,
    init_done: watch::Receiver<Option<Instant>>,
    /// The process's CPU time when its init was done (see [`cpu_time`]).
    init_cpu: Arc<OnceLock<Duration>>,
    death: watch::Receiver<Option<Death>>,
    kill: mpsc::UnboundedSender<KillReason>,
    log: PlatformLog,
}

/// Where Lambda's platform lines go: the instance's log, if wanted.
#[derive(Clone)]
struct PlatformLog(Arc<Mutex<Option<File>>>);

impl PlatformLog {
    fn write(&self, line: &str) {
        if let Ok(mut log) = self.0.lock()
            && let Some(file) = log.as_mut()
        {
            let _ = writeln!(file, "{line}");
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.kill.send(KillReason::Shutdown);
    }
}

/// The Runtime API's view of its instance.
struct Api {
    jobs: tokio::sync::Mutex<mpsc::Receiver<Job>>,
    current: Mutex<Option<(String, oneshot::Sender<Reply>)>>,
    init_done: watch::Sender<Option<Instant>>,
    /// The process, once spawned; its CPU time at its first `next`.
    pid: OnceLock<u32>,
    init_cpu: Arc<OnceLock<Duration>>,
    init_errors: mpsc::UnboundedSender<(String, Bytes)>,
    arn: String,
    cgroup: Option<Arc<CpuCgroup>>,
    invoke_quota: f64,
    log: PlatformLog,
}

impl Instance {
    /// Spawns instance `number` of `config`: its Runtime API on a free
    /// loopback port, then the bootstrap with exactly the function's
    /// environment plus Lambda's own variables.
    pub(crate) async fn spawn(
        config: &FunctionConfig,
        number: u64,
        options: &LaunchOptions,
    ) -> anyhow::Result<Arc<Instance>> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let api_address = listener.local_addr()?;
        let log_path = log_path(&options.log_dir, &config.name, number);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .with_context(|| format!("opening {}", log_path.display()))?;
        let cgroup = match config.cpu {
            Some(cpu) => {
                let period = cpu.period_us.unwrap_or(crate::cgroup::DEFAULT_PERIOD_US);
                let cgroup =
                    CpuCgroup::create_with_period(&format!("{}-{number}", config.name), cpu.init_quota, period)
                        .context("creating the instance's cgroup (cpu quotas need a writable cgroup cpu controller)")?;
                if let Some(shares) = cpu.shares
                    && let Err(error) = cgroup.set_shares(shares)
                {
                    let _ = cgroup.remove();
                    return Err(anyhow::Error::new(error).context("setting the instance's cpu shares"));
                }
                Some(Arc::new(cgroup))
            }
            None => None,
        };

        let platform_log =
            PlatformLog(Arc::new(Mutex::new(if options.platform_log { Some(log.try_clone()?) } else { None })));
        let (jobs_tx, jobs_rx) = mpsc::channel(1);
        let (init_done_tx, init_done_rx) = watch::channel(None);
        let (init_errors_tx, init_errors_rx) = mpsc::unbounded_channel();
        let init_cpu = Arc::new(OnceLock::new());
        let api = Arc::new(Api {
            jobs: tokio::sync::Mutex::new(jobs_rx),
            current: Mutex::new(None),
            init_done: init_done_tx,
            pid: OnceLock::new(),
            init_cpu: Arc::clone(&init_cpu),
            init_errors: init_errors_tx,
            arn: config.arn.clone(),
            cgroup: cgroup.clone(),
            invoke_quota: config.cpu.map_or(1.0, |cpu| cpu.invoke_quota),
            log: platform_log.clone(),
        });
        let server = tokio::spawn(http::serve(listener, Arc::clone(&api), runtime_api));

        let stream = format!("{}/[$LATEST]{}", chrono::Utc::now().format("%Y/%m/%d"), uuid::Uuid::new_v4().simple());
        let env: BTreeMap<String, String> = config.process_env(&api_address.to_string(), &stream);
        // With CPU quotas the process is first a shell holding at a `read`,
        // moved into its cgroup, and only then released to `exec` the
        // bootstrap: a process's first move into a fresh cgroup waits for an
        // RCU grace period (~8 ms here), which Lambda's sandbox, in place
        // before the function starts, never shows. The bootstrap starts in its
        // cgroup and its cold start is timed from the release.
        let mut program: Vec<std::ffi::OsString> = Vec::new();
        if options.parent_death_signal {
            program.extend(["setpriv", "--pdeathsig", "KILL", "--"].map(Into::into));
        }
        if cgroup.is_some() {
            program.extend(["/bin/sh", "-c", "read -r _ && exec \"$0\""].map(Into::into));
        }
        program.push(config.bootstrap.clone().into_os_string());
        let mut command = tokio::process::Command::new(&program[0]);
        command
            .args(&program[1..])
            .env_clear()
            .envs(&env)
            .current_dir(config.task_root())
            .stdin(if cgroup.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(log.try_clone()?)
            .stderr(log.try_clone()?)
            .kill_on_drop(true);
        let mut spawned_at = SystemTime::now();
        let mut spawned = Instant::now();
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(error) => {
                server.abort();
                if let Some(cgroup) = &cgroup {
                    let _ = cgroup.remove();
                }
                return Err(anyhow::Error::new(error).context(format!("spawning {}", config.bootstrap.display())));
            }
        };
        let pid = child.id();
        if let Some(pid) = pid {
            // Before the release below: the process cannot reach `next` sooner.
            let _ = api.pid.set(pid);
        }
        if let (Some(cgroup), Some(pid)) = (&cgroup, pid)
            && let Err(error) = cgroup.add(pid)
        {
            drop(child);
            server.abort();
            let _ = cgroup.remove();
            return Err(anyhow::Error::new(error).context("moving the process into its cgroup"));
        }
        if let Some(mut hold) = child.stdin.take() {
            use tokio::io::AsyncWriteExt as _;
            spawned_at = SystemTime::now();
            spawned = Instant::now();
            // The line releases the shell; the pipe then closes (the bootstrap
            // reads no input, as on Lambda).
            hold.write_all(b"go\n").await.context("releasing the bootstrap")?;
        }

        let (death_tx, death_rx) = watch::channel(None);
        let (kill_tx, kill_rx) = mpsc::unbounded_channel();
        tokio::spawn(supervise(child, init_errors_rx, kill_rx, death_tx, server, cgroup));
        Ok(Arc::new(Instance {
            number,
            pid,
            log_path,
            spawned,
            spawned_at,
            jobs: jobs_tx,
            init_done: init_done_rx,
            init_cpu,
            death: death_rx,
            kill: kill_tx,
            log: platform_log,
        }))
    }

    /// When the process first asked for an event (its init was done), if it has.
    pub fn init_done(&self) -> Option<Instant> {
        *self.init_done.borrow()
    }

    /// The CPU time the process had used when its init was done (its first
    /// `next`), all threads: init's work, whatever it waited for.
    pub fn init_cpu(&self) -> Option<Duration> {
        self.init_cpu.get().copied()
    }

    /// The CPU time the process has used so far (see [`cpu_time`]).
    pub fn cpu_time(&self) -> Option<Duration> {
        cpu_time(self.pid?)
    }

    /// Why it ended, if it has.
    pub fn death(&self) -> Option<Death> {
        self.death.borrow().clone()
    }

    /// Waits until the instance has ended.
    pub async fn ended(&self) -> Death {
        let mut death = self.death.clone();
        match death.wait_for(Option::is_some).await {
            Ok(death) => death.clone().unwrap_or(Death::Killed(KillReason::Shutdown)),
            Err(_) => Death::Killed(KillReason::Shutdown),
        }
    }

    /// Kills the process (if still running); [`Instance::ended`] tells when it is gone.
    pub fn kill(&self, reason: KillReason) {
        let _ = self.kill.send(reason);
    }

    /// Queues an event for the process's next `next`.
    pub(crate) async fn give(&self, job: Job) -> bool {
        self.jobs.send(job).await.is_ok()
    }

    /// Appends a platform line (END, REPORT…) to the instance's log.
    pub(crate) fn platform_log(&self, line: &str) {
        self.log.write(line);
    }

    /// Peak resident memory of the process (MB), as Lambda's REPORT line shows it.
    pub(crate) fn max_memory_mb(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid?)).ok()?;
        let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
        let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb.div_ceil(1024))
    }

    /// The log file's current length (to cut out one invocation's lines).
    pub(crate) fn log_len(&self) -> u64 {
        std::fs::metadata(&self.log_path).map(|m| m.len()).unwrap_or(0)
    }
}

/// Owns the process until it ends: its exit, an `/init/error`, or a kill.
async fn supervise(
    mut child: Child,
    mut init_errors: mpsc::UnboundedReceiver<(String, Bytes)>,
    mut kill: mpsc::UnboundedReceiver<KillReason>,
    death: watch::Sender<Option<Death>>,
    server: tokio::task::JoinHandle<()>,
    cgroup: Option<Arc<CpuCgroup>>,
) {
    let ended = tokio::select! {
        status = child.wait() => {
            // An `/init/error` is answered before the process may exit, so
            // when there was one it is already queued.
            match init_errors.try_recv() {
                Ok((error_type, body)) => Death::InitError { error_type, body },
                Err(_) => Death::Exited(match status {
                    Ok(status) => describe_exit(status),
                    Err(error) => format!("wait failed: {error}"),
                }),
            }
        }
        Some((error_type, body)) = init_errors.recv() => {
            let _ = child.kill().await;
            Death::InitError { error_type, body }
        }
        reason = kill.recv() => {
            let _ = child.kill().await;
            Death::Killed(reason.unwrap_or(KillReason::Shutdown))
        }
    };
    server.abort();
    if let Some(cgroup) = cgroup {
        let _ = cgroup.remove();
    }
    death.send_replace(Some(ended));
}

/// `exit status 2`, `signal: killed`: the words of Lambda's `Runtime.ExitError`.
fn describe_exit(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt as _;
    if let Some(code) = status.code() {
        return format!("exit status {code}");
    }
    match status.signal() {
        Some(6) => "signal: aborted".into(),
        Some(9) => "signal: killed".into(),
        Some(11) => "signal: segmentation fault".into(),
        Some(15) => "signal: terminated".into(),
        Some(signal) => format!("signal: {signal}"),
        None => status.to_string(),
    }
}

const PREFIX: &str = "/2018-06-01/runtime/";

async fn runtime_api(api: Arc<Api>, request: Request<Incoming>) -> Response<Body> {
    let path = request.uri().path().to_owned();
    let Some(route) = path.strip_prefix(PREFIX) else {
        return not_found();
    };
    let method = request.method().clone();
    match (method, route) {
        (Method::GET, "invocation/next") => next(&api).await,
        (Method::POST, "init/error") => {
            let error_type = error_type_header(&request, "Runtime.InitError");
            let body = read_capped(request.into_body()).await.0;
            let _ = api.init_errors.send((error_type, body));
            accepted()
        }
        (Method::POST, route) => {
            let Some((id, what)) = route.strip_prefix("invocation/").and_then(|rest| rest.split_once('/')) else {
                return not_found();
            };
            let error_type = error_type_header(&request, "Unhandled");
            let (body, size) = read_capped(request.into_body()).await;
            let at = Instant::now();
            let reply = match what {
                "response" if size > RESPONSE_LIMIT => Reply::TooLarge { at },
                "response" => Reply::Response { body, at },
                "error" => Reply::Error {
                    error_type: serde_json::from_slice::<serde_json::Value>(&body)
                        .ok()
                        .and_then(|v| v.get("errorType").and_then(|t| t.as_str()).map(str::to_owned))
                        .unwrap_or(error_type),
                    body,
                    at,
                },
                _ => return not_found(),
            };
            let too_large = matches!(reply, Reply::TooLarge { .. });
            let current = api.current.lock().ok().and_then(|mut current| {
                if current.as_ref().is_some_and(|(current_id, _)| current_id == id) { current.take() } else { None }
            });
            let Some((_, answer)) = current else {
                return http::json(
                    StatusCode::BAD_REQUEST,
                    &json!({"errorMessage": "Invalid request ID", "errorType": "InvalidRequestID"}),
                );
            };
            let _ = answer.send(reply);
            if too_large {
                return http::json(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    &json!({"errorMessage": format!("Exceeded maximum allowed payload size ({RESPONSE_LIMIT} bytes)."),
                            "errorType": "RequestEntityTooLarge"}),
                );
            }
            accepted()
        }
        _ => not_found(),
    }
}

/// `GET invocation/next`: the first call ends init; then waits for an event.
async fn next(api: &Api) -> Response<Body> {
    let arrived = Instant::now();
    let first = api.init_done.send_if_modified(|done| {
        if done.is_some() {
            return false;
        }
        *done = Some(arrived);
        true
    });
    if first
        && let Some(pid) = api.pid.get()
        && let Some(cpu) = cpu_time(*pid)
    {
        let _ = api.init_cpu.set(cpu);
    }
    if first && let Some(cgroup) = &api.cgroup {
        // Lambda's init boost ends here: invocations run at the memory's share.
        let _ = cgroup.set_quota(api.invoke_quota);
    }
    let job = api.jobs.lock().await.recv().await;
    let Some(job) = job else {
        // The instance is ending: keep the runtime waiting until it is killed.
        std::future::pending::<()>().await;
        return not_found();
    };
    let handed = Instant::now();
    let deadline = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default() + job.timeout;
    if let Ok(mut current) = api.current.lock() {
        *current = Some((job.request_id.clone(), job.reply));
    }
    // Lambda's START line comes before anything the function writes for this event.
    api.log.write(&format!("START RequestId: {} Version: $LATEST", job.request_id));
    let _ = job.handed.send(handed);
    let mut response = Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/json")
        .header("lambda-runtime-aws-request-id", &job.request_id)
        .header("lambda-runtime-deadline-ms", deadline.as_millis().to_string())
        .header("lambda-runtime-invoked-function-arn", &api.arn)
        .header("lambda-runtime-trace-id", &job.trace_id);
    if let Some(context) = &job.client_context {
        response = response.header("lambda-runtime-client-context", context);
    }
    if let Some(identity) = &job.cognito_identity {
        response = response.header("lambda-runtime-cognito-identity", identity);
    }
    response.body(Body::new(job.payload)).unwrap_or_default()
}

/// The whole body is read (so the runtime's write never fails), but at most
/// [`RESPONSE_LIMIT`] bytes are kept; the second value is the full size.
async fn read_capped(mut body: Incoming) -> (Bytes, usize) {
    let mut kept = BytesMut::new();
    let mut size = 0;
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else { break };
        if let Ok(data) = frame.into_data() {
            size += data.len();
            if kept.len() < RESPONSE_LIMIT {
                let room = RESPONSE_LIMIT - kept.len();
                kept.extend_from_slice(&data[..data.len().min(room)]);
            }
        }
    }
    (kept.freeze(), size)
}

fn error_type_header(request: &Request<Incoming>, default: &str) -> String {
    request
        .headers()
        .get("lambda-runtime-function-error-type")
        .and_then(|value| value.to_str().ok())
        .map_or_else(|| default.to_owned(), str::to_owned)
}

fn accepted() -> Response<Body> {
    http::json(StatusCode::ACCEPTED, &json!({"status": "OK"}))
}

fn not_found() -> Response<Body> {
    http::json(StatusCode::NOT_FOUND, &json!({"errorMessage": "not found", "errorType": "NotFound"}))
}

/// The log path an instance of `function` number `n` writes to.
pub fn log_path(log_dir: &Path, function: &str, number: u64) -> PathBuf {
    log_dir.join(format!("{function}-{number}.log"))
}

/// The CPU time process `pid` has used, summed over its threads: the first
/// field of each thread's `/proc/<pid>/task/<tid>/schedstat` (nanoseconds on
/// a CPU, from the scheduler; threads that have already ended are not
/// counted). `None` when the process is gone or the kernel has no schedstat.
pub fn cpu_time(pid: u32) -> Option<Duration> {
    let mut total = 0u64;
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).ok()? {
        let path = task.ok()?.path().join("schedstat");
        let Ok(stat) = std::fs::read_to_string(path) else { continue };
        total += stat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(Duration::from_nanos(total))
}
