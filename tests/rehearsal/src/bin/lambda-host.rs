//! `lambda-host --manifest FILE --listen 127.0.0.1:0 --log-dir DIR [--port-file FILE]`
//!
//! Runs the functions of a manifest behind Lambda's Invoke API (see
//! tests/rehearsal/README.md). Prints the bound address on stdout (and writes
//! it to `--port-file`), serves until SIGINT, SIGTERM or `POST /_host/shutdown`,
//! then kills every instance and exits 0.
// The bound address on stdout is this program's interface.
#![allow(clippy::print_stdout)]

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::Parser;
use rehearsal::{Host, LaunchOptions, Manifest};
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};

#[derive(Parser)]
#[command(about = "A Lambda host: Lambda's Invoke API over real bootstraps, each under a Runtime API emulator")]
struct Args {
    /// The functions (JSON; see tests/rehearsal/README.md).
    #[arg(long)]
    manifest: PathBuf,
    /// Address to listen on (port 0: any free port; the bound address is printed).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Folder of the instances' logs (`<function>-<n>.log`), created if missing.
    #[arg(long)]
    log_dir: PathBuf,
    /// Also write the bound address (`127.0.0.1:PORT`) to this file, once listening.
    #[arg(long)]
    port_file: Option<PathBuf>,
    /// Do not start bootstraps through `setpriv --pdeathsig KILL` (then only a
    /// clean stop or a catchable signal of the host stops them).
    #[arg(long)]
    no_parent_death_signal: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let manifest = Manifest::load(&args.manifest)?;
    let functions = manifest.resolve()?;
    for function in &functions {
        if !function.bootstrap.is_file() {
            bail!("function {}: bootstrap {} is not a file", function.name, function.bootstrap.display());
        }
    }
    if functions.iter().any(|function| function.cpu.is_some()) {
        // Refused now rather than at each cold start: quotas asked for must be applied.
        rehearsal::cgroup::CpuCgroup::create("probe", 1.0)
            .and_then(|probe| probe.remove())
            .context("a function has \"cpu\" quotas, but no cgroup cpu controller is writable here")?;
    }
    std::fs::create_dir_all(&args.log_dir).with_context(|| format!("creating {}", args.log_dir.display()))?;
    let mut options = LaunchOptions::new(&args.log_dir);
    if args.no_parent_death_signal {
        options.parent_death_signal = false;
    } else if !options.parent_death_signal {
        eprintln!("lambda-host: setpriv --pdeathsig unavailable; instances outlive a SIGKILL of the host");
    }
    let host = Host::new(functions, manifest.region.clone(), manifest.account.clone(), &options);
    let listener = TcpListener::bind(args.listen).await.with_context(|| format!("binding {}", args.listen))?;
    let address = listener.local_addr()?;
    if let Some(path) = &args.port_file {
        // Written whole, then renamed: a reader never sees half an address.
        let partial = path.with_extension("partial");
        std::fs::write(&partial, format!("{address}\n"))?;
        std::fs::rename(&partial, path)?;
    }
    println!("{address}");
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    host.serve(listener, async move {
        tokio::select! {
            _ = terminate.recv() => {}
            _ = interrupt.recv() => {}
        }
    })
    .await;
    Ok(())
}
