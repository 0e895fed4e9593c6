//! Test support: [`TestApp`], an application on fresh storage whose methods
//! speak the domain (`register`, `login`, `user`), so tests read as scenarios.
//!
//! Storage is the embedded engines, started once per test binary on a thread
//! of their own; every `TestApp` gets its own table and bucket. With the
//! `fidelity` feature, DynamoDB and SQS are the emulators named by
//! `AWS_ENDPOINT_URL_DYNAMODB` and `AWS_ENDPOINT_URL_SQS` (DynamoDB Local and
//! moto, started by `tests/run`), and a missing endpoint fails the test. S3
//! stays the embedded engine (it checks SigV4, moto does not), except for the
//! tests that ask for [`TestApp::on_s3_emulator`]: moto's S3
//! (`AWS_ENDPOINT_URL_S3`) in the fidelity tier.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod faults;
pub mod http;
pub mod invariants;
pub mod logs;
pub mod samples;
pub mod scenario;
pub mod snapshot;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use aws_sdk_dynamodb::config::SharedInterceptor;
use functions::routes::{self, Route};
use lambda_http::Body;
use lambda_http::http::Method;
use serde_json::Value;
use shared::App;
use shared::app::{Endpoints, Interceptors};
use shared::chat::ChatConsumer;
use shared::config::{Argon2Cost, Config};
use shared::embedded::{self, EngineCredentials};
use shared::queue::{InProcessQueue, Queue};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// A secret for tests only.
pub const TEST_SECRET: &str = "test-secret-test-secret-test-secret-0123";

/// The engines every test of this binary shares.
pub struct Engines {
    /// DynamoDB endpoint.
    pub dynamodb: String,
    /// S3 endpoint: the embedded engine, which checks SigV4 signatures.
    pub s3: String,
    /// moto's S3, in the fidelity tier: the upload-integrity tests run on it
    /// too (conditional writes, deletes, the ingest's interleavings).
    pub s3_emulator: Option<String>,
    /// SQS endpoint, in the fidelity tier.
    pub sqs: Option<String>,
    /// Credentials the S3 engine accepts (and the emulators ignore).
    pub credentials: EngineCredentials,
}

/// Whether this is the fidelity tier.
pub const FIDELITY: bool = cfg!(feature = "fidelity");

/// The shared engines, started on first use.
pub fn engines() -> &'static Engines {
    static ENGINES: OnceLock<Engines> = OnceLock::new();
    ENGINES.get_or_init(|| {
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
            runtime.block_on(async move {
                let credentials = EngineCredentials::random();
                let (_stop, stopped) = watch::channel(false);
                let dynamodb = if FIDELITY {
                    fidelity_endpoint("AWS_ENDPOINT_URL_DYNAMODB")
                } else {
                    let database = embedded::open_dynamodb(None).unwrap();
                    format!("http://{}", embedded::serve_dynamodb(database, stopped.clone()).await.unwrap())
                };
                let folder = tempfile::tempdir().unwrap().keep();
                let s3 = embedded::s3_service(&folder, &credentials).unwrap();
                let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
                let s3_url = format!("http://{}", listener.local_addr().unwrap());
                tokio::spawn(embedded::serve_s3(listener, s3, stopped));
                let sqs = FIDELITY.then(|| fidelity_endpoint("AWS_ENDPOINT_URL_SQS"));
                let s3_emulator = FIDELITY.then(|| fidelity_endpoint("AWS_ENDPOINT_URL_S3"));
                sender.send(Engines { dynamodb, s3: s3_url, s3_emulator, sqs, credentials }).unwrap();
                // Serve for as long as the test binary runs.
                let _keep = _stop;
                std::future::pending::<()>().await;
            });
        });
        receiver.recv().expect("engines failed to start")
    })
}

fn fidelity_endpoint(variable: &str) -> String {
    std::env::var(variable).unwrap_or_else(|_| panic!("the fidelity tier needs {variable}: run it through tests/run"))
}

/// A name no other test uses (tables, buckets, queues).
pub fn unique_name(prefix: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}-{}-{n}-{:06}", std::process::id(), rand::random_range(0..1_000_000u32))
}

/// A reply: the HTTP status and the JSON body.
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status.
    pub http_status: u16,
    /// The body.
    pub body: Value,
    /// The `Retry-After` header, if any (rate limits).
    pub retry_after: Option<String>,
    /// Whether the body came gzipped (`Content-Encoding: gzip`); `body` is
    /// what it reads as once the client has undone it.
    pub gzipped: bool,
}

impl Reply {
    /// `status_code` of the body.
    pub fn code(&self) -> i64 {
        self.body["status_code"].as_i64().expect("status_code")
    }

    /// `status_msg` of the body.
    pub fn msg(&self) -> &str {
        self.body["status_msg"].as_str().expect("status_msg")
    }

    /// Asserts success and returns the body.
    #[track_caller]
    pub fn ok(&self) -> &Value {
        assert_eq!((self.http_status, self.code()), (200, 0), "expected success, got {}", self.body);
        &self.body
    }
}

/// A registered user.
#[derive(Debug, Clone)]
pub struct Session {
    /// Their id.
    pub id: u64,
    /// Their token.
    pub token: String,
}

/// Faults to inject into a [`TestApp`]'s table, blob store and chat queue.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// On the DynamoDB client.
    pub table: Option<faults::FaultInjector>,
    /// On the S3 client.
    pub blob: Option<faults::FaultInjector>,
    /// The send (from 1) of the chat queue that fails, and how.
    pub queue: Option<(u64, faults::Fault)>,
}

/// An application on fresh storage.
pub struct TestApp {
    /// The application, for tests that look beneath the endpoints.
    pub app: App,
    /// The in-process chat queue, feeding the chat consumer.
    pub chat: Arc<InProcessQueue>,
    /// The chat queue as the app sends to it, when built with [`Faults`].
    pub queue: Option<Arc<faults::FailingQueue>>,
    /// Where its bucket is.
    s3_endpoint: String,
}

impl TestApp {
    /// A new application with its own table and bucket, cheap argon2.
    pub async fn new() -> TestApp {
        TestApp::with_config(|_| {}).await
    }

    /// A new application like [`TestApp::new`] whose bucket is on moto's S3 in
    /// the fidelity tier (on the embedded engine otherwise).
    pub async fn on_s3_emulator() -> TestApp {
        let s3 = engines().s3_emulator.clone().unwrap_or_else(|| engines().s3.clone());
        TestApp::build_on(s3, |_| {}, Faults::default(), Interceptors::default(), None).await
    }

    /// Another instance of this application (another Lambda): the same table,
    /// bucket and S3 engine, with `s3_interceptors` on its S3 client.
    pub async fn another_instance(&self, s3_interceptors: Vec<SharedInterceptor>) -> TestApp {
        self.another_instance_intercepted(Interceptors { dynamodb: Vec::new(), s3: s3_interceptors }).await
    }

    /// [`TestApp::another_instance`] with `extra` interceptors on both its clients.
    pub async fn another_instance_intercepted(&self, extra: Interceptors) -> TestApp {
        let config = self.app.config.clone();
        let s3 = self.s3_endpoint.clone();
        TestApp::build_on(s3, move |c| *c = config, Faults::default(), extra, None).await
    }

    /// A new application whose configuration `adjust` changes first.
    pub async fn with_config(adjust: impl FnOnce(&mut Config)) -> TestApp {
        TestApp::build(adjust, Faults::default()).await
    }

    /// A new application whose calls fail as `faults` says (storage is set
    /// up before any fault can strike).
    pub async fn with_faults(faults: Faults) -> TestApp {
        TestApp::build(|_| {}, faults).await
    }

    /// A new application whose AWS calls and presigned links are signed with
    /// the credentials `provider` gives (they must be the engines' keys, see
    /// [`Engines::credentials`]), as a Lambda's role credentials are.
    pub async fn with_credentials(provider: aws_sdk_dynamodb::config::SharedCredentialsProvider) -> TestApp {
        TestApp::build_on(engines().s3.clone(), |_| {}, Faults::default(), Interceptors::default(), Some(provider))
            .await
    }

    async fn build(adjust: impl FnOnce(&mut Config), faults: Faults) -> TestApp {
        TestApp::build_on(engines().s3.clone(), adjust, faults, Interceptors::default(), None).await
    }

    /// The one builder: the bucket's S3 `s3` endpoint, the configuration
    /// `adjust` changes, `faults`, `extra` interceptors on its clients, and the
    /// credentials provider its AWS calls and links are signed with (the
    /// engines' own keys when `None`).
    async fn build_on(
        s3: String,
        adjust: impl FnOnce(&mut Config),
        faults: Faults,
        extra: Interceptors,
        credentials: Option<aws_sdk_dynamodb::config::SharedCredentialsProvider>,
    ) -> TestApp {
        // Quiet unless asked: DOUYIN_TEST_LOG=debug shows the service's logs.
        let filter = std::env::var("DOUYIN_TEST_LOG").unwrap_or_else(|_| "off".into());
        shared::telemetry::init(&filter, shared::telemetry::LogFormat::Text);
        let engines = engines();
        let mut config = Config::local(&unique_name("table"), &unique_name("bucket"), TEST_SECRET);
        config.argon2 = Argon2Cost::TEST;
        adjust(&mut config);
        let endpoints = Endpoints { dynamodb: Some(engines.dynamodb.clone()), s3: Some(s3.clone()), s3_public: None };
        let interceptors = Interceptors {
            dynamodb: faults.table.iter().map(faults::FaultInjector::interceptor).chain(extra.dynamodb).collect(),
            s3: faults.blob.iter().map(faults::FaultInjector::interceptor).chain(extra.s3).collect(),
        };
        let sdk = match credentials {
            Some(provider) => engines.credentials.sdk_config().to_builder().credentials_provider(provider).build(),
            None => engines.credentials.sdk_config(),
        };
        let mut app = App::build_intercepted(config, &sdk, &endpoints, None, &interceptors).await.unwrap();
        let chat = InProcessQueue::start(Arc::new(ChatConsumer::new(&app)), Default::default());
        // Storage is made through a client without faults: the faults are
        // about the scenario, not the test's setup.
        let setup = App::build(app.config.clone(), &sdk, &endpoints, None).await.unwrap();
        setup.table().create_if_missing().await.unwrap();
        setup.media().create_bucket_if_missing().await.unwrap();
        let queue = (faults.table.is_some() || faults.blob.is_some() || faults.queue.is_some())
            .then(|| Arc::new(faults::FailingQueue::new(chat.clone(), faults.queue)));
        app.chat_queue = Some(match &queue {
            Some(queue) => queue.clone() as Arc<dyn Queue>,
            None => chat.clone(),
        });
        TestApp { app, chat, queue, s3_endpoint: s3 }
    }

    /// A second application on this one's table (another Lambda instance),
    /// with its own bucket, whose configuration `adjust` changes first.
    pub async fn sharing_table(&self, adjust: impl FnOnce(&mut Config)) -> TestApp {
        let table = self.app.config.table_name.clone();
        TestApp::with_config(move |config| {
            config.table_name = table;
            adjust(config);
        })
        .await
    }

    /// An application whose table and bucket were never created: every storage
    /// call fails, as when DynamoDB or S3 is down or misconfigured.
    pub async fn without_storage() -> TestApp {
        let engines = engines();
        let mut config = Config::local(&unique_name("missing"), &unique_name("missing"), TEST_SECRET);
        config.argon2 = Argon2Cost::TEST;
        let endpoints =
            Endpoints { dynamodb: Some(engines.dynamodb.clone()), s3: Some(engines.s3.clone()), s3_public: None };
        let app = App::build(config, &engines.credentials.sdk_config(), &endpoints, None).await.unwrap();
        let chat = InProcessQueue::start(Arc::new(ChatConsumer::new(&app)), Default::default());
        TestApp { app, chat, queue: None, s3_endpoint: engines.s3.clone() }
    }

    /// An application the test built itself (an unusual set-up), its bucket
    /// behind `s3_endpoint`, with the in-process chat queue.
    pub fn of(app: App, s3_endpoint: &str) -> TestApp {
        let chat = InProcessQueue::start(Arc::new(ChatConsumer::new(&app)), Default::default());
        TestApp { app, chat, queue: None, s3_endpoint: s3_endpoint.to_owned() }
    }

    /// Calls `path` with `method`, parameters in the query string as the stock
    /// client sends them.
    pub async fn call(&self, method: Method, path: &str, params: &[(&str, &str)]) -> Reply {
        let query: String = form_encode(params);
        let uri = if query.is_empty() { path.to_owned() } else { format!("{path}?{query}") };
        let request = lambda_http::http::Request::builder().method(method).uri(uri).body(Body::Empty).unwrap();
        self.send(request).await
    }

    /// Calls `path` like [`TestApp::call`], from source address `ip` (as API
    /// Gateway's request context names it).
    pub async fn call_from(&self, ip: &str, method: Method, path: &str, params: &[(&str, &str)]) -> Reply {
        let query: String = form_encode(params);
        let uri = format!("{path}?{query}");
        let request = lambda_http::http::Request::builder().method(method.clone()).uri(uri).body(Body::Empty).unwrap();
        let request = lambda_http::RequestExt::with_request_context(
            request,
            functions::edge::client::local_context(&method, ip.parse().unwrap()),
        );
        self.send(request).await
    }

    /// Posts `params` as an urlencoded body.
    pub async fn post_form(&self, path: &str, params: &[(&str, &str)]) -> Reply {
        let request = lambda_http::http::Request::builder()
            .method(Method::POST)
            .uri(path)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::Text(form_encode(params)))
            .unwrap();
        self.send(request).await
    }

    /// Routes a request like the local server and API Gateway do, and answers.
    pub async fn send(&self, request: lambda_http::Request) -> Reply {
        let response = match routes::route(request.method(), request.uri().path()) {
            Route::Endpoint(endpoint) => functions::edge::respond(&self.app, endpoint, request).await,
            Route::WrongMethod => functions::edge::no_route(true),
            Route::NotFound => functions::edge::no_route(false),
        };
        reply_of(response)
    }

    /// Runs a Lambda event (API Gateway HTTP API, JSON) through its handler.
    pub async fn event(&self, json: &str) -> Reply {
        let request = lambda_http::request::from_str(json).expect("a valid API Gateway event");
        self.send(request).await
    }

    /// `POST /douyin/user/register/`.
    pub async fn register(&self, username: &str, password: &str) -> Reply {
        self.call(Method::POST, "/douyin/user/register/", &[("username", username), ("password", password)]).await
    }

    /// `POST /douyin/user/login/`.
    pub async fn login(&self, username: &str, password: &str) -> Reply {
        self.call(Method::POST, "/douyin/user/login/", &[("username", username), ("password", password)]).await
    }

    /// `GET /douyin/user/`.
    pub async fn user(&self, user_id: Option<u64>, token: Option<&str>) -> Reply {
        let user_id = user_id.map(|id| id.to_string());
        let mut params = Vec::new();
        if let Some(user_id) = &user_id {
            params.push(("user_id", user_id.as_str()));
        }
        if let Some(token) = token {
            params.push(("token", token));
        }
        self.call(Method::GET, "/douyin/user/", &params).await
    }

    /// `POST /douyin/publish/action/` as the stock client sends it: one
    /// multipart body with `data`, `token` and `title`.
    pub async fn publish(&self, token: &str, title: &str, video: &[u8]) -> Reply {
        let (content_type, body) = multipart(&[("token", token), ("title", title)], Some(("data", "clip.mp4", video)));
        let request = lambda_http::http::Request::builder()
            .method(Method::POST)
            .uri("/douyin/publish/action/")
            .header("content-type", content_type)
            .body(Body::Binary(body))
            .unwrap();
        self.send(request).await
    }

    /// `GET /douyin/feed/`.
    pub async fn feed(&self, latest_time: Option<&str>, token: Option<&str>) -> Reply {
        let mut params = Vec::new();
        if let Some(latest_time) = latest_time {
            params.push(("latest_time", latest_time));
        }
        if let Some(token) = token {
            params.push(("token", token));
        }
        self.call(Method::GET, "/douyin/feed/", &params).await
    }

    /// `GET /douyin/publish/list/`.
    pub async fn publish_list(&self, user_id: u64, token: Option<&str>) -> Reply {
        let user_id = user_id.to_string();
        let mut params = vec![("user_id", user_id.as_str())];
        if let Some(token) = token {
            params.push(("token", token));
        }
        self.call(Method::GET, "/douyin/publish/list/", &params).await
    }

    /// `POST /douyin/publish/upload/`.
    pub async fn start_upload(&self, token: &str, title: &str, content_type: &str, content_length: usize) -> Reply {
        let length = content_length.to_string();
        let params = [("token", token), ("title", title), ("content_type", content_type), ("content_length", &length)];
        self.call(Method::POST, "/douyin/publish/upload/", &params).await
    }

    /// `GET /douyin/publish/status/`.
    pub async fn upload_status(&self, token: &str, video_id: u64) -> Reply {
        let video_id = video_id.to_string();
        self.call(Method::GET, "/douyin/publish/status/", &[("token", token), ("video_id", &video_id)]).await
    }

    /// Delivers the S3 `ObjectCreated` event of `key` to the ingest function,
    /// as S3 does after a presigned PUT.
    pub async fn s3_created(&self, key: &str) -> Vec<shared::videos::IngestOutcome> {
        let event = functions::video_ingest::created_event(&self.app.config.media_bucket, key, 0);
        functions::video_ingest::handle(&self.app, event).await.unwrap()
    }

    /// `POST /douyin/favorite/action/` (1 like, 2 unlike).
    pub async fn favorite(&self, token: &str, video_id: u64, action_type: u8) -> Reply {
        let (video_id, action) = (video_id.to_string(), action_type.to_string());
        let params = [("token", token), ("video_id", video_id.as_str()), ("action_type", action.as_str())];
        self.call(Method::POST, "/douyin/favorite/action/", &params).await
    }

    /// `POST /douyin/relation/action/` (1 follow, 2 unfollow).
    pub async fn relation(&self, token: &str, to_user_id: u64, action_type: u8) -> Reply {
        let (to, action) = (to_user_id.to_string(), action_type.to_string());
        let params = [("token", token), ("to_user_id", to.as_str()), ("action_type", action.as_str())];
        self.call(Method::POST, "/douyin/relation/action/", &params).await
    }

    /// `POST /douyin/comment/action/` posting `text`.
    pub async fn comment(&self, token: &str, video_id: u64, text: &str) -> Reply {
        let video_id = video_id.to_string();
        let params = [("token", token), ("video_id", video_id.as_str()), ("action_type", "1"), ("comment_text", text)];
        self.call(Method::POST, "/douyin/comment/action/", &params).await
    }

    /// `POST /douyin/comment/action/` deleting `comment_id`.
    pub async fn delete_comment(&self, token: &str, video_id: u64, comment_id: u64) -> Reply {
        let (video_id, comment_id) = (video_id.to_string(), comment_id.to_string());
        let params = [
            ("token", token),
            ("video_id", video_id.as_str()),
            ("action_type", "2"),
            ("comment_id", comment_id.as_str()),
        ];
        self.call(Method::POST, "/douyin/comment/action/", &params).await
    }

    /// A list endpoint (`/douyin/favorite/list/`, `/douyin/relation/follow/list/`, …)
    /// for `user_id`, as `token`'s user or a guest.
    pub async fn list(&self, path: &str, user_id: u64, token: Option<&str>) -> Reply {
        let user_id = user_id.to_string();
        let mut params = vec![("user_id", user_id.as_str())];
        if let Some(token) = token {
            params.push(("token", token));
        }
        self.call(Method::GET, path, &params).await
    }

    /// `GET /douyin/comment/list/`.
    pub async fn comment_list(&self, video_id: u64, token: Option<&str>) -> Reply {
        let video_id = video_id.to_string();
        let mut params = vec![("video_id", video_id.as_str())];
        if let Some(token) = token {
            params.push(("token", token));
        }
        self.call(Method::GET, "/douyin/comment/list/", &params).await
    }

    /// Publishes a small clip as `token`'s user; returns the video id.
    pub async fn new_video(&self, token: &str, title: &str) -> u64 {
        self.publish(token, title, &fixture("portrait-red-360x640-1s.mp4")).await.ok();
        let mine = self.call(Method::GET, "/douyin/publish/list/", &[("token", token)]).await;
        let list = mine.ok()["video_list"].as_array().unwrap().clone();
        list.iter().find(|v| v["title"] == title).unwrap()["id"].as_u64().unwrap()
    }

    /// Publishes `n` videos of `author_id` straight into the table (no file,
    /// no decode: for tests of lists), one millisecond apart; returns their
    /// ids, oldest first.
    pub async fn insert_videos(&self, author_id: u64, n: usize) -> Vec<u64> {
        let mut ids = Vec::with_capacity(n);
        for i in 0..n {
            let id = self.app.ids().next().await.unwrap();
            let video = shared::store::model::VideoItem::new(&shared::store::model::NewVideo {
                id,
                author_id,
                title: format!("v{i}"),
                play_key: format!("videos/{id}.mp4"),
                cover_key: format!("covers/{id}.jpg"),
                created_at_ms: 1_700_000_000_000 + i as u64,
                width: 320,
                height: 240,
                duration_ms: 1000,
                feed_shard: 0,
            });
            assert!(self.app.table().publish_video(&video, shared::store::VideoSource::Inline).await.unwrap());
            ids.push(id);
        }
        ids
    }

    /// The counters of a user and of a video, read through the endpoints.
    pub async fn user_counters(&self, user_id: u64) -> serde_json::Value {
        self.user(Some(user_id), None).await.ok()["user"].clone()
    }

    /// `POST /douyin/message/action/`.
    pub async fn send_message(&self, token: &str, to_user_id: u64, content: &str) -> Reply {
        let to = to_user_id.to_string();
        let params = [("token", token), ("to_user_id", to.as_str()), ("action_type", "1"), ("content", content)];
        self.call(Method::POST, "/douyin/message/action/", &params).await
    }

    /// `GET /douyin/message/chat/`.
    pub async fn chat(&self, token: &str, to_user_id: u64, pre_msg_time: Option<u64>) -> Reply {
        let (to, pre) = (to_user_id.to_string(), pre_msg_time.map(|t| t.to_string()));
        let mut params = vec![("token", token), ("to_user_id", to.as_str())];
        if let Some(pre) = &pre {
            params.push(("pre_msg_time", pre.as_str()));
        }
        self.call(Method::GET, "/douyin/message/chat/", &params).await
    }

    /// Registers `username` (password `password1`) and returns the session.
    pub async fn new_user(&self, username: &str) -> Session {
        session_of(self.register(username, "password1").await.ok())
    }
}

/// A multipart/form-data body: text fields, then an optional file
/// `(field, file name, bytes)`. Returns the content type and the body.
pub fn multipart(fields: &[(&str, &str)], file: Option<(&str, &str, &[u8])>) -> (String, Vec<u8>) {
    let boundary = "douyinTestBoundary7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
        );
    }
    if let Some((name, file_name, bytes)) = file {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: video/mp4\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// A media fixture (copied from the handouts into `tests/fixtures/media`).
pub fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/media").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The session in a register or login reply.
pub fn session_of(body: &Value) -> Session {
    Session { id: body["user_id"].as_u64().unwrap(), token: body["token"].as_str().unwrap().to_owned() }
}

/// What a client reads from a gzip body.
pub fn gunzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    use std::io::Read as _;
    let mut plain = Vec::new();
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut plain)?;
    Ok(plain)
}

/// `a=1&b=2`, percent-encoded.
pub fn form_encode(params: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new()).extend_pairs(params).finish()
}

fn reply_of(response: lambda_http::Response<Body>) -> Reply {
    let content_type = response.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(content_type.as_deref(), Some("application/json; charset=utf-8"));
    let http_status = response.status().as_u16();
    let retry_after = response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
    let gzipped = match response.headers().get("content-encoding") {
        None => false,
        Some(encoding) if encoding == "gzip" => true,
        Some(other) => panic!("an answer encoded as {other:?}"),
    };
    let bytes = match response.into_body() {
        Body::Text(text) => text.into_bytes(),
        Body::Binary(bytes) => bytes,
        _ => panic!("empty response body"),
    };
    let bytes = if gzipped { gunzip(&bytes).expect("a gzip body") } else { bytes };
    let body = serde_json::from_slice(&bytes).unwrap();
    Reply { http_status, body, retry_after, gzipped }
}

/// A chat queue that keeps what is sent and delivers nothing, so that only
/// the send path persists and the consumer runs when a test says so.
#[derive(Debug, Default)]
pub struct HeldQueue(pub std::sync::Mutex<Vec<shared::queue::Outgoing>>);

impl shared::queue::Queue for HeldQueue {
    fn send(&self, message: shared::queue::Outgoing) -> futures_util::future::BoxFuture<'_, shared::Result<()>> {
        self.0.lock().unwrap().push(message);
        Box::pin(async { Ok(()) })
    }
}
