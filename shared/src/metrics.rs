//! Metrics in CloudWatch's embedded metric format (EMF): no client, no API
//! call, no dependency, a JSON line on standard output that CloudWatch Logs
//! turns into metrics.
//!
//! An invocation runs inside [`record`], which gives it a task-local
//! [`Invocation`]; code anywhere in the library counts an event with [`count`]
//! or [`add`] (outside an invocation the count goes nowhere). At the end the
//! runner adds the handler's latency and error code and hands the invocation to
//! [`Emitter::emit`], which writes **one** line with all of it: namespace
//! [`NAMESPACE`], dimension [`FUNCTION_NAME`] (the Lambda function's name), and
//! [`ERRORS`] also by [`CODE`] (the envelope's `status_code`). The names are
//! the dashboard's (`template.yaml`; docs/operations.md, "Observability").
//!
//! Where lines go is the [`Emitter`]'s sink: standard output on Lambda; the
//! debug log (target `emf`) in the local server, which has no CloudWatch; a
//! list in memory for tests, one per application, so tests never share one.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::future::Future;
use std::io::Write as _;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

/// The CloudWatch namespace of every metric.
pub const NAMESPACE: &str = "DouyinServerless";
/// The dimension every metric has: the function's name (`AWS_LAMBDA_FUNCTION_NAME`).
pub const FUNCTION_NAME: &str = "FunctionName";
/// The second dimension of [`ERRORS`]: the answer's `status_code`.
pub const CODE: &str = "Code";
/// Milliseconds from the request to its answer, per API request.
pub const HANDLER_LATENCY: &str = "HandlerLatency";
/// Error answers (any `status_code` but 0), by [`FUNCTION_NAME`] and [`CODE`].
pub const ERRORS: &str = "Errors";

/// Events counted by the library (unit `Count`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Metric {
    /// A user registered.
    Registrations,
    /// A login succeeded (a failed one is an [`ERRORS`] with code 10006).
    Logins,
    /// An upload was published (multipart publish or presigned ingest).
    UploadsAccepted,
    /// An upload was refused for its content or size.
    UploadsRejected,
    /// A new like (a repeated like counts nothing).
    Likes,
    /// A comment posted.
    Comments,
    /// A new follow (a repeated follow counts nothing).
    Follows,
    /// A chat message a send answered 0 for (kept by the queue or its own write).
    MessagesSent,
    /// A chat message written to the table, by whichever writer stored it.
    MessagesPersisted,
    /// A DynamoDB transaction cancelled by a conflicting one and retried.
    TransactionConflicts,
    /// Other DynamoDB retries of ours (unprocessed keys of a batch read).
    DynamoDbRetries,
}

impl Metric {
    /// Every counted metric.
    pub const ALL: [Metric; 11] = [
        Metric::Registrations,
        Metric::Logins,
        Metric::UploadsAccepted,
        Metric::UploadsRejected,
        Metric::Likes,
        Metric::Comments,
        Metric::Follows,
        Metric::MessagesSent,
        Metric::MessagesPersisted,
        Metric::TransactionConflicts,
        Metric::DynamoDbRetries,
    ];

    /// The metric's CloudWatch name.
    pub fn name(self) -> &'static str {
        match self {
            Metric::Registrations => "Registrations",
            Metric::Logins => "Logins",
            Metric::UploadsAccepted => "UploadsAccepted",
            Metric::UploadsRejected => "UploadsRejected",
            Metric::Likes => "Likes",
            Metric::Comments => "Comments",
            Metric::Follows => "Follows",
            Metric::MessagesSent => "MessagesSent",
            Metric::MessagesPersisted => "MessagesPersisted",
            Metric::TransactionConflicts => "TransactionConflicts",
            Metric::DynamoDbRetries => "DynamoDbRetries",
        }
    }
}

/// Counts one `metric` in the current invocation.
pub fn count(metric: Metric) {
    add(metric, 1);
}

/// Adds `n` to `metric` in the current invocation; nothing outside one.
pub fn add(metric: Metric, n: u64) {
    let _ = CURRENT.try_with(|current| current.borrow_mut().add(metric, n));
}

/// Runs `work` as one invocation and returns what it counted.
pub async fn record<F: Future>(work: F) -> (F::Output, Invocation) {
    CURRENT
        .scope(RefCell::new(Invocation::default()), async move {
            let output = work.await;
            (output, CURRENT.with(RefCell::take))
        })
        .await
}

tokio::task_local! {
    static CURRENT: RefCell<Invocation>;
}

/// What one invocation measured.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Invocation {
    counts: BTreeMap<Metric, u64>,
    latency_ms: Option<f64>,
    error_code: Option<u32>,
    properties: Vec<(&'static str, String)>,
}

impl Invocation {
    /// Adds `n` to `metric`.
    pub fn add(&mut self, metric: Metric, n: u64) {
        *self.counts.entry(metric).or_default() += n;
    }

    /// The count of `metric` so far.
    pub fn count(&self, metric: Metric) -> u64 {
        self.counts.get(&metric).copied().unwrap_or(0)
    }

    /// Sets [`HANDLER_LATENCY`].
    pub fn handler_latency(&mut self, milliseconds: f64) {
        self.latency_ms = Some(milliseconds);
    }

    /// Counts one [`ERRORS`] with [`CODE`] `status_code`.
    pub fn error(&mut self, status_code: u32) {
        self.error_code = Some(status_code);
    }

    /// A member of the line that is not a metric (the request id, the trace
    /// id), for finding the line in the logs.
    pub fn property(&mut self, name: &'static str, value: impl Into<String>) {
        self.properties.push((name, value.into()));
    }

    /// Whether there is no metric to write.
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty() && self.latency_ms.is_none() && self.error_code.is_none()
    }

    /// The EMF object: one directive for the metrics by [`FUNCTION_NAME`], one
    /// for [`ERRORS`] by [`FUNCTION_NAME`] and [`CODE`] (EMF applies every
    /// dimension set of a directive to every metric in it).
    pub fn to_emf(&self, function_name: &str, timestamp_ms: u64) -> Value {
        let mut root = Map::new();
        for (name, value) in &self.properties {
            root.insert((*name).to_owned(), Value::from(value.as_str()));
        }
        root.insert(FUNCTION_NAME.to_owned(), Value::from(function_name));
        let mut by_function = Vec::new();
        for (metric, n) in &self.counts {
            by_function.push(json!({"Name": metric.name(), "Unit": "Count"}));
            root.insert(metric.name().to_owned(), Value::from(*n));
        }
        if let Some(latency_ms) = self.latency_ms {
            by_function.push(json!({"Name": HANDLER_LATENCY, "Unit": "Milliseconds"}));
            root.insert(HANDLER_LATENCY.to_owned(), Value::from(latency_ms));
        }
        let mut directives = Vec::new();
        if !by_function.is_empty() {
            directives.push(json!({"Namespace": NAMESPACE, "Dimensions": [[FUNCTION_NAME]], "Metrics": by_function}));
        }
        if let Some(code) = self.error_code {
            directives.push(json!({
                "Namespace": NAMESPACE,
                "Dimensions": [[FUNCTION_NAME, CODE]],
                "Metrics": [{"Name": ERRORS, "Unit": "Count"}]
            }));
            root.insert(CODE.to_owned(), Value::from(code.to_string()));
            root.insert(ERRORS.to_owned(), Value::from(1));
        }
        root.insert("_aws".to_owned(), json!({"Timestamp": timestamp_ms, "CloudWatchMetrics": directives}));
        Value::Object(root)
    }
}

/// Writes invocations as EMF lines.
#[derive(Clone, Debug)]
pub struct Emitter {
    function_name: Option<String>,
    sink: Sink,
}

#[derive(Clone, Debug)]
enum Sink {
    /// Standard output: CloudWatch Logs extracts the metrics (Lambda).
    Stdout,
    /// The debug log, target `emf` (the local server: `DOUYIN_LOG=info,emf=debug`).
    DebugLog,
    /// Kept in memory (tests).
    Memory(Arc<Mutex<Vec<String>>>),
}

impl Emitter {
    /// On Lambda (the configuration knows the function's name,
    /// `Config::function_name`): standard output. Elsewhere: the debug log.
    pub fn new(function_name: Option<String>) -> Emitter {
        let sink = if function_name.is_some() { Sink::Stdout } else { Sink::DebugLog };
        Emitter { function_name, sink }
    }

    /// An emitter keeping its lines for [`Emitter::lines`]; `function_name`
    /// as on Lambda, or `None` for the endpoint's name.
    pub fn in_memory(function_name: Option<String>) -> Emitter {
        Emitter { function_name, sink: Sink::Memory(Arc::default()) }
    }

    /// The lines an in-memory emitter has written (none for other sinks).
    pub fn lines(&self) -> Vec<String> {
        match &self.sink {
            Sink::Memory(lines) => lines.lock().unwrap_or_else(PoisonError::into_inner).clone(),
            _ => Vec::new(),
        }
    }

    /// Writes `invocation` as one line, unless it measured nothing. The
    /// dimension [`FUNCTION_NAME`] is the Lambda function's name, or `name`
    /// (the endpoint's) outside Lambda.
    pub fn emit(&self, name: &str, invocation: &Invocation) {
        if invocation.is_empty() {
            return;
        }
        let function_name = self.function_name.as_deref().unwrap_or(name);
        let line = invocation.to_emf(function_name, now_ms()).to_string();
        match &self.sink {
            Sink::Stdout => {
                // One write of a whole line: never interleaved with a log line.
                let _ = std::io::stdout().lock().write_all(format!("{line}\n").as_bytes());
            }
            Sink::DebugLog => tracing::debug!(target: "emf", "{line}"),
            Sink::Memory(lines) => lines.lock().unwrap_or_else(PoisonError::into_inner).push(line),
        }
    }
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| u64::try_from(elapsed.as_millis()).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn counts_inside_an_invocation_are_its_own_and_outside_go_nowhere() {
        count(Metric::Likes);
        let ((), first) = record(async {
            count(Metric::Likes);
            add(Metric::Likes, 2);
            count(Metric::Follows);
        })
        .await;
        let ((), second) = record(async { count(Metric::Comments) }).await;
        assert_eq!((first.count(Metric::Likes), first.count(Metric::Follows)), (3, 1));
        assert_eq!((second.count(Metric::Likes), second.count(Metric::Comments)), (0, 1));
    }

    #[test]
    fn errors_have_their_own_directive_with_the_code_dimension() {
        let mut invocation = Invocation::default();
        invocation.handler_latency(12.5);
        invocation.error(10002);
        invocation.property("request_id", "r-1");
        let emf = invocation.to_emf("fn", 1_700_000_000_000);
        let directives = emf["_aws"]["CloudWatchMetrics"].as_array().unwrap();
        assert_eq!(directives.len(), 2);
        assert_eq!(directives[0]["Dimensions"], json!([["FunctionName"]]));
        assert_eq!(directives[0]["Metrics"], json!([{"Name": "HandlerLatency", "Unit": "Milliseconds"}]));
        assert_eq!(directives[1]["Dimensions"], json!([["FunctionName", "Code"]]));
        assert_eq!(directives[1]["Metrics"], json!([{"Name": "Errors", "Unit": "Count"}]));
        assert_eq!((emf["Code"].as_str(), emf["Errors"].as_u64()), (Some("10002"), Some(1)));
        assert_eq!((emf["FunctionName"].as_str(), emf["request_id"].as_str()), (Some("fn"), Some("r-1")));
        assert_eq!(emf["_aws"]["Timestamp"], 1_700_000_000_000u64);
    }

    #[test]
    fn an_invocation_without_metrics_writes_no_line() {
        let emitter = Emitter::in_memory(None);
        emitter.emit("feed", &Invocation::default());
        assert!(emitter.lines().is_empty());
        let mut invocation = Invocation::default();
        invocation.add(Metric::MessagesPersisted, 0);
        emitter.emit("message-consumer", &invocation);
        assert_eq!(emitter.lines().len(), 1);
    }
}
