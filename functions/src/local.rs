//! The local server (`douyin-local`): every endpoint of the contract in one
//! process, calling the same handlers the Lambdas run, through the same
//! [`crate::edge::respond`].
//!
//! On the default `embedded` backend the DynamoDB engine runs on a private
//! loopback port, and so does the S3 engine for the server's own calls; the
//! same S3 engine also answers the media bucket's paths (`/<bucket>/…`,
//! path-style) on the server's own port, so presigned media links are signed
//! for the public URL and work from any device that can reach the server. The
//! web client's files are served under [`web::PREFIX`] (`/_web/`, which no
//! bucket name can be) and `/` leads there. Any other path is the contract's
//! 404 envelope. On the `aws` backend, the SDK's usual configuration decides
//! where DynamoDB, S3 and SQS are (real AWS or emulators).
//!
//! Facing strangers, the server reads each request head itself before hyper
//! ([`gate`]: protocol errors are envelopes too), and bounds what a client can
//! hold ([`conn`]): the time to send a head (which also ends idle keep-alive
//! connections), the time to send a body, connections per address. Stopping
//! lets requests in flight finish, S3 uploads and their ingest included;
//! an ingest a stop or crash cut off is finished at the next start
//! ([`journal`]).

use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::FutureExt as _;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use lambda_http::Body;
use shared::App;
use shared::app::{Endpoints, Interceptors};
use shared::config::{Argon2Cost, Config};
use shared::embedded::{self, EngineCredentials};
use shared::limits::RateLimits;
use shared::queue::{InProcessQueue, Queue as _};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use crate::edge::params::MAX_BODY_BYTES;
use crate::edge::reply::{Failure, Protocol};
use crate::routes::{self, Route};

pub mod conn;
pub mod gate;
pub mod journal;
pub mod private;
pub mod web;

/// How long a client may take to send a request head, from its connection's
/// start or the end of its previous answer (so also how long an idle
/// keep-alive connection stays open).
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(15);
/// How long an API request's body (at most 10 MiB) may take to arrive.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long an upload's body (a PUT to the media bucket, at most 200 MiB by
/// default) may take to arrive: the lifetime of the upload link.
pub const UPLOAD_TIMEOUT: Duration = Duration::from_secs(900);
/// Connections one client address (IPv6: its /64) may hold at once.
pub const MAX_CONNECTIONS_PER_ADDRESS: usize = 64;
/// How long a stop waits for requests in flight.
pub const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);

/// The log filter of `douyin-local`: [`shared::config::safe_log_filter`] of
/// `requested`, with the S3 engine's line per failed request off. Any
/// stranger's unsigned request would write one at ERROR; the server logs
/// refused S3 requests itself, at most once a minute, and the engine's own
/// faults (5xx answers) still reach the log from `s3s::service`.
pub fn log_filter(requested: &str) -> String {
    format!("{},s3s::ops=off", shared::config::safe_log_filter(requested))
}

/// Which engines the server uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// DynamoDB and S3 embedded in the process, data under the data folder.
    Embedded,
    /// DynamoDB, S3 and SQS through the SDK's usual configuration.
    Aws,
}

/// How to run the server.
#[derive(Clone, Debug)]
pub struct LocalOptions {
    /// Where to listen.
    pub addr: SocketAddr,
    /// Where the data lives (embedded engines, the token-signing secret).
    pub data_dir: PathBuf,
    /// Base of media links, as devices reach this server.
    pub public_url: Option<String>,
    /// Which engines.
    pub backend: Backend,
    /// The table's name.
    pub table: String,
    /// The media bucket's name.
    pub bucket: String,
    /// Password hashing cost.
    pub argon2: Argon2Cost,
    /// Extra SDK interceptors (tests inject faults with them; none by default).
    pub interceptors: Interceptors,
    /// Rate limits (none by default: the local server serves test suites).
    pub rate_limits: RateLimits,
    /// See [`HEADER_TIMEOUT`].
    pub header_timeout: Duration,
    /// See [`BODY_TIMEOUT`].
    pub body_timeout: Duration,
    /// See [`UPLOAD_TIMEOUT`].
    pub upload_timeout: Duration,
    /// See [`MAX_CONNECTIONS_PER_ADDRESS`].
    pub max_connections_per_address: usize,
    /// See [`SHUTDOWN_TIMEOUT`]; what is still running then is cut off
    /// (an upload's ingest is finished at the next start).
    pub shutdown_timeout: Duration,
    /// Age past which an object left under `uploads/` is deleted, at start and
    /// every [`SWEEP_INTERVAL`] (embedded backend; S3's lifecycle rule on AWS).
    pub upload_max_age: Duration,
}

impl LocalOptions {
    /// The defaults of `douyin-local`: port 8080 on loopback, `./.douyin-data`.
    pub fn new(data_dir: impl Into<PathBuf>) -> LocalOptions {
        LocalOptions {
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 8080)),
            data_dir: data_dir.into(),
            public_url: None,
            backend: Backend::Embedded,
            table: "douyin".into(),
            bucket: "douyin-media".into(),
            argon2: Argon2Cost::OWASP,
            interceptors: Interceptors::default(),
            rate_limits: RateLimits::OFF,
            header_timeout: HEADER_TIMEOUT,
            body_timeout: BODY_TIMEOUT,
            upload_timeout: UPLOAD_TIMEOUT,
            max_connections_per_address: MAX_CONNECTIONS_PER_ADDRESS,
            shutdown_timeout: SHUTDOWN_TIMEOUT,
            upload_max_age: shared::videos::UPLOAD_MAX_AGE,
        }
    }
}

/// A running local server.
pub struct LocalServer {
    /// Where it listens.
    pub address: SocketAddr,
    /// The base URL clients use.
    pub public_url: String,
    app: Arc<App>,
    data_dir: PathBuf,
    /// The in-process chat queue, when chat does not go to SQS.
    chat: Option<Arc<InProcessQueue>>,
    /// Ingests owed (embedded backend).
    journal: Option<journal::Journal>,
    /// Stops the HTTP server.
    stop: watch::Sender<bool>,
    /// Stops the embedded engines, after the HTTP server and the chat queue.
    stop_engines: watch::Sender<bool>,
    server: JoinHandle<()>,
}

struct State {
    app: Arc<App>,
    s3: Option<embedded::S3Front>,
    journal: Option<journal::Journal>,
    /// Turns true once the table, the bucket and the default images exist:
    /// API requests wait for it.
    ready: watch::Receiver<bool>,
    limits: Limits,
    refusals: Refusals,
}

/// The bounds of [`LocalOptions`] the connections need.
#[derive(Clone, Copy, Debug)]
struct Limits {
    header_timeout: Duration,
    body_timeout: Duration,
    upload_timeout: Duration,
    max_connections_per_address: usize,
    shutdown_timeout: Duration,
}

type ResponseBody = UnsyncBoxBody<Bytes, Box<dyn std::error::Error + Send + Sync>>;

/// Where the chat messages not yet stored wait while the server is stopped.
const CHAT_SPOOL: &str = "chat-spool.jsonl";

/// Whether an entry of the data folder is the server's (the database and its
/// journal files, media, secrets, spool, ingest journal).
fn ours(name: &str) -> bool {
    name.starts_with("dynamodb.sqlite")
        || ["s3", "jwt-secret", "lambda.env", CHAT_SPOOL, journal::FOLDER].contains(&name)
}
/// How long a stopping server waits for the chat queue to drain.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the local server sweeps stale uploads (after the one at start).
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(3600);

impl LocalServer {
    /// Starts the server and its engines; returns once it is ready to serve.
    /// API requests that arrive earlier wait until the storage is set up.
    pub async fn start(options: LocalOptions) -> anyhow::Result<LocalServer> {
        let listener = TcpListener::bind(options.addr).await?;
        let address = listener.local_addr()?;
        let public_url = options.public_url.clone().unwrap_or_else(|| format!("http://{}", reachable(address)));
        let public_url = public_url.trim_end_matches('/').to_owned();
        private::create_dir(&options.data_dir)?;
        let tightened = private::tighten(&options.data_dir, ours)?;
        if tightened > 0 {
            tracing::warn!(
                entries = tightened,
                data_dir = %options.data_dir.display(),
                "the data folder was readable by others: tightened to the owner only (folders 700, files 600)"
            );
        }
        let mut config = Config::local(&options.table, &options.bucket, &signing_secret(&options.data_dir)?);
        config.argon2 = options.argon2;
        config.rate_limits = options.rate_limits;
        let (stop, stopped) = watch::channel(false);
        let (stop_engines, engines_stopped) = watch::channel(false);

        let (app, s3, journal) = match options.backend {
            Backend::Embedded => {
                let credentials = EngineCredentials::random();
                let s3 = embedded::s3_service(&options.data_dir.join("s3"), &credentials)?;
                let database = embedded::open_dynamodb(Some(&options.data_dir))?;
                let dynamodb = embedded::serve_dynamodb(database, engines_stopped.clone()).await?;
                // The server's own S3 calls go to a private port, which stays
                // up until the server has stopped: a request or an ingest
                // still running while the public port closes can finish.
                let private_s3 = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
                let private_s3_address = private_s3.local_addr()?;
                tokio::spawn(embedded::serve_s3(private_s3, s3.clone(), engines_stopped));
                let endpoints = Endpoints {
                    dynamodb: Some(format!("http://{dynamodb}")),
                    s3: Some(format!("http://{private_s3_address}")),
                    s3_public: Some(public_url.clone()),
                };
                write_lambda_env(&options, &config, &credentials, &endpoints)?;
                let sdk = credentials.sdk_config();
                let app = App::build_intercepted(config, &sdk, &endpoints, None, &options.interceptors).await;
                (app, Some(s3), Some(journal::Journal::open(&options.data_dir)?))
            }
            Backend::Aws => {
                let app = match shared::app::load_sdk_config(&config.tls_roots, config.sdk_credentials).await {
                    Ok(sdk) => {
                        App::build_intercepted(config, &sdk, &Endpoints::default(), None, &options.interceptors).await
                    }
                    Err(error) => Err(error),
                };
                (app, None, None)
            }
        };
        let mut app = match app {
            Ok(app) => app,
            Err(error) => {
                let _ = stop_engines.send(true);
                return Err(error);
            }
        };
        let mut chat = None;
        if app.chat_queue.is_none() {
            // The in-process twin of the chat queue, delivering to the same
            // consumer the `message-consumer` function runs.
            let consumer = Arc::new(shared::chat::ChatConsumer::new(&app));
            let queue = InProcessQueue::start(consumer, Default::default());
            app.chat_queue = Some(queue.clone());
            chat = Some(queue);
        }
        let app = Arc::new(app);
        let (ready, ready_seen) = watch::channel(false);
        let limits = Limits {
            header_timeout: options.header_timeout,
            body_timeout: options.body_timeout,
            upload_timeout: options.upload_timeout,
            max_connections_per_address: options.max_connections_per_address.max(1),
            shutdown_timeout: options.shutdown_timeout,
        };
        let state = Arc::new(State {
            app: Arc::clone(&app),
            s3,
            journal: journal.clone(),
            ready: ready_seen,
            limits,
            refusals: Refusals::default(),
        });
        let sweeping = stopped.clone();
        let server = tokio::spawn(serve(listener, state, stopped));
        let server = LocalServer {
            address,
            public_url,
            app,
            data_dir: options.data_dir,
            chat,
            journal,
            stop,
            stop_engines,
            server,
        };
        // API requests that arrive meanwhile wait for `ready`.
        if let Err(error) = server.prepare().await {
            server.shutdown().await;
            return Err(error);
        }
        if options.backend == Backend::Embedded {
            // Once before serving, then every SWEEP_INTERVAL.
            sweep_once(&server.app, options.upload_max_age).await;
            tokio::spawn(sweep_uploads(Arc::clone(&server.app), options.upload_max_age, sweeping));
        }
        let _ = ready.send(true);
        Ok(server)
    }

    /// Creates what is missing (table, bucket, default images), stores the
    /// chat messages the last run could not, and finishes the ingests it owed.
    async fn prepare(&self) -> anyhow::Result<()> {
        self.app.prepare_storage().await?;
        if let Some(chat) = &self.chat {
            replay_spool(&self.data_dir.join(CHAT_SPOOL), chat).await?;
        }
        if let Some(journal) = &self.journal {
            resume_ingests(&self.app, journal).await?;
        }
        // What the engines created just now, when the process umask is
        // looser than douyin-local's (a test process): quietly.
        if let Ok(tightened @ 1..) = private::tighten(&self.data_dir, ours) {
            tracing::debug!(entries = tightened, "files the engines created tightened to the owner only");
        }
        Ok(())
    }

    /// The application the server runs (for tests that inspect state).
    pub fn app(&self) -> &App {
        &self.app
    }

    /// Stops accepting connections, lets requests in flight finish (S3
    /// uploads and their ingest included; up to the shutdown timeout, after
    /// which they are cut off and an owed ingest waits in the journal), lets
    /// the chat queue deliver what it holds (up to ten seconds; what it still
    /// holds then waits in the data folder for the next start), and stops the
    /// engines.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.server.await;
        if let Some(chat) = &self.chat {
            if tokio::time::timeout(DRAIN_TIMEOUT, chat.wait_idle()).await.is_err() {
                tracing::warn!("chat messages still being delivered at shutdown");
            }
            let undelivered = chat.take_undelivered();
            if !undelivered.is_empty() {
                let path = self.data_dir.join(CHAT_SPOOL);
                match write_spool(&path, &undelivered) {
                    Ok(()) => tracing::warn!(
                        messages = undelivered.len(),
                        path = %path.display(),
                        "chat messages not yet stored are kept for the next start"
                    ),
                    Err(error) => tracing::error!(%error, messages = undelivered.len(), "chat messages lost"),
                }
            }
        }
        let _ = self.stop_engines.send(true);
    }
}

/// What S3's lifecycle rule does on AWS: deletes the objects left under
/// `uploads/` for longer than `max_age` (no ingest claimed them), every
/// [`SWEEP_INTERVAL`] until the server stops (the start sweeps once itself).
async fn sweep_uploads(app: Arc<App>, max_age: Duration, mut stop: watch::Receiver<bool>) {
    let mut interval = tokio::time::interval(SWEEP_INTERVAL);
    interval.tick().await;
    loop {
        let stopped = tokio::select! {
            _ = interval.tick() => false,
            _ = stop.wait_for(|stop| *stop) => true,
        };
        if stopped {
            return;
        }
        sweep_once(&app, max_age).await;
    }
}

/// One sweep; a failure is logged, and the next sweep tries again.
async fn sweep_once(app: &App, max_age: Duration) {
    if let Err(error) = shared::videos::sweep_stale_uploads(app, max_age).await {
        tracing::warn!(error = %anyhow::Error::from(error), "sweep of stale uploads failed");
    }
}

/// Appends the bodies of `deliveries` to the spool, one a line.
fn write_spool(path: &Path, deliveries: &[shared::queue::Delivery]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
    for delivery in deliveries {
        writeln!(file, "{}", delivery.body)?;
    }
    file.sync_all()
}

/// Sends the spooled messages to the queue, waits until they are stored,
/// and removes the spool. A line that is not a message is dropped (logged).
async fn replay_spool(path: &Path, chat: &Arc<InProcessQueue>) -> anyhow::Result<()> {
    let spooled = match std::fs::read_to_string(path) {
        Ok(spooled) => spooled,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(error.into()),
    };
    for line in spooled.lines().filter(|line| !line.trim().is_empty()) {
        let outgoing = match shared::chat::resend(line) {
            Ok(outgoing) => outgoing,
            Err(error) => {
                tracing::error!(%error, "unreadable line of the chat spool dropped");
                continue;
            }
        };
        chat.send(outgoing).await?;
    }
    chat.wait_idle().await;
    // What failed again is spooled again at the next shutdown.
    std::fs::remove_file(path)?;
    Ok(())
}

/// An address a client on this machine can reach: a wildcard bind becomes
/// loopback.
fn reachable(address: SocketAddr) -> SocketAddr {
    if address.ip().is_unspecified() {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), address.port())
    } else {
        address
    }
}

/// The token-signing secret of this data folder: made at the first start and
/// kept, so tokens survive restarts. Never printed.
fn signing_secret(data_dir: &Path) -> anyhow::Result<String> {
    use rand::distr::{Alphanumeric, SampleString as _};
    let path = data_dir.join("jwt-secret");
    match std::fs::read_to_string(&path) {
        Ok(secret) if secret.trim().len() >= 32 => return Ok(secret.trim().to_owned()),
        Ok(_) | Err(_) => {}
    }
    let secret = Alphanumeric.sample_string(&mut rand::rng(), 64);
    write_private(&path, &secret)?;
    Ok(secret)
}

/// Writes `<data-dir>/lambda.env`: what a function run outside this process
/// (`cargo lambda watch --env-file .douyin-data/lambda.env`) needs to use this
/// server's engines. Private to the user: it holds the engines' credentials
/// and the signing secret, both local to this data folder.
fn write_lambda_env(
    options: &LocalOptions,
    config: &Config,
    credentials: &EngineCredentials,
    endpoints: &Endpoints,
) -> anyhow::Result<()> {
    let secret = match &config.jwt_secret {
        shared::config::SecretSource::Value(secret) => secret.clone(),
        shared::config::SecretSource::SecretsManager(_) => String::new(),
    };
    let mut lines = vec![
        ("AWS_REGION", embedded::REGION.to_owned()),
        ("AWS_ENDPOINT_URL_DYNAMODB", endpoints.dynamodb.clone().unwrap_or_default()),
        ("AWS_ENDPOINT_URL_S3", endpoints.s3_public.clone().unwrap_or_default()),
        ("DOUYIN_S3_PATH_STYLE", "true".to_owned()),
        ("DOUYIN_TABLE", config.table_name.clone()),
        ("DOUYIN_MEDIA_BUCKET", config.media_bucket.clone()),
        ("DOUYIN_JWT_SECRET", secret),
    ];
    lines.extend(credentials.as_env());
    let content: String = lines.iter().map(|(name, value)| format!("{name}={value}\n")).collect();
    write_private(&options.data_dir.join("lambda.env"), &content)
}

#[cfg(unix)]
fn write_private(path: &Path, content: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    file.write_all(content.as_bytes())?;
    Ok(())
}

#[cfg(not(unix))]
fn write_private(path: &Path, content: &str) -> anyhow::Result<()> {
    Ok(std::fs::write(path, content)?)
}

/// Ingests what the journal says is owed: the object of each is stored,
/// unless its PUT was cut off (then there is nothing to ingest: the upload
/// stays pending, its link may be used again until it expires, and its
/// record expires as any unfinished upload's does).
async fn resume_ingests(app: &App, journal: &journal::Journal) -> anyhow::Result<()> {
    for key in journal.pending()? {
        if shared::videos::uploaded_size(app, &key).await?.is_none() {
            tracing::info!(object_key = key, "an upload cut off by the last stop never arrived; it stays pending");
            journal.done(&key);
            continue;
        }
        tracing::info!(object_key = key, "finishing an ingest the last stop cut off");
        if deliver_upload_event(app, &key).await {
            journal.done(&key);
        }
    }
    Ok(())
}

async fn serve(listener: TcpListener, state: Arc<State>, mut stop: watch::Receiver<bool>) {
    let limits = state.limits;
    let graceful = GracefulShutdown::new();
    let slots = conn::Slots::new(limits.max_connections_per_address);
    let mut connections = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.wait_for(|stop| *stop) => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        let (socket, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of file descriptors, most often: pause instead of
                // spinning on the error until connections close.
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Some(slot) = slots.take(peer.ip()) else {
            connections.spawn(conn::refuse_connection(socket));
            continue;
        };
        let state = Arc::clone(&state);
        let verdicts = Arc::new(gate::Verdicts::default());
        let io = TokioIo::new(gate::Gated::new(socket, Arc::clone(&verdicts)));
        let service = hyper::service::service_fn(move |request| {
            handle(Arc::clone(&state), request, peer.ip(), Arc::clone(&verdicts))
        });
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout)
            .serve_connection(io, service);
        let connection = graceful.watch(connection);
        connections.spawn(async move {
            let _ = connection.await;
            drop(slot);
        });
    }
    drop(listener);
    tracing::info!(
        connections = connections.len(),
        "no longer accepting connections; letting requests in flight finish"
    );
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(limits.shutdown_timeout) => tracing::warn!(
            connections = connections.len(),
            "requests still running after the shutdown timeout are cut off; owed ingests finish at the next start"
        ),
    }
    // Whatever is left is cancelled (not awaited: a task blocked in the
    // middle of an engine call would hold the stop up).
    connections.abort_all();
    connections.detach_all();
}

async fn handle(
    state: Arc<State>,
    request: hyper::Request<Incoming>,
    peer: IpAddr,
    verdicts: Arc<gate::Verdicts>,
) -> Result<hyper::Response<ResponseBody>, Infallible> {
    // Once per request, first: the gate's verdict on this request's head.
    if let Some(refusal) = verdicts.next() {
        return Ok(refused_head(refusal));
    }
    let path = request.uri().path();
    if path == "/douyin" || path.starts_with("/douyin/") {
        // Until the table and bucket exist, an API request waits instead of
        // failing. The sender lives as long as the server starts or runs.
        let _ = state.ready.clone().wait_for(|ready| *ready).await;
        return Ok(api(&state, request, peer).await);
    }
    if let Some(response) = web::respond(&request) {
        return Ok(response);
    }
    match &state.s3 {
        Some(s3) if is_s3_path(&request, &state.app.config.media_bucket) => {
            Ok(s3_request(&state, s3, request, peer).await)
        }
        _ => Ok(lambda_to_hyper(crate::edge::no_route(false))),
    }
}

/// Whether the S3 engine answers `request` on the public port: the media
/// bucket's paths (path-style), and a signed `GET /` (ListBuckets; an
/// unsigned one is the web client's).
fn is_s3_path<B>(request: &hyper::Request<B>, bucket: &str) -> bool {
    let path = request.uri().path();
    let in_bucket = path
        .strip_prefix('/')
        .and_then(|rest| rest.strip_prefix(bucket))
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'));
    in_bucket || path == "/" && (request.method() == hyper::Method::GET || request.method() == hyper::Method::HEAD)
}

/// A request to the S3 engine from outside: a media link or an upload. An
/// upload's body must arrive within the upload timeout. Its ingest is
/// journaled when the engine starts reading the body (it has checked the
/// signature by then, so strangers' requests cost no write), before the object
/// is stored, and runs before the PUT is answered, in a task of its own: a
/// client that hangs up does not cut it off. Refusals (no or bad signature,
/// expired link) are logged quietly: anyone can send them.
async fn s3_request(
    state: &State,
    s3: &embedded::S3Front,
    request: hyper::Request<Incoming>,
    peer: IpAddr,
) -> hyper::Response<ResponseBody> {
    let owed = uploaded_key(&state.app, &request).zip(state.journal.clone());
    let (method, path) = (request.method().clone(), request.uri().path().to_owned());
    let (parts, body) = request.into_parts();
    let (mut body, expired) = conn::Deadline::new(body, state.limits.upload_timeout);
    if let Some((key, journal)) = &owed {
        let (key, journal) = (key.clone(), journal.clone());
        body = body.on_first_read(move || {
            if let Err(error) = journal.begin(&key) {
                tracing::warn!(%error, object_key = key, "cannot journal an upload; a crash during its ingest would leave it pending");
            }
        });
    }
    let answer = s3.call(hyper::Request::from_parts(parts, s3s::Body::http_body_unsync(body))).await;
    let stored = matches!(&answer, Ok(response) if response.status().is_success());
    if let Some((key, journal)) = owed.as_ref().filter(|_| !stored) {
        // Nothing was stored: nothing is owed.
        journal.done(key);
    }
    if expired.load(Ordering::SeqCst) {
        return s3_timeout(state.limits.upload_timeout);
    }
    let response = match answer {
        Ok(response) => response,
        Err(error) => {
            tracing::error!(error = ?error, "s3 engine failed");
            return lambda_to_hyper(crate::edge::reply::internal_error());
        }
    };
    if let Some((key, journal)) = owed.filter(|_| stored) {
        let app = Arc::clone(&state.app);
        let ingest = tokio::spawn(async move {
            if deliver_upload_event(&app, &key).await {
                journal.done(&key);
            }
        });
        let _ = ingest.await;
    }
    if response.status().is_client_error() {
        state.refusals.note(response.status().as_u16(), &method, &path, peer);
    }
    response.map(|body| body.map_err(|e| -> Box<dyn std::error::Error + Send + Sync> { e }).boxed_unsync())
}

/// What S3 answers a body that does not arrive in time; the connection closes.
fn s3_timeout(bound: Duration) -> hyper::Response<ResponseBody> {
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>RequestTimeout</Code><Message>The upload \
         did not arrive within {} s; send it again.</Message></Error>",
        bound.as_secs()
    );
    let mut response = hyper::Response::new(Full::new(Bytes::from(xml)).map_err(|never| match never {}).boxed_unsync());
    *response.status_mut() = hyper::StatusCode::BAD_REQUEST;
    let headers = response.headers_mut();
    headers.insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static("application/xml"));
    headers.insert(hyper::header::CONNECTION, hyper::header::HeaderValue::from_static("close"));
    response
}

/// The envelope for a head the gate refused; the connection closes.
fn refused_head(refusal: gate::Refusal) -> hyper::Response<ResponseBody> {
    closing(refused(Failure::Protocol(refusal.kind(), refusal.message())))
}

/// The envelope of a request the server refuses before its endpoint runs.
fn refused(failure: Failure<'_>) -> lambda_http::Response<Body> {
    crate::edge::reply::failure(&failure, crate::edge::ErrorFields::EnvelopeOnly)
}

/// `response` with `Connection: close`.
fn closing(response: lambda_http::Response<Body>) -> hyper::Response<ResponseBody> {
    let mut response = lambda_to_hyper(response);
    response.headers_mut().insert(hyper::header::CONNECTION, hyper::header::HeaderValue::from_static("close"));
    response
}

/// S3 requests the engine refused, logged at most once a minute (at INFO,
/// with the count of the others): anyone who can reach the port can send
/// unsigned or forged requests, and none of them is our fault.
#[derive(Debug, Default)]
struct Refusals(Mutex<RefusalWindow>);

#[derive(Debug, Default)]
struct RefusalWindow {
    started: Option<Instant>,
    unlogged: u64,
}

/// How often a refused S3 request is logged.
const REFUSAL_LOG_INTERVAL: Duration = Duration::from_secs(60);

impl Refusals {
    fn note(&self, status: u16, method: &hyper::Method, path: &str, peer: IpAddr) {
        let now = Instant::now();
        let unlogged = {
            let mut window = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            if window.started.is_some_and(|started| now.duration_since(started) < REFUSAL_LOG_INTERVAL) {
                window.unlogged += 1;
                return;
            }
            window.started = Some(now);
            std::mem::take(&mut window.unlogged)
        };
        if unlogged > 0 {
            tracing::info!(count = unlogged, "more S3 requests refused in the minute before");
        }
        let path: String = path.chars().take(200).collect();
        tracing::info!(
            status,
            %method,
            path = ?path,
            %peer,
            "S3 request refused (the next within a minute are counted, not logged)"
        );
    }
}

/// The key of a PUT into the media bucket's upload prefix: what S3 would
/// announce with an `ObjectCreated` event.
fn uploaded_key(app: &App, request: &hyper::Request<Incoming>) -> Option<String> {
    if request.method() != hyper::Method::PUT {
        return None;
    }
    let bucket = format!("/{}/", app.config.media_bucket);
    let key = request.uri().path().strip_prefix(&bucket)?;
    key.starts_with(shared::videos::UPLOAD_PREFIX).then(|| key.to_owned())
}

/// The embedded S3 engine sends no notifications: deliver the event S3 would
/// send to the same ingest code the `video-ingest` function runs. It runs
/// before the PUT is answered, so a client polling the upload's status sees
/// the outcome on its first poll (on AWS the event arrives a moment later).
/// Like Lambda with an S3 event, a failed or crashed ingest is tried twice
/// more (it is idempotent); the PUT is answered whatever happens. Returns
/// whether the ingest had an outcome (false: it stays owed).
async fn deliver_upload_event(app: &App, key: &str) -> bool {
    for attempt in 1..=INGEST_ATTEMPTS {
        let ingest = async {
            let size = shared::videos::uploaded_size(app, key).await?.unwrap_or(0);
            let size = i64::try_from(size).unwrap_or(0);
            crate::video_ingest::handle(app, crate::video_ingest::created_event(&app.config.media_bucket, key, size))
                .await
        };
        let error = match AssertUnwindSafe(ingest).catch_unwind().await {
            Ok(Ok(_)) => return true,
            Ok(Err(error)) => format!("{:#}", anyhow::Error::from(error)),
            Err(_) => "the ingest panicked".to_owned(),
        };
        tracing::error!(error, object_key = key, attempt, "local ingest failed");
    }
    tracing::error!(object_key = key, "the ingest is tried again at the next start");
    false
}

/// Tries of one upload's ingest on the local server (Lambda: 1 + 2 retries).
const INGEST_ATTEMPTS: u32 = 3;

/// An API request: read its body through the limits (size, time), give it
/// the request context API Gateway would (the socket peer as its source
/// address), and answer it with the endpoint's handler.
async fn api(state: &State, request: hyper::Request<Incoming>, peer: IpAddr) -> hyper::Response<ResponseBody> {
    let endpoint = match routes::route(request.method(), request.uri().path()) {
        Route::Endpoint(endpoint) => endpoint,
        Route::WrongMethod => return lambda_to_hyper(crate::edge::no_route(true)),
        Route::NotFound => return lambda_to_hyper(crate::edge::no_route(false)),
    };
    let (mut parts, body) = request.into_parts();
    parts.extensions.insert(crate::edge::client::local_context(&parts.method, peer));
    let too_large = || {
        let message = format!(
            "request body is larger than {MAX_BODY_BYTES} bytes; upload large videos with the presigned upload"
        );
        lambda_to_hyper(refused(Failure::Refused(&shared::Error::InvalidArgument(message))))
    };
    // A declared length over the limit is refused before a byte is read; an
    // undeclared (chunked) or understated one is cut off at the limit.
    let declared = parts.headers.get(hyper::header::CONTENT_LENGTH).and_then(|value| value.to_str().ok());
    if declared.and_then(|value| value.trim().parse::<u64>().ok()).is_some_and(|length| length > MAX_BODY_BYTES as u64)
    {
        return too_large();
    }
    let bound = state.limits.body_timeout;
    let bytes = match conn::collect(body, bound, MAX_BODY_BYTES).await {
        Ok(bytes) => bytes,
        Err(conn::Unread::TooLarge) => return too_large(),
        Err(conn::Unread::TimedOut) => {
            let message = format!("the request body did not arrive within {} s", bound.as_secs());
            return closing(refused(Failure::Protocol(Protocol::Timeout, message)));
        }
        Err(conn::Unread::Broken) => {
            let message = "the request body was cut off or malformed".to_owned();
            return closing(refused(Failure::Protocol(Protocol::Malformed, message)));
        }
    };
    let body = if bytes.is_empty() { Body::Empty } else { Body::Binary(bytes.to_vec()) };
    let response =
        crate::edge::respond(&state.app, endpoint, lambda_http::http::Request::from_parts(parts, body)).await;
    lambda_to_hyper(response)
}

fn lambda_to_hyper(response: lambda_http::Response<Body>) -> hyper::Response<ResponseBody> {
    response.map(|body| {
        let bytes = match body {
            Body::Empty => Bytes::new(),
            Body::Text(text) => Bytes::from(text),
            Body::Binary(binary) => Bytes::from(binary),
            _ => Bytes::new(),
        };
        Full::new(bytes).map_err(|never| match never {}).boxed_unsync()
    })
}
