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
