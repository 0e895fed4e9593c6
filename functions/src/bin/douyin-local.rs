//! `douyin-local`: the whole API in one process. See the README.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use std::time::Duration;

use clap::{Parser, ValueEnum};
use functions::local::{self, Backend, LocalOptions, LocalServer};
use shared::limits::RateLimits;
use shared::telemetry::{self, LogFormat};

/// Serves every endpoint of the Douyin API on one port, on embedded engines by
/// default (nothing to install, data kept in --data-dir).
#[derive(Debug, Parser)]
#[command(name = "douyin-local", version)]
struct Args {
    /// Address to listen on. Use 0.0.0.0:8080 to let a phone on the LAN in.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Folder for the data (database, media, token-signing secret).
    #[arg(long, default_value = "./.douyin-data")]
    data_dir: PathBuf,
    /// Base URL devices use to reach this server, for media links, e.g.
    /// http://192.168.1.20:8080 (defaults to http://<addr>).
    #[arg(long)]
    public_url: Option<String>,
    /// Engines: `embedded` (in this process) or `aws` (the SDK's usual
    /// configuration: real AWS, or emulators via AWS_ENDPOINT_URL_*).
    #[arg(long, value_enum, default_value_t = BackendArg::Embedded)]
    backend: BackendArg,
    /// Table name (aws backend).
    #[arg(long, default_value = "douyin")]
    table: String,
    /// Media bucket name (aws backend).
    #[arg(long, default_value = "douyin-media")]
    bucket: String,
    /// Rate limits: `off` (a test suite may register a hundred users a minute
    /// from one address) or `aws` (the Lambda defaults, README).
    #[arg(long, value_enum, default_value_t = RateLimitsArg::Off)]
    rate_limits: RateLimitsArg,
    /// Seconds a client may take to send a request head, counted from its
    /// connection's start or its previous answer (so also how long an idle
    /// keep-alive connection stays open).
    #[arg(long, value_name = "SECONDS", default_value_t = local::HEADER_TIMEOUT.as_secs())]
    header_timeout: u64,
    /// Seconds an API request's body may take to arrive.
    #[arg(long, value_name = "SECONDS", default_value_t = local::BODY_TIMEOUT.as_secs())]
    body_timeout: u64,
    /// Seconds an upload (a PUT to the media bucket) may take to arrive.
    #[arg(long, value_name = "SECONDS", default_value_t = local::UPLOAD_TIMEOUT.as_secs())]
    upload_timeout: u64,
    /// Connections one client address (IPv6: its /64) may hold open at once.
    #[arg(long, value_name = "N", default_value_t = local::MAX_CONNECTIONS_PER_ADDRESS)]
    max_connections_per_address: usize,
    /// Seconds a stop (SIGTERM, Ctrl-C) waits for requests in flight.
    #[arg(long, value_name = "SECONDS", default_value_t = local::SHUTDOWN_TIMEOUT.as_secs())]
    shutdown_timeout: u64,
    /// Log filter (tracing syntax); default: DOUYIN_LOG, else info.
    #[arg(long)]
    log: Option<String>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum BackendArg {
    Embedded,
    Aws,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum RateLimitsArg {
    Off,
    Aws,
}

#[tokio::main]
async fn main() -> ExitCode {
    // Everything this process creates (the data folder and all the engines
    // write into it) is readable by its user only.
    local::private::owner_only_umask();
    let args = Args::parse();
    let log = args.log.clone().unwrap_or_else(shared::config::requested_log_filter);
    telemetry::init(&local::log_filter(&log), LogFormat::Text);
    // Listening for the signals first: one that arrives while starting stops
    // the server as soon as it has started.
    let mut stop = match StopSignals::listen() {
        Ok(stop) => stop,
        Err(error) => {
            tracing::error!(%error, "cannot listen for SIGTERM and SIGINT");
            return ExitCode::FAILURE;
        }
    };
    let backend = match args.backend {
        BackendArg::Embedded => Backend::Embedded,
        BackendArg::Aws => Backend::Aws,
    };
    let options = LocalOptions {
        addr: args.addr,
        public_url: args.public_url,
        backend,
        table: args.table,
        bucket: args.bucket,
        rate_limits: match args.rate_limits {
            RateLimitsArg::Off => RateLimits::OFF,
            RateLimitsArg::Aws => RateLimits::DEFAULT,
        },
        header_timeout: Duration::from_secs(args.header_timeout),
        body_timeout: Duration::from_secs(args.body_timeout),
        upload_timeout: Duration::from_secs(args.upload_timeout),
        max_connections_per_address: args.max_connections_per_address,
        shutdown_timeout: Duration::from_secs(args.shutdown_timeout),
        ..LocalOptions::new(args.data_dir.clone())
    };
    let server = match LocalServer::start(options).await {
        Ok(server) => server,
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "douyin-local could not start");
            return ExitCode::FAILURE;
        }
    };
    let engines = match backend {
        Backend::Embedded => format!("embedded engines, data in {}", args.data_dir.display()),
        Backend::Aws => "aws backend (SDK configuration from the environment)".to_owned(),
    };
    tracing::info!("douyin-local listening on http://{} ({engines})", server.address);
    tracing::info!("point the Douyin client at {}/", server.public_url);
    tracing::info!("web client: {}/ (files under {})", server.public_url, functions::local::web::PREFIX);
    let signal = stop.next().await;
    tracing::info!("{signal}: shutting down (again to stop at once)");
    // A second signal means "now": what is cut off is owed to the next start
    // (uploads' ingests, chat messages in the queue are lost).
    tokio::spawn(async move {
        let signal = stop.next().await;
        tracing::warn!("{signal} again: stopping at once");
        std::process::exit(1);
    });
    server.shutdown().await;
    tracing::info!("stopped");
    ExitCode::SUCCESS
}

/// SIGTERM (service managers, containers, `kill`) and SIGINT (Ctrl-C).
struct StopSignals {
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
}

impl StopSignals {
    fn listen() -> std::io::Result<StopSignals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(StopSignals { terminate: signal(SignalKind::terminate())?, interrupt: signal(SignalKind::interrupt())? })
        }
        #[cfg(not(unix))]
        {
            Ok(StopSignals {})
        }
    }

    /// Waits for the next signal; returns its name.
    async fn next(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.terminate.recv() => "SIGTERM",
                _ = self.interrupt.recv() => "SIGINT",
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            "Ctrl-C"
        }
    }
}
