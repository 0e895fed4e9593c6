//! `douyin-local`: the whole API in one process. See the README.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, ValueEnum};
use functions::local::{Backend, LocalOptions, LocalServer};
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
    /// Log filter (tracing syntax).
    #[arg(long, env = "DOUYIN_LOG", default_value = "info")]
    log: String,
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
    let args = Args::parse();
    telemetry::init(&shared::config::safe_log_filter(&args.log), LogFormat::Text);
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
    if let Err(error) = tokio::signal::ctrl_c().await {
        tracing::error!(%error, "cannot wait for Ctrl-C");
    }
    tracing::info!("shutting down");
    server.shutdown().await;
    ExitCode::SUCCESS
}
