//! One function: its instances, scaled like Lambda's (an idle warm instance,
//! else a new one up to `max_instances`, else wait in line), and what
//! happened to every invocation.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use serde::Serialize;
use serde_json::json;
use tokio::sync::{Semaphore, oneshot, watch};

use crate::config::FunctionConfig;
use crate::instance::{Death, Instance, Job, KillReason, LaunchOptions, Reply};

/// How an invocation was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum InvocationType {
    RequestResponse,
    Event,
}

/// An invocation to make.
#[derive(Clone, Debug)]
pub struct InvokeRequest {
    pub request_id: String,
    pub payload: Bytes,
    /// JSON, as the runtime receives it in `lambda-runtime-client-context`.
    pub client_context: Option<String>,
    /// JSON, for `lambda-runtime-cognito-identity`.
    pub cognito_identity: Option<String>,
    /// `Root=…;Parent=…;Sampled=…`; one is made up when `None`.
    pub trace_id: Option<String>,
    pub invocation_type: InvocationType,
}

impl InvokeRequest {
    /// A synchronous invocation of `payload` with a fresh request id.
    pub fn new(payload: impl Into<Bytes>) -> Self {
        InvokeRequest {
            request_id: uuid::Uuid::new_v4().to_string(),
            payload: payload.into(),
            client_context: None,
            cognito_identity: None,
            trace_id: None,
            invocation_type: InvocationType::RequestResponse,
        }
    }
}

/// How an invocation ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The function's payload.
    Response(Bytes),
    /// A function error: `body` is Lambda's `{"errorMessage", "errorType"}`.
    Error { error_type: String, body: Bytes },
}

/// What happened to one invocation, with its clock readings.
#[derive(Clone, Debug)]
pub struct Invocation {
    pub request_id: String,
    pub invocation_type: InvocationType,
    /// The instance that ran it (none if no process could be started).
    pub instance: Option<u64>,
    /// Whether a new process was started for it.
    pub cold: bool,
    /// When `invoke` was called.
    pub queued: Instant,
    /// Cold only: just before the process was spawned.
    pub spawned: Option<Instant>,
    /// Cold only: the process's first `next` (its init is done).
    pub init_done: Option<Instant>,
    /// Cold only: the CPU time the process had used by then (all threads).
    pub init_cpu: Option<Duration>,
    /// The CPU time the process had used when the answer arrived.
    pub cpu_after: Option<Duration>,
    /// The event was handed to the process.
    pub handed: Option<Instant>,
    /// Its answer arrived (or the failure was seen).
    pub answered: Instant,
    pub outcome: Outcome,
    /// The instance log's bytes written during this invocation (`start..end`).
    pub log_range: Option<(std::path::PathBuf, u64, u64)>,
}

impl Invocation {
    /// The error type, if it failed.
    pub fn error_type(&self) -> Option<&str> {
        match &self.outcome {
            Outcome::Response(_) => None,
            Outcome::Error { error_type, .. } => Some(error_type),
        }
    }

    /// Spawn → first `next`, for a cold invocation.
    pub fn init_duration(&self) -> Option<Duration> {
        Some(self.init_done?.duration_since(self.spawned?))
    }

    /// Handed → answered: the handler's time.
    pub fn duration(&self) -> Option<Duration> {
        Some(self.answered.duration_since(self.handed?))
    }
}

/// Counters and records of a function, for `/_host/stats`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct FunctionStats {
    pub invocations: u64,
    pub cold_starts: u64,
    /// Failed invocations by error type.
    pub errors: BTreeMap<String, u64>,
    pub init_errors: u64,
    /// Processes that exited by themselves.
    pub exits: u64,
    pub timeouts: u64,
    pub live_instances: usize,
    /// Invocations waiting for an instance or running.
    pub in_flight: usize,
    pub instances: Vec<InstanceRecord>,
    pub records: Vec<InvocationRecord>,
}

/// One instance, for the statistics.
#[derive(Clone, Debug, Serialize)]
pub struct InstanceRecord {
    pub number: u64,
    pub pid: Option<u32>,
    pub log: String,
    pub spawned_at: String,
    /// Spawn → first `next`, once it has happened.
    pub init_ms: Option<f64>,
    pub invocations: u64,
    /// `null` while it runs; else why it ended.
    pub ended: Option<String>,
}

/// One invocation, for the statistics.
#[derive(Clone, Debug, Serialize)]
pub struct InvocationRecord {
    pub request_id: String,
    #[serde(rename = "type")]
    pub invocation_type: InvocationType,
    pub instance: Option<u64>,
    pub cold: bool,
    /// Cold only: spawn → first `next`.
    pub init_ms: Option<f64>,
    /// Handed → answered.
    pub duration_ms: Option<f64>,
    /// `invoke` → answered (queueing and a cold start included).
    pub total_ms: f64,
    /// `ok` or the error type.
    pub outcome: String,
    pub started_at: String,
}

fn ms(duration: Duration) -> f64 {
    (duration.as_secs_f64() * 1e6).round() / 1e3
}

fn rfc3339(at: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(at).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

struct Pool {
    idle: Vec<Arc<Instance>>,
    live: Vec<Arc<Instance>>,
    next_number: u64,
    stats: FunctionStats,
}

/// A function and its instances.
pub struct Function {
    pub config: Arc<FunctionConfig>,
    options: LaunchOptions,
    permits: Arc<Semaphore>,
    pool: Mutex<Pool>,
    /// Invocations not finished, across the host (shared by its functions).
    pending: Arc<watch::Sender<usize>>,
}

impl Function {
    /// A function with no instance yet.
    pub fn new(config: FunctionConfig, options: LaunchOptions) -> Arc<Function> {
        Function::with_pending(config, options, Arc::new(watch::channel(0).0))
    }

    pub(crate) fn with_pending(
        config: FunctionConfig,
        options: LaunchOptions,
        pending: Arc<watch::Sender<usize>>,
    ) -> Arc<Function> {
        Arc::new(Function {
            permits: Arc::new(Semaphore::new(config.max_instances)),
            config: Arc::new(config),
            options,
            pool: Mutex::new(Pool {
                idle: Vec::new(),
                live: Vec::new(),
                next_number: 1,
                stats: FunctionStats::default(),
            }),
            pending,
        })
    }

    /// The counters and records so far.
    pub fn stats(&self) -> FunctionStats {
        let Ok(pool) = self.pool.lock() else { return FunctionStats::default() };
        let mut stats = pool.stats.clone();
        stats.live_instances = pool.live.len();
        for record in &mut stats.instances {
            if record.init_ms.is_none()
                && let Some(instance) = pool.live.iter().find(|i| i.number == record.number)
            {
                record.init_ms = instance.init_done().map(|done| ms(done.duration_since(instance.spawned)));
            }
        }
        stats
    }

    /// Instances running now.
    pub fn live_instances(&self) -> Vec<Arc<Instance>> {
        self.pool.lock().map(|pool| pool.live.clone()).unwrap_or_default()
    }

    /// Runs one invocation to its end, as Lambda would: on an idle instance,
    /// or a new one (a cold start), or after waiting for one to be free.
    pub async fn invoke(self: &Arc<Self>, request: InvokeRequest) -> Invocation {
        let queued = Instant::now();
        let started_at = SystemTime::now();
        self.pending.send_modify(|n| *n += 1);
        self.with_stats(|stats| stats.in_flight += 1);
        let invocation = self.run(request, queued).await;
        self.record(&invocation, started_at);
        self.pending.send_modify(|n| *n = n.saturating_sub(1));
        invocation
    }

    async fn run(self: &Arc<Self>, request: InvokeRequest, queued: Instant) -> Invocation {
        let id = request.request_id.clone();
        let fail = |instance: Option<u64>, error_type: &str, message: String| Invocation {
            request_id: id.clone(),
            invocation_type: request.invocation_type,
            instance,
            cold: false,
            queued,
            spawned: None,
            init_done: None,
            init_cpu: None,
            cpu_after: None,
            handed: None,
            answered: Instant::now(),
            outcome: error(error_type, &message),
            log_range: None,
        };
        let Ok(permit) = Arc::clone(&self.permits).acquire_owned().await else {
            return fail(None, "Host.ShuttingDown", format!("RequestId: {id} Error: the host is shutting down"));
        };
        let (instance, cold) = match self.take_idle() {
            Some(instance) => (instance, false),
            None => match self.start().await {
                Ok(instance) => (instance, true),
                Err(error) => {
                    drop(permit);
                    return fail(None, "Runtime.InvalidEntrypoint", format!("RequestId: {id} Error: {error:#}"));
                }
            },
        };
        let log_start = instance.log_len();
        let (handed_tx, handed_rx) = oneshot::channel();
        let (reply_tx, reply_rx) = oneshot::channel();
        let job = Job {
            request_id: id.clone(),
            payload: request.payload.clone(),
            client_context: request.client_context.clone(),
            cognito_identity: request.cognito_identity.clone(),
            trace_id: request.trace_id.clone().unwrap_or_else(trace_id),
            timeout: self.config.timeout,
            handed: handed_tx,
            reply: reply_tx,
        };
        let mut invocation = Invocation {
            request_id: id.clone(),
            invocation_type: request.invocation_type,
            instance: Some(instance.number),
            cold,
            queued,
            spawned: cold.then_some(instance.spawned),
            init_done: None,
            init_cpu: None,
            cpu_after: None,
            handed: None,
            answered: queued,
            outcome: Outcome::Response(Bytes::new()),
            log_range: None,
        };
        let (outcome, answered, keep) = if !instance.give(job).await {
            (died(&id, &instance.ended().await, self.config.timeout), Instant::now(), false)
        } else {
            self.attend(&instance, cold, handed_rx, reply_rx, &mut invocation).await
        };
        invocation.cpu_after = instance.cpu_time();
        invocation.init_done = if cold { instance.init_done() } else { None };
        invocation.init_cpu = if cold { instance.init_cpu() } else { None };
        invocation.answered = answered;
        invocation.outcome = outcome;
        self.platform_lines(&instance, &invocation);
        invocation.log_range = Some((instance.log_path.clone(), log_start, instance.log_len()));
        if keep && let Ok(mut pool) = self.pool.lock() {
            pool.idle.push(instance);
        }
        drop(permit);
        invocation
    }

    /// Waits for the event to be taken, then for its answer, within the
    /// limits; kills the instance on a timeout. The third value: whether the
    /// instance can take another event.
    async fn attend(
        &self,
        instance: &Arc<Instance>,
        cold: bool,
        handed: oneshot::Receiver<Instant>,
        reply: oneshot::Receiver<Reply>,
        invocation: &mut Invocation,
    ) -> (Outcome, Instant, bool) {
        let id = invocation.request_id.clone();
        let timeout = self.config.timeout;
        // Until the event is taken: init's limit on a cold start.
        let limit = if cold { self.config.init_timeout } else { timeout };
        let handed_at = tokio::select! {
            handed = handed => match handed {
                Ok(at) => at,
                Err(_) => return (died(&id, &instance.ended().await, timeout), Instant::now(), false),
            },
            death = instance.ended() => return (died(&id, &death, timeout), Instant::now(), false),
            () = tokio::time::sleep(limit) => {
                instance.kill(if cold { KillReason::InitTimeout } else { KillReason::Timeout });
                instance.ended().await;
                let what = if cold { "Init" } else { "Task" };
                return (timed_out(&id, what, limit), Instant::now(), false);
            }
        };
        invocation.handed = Some(handed_at);
        tokio::select! {
            reply = reply => match reply {
                Ok(Reply::Response { body, at }) => (Outcome::Response(body), at, true),
                Ok(Reply::Error { error_type, body, at }) => (function_error(&error_type, body), at, true),
                Ok(Reply::TooLarge { at }) => (
                    error(
                        "Function.ResponseSizeTooLarge",
                        &format!("Response payload size exceeded maximum allowed payload size ({} bytes).", crate::instance::RESPONSE_LIMIT),
                    ),
                    at,
                    true,
                ),
                Err(_) => (died(&id, &instance.ended().await, timeout), Instant::now(), false),
            },
            death = instance.ended() => (died(&id, &death, timeout), Instant::now(), false),
            () = tokio::time::sleep_until((handed_at + timeout).into()) => {
                instance.kill(KillReason::Timeout);
                instance.ended().await;
                (timed_out(&id, "Task", timeout), Instant::now(), false)
            }
        }
    }

    fn take_idle(&self) -> Option<Arc<Instance>> {
        let mut pool = self.pool.lock().ok()?;
        while let Some(instance) = pool.idle.pop() {
            if instance.death().is_none() {
                return Some(instance);
            }
        }
        None
    }

    async fn start(self: &Arc<Self>) -> anyhow::Result<Arc<Instance>> {
        let number = {
            let mut pool = self.pool.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
            pool.next_number += 1;
            pool.next_number - 1
        };
        let instance = Instance::spawn(&self.config, number, &self.options).await?;
        if let Ok(mut pool) = self.pool.lock() {
            pool.live.push(Arc::clone(&instance));
            pool.stats.cold_starts += 1;
            pool.stats.instances.push(InstanceRecord {
                number,
                pid: instance.pid,
                log: instance.log_path.display().to_string(),
                spawned_at: rfc3339(instance.spawned_at),
                init_ms: None,
                invocations: 0,
                ended: None,
            });
        }
        // Forget the instance once it has ended, and count how.
        let function: Weak<Function> = Arc::downgrade(self);
        let watched = Arc::clone(&instance);
        tokio::spawn(async move {
            let death = watched.ended().await;
            let Some(function) = function.upgrade() else { return };
            if let Ok(mut pool) = function.pool.lock() {
                pool.live.retain(|i| !Arc::ptr_eq(i, &watched));
                pool.idle.retain(|i| !Arc::ptr_eq(i, &watched));
                match death {
                    Death::Exited(_) => pool.stats.exits += 1,
                    Death::InitError { .. } => pool.stats.init_errors += 1,
                    Death::Killed(KillReason::Timeout | KillReason::InitTimeout) => pool.stats.timeouts += 1,
                    Death::Killed(KillReason::Shutdown) => {}
                }
                let init_ms = watched.init_done().map(|done| ms(done.duration_since(watched.spawned)));
                if let Some(record) = pool.stats.instances.iter_mut().find(|r| r.number == watched.number) {
                    record.ended = Some(death.describe());
                    record.init_ms = init_ms;
                }
            }
        });
        Ok(instance)
    }

    fn with_stats(&self, update: impl FnOnce(&mut FunctionStats)) {
        if let Ok(mut pool) = self.pool.lock() {
            update(&mut pool.stats);
        }
    }

    fn record(&self, invocation: &Invocation, started_at: SystemTime) {
        self.with_stats(|stats| {
            stats.in_flight = stats.in_flight.saturating_sub(1);
            stats.invocations += 1;
            if let Some(error_type) = invocation.error_type() {
                *stats.errors.entry(error_type.to_owned()).or_default() += 1;
            }
            if let Some(number) = invocation.instance
                && let Some(record) = stats.instances.iter_mut().find(|r| r.number == number)
            {
                record.invocations += 1;
            }
            stats.records.push(InvocationRecord {
                request_id: invocation.request_id.clone(),
                invocation_type: invocation.invocation_type,
                instance: invocation.instance,
                cold: invocation.cold,
                init_ms: invocation.init_duration().map(ms),
                duration_ms: invocation.duration().map(ms),
                total_ms: ms(invocation.answered.duration_since(invocation.queued)),
                outcome: invocation.error_type().unwrap_or("ok").to_owned(),
                started_at: rfc3339(started_at),
            });
        });
    }

    /// Lambda's END and REPORT lines (and the timeout line) for one invocation.
    fn platform_lines(&self, instance: &Instance, invocation: &Invocation) {
        let id = &invocation.request_id;
        if invocation.error_type() == Some("Sandbox.Timedout")
            && let Outcome::Error { body, .. } = &invocation.outcome
        {
            let message = serde_json::from_slice::<serde_json::Value>(body)
                .ok()
                .and_then(|v| v.get("errorMessage").and_then(|m| m.as_str()).map(str::to_owned))
                .unwrap_or_default();
            instance.platform_log(&message);
        }
        let Some(duration) = invocation.duration() else { return };
        instance.platform_log(&format!("END RequestId: {id}"));
        let mut report = format!(
            "REPORT RequestId: {id}\tDuration: {:.2} ms\tBilled Duration: {} ms\tMemory Size: {} MB",
            ms(duration),
            duration.as_millis() + 1,
            self.config.memory_mb
        );
        if let Some(used) = instance.max_memory_mb() {
            report.push_str(&format!("\tMax Memory Used: {used} MB"));
        }
        if let Some(init) = invocation.init_duration() {
            report.push_str(&format!("\tInit Duration: {:.2} ms", ms(init)));
        }
        instance.platform_log(&report);
    }

    /// Kills every instance and waits until they are gone; later invocations fail.
    pub async fn shutdown(&self) {
        self.permits.close();
        let live = self.live_instances();
        for instance in &live {
            instance.kill(KillReason::Shutdown);
        }
        for instance in &live {
            instance.ended().await;
        }
        if let Ok(mut pool) = self.pool.lock() {
            pool.idle.clear();
        }
    }
}

/// `{"errorMessage", "errorType"}` as Lambda answers a failed invocation.
pub fn error(error_type: &str, message: &str) -> Outcome {
    Outcome::Error {
        error_type: error_type.to_owned(),
        body: Bytes::from(json!({"errorMessage": message, "errorType": error_type}).to_string()),
    }
}

/// The runtime's own report, passed through when it is a JSON object as Lambda expects.
fn function_error(error_type: &str, body: Bytes) -> Outcome {
    match serde_json::from_slice::<serde_json::Value>(&body) {
        Ok(serde_json::Value::Object(_)) => Outcome::Error { error_type: error_type.to_owned(), body },
        _ => error(error_type, &String::from_utf8_lossy(&body)),
    }
}

/// The invocation's answer when its instance ended under it.
fn died(id: &str, death: &Death, timeout: Duration) -> Outcome {
    match death {
        Death::Exited(status) => {
            error("Runtime.ExitError", &format!("RequestId: {id} Error: Runtime exited with error: {status}"))
        }
        Death::InitError { error_type, body } => function_error(error_type, body.clone()),
        Death::Killed(KillReason::Timeout) => timed_out(id, "Task", timeout),
        Death::Killed(KillReason::InitTimeout) => timed_out(id, "Init", timeout),
        Death::Killed(KillReason::Shutdown) => {
            error("Host.ShuttingDown", &format!("RequestId: {id} Error: the host is shutting down"))
        }
    }
}

/// Lambda's timeout answer: `<date> <id> Task timed out after 3.00 seconds`.
fn timed_out(id: &str, what: &str, after: Duration) -> Outcome {
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    error("Sandbox.Timedout", &format!("{now} {id} {what} timed out after {:.2} seconds", after.as_secs_f64()))
}

/// An X-Ray trace header like Lambda's: `Root=1-<epoch hex>-<24 hex>;Parent=<16 hex>;Sampled=0`.
pub fn trace_id() -> String {
    let epoch = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default().as_secs();
    let random = uuid::Uuid::new_v4().simple().to_string();
    let parent = uuid::Uuid::new_v4().simple().to_string();
    format!("Root=1-{epoch:08x}-{};Parent={};Sampled=0", &random[..24], &parent[..16])
}
