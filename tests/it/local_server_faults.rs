//! `douyin-local` under faults: it answers only once ready, a failing or
//! panicking request leaves it serving, and stopping it loses no accepted
//! chat message.

use std::net::SocketAddr;
use std::path::Path;

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsInput;
use functions::local::{LocalOptions, LocalServer};
use shared::app::Interceptors;
use shared::config::Argon2Cost;
use tests::faults::{Fault, FaultInjector};
use tests::http::{Response, put_ticket, request};
use tests::{Session, form_encode, session_of};

fn options(data_dir: &Path, table: &FaultInjector, blob: &FaultInjector) -> LocalOptions {
    LocalOptions {
        addr: "127.0.0.1:0".parse().unwrap(),
        argon2: Argon2Cost::TEST,
        interceptors: Interceptors { dynamodb: vec![table.interceptor()], s3: vec![blob.interceptor()] },
        ..LocalOptions::new(data_dir)
    }
}

async fn call(address: SocketAddr, method: &str, path: &str, params: &[(&str, &str)]) -> Response {
    request(address, method, &format!("{path}?{}", form_encode(params)), None, &[]).await
}

async fn register(address: SocketAddr, name: &str) -> Session {
    let params = [("username", name), ("password", "password1")];
    session_of(&call(address, "POST", "/douyin/user/register/", &params).await.json())
}

/// The port opens before the table exists (the S3 engine on that port is
/// needed to make the bucket): a request in that moment waits for the
/// storage instead of failing with 50000.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_in_the_first_moment_waits_until_the_server_is_ready() {
    let dir = tempfile::tempdir().unwrap();
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let options = LocalOptions { addr: free, argon2: Argon2Cost::TEST, ..LocalOptions::new(dir.path()) };
    let starting = tokio::spawn(LocalServer::start(options));
    // Connect as soon as the port accepts: the earliest a client can.
    while tokio::net::TcpStream::connect(free).await.is_err() {
        assert!(!starting.is_finished(), "the server stopped starting");
        tokio::task::yield_now().await;
    }
    // Several at once, so that without the wait one at least would meet the
    // missing table (a single one sometimes arrives just after it exists).
    let feeds = futures_util::future::join_all((0..10).map(|_| call(free, "GET", "/douyin/feed/", &[]))).await;
    for feed in feeds {
        assert_eq!((feed.status, feed.json()["status_code"].as_i64()), (200, Some(0)), "{:?}", feed.json());
    }
    starting.await.unwrap().unwrap().shutdown().await;
}

#[tokio::test]
async fn a_failing_or_panicking_request_leaves_the_server_serving() {
    let dir = tempfile::tempdir().unwrap();
    let (table, blob) = (FaultInjector::new(), FaultInjector::new());
    let server = LocalServer::start(options(dir.path(), &table, &blob)).await.unwrap();
    let address = server.address;
    let alice = register(address, "alice").await;
    let id = alice.id.to_string();
    for fault in [Fault::Refused, Fault::AnswerLost, Fault::Panic] {
        table.fail_next(fault);
        let failed = call(address, "GET", "/douyin/user/", &[("user_id", &id), ("token", &alice.token)]).await;
        assert_eq!((failed.status, failed.json()["status_code"].as_i64()), (500, Some(50000)));
        let served = call(address, "GET", "/douyin/user/", &[("user_id", &id), ("token", &alice.token)]).await;
        assert_eq!(served.json()["status_code"], 0);
    }

    // A panic in the ingest the local server runs on an upload's PUT (outside
    // any handler): the PUT is answered, the ingest is tried again, the video
    // goes live, and the server goes on.
    let clip = tests::fixture("h264-aac-640x360-1s.mp4");
    let length = clip.len().to_string();
    let params =
        [("token", alice.token.as_str()), ("title", "t"), ("content_type", "video/mp4"), ("content_length", &length)];
    let ticket = call(address, "POST", "/douyin/publish/upload/", &params).await.json();
    blob.fail_next(Fault::Panic);
    assert_eq!(put_ticket(&ticket, &clip).await.status, 200);
    assert_eq!(blob.failed(), 1);
    let video_id = ticket["video_id"].as_u64().unwrap().to_string();
    let params = [("token", alice.token.as_str()), ("video_id", &video_id)];
    assert_eq!(call(address, "GET", "/douyin/publish/status/", &params).await.json()["state"], "live");
    server.shutdown().await;
}

/// Messages accepted while the table refuses their writes (the send path's
/// and the consumer's, until the consumer gives up on them) are kept when the
/// server stops and stored when it starts again.
#[tokio::test]
async fn stopping_right_after_sends_loses_no_accepted_message() {
    let dir = tempfile::tempdir().unwrap();
    let (table, blob) = (FaultInjector::new(), FaultInjector::new());
    let server = LocalServer::start(options(dir.path(), &table, &blob)).await.unwrap();
    let address = server.address;
    let (alice, bob) = (register(address, "alice").await, register(address, "bob").await);
    table.fail_every::<TransactWriteItemsInput>(Fault::Refused);
    let bob_id = bob.id.to_string();
    for n in 0..3 {
        let content = format!("message {n}");
        let params =
            [("token", alice.token.as_str()), ("to_user_id", &bob_id), ("action_type", "1"), ("content", &content)];
        let sent = call(address, "POST", "/douyin/message/action/", &params).await;
        assert_eq!(sent.json()["status_code"], 0, "{:?}", sent.json());
    }
    server.shutdown().await;
    assert!(table.failed() >= 3);

    let (table, blob) = (FaultInjector::new(), FaultInjector::new());
    let server = LocalServer::start(options(dir.path(), &table, &blob)).await.unwrap();
    let alice_id = alice.id.to_string();
    let params = [("token", bob.token.as_str()), ("to_user_id", &alice_id)];
    let chat = call(server.address, "GET", "/douyin/message/chat/", &params).await.json();
    let contents: Vec<&str> =
        chat["message_list"].as_array().unwrap().iter().map(|m| m["content"].as_str().unwrap()).collect();
    assert_eq!(contents, ["message 0", "message 1", "message 2"], "{chat}");
    server.shutdown().await;
}

/// Holds the first S3 call of the app after [`Hold::arm`] until the test
/// releases it: the worker blocks (`block_in_place`, so the runtime goes on),
/// which keeps an ingest in flight for as long as the test needs.
#[derive(Debug, Default)]
struct Hold {
    armed: std::sync::atomic::AtomicBool,
    entered: std::sync::Mutex<Option<std::sync::mpsc::Sender<()>>>,
    release: std::sync::Mutex<Option<std::sync::mpsc::Receiver<()>>>,
}

impl Hold {
    /// Arms the hold: returns (reached, release).
    fn arm(&self) -> (std::sync::mpsc::Receiver<()>, std::sync::mpsc::Sender<()>) {
        let (entered, reached) = std::sync::mpsc::channel();
        let (release, released) = std::sync::mpsc::channel();
        *self.entered.lock().unwrap() = Some(entered);
        *self.release.lock().unwrap() = Some(released);
        self.armed.store(true, std::sync::atomic::Ordering::SeqCst);
        (reached, release)
    }
}

#[derive(Clone, Debug, Default)]
struct HoldInterceptor(std::sync::Arc<Hold>);

impl aws_sdk_dynamodb::config::Intercept for HoldInterceptor {
    fn name(&self) -> &'static str {
        "Hold"
    }

    fn read_before_execution(
        &self,
        _context: &aws_sdk_dynamodb::config::interceptors::BeforeSerializationInterceptorContextRef<'_>,
        _cfg: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        if !self.0.armed.swap(false, std::sync::atomic::Ordering::SeqCst) {
            return Ok(());
        }
        let entered = self.0.entered.lock().unwrap().take();
        let released = self.0.release.lock().unwrap().take();
        if let Some(entered) = entered {
            let _ = entered.send(());
        }
        if let Some(released) = released {
            tokio::task::block_in_place(|| {
                let _ = released.recv();
            });
        }
        Ok(())
    }
}

/// An upload's ingest is still running when the server stops, and the stop
/// does not wait for it forever: the next start finishes it before answering,
/// so the upload does not stay `pending`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ingest_the_stop_cut_off_is_finished_at_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let hold = HoldInterceptor::default();
    let options = LocalOptions {
        addr: "127.0.0.1:0".parse().unwrap(),
        argon2: Argon2Cost::TEST,
        interceptors: Interceptors {
            dynamodb: vec![],
            s3: vec![aws_sdk_dynamodb::config::SharedInterceptor::new(hold.clone())],
        },
        // The stop waits this long for the held ingest, then cuts it off.
        shutdown_timeout: std::time::Duration::from_millis(200),
        ..LocalOptions::new(dir.path())
    };
    let server = LocalServer::start(options).await.unwrap();
    let address = server.address;
    let alice = register(address, "alice").await;
    let clip = tests::fixture("h264-aac-640x360-1s.mp4");
    let length = clip.len().to_string();
    let params =
        [("token", alice.token.as_str()), ("title", "t"), ("content_type", "video/mp4"), ("content_length", &length)];
    let ticket = call(address, "POST", "/douyin/publish/upload/", &params).await.json();

    let video_id = ticket["video_id"].as_u64().unwrap().to_string();
    let (reached, release) = hold.0.arm();
    let put = tokio::spawn(async move { put_ticket(&ticket, &clip).await });
    // The object is stored and its ingest has started: hold it there.
    tokio::task::block_in_place(|| reached.recv_timeout(std::time::Duration::from_secs(60))).unwrap();
    server.shutdown().await;
    let _ = release.send(());
    // The PUT's connection was cut: its client sees no answer, or an error.
    let _ = put.await;

    let options = LocalOptions {
        addr: "127.0.0.1:0".parse().unwrap(),
        argon2: Argon2Cost::TEST,
        ..LocalOptions::new(dir.path())
    };
    let server = LocalServer::start(options).await.unwrap();
    let params = [("token", alice.token.as_str()), ("video_id", &video_id)];
    let status = call(server.address, "GET", "/douyin/publish/status/", &params).await.json();
    assert_eq!(status["state"], "live", "{status}");
    server.shutdown().await;
}

/// An upload whose body was still arriving when the stop's time ran out never
/// became an object: the next start has nothing to ingest and forgets it, and
/// the upload stays `pending` (its record expires as any unfinished upload's;
/// links die with the process that signed them, so the client starts anew).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_the_stop_cut_off_before_it_arrived_stays_pending() {
    let dir = tempfile::tempdir().unwrap();
    let options = |shutdown_timeout| LocalOptions {
        addr: "127.0.0.1:0".parse().unwrap(),
        argon2: Argon2Cost::TEST,
        shutdown_timeout,
        ..LocalOptions::new(dir.path())
    };
    let server = LocalServer::start(options(std::time::Duration::from_millis(200))).await.unwrap();
    let alice = register(server.address, "alice").await;
    let clip = tests::fixture("h264-aac-640x360-1s.mp4");
    let length = clip.len().to_string();
    let params =
        [("token", alice.token.as_str()), ("title", "t"), ("content_type", "video/mp4"), ("content_length", &length)];
    let ticket = call(server.address, "POST", "/douyin/publish/upload/", &params).await.json();
    let headers: Vec<(String, String)> = ticket["upload_headers"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, value)| (name.clone(), value.as_str().unwrap().to_owned()))
        .collect();
    // Half the file is sent, the rest never comes.
    let held =
        tests::http::HeldRequest::start_url("PUT", ticket["upload_url"].as_str().unwrap(), &headers, &clip).await;
    server.shutdown().await;
    held.abandon();

    let server = LocalServer::start(options(std::time::Duration::from_secs(5))).await.unwrap();
    let video_id = ticket["video_id"].as_u64().unwrap().to_string();
    let params = [("token", alice.token.as_str()), ("video_id", &video_id)];
    let status = call(server.address, "GET", "/douyin/publish/status/", &params).await.json();
    assert_eq!(status["state"], "pending", "{status}");
    assert_eq!(std::fs::read_dir(dir.path().join("ingest-pending")).unwrap().count(), 0, "the journal kept it");
    assert_eq!(server.app().media().size(&format!("uploads/{video_id}")).await.unwrap(), None);
    server.shutdown().await;
}
