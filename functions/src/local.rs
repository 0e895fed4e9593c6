//! The local server (`douyin-local`): every endpoint of the contract in one
//! process, calling the same handlers the Lambdas run, through the same
//! [`crate::edge::respond`].
//!
//! On the default `embedded` backend the DynamoDB engine runs on a private
//! loopback port and the S3 engine is mounted on the server's own port: every
//! path outside `/douyin/` is S3 (path-style buckets). Presigned media links
//! are therefore signed for the public URL and work from any device that can
//! reach the server. The web client's files are served under
//! [`web::PREFIX`] (`/_web/`, which no bucket name can be) and `/` leads there.
//! On the `aws` backend, the SDK's usual configuration
//! decides where DynamoDB, S3 and SQS are (real AWS or emulators).

use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::FutureExt as _;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use lambda_http::Body;
use shared::App;
use shared::app::{Endpoints, Interceptors};
use shared::config::{Argon2Cost, Config};
use shared::embedded::{self, EngineCredentials};
use shared::limits::RateLimits;
use shared::queue::{InProcessQueue, Outgoing, Queue as _};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::edge::params::MAX_BODY_BYTES;
use crate::routes::{self, Route};

pub mod web;

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
    /// Stops the HTTP server.
    stop: watch::Sender<bool>,
    /// Stops the embedded engines, after the HTTP server and the chat queue.
    stop_engines: watch::Sender<bool>,
    server: JoinHandle<()>,
}

struct State {
    app: Arc<App>,
    s3: Option<s3s::service::S3Service>,
    /// Turns true once the table, the bucket and the default images exist:
    /// API requests wait for it.
    ready: watch::Receiver<bool>,
}

type ResponseBody = UnsyncBoxBody<Bytes, Box<dyn std::error::Error + Send + Sync>>;

/// Where the chat messages not yet stored wait while the server is stopped.
const CHAT_SPOOL: &str = "chat-spool.jsonl";
/// How long a stopping server waits for the chat queue to drain.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

impl LocalServer {
    /// Starts the server and its engines; returns once it is ready to serve.
    /// API requests that arrive earlier wait until the storage is set up.
    pub async fn start(options: LocalOptions) -> anyhow::Result<LocalServer> {
        let listener = TcpListener::bind(options.addr).await?;
        let address = listener.local_addr()?;
        let public_url = options.public_url.clone().unwrap_or_else(|| format!("http://{}", reachable(address)));
        let public_url = public_url.trim_end_matches('/').to_owned();
        std::fs::create_dir_all(&options.data_dir)?;
        let mut config = Config::local(&options.table, &options.bucket, &signing_secret(&options.data_dir)?);
        config.argon2 = options.argon2;
        config.rate_limits = options.rate_limits;
        let (stop, stopped) = watch::channel(false);
        let (stop_engines, engines_stopped) = watch::channel(false);

        let (app, s3) = match options.backend {
            Backend::Embedded => {
                let credentials = EngineCredentials::random();
                let s3 = embedded::s3_service(&options.data_dir.join("s3"), &credentials)?;
                let database = embedded::open_dynamodb(Some(&options.data_dir))?;
                let dynamodb = embedded::serve_dynamodb(database, engines_stopped).await?;
                let endpoints = Endpoints {
                    dynamodb: Some(format!("http://{dynamodb}")),
                    s3: Some(format!("http://{}", reachable(address))),
                    s3_public: Some(public_url.clone()),
                };
                write_lambda_env(&options, &config, &credentials, &endpoints)?;
                let sdk = credentials.sdk_config();
                let app = App::build_intercepted(config, &sdk, &endpoints, None, &options.interceptors).await;
                (app, Some(s3))
            }
            Backend::Aws => {
                let app = match shared::app::load_sdk_config(&config.tls_roots).await {
                    Ok(sdk) => App::build_intercepted(config, &sdk, &Endpoints::default(), None, &options.interceptors).await,
                    Err(error) => Err(error),
                };
                (app, None)
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
            let consumer = Arc::new(shared::chat::ChatConsumer::new(app.table.clone()));
            let queue = InProcessQueue::start(consumer, Default::default());
            app.chat_queue = Some(queue.clone());
            chat = Some(queue);
        }
        let app = Arc::new(app);
        let (ready, ready_seen) = watch::channel(false);
        let state = Arc::new(State { app: Arc::clone(&app), s3, ready: ready_seen });
        let server = tokio::spawn(serve(listener, state, stopped));
        let server =
            LocalServer { address, public_url, app, data_dir: options.data_dir, chat, stop, stop_engines, server };
        // The S3 engine answers on our own port, so the server must be up
        // first; API requests wait for `ready`.
        if let Err(error) = server.prepare().await {
            server.shutdown().await;
            return Err(error);
        }
        let _ = ready.send(true);
        Ok(server)
    }

    /// Creates what is missing (table, bucket, default images) and stores the
    /// chat messages the last run could not.
    async fn prepare(&self) -> anyhow::Result<()> {
        self.app.table.create_if_missing().await?;
        self.app.media.create_bucket_if_missing().await?;
        self.app.media.ensure_defaults().await?;
        if let Some(chat) = &self.chat {
            replay_spool(&self.data_dir.join(CHAT_SPOOL), chat).await?;
        }
        Ok(())
    }

    /// The application the server runs (for tests that inspect state).
    pub fn app(&self) -> &App {
        &self.app
    }

    /// Stops accepting connections, lets requests in flight finish (up to five
    /// seconds), lets the chat queue deliver what it holds (up to ten seconds;
    /// what it still holds then waits in the data folder for the next start),
    /// and stops the engines.
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
        let message: shared::store::NewMessage = match serde_json::from_str(line) {
            Ok(message) => message,
            Err(error) => {
                tracing::error!(%error, "unreadable line of the chat spool dropped");
                continue;
            }
        };
        let group = shared::store::model::conversation_partition(message.from_user_id, message.to_user_id);
        let outgoing = Outgoing { group, dedup_id: message.id.to_string(), body: line.to_owned() };
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

async fn serve(listener: TcpListener, state: Arc<State>, mut stop: watch::Receiver<bool>) {
    let graceful = GracefulShutdown::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.wait_for(|stop| *stop) => break,
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
        let state = Arc::clone(&state);
        let service = hyper::service::service_fn(move |request| handle(Arc::clone(&state), request, peer.ip()));
        let connection = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(socket), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let _ = connection.await;
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(Duration::from_secs(5)) => tracing::warn!("requests still running at shutdown"),
    }
}

async fn handle(
    state: Arc<State>,
    request: hyper::Request<Incoming>,
    peer: IpAddr,
) -> Result<hyper::Response<ResponseBody>, Infallible> {
    let path = request.uri().path();
    if path == "/douyin" || path.starts_with("/douyin/") {
        // Until the table and bucket exist, an API request waits instead of
        // failing. The sender lives as long as the server starts or runs.
        let _ = state.ready.clone().wait_for(|ready| *ready).await;
        return Ok(api(&state.app, request, peer).await);
    }
    if let Some(response) = web::respond(&request) {
        return Ok(response);
    }
    match &state.s3 {
        Some(s3) => {
            let upload = uploaded_key(&state.app, &request);
            match hyper::service::Service::call(s3, request).await {
                Ok(response) => {
                    if let Some(key) = upload.filter(|_| response.status().is_success()) {
                        deliver_upload_event(&state.app, &key).await;
                    }
                    Ok(response
                        .map(|body| body.map_err(|e| -> Box<dyn std::error::Error + Send + Sync> { e }).boxed_unsync()))
                }
                Err(error) => {
                    tracing::error!(error = ?error, "s3 engine failed");
                    Ok(lambda_to_hyper(crate::edge::reply::envelope(500, 50000, "internal error", Default::default())))
                }
            }
        }
        None => Ok(lambda_to_hyper(crate::edge::no_route(false))),
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
/// more (it is idempotent); the PUT is answered whatever happens.
async fn deliver_upload_event(app: &App, key: &str) {
    for attempt in 1..=INGEST_ATTEMPTS {
        let ingest = async {
            let size = app.media.size(key).await?.unwrap_or(0);
            let size = i64::try_from(size).unwrap_or(0);
            crate::video_ingest::handle(app, crate::video_ingest::created_event(&app.config.media_bucket, key, size))
                .await
        };
        let error = match AssertUnwindSafe(ingest).catch_unwind().await {
            Ok(Ok(_)) => return,
            Ok(Err(error)) => format!("{:#}", anyhow::Error::from(error)),
            Err(_) => "the ingest panicked".to_owned(),
        };
        tracing::error!(error, object_key = key, attempt, "local ingest failed");
    }
}

/// Tries of one upload's ingest on the local server (Lambda: 1 + 2 retries).
const INGEST_ATTEMPTS: u32 = 3;

/// An API request: read its body through the limit, give it the request
/// context API Gateway would (the socket peer as its source address), and
/// answer it with the endpoint's handler.
async fn api(app: &App, request: hyper::Request<Incoming>, peer: IpAddr) -> hyper::Response<ResponseBody> {
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
        lambda_to_hyper(crate::edge::reply::envelope(200, 10001, &message, Default::default()))
    };
    // A declared length over the limit is refused before a byte is read; an
    // undeclared (chunked) or understated one is cut off at the limit.
    let declared = parts.headers.get(hyper::header::CONTENT_LENGTH).and_then(|value| value.to_str().ok());
    if declared.and_then(|value| value.trim().parse::<u64>().ok()).is_some_and(|length| length > MAX_BODY_BYTES as u64)
    {
        return too_large();
    }
    let bytes = match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return too_large(),
    };
    let body = if bytes.is_empty() { Body::Empty } else { Body::Binary(bytes.to_vec()) };
    let response = crate::edge::respond(app, endpoint, lambda_http::http::Request::from_parts(parts, body)).await;
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
