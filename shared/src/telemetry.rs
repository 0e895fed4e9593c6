//! Logging: structured `tracing` events, JSON on Lambda (one object a line, with
//! the Lambda request id from the runtime's span), readable text locally.
//! Nothing logs a password or a token: their types hide them from `Debug`.

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
