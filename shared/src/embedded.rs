//! The embedded engines: DynamoDB (dynoxide, on SQLite) and S3 (s3s-fs, on a
//! folder, with real SigV4 checks) served on loopback inside this process, so
//! the local server and the tests run the production SDK code with nothing to
//! install. Compiled only with the `embedded` feature, never into a Lambda.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::{Credentials, SharedCredentialsProvider};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use rand::distr::{Alphanumeric, SampleString};
use s3s::auth::SimpleAuth;
use s3s::service::{S3Service, S3ServiceBuilder};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// The region the engines claim to be in.
pub const REGION: &str = "us-east-1";

/// Credentials accepted by the embedded S3 engine: random for every process, so
/// nothing secret is written anywhere and links die with the process.
#[derive(Clone)]
pub struct EngineCredentials {
    access_key: String,
    secret_key: String,
}

impl std::fmt::Debug for EngineCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineCredentials").field("access_key", &self.access_key).finish_non_exhaustive()
    }
}

impl EngineCredentials {
    /// Fresh random credentials.
    pub fn random() -> EngineCredentials {
        let mut rng = rand::rng();
        EngineCredentials {
            access_key: format!("LOCAL{}", Alphanumeric.sample_string(&mut rng, 15).to_uppercase()),
            secret_key: Alphanumeric.sample_string(&mut rng, 40),
        }
    }

    /// The credentials as the SDK's environment variables, for a process
    /// that talks to the engines from outside (`cargo lambda watch`).
    pub fn as_env(&self) -> [(&'static str, String); 2] {
        [("AWS_ACCESS_KEY_ID", self.access_key.clone()), ("AWS_SECRET_ACCESS_KEY", self.secret_key.clone())]
    }

    /// An SDK configuration that signs with these credentials, with the same
    /// call timeouts as production.
    pub fn sdk_config(&self) -> SdkConfig {
        let credentials = Credentials::new(&self.access_key, &self.secret_key, None, None, "embedded-engines");
        SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(REGION))
            .credentials_provider(SharedCredentialsProvider::new(credentials))
            .timeout_config(crate::app::call_timeouts())
            .build()
    }
}

/// The S3 engine on `root` (a folder per bucket), checking SigV4 signatures
/// against `credentials`. Serve it with [`serve_s3`] or mount it in a server.
pub fn s3_service(root: &Path, credentials: &EngineCredentials) -> anyhow::Result<S3Front> {
    std::fs::create_dir_all(root)?;
    let fs = s3s_fs::FileSystem::new(root).map_err(|e| anyhow::anyhow!("s3 engine at {}: {e:?}", root.display()))?;
    let mut builder = S3ServiceBuilder::new(fs);
    builder.set_auth(SimpleAuth::from_single(credentials.access_key.clone(), credentials.secret_key.clone()));
    Ok(S3Front { service: builder.build(), writing: Arc::default() })
}

/// The S3 engine with S3's conditional writes made atomic. s3s-fs honours
/// `If-None-Match: *` on a PUT, but checks for the object and then writes
/// it, so two PUTs at once could both pass the check; S3 lets exactly one
/// succeed (the other gets 412). Here conditional PUTs of one path take
/// turns, so the second one's check sees the first one's object. Other
/// requests go straight through.
#[derive(Clone)]
pub struct S3Front {
    service: S3Service,
    /// A lock per path with a conditional PUT in progress.
    writing: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
}

impl std::fmt::Debug for S3Front {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Front").finish_non_exhaustive()
    }
}

impl S3Front {
    /// Answers one S3 request (its body already wrapped, e.g. by a server
    /// that bounds the time it takes to arrive).
    pub async fn call(&self, request: s3s::HttpRequest) -> Result<s3s::HttpResponse, s3s::HttpError> {
        let conditional =
            request.method() == hyper::Method::PUT && request.headers().contains_key(hyper::header::IF_NONE_MATCH);
        if !conditional {
            return self.service.call(request).await;
        }
        let path = request.uri().path().to_owned();
        let lock = Arc::clone(self.locks().entry(path.clone()).or_default());
        let turn = lock.lock().await;
        // The body is read and the object written within this call.
        let response = self.service.call(request).await;
        drop(turn);
        let mut locks = self.locks();
        // Ours and the map's: nobody else waits on it (they clone under this lock).
        if Arc::strong_count(&lock) == 2 {
            locks.remove(&path);
        }
        response
    }

    fn locks(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<tokio::sync::Mutex<()>>>> {
        self.writing.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl hyper::service::Service<hyper::Request<Incoming>> for S3Front {
    type Response = s3s::HttpResponse;
    type Error = s3s::HttpError;
    type Future = futures_util::future::BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn call(&self, request: hyper::Request<Incoming>) -> Self::Future {
        let front = self.clone();
        Box::pin(async move { front.call(request.map(s3s::Body::from)).await })
    }
}

/// Serves `service` on `listener` until `stop` turns true.
pub async fn serve_s3(listener: TcpListener, service: S3Front, mut stop: watch::Receiver<bool>) {
    loop {
        let socket = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((socket, _)) => socket,
                Err(error) => {
                    tracing::warn!(%error, "s3 engine: accept failed");
                    continue;
                }
            },
            _ = stop.wait_for(|stop| *stop) => return,
        };
        let connection =
            hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(socket), service.clone());
        tokio::spawn(async move {
            let _ = connection.await;
        });
    }
}

/// Opens the DynamoDB engine: in a file under `data_dir` when given (it
/// survives restarts), else in memory.
pub fn open_dynamodb(data_dir: Option<&Path>) -> anyhow::Result<dynoxide::Database> {
    match data_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            let path = dir.join("dynamodb.sqlite");
            dynoxide::Database::new(&path.to_string_lossy())
                .map_err(|e| anyhow::anyhow!("dynamodb engine at {}: {e}", path.display()))
        }
        None => dynoxide::Database::memory().map_err(|e| anyhow::anyhow!("dynamodb engine in memory: {e}")),
    }
}

/// Serves the DynamoDB engine on a free loopback port until `stop` turns true;
/// returns its address.
pub async fn serve_dynamodb(
    database: dynoxide::Database,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    tokio::spawn(async move {
        let shutdown = async move {
            let _ = stop.wait_for(|stop| *stop).await;
        };
        if let Err(error) = dynoxide::server::serve_with_shutdown(listener, database, shutdown).await {
            tracing::error!(%error, "dynamodb engine stopped");
        }
    });
    Ok(address)
}
