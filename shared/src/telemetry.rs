//! Logging: structured `tracing` events, JSON on Lambda (one object a line, with
//! the Lambda request id from the runtime's span), readable text locally.
//! Nothing logs a password or a token: their types hide them from `Debug`.
//!
//! Also [`CallCounter`]: the count of DynamoDB calls (and retries, and
//! sequential rounds) that the benchmarks and the request-count tests read.

use std::sync::atomic::{AtomicU64, Ordering};

use aws_sdk_dynamodb::config::interceptors::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// How log lines look.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object per line, for CloudWatch Logs.
    Json,
    /// Human-readable text, for the local server.
    Text,
}

/// Installs the global subscriber. `filter` uses `tracing`'s directive syntax
/// (`info`, `shared=debug`). Calling it twice keeps the first subscriber.
pub fn init(filter: &str, format: LogFormat) {
    let _ = match format {
        LogFormat::Json => tracing::subscriber::set_global_default(json(filter, std::io::stdout)).map_err(drop),
        LogFormat::Text => {
            let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
            tracing_subscriber::fmt().with_env_filter(filter).with_target(false).try_init().map_err(drop)
        }
    };
}

/// Counts the calls one SDK client makes, as an interceptor on its
/// configuration: operations, attempts (an attempt beyond the first of an
/// operation is a retry) and *rounds*. A round starts whenever a call starts
/// while none is in flight, so calls made concurrently count as one round:
/// the rounds of a request are its sequential round trips. The counters are
/// process-wide per client, cheap (relaxed atomics), and read by the
/// benchmarks and the request-count tests.
#[derive(Clone, Debug, Default)]
pub struct CallCounter {
    counts: std::sync::Arc<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    operations: AtomicU64,
    attempts: AtomicU64,
    rounds: AtomicU64,
    in_flight: AtomicU64,
    /// The most calls in flight at once since [`CallCounter::take_peak`].
    peak: AtomicU64,
}

/// What a [`CallCounter`] has seen so far; subtract two to get a window.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CallCount {
    /// Operations started (requests as the caller sees them).
    pub operations: u64,
    /// HTTP attempts (operations plus retries).
    pub attempts: u64,
    /// Sequential rounds of calls.
    pub rounds: u64,
}

impl std::ops::Sub for CallCount {
    type Output = CallCount;
    fn sub(self, earlier: CallCount) -> CallCount {
        CallCount {
            operations: self.operations - earlier.operations,
            attempts: self.attempts - earlier.attempts,
            rounds: self.rounds - earlier.rounds,
        }
    }
}

impl CallCounter {
    /// The counts so far.
    pub fn snapshot(&self) -> CallCount {
        CallCount {
            operations: self.counts.operations.load(Ordering::Relaxed),
            attempts: self.counts.attempts.load(Ordering::Relaxed),
            rounds: self.counts.rounds.load(Ordering::Relaxed),
        }
    }

    /// The most calls that were in flight at once since the last call of
    /// this (each needs a connection of its own), and starts counting again.
    pub fn take_peak(&self) -> u64 {
        self.counts.peak.swap(self.counts.in_flight.load(Ordering::Acquire), Ordering::AcqRel)
    }
}

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "CallCounter"
    }

    fn read_before_execution(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.counts.operations.fetch_add(1, Ordering::Relaxed);
        let before = self.counts.in_flight.fetch_add(1, Ordering::AcqRel);
        if before == 0 {
            self.counts.rounds.fetch_add(1, Ordering::Relaxed);
        }
        self.counts.peak.fetch_max(before + 1, Ordering::AcqRel);
        Ok(())
    }

    fn read_before_attempt(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.counts.attempts.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn read_after_execution(
        &self,
        _context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.counts.in_flight.fetch_sub(1, Ordering::AcqRel);
        Ok(())
    }
}

/// The JSON lines of [`LogFormat::Json`], written to `writer`: each line has
/// `timestamp`, `level`, `fields` (the message and the event's fields),
/// `span`, the innermost span's fields (in a handler: the invocation's
/// `request_id`, `trace_id`, `route` and `user_id`), and `spans`, every open
/// span from the outermost, so a line logged inside a nested span (an SDK
/// call's) still carries the invocation's ids. Tests capture the lines with
/// their own writer.
pub fn json<W>(filter: &str, writer: W) -> impl tracing::Subscriber + Send + Sync + 'static
where
    W: for<'writer> MakeWriter<'writer> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false).with_writer(writer);
    builder.json().with_current_span(true).with_span_list(true).finish()
}
