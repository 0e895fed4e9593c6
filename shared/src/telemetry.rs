//! Logging: structured `tracing` events, JSON on Lambda (one object a line, with
//! the Lambda request id from the runtime's span), readable text locally.
//! Nothing logs a password or a token: their types hide them from `Debug`.

use tracing_subscriber::EnvFilter;

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
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false);
    let _ = match format {
        LogFormat::Json => builder.json().with_current_span(true).with_span_list(false).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}
