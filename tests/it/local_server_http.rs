//! `douyin-local` as an HTTP server facing strangers: what is not the API is
//! the contract's 404 envelope (only the media bucket's paths are S3's),
//! protocol errors are envelopes too, and slow or numerous connections are
//! bounded (head, body, idle time; connections per address).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use functions::local::{LocalOptions, LocalServer};
use shared::config::Argon2Cost;
use tests::http::{Response, parse, request};
use tests::{form_encode, session_of};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpSocket, TcpStream};

/// The longest any bounded wait below may take on a loaded machine before the
/// test calls it a hang: far above every bound the tests configure.
const HANG: Duration = Duration::from_secs(30);

fn options(dir: &std::path::Path) -> LocalOptions {
    LocalOptions {
        addr: "127.0.0.1:0".parse().unwrap(),
        argon2: Argon2Cost::TEST,
        header_timeout: Duration::from_secs(1),
        body_timeout: Duration::from_secs(1),
        upload_timeout: Duration::from_secs(1),
        max_connections_per_address: 4,
        ..LocalOptions::new(dir)
    }
}

async fn start(dir: &std::path::Path) -> LocalServer {
    LocalServer::start(options(dir)).await.unwrap()
}

/// Sends raw bytes on a fresh connection and reads until the server closes it.
async fn raw(address: SocketAddr, bytes: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    read_to_close(&mut stream).await
}

/// Reads until the server closes (a reset counts as closed).
async fn read_to_close(stream: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let read = tokio::time::timeout(HANG, async {
        let mut buffer = [0u8; 8192];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(n) => out.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await;
    assert!(
        read.is_ok(),
        "the server kept the connection open for {HANG:?}; received {:?}",
        String::from_utf8_lossy(&out)
    );
    out
}

/// Splits a stream of answers (each with a `content-length`) into responses.
fn split_answers(mut raw: &[u8]) -> Vec<Response> {
    let mut out = Vec::new();
    while let Some(split) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
        let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|line| line.strip_prefix("content-length:"))
            .map(|value| value.trim().parse().unwrap())
            .unwrap_or(0);
        let end = split + 4 + length;
        out.push(parse(&raw[..end.min(raw.len())]));
        raw = &raw[end.min(raw.len())..];
    }
    out
}

fn assert_envelope(response: &Response, status: u16, code: i64, message: &str) {
    assert_eq!(response.header("content-type"), Some("application/json; charset=utf-8"), "{response:?}");
    let body = response.json();
    assert_eq!((response.status, body["status_code"].as_i64()), (status, Some(code)), "{body}");
    let text = body["status_msg"].as_str().unwrap();
    assert!(text.contains(message), "{text:?} does not say {message:?}");
}

#[tokio::test]
async fn paths_outside_the_api_and_the_media_bucket_get_the_404_envelope() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let address = server.address;
    for (method, path) in [
        ("GET", "/favicon.ico"),
        ("POST", "/ping"),
        ("GET", "/robots.txt"),
        ("GET", "/another-bucket/key"),
        ("PUT", "/douyin-media-copy/uploads/1"),
        ("DELETE", "/"),
        ("GET", "/douyinx/feed/"),
    ] {
        let answer = request(address, method, path, None, &[]).await;
        assert_envelope(&answer, 404, 10004, "no such endpoint");
    }
    // The media bucket's paths are the S3 engine's (here: no credentials).
    let bucket = request(address, "GET", "/douyin-media/uploads/1", None, &[]).await;
    assert_eq!(bucket.status, 403);
    assert!(String::from_utf8_lossy(&bucket.body).contains("<Code>AccessDenied</Code>"));
    // `GET /` still leads to the web client.
    assert_eq!(request(address, "GET", "/", None, &[]).await.status, 302);
    server.shutdown().await;
}

/// Requests hyper would refuse with an empty body (431, 414, 400) are
/// answered with the envelope, on a fresh connection and on a reused one.
#[tokio::test]
async fn malformed_or_oversized_requests_get_an_envelope() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let address = server.address;
    // Over hyper's limit (65,534), and between ours (60 KiB) and hyper's.
    let long_url = format!("GET /douyin/feed/?pad={} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(70_000));
    let longish_url = format!("GET /douyin/feed/?pad={} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(63_000));
    let big_header = format!("GET /douyin/feed/ HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n", "b".repeat(120_000));
    let many_headers = format!(
        "GET /douyin/feed/ HTTP/1.1\r\nHost: x\r\n{}\r\n",
        (0..150).map(|n| format!("X-H{n}: v\r\n")).collect::<String>()
    );
    let cases: Vec<(String, u16, &str)> = vec![
        (long_url, 414, "URL"),
        (longish_url, 414, "URL"),
        (big_header, 431, "headers"),
        (many_headers, 431, "headers"),
        ("POST /douyin/user/login/ HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n".into(), 400, "Content-Length"),
        (
            "POST /douyin/user/login/ HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nabcdef".into(),
            400,
            "Content-Length",
        ),
        (
            "POST /douyin/user/login/ HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
                .into(),
            400,
            "Transfer-Encoding",
        ),
        (
            "POST /douyin/user/login/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n".into(),
            400,
            "Transfer-Encoding",
        ),
        ("HELLO THERE\r\n\r\n".into(), 400, "not an HTTP/1.1 request"),
        ("GET /douyin/feed/ HTTP/1.1\r\nBad Header\r\n\r\n".into(), 400, "not an HTTP/1.1 request"),
    ];
    for (bytes, status, message) in &cases {
        let answer = raw(address, bytes.as_bytes()).await;
        let answers = split_answers(&answer);
        let sent: String = bytes.chars().take(60).collect();
        assert_eq!(answers.len(), 1, "{sent:?}: {:?}", String::from_utf8_lossy(&answer));
        assert_envelope(&answers[0], *status, 10001, message);
        assert_eq!(answers[0].header("connection"), Some("close"));
    }
    // A good request, then a bad one, on the same connection.
    for (bad, status, message) in &cases {
        let mut bytes = b"GET /douyin/feed/ HTTP/1.1\r\nHost: x\r\n\r\n".to_vec();
        bytes.extend_from_slice(bad.as_bytes());
        let answer = raw(address, &bytes).await;
        let answers = split_answers(&answer);
        let sent: String = bad.chars().take(60).collect();
        assert_eq!(answers.len(), 2, "{sent:?}: {:?}", String::from_utf8_lossy(&answer));
        assert_eq!(answers[0].json()["status_code"], 0);
        assert_envelope(&answers[1], *status, 10001, message);
    }
    // Chunked bodies and pipelined requests still work through the checks.
    let chunked = b"POST /douyin/user/register/?username=chunky HTTP/1.1\r\nHost: x\r\n\
        Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n\
        9\r\npassword=\r\n9;ext=1\r\npassword1\r\n0\r\nX-Trailer: t\r\n\r\n\
        GET /douyin/feed/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    let answer = raw(address, chunked).await;
    let answers = split_answers(&answer);
    assert_eq!(answers.len(), 2, "{:?}", String::from_utf8_lossy(&answer));
    assert!(session_of(&answers[0].json()).id > 0);
    assert_eq!(answers[1].json()["status_code"], 0);
    server.shutdown().await;
}

/// A client that sends its request head slowly, or nothing at all, or nothing
/// more after an answer, is disconnected once the head bound has passed.
#[tokio::test]
async fn slow_or_idle_connections_are_closed() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let address = server.address;

    // A head trickled a byte every 100 ms, forever.
    let mut slow = TcpStream::connect(address).await.unwrap();
    let opened = Instant::now();
    slow.write_all(b"GET /douyin/feed/ HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    let (mut reader, mut writer) = slow.into_split();
    let trickle = tokio::spawn(async move {
        loop {
            if writer.write_all(b"X").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let closed = tokio::time::timeout(HANG, async {
        let mut buffer = [0u8; 1024];
        loop {
            match reader.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "a trickled head kept its connection for {HANG:?}");
    assert!(opened.elapsed() >= Duration::from_secs(1));
    trickle.abort();

    // Nothing sent at all.
    let mut idle = TcpStream::connect(address).await.unwrap();
    assert_eq!(read_to_close(&mut idle).await, b"");

    // Idle after an answer (keep-alive).
    let mut kept = TcpStream::connect(address).await.unwrap();
    kept.write_all(b"GET /douyin/feed/ HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let answer = read_to_close(&mut kept).await;
    assert_eq!(split_answers(&answer)[0].json()["status_code"], 0);
    server.shutdown().await;
}

/// A body that does not arrive within its bound is answered (the envelope
/// for the API, S3's `RequestTimeout` for an upload) and its connection closed;
/// the upload stores nothing.
#[tokio::test]
async fn slow_bodies_are_cut_off_with_an_answer() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let address = server.address;

    let mut api = TcpStream::connect(address).await.unwrap();
    api.write_all(
        b"POST /douyin/user/register/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n\
          Content-Length: 1000\r\n\r\nusername=",
    )
    .await
    .unwrap();
    let answer = read_to_close(&mut api).await;
    let answers = split_answers(&answer);
    assert_eq!(answers.len(), 1, "{:?}", String::from_utf8_lossy(&answer));
    assert_envelope(&answers[0], 408, 10001, "body");

    let registered = request(
        address,
        "POST",
        &format!("/douyin/user/register/?{}", form_encode(&[("username", "ann"), ("password", "password1")])),
        None,
        &[],
    )
    .await;
    let ann = session_of(&registered.json());
    let clip = tests::fixture("h264-aac-640x360-1s.mp4");
    let length = clip.len().to_string();
    let params =
        [("token", ann.token.as_str()), ("title", "t"), ("content_type", "video/mp4"), ("content_length", &length)];
    let ticket =
        request(address, "POST", &format!("/douyin/publish/upload/?{}", form_encode(&params)), None, &[]).await.json();
    let url = ticket["upload_url"].as_str().unwrap();
    let target = &url[url.find("/douyin-media/").unwrap()..];
    let mut head = format!("PUT {target} HTTP/1.1\r\nHost: {address}\r\n");
    for (name, value) in ticket["upload_headers"].as_object().unwrap() {
        head.push_str(&format!("{name}: {}\r\n", value.as_str().unwrap()));
    }
    head.push_str("\r\n");
    let mut upload = TcpStream::connect(address).await.unwrap();
    upload.write_all(head.as_bytes()).await.unwrap();
    upload.write_all(&clip[..clip.len() / 2]).await.unwrap();
    let answer = read_to_close(&mut upload).await;
    let answers = split_answers(&answer);
    assert_eq!(answers.len(), 1, "{:?}", String::from_utf8_lossy(&answer));
    assert_eq!(answers[0].status, 400);
    assert!(String::from_utf8_lossy(&answers[0].body).contains("<Code>RequestTimeout</Code>"), "{:?}", answers[0]);
    let video_id = ticket["video_id"].as_u64().unwrap().to_string();
    let params = [("token", ann.token.as_str()), ("video_id", &video_id)];
    let status =
        request(address, "GET", &format!("/douyin/publish/status/?{}", form_encode(&params)), None, &[]).await.json();
    assert_eq!(status["state"], "pending", "{status}");
    assert_eq!(server.app().media().size(&format!("uploads/{video_id}")).await.unwrap(), None);
    server.shutdown().await;
}

/// Connects from `ip` (any of 127.0.0.0/8 is this machine).
async fn connect_from(ip: [u8; 4], address: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::from((ip, 0))).unwrap();
    socket.connect(address).await.unwrap()
}

/// One address may hold a bounded number of connections; beyond it a new one
/// is answered 429 with the envelope and closed, other addresses are served,
/// and a closed connection frees its place.
#[tokio::test]
async fn connections_per_address_are_capped() {
    let dir = tempfile::tempdir().unwrap();
    let options = LocalOptions { header_timeout: HANG * 2, ..options(dir.path()) };
    let server = LocalServer::start(options).await.unwrap();
    let address = server.address;
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(connect_from([127, 0, 0, 1], address).await);
    }
    let mut over = connect_from([127, 0, 0, 1], address).await;
    let answer = read_to_close(&mut over).await;
    let answers = split_answers(&answer);
    assert_eq!(answers.len(), 1, "{:?}", String::from_utf8_lossy(&answer));
    assert_envelope(&answers[0], 429, 10008, "connections");

    // Another address is not affected.
    let mut other = connect_from([127, 0, 0, 2], address).await;
    other.write_all(b"GET /douyin/feed/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.unwrap();
    assert_eq!(split_answers(&read_to_close(&mut other).await)[0].json()["status_code"], 0);

    // One of the four leaves: its place is free again once the server has
    // seen it go (just after the socket closes, so ask until it has).
    let mut leaving = held.pop().unwrap();
    leaving.write_all(b"GET /douyin/feed/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.unwrap();
    read_to_close(&mut leaving).await;
    let deadline = Instant::now() + HANG;
    loop {
        let mut again = connect_from([127, 0, 0, 1], address).await;
        again.write_all(b"GET /douyin/feed/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.unwrap();
        let answer = split_answers(&read_to_close(&mut again).await).remove(0);
        if answer.status == 200 {
            assert_eq!(answer.json()["status_code"], 0);
            break;
        }
        assert_eq!(answer.status, 429);
        assert!(Instant::now() < deadline, "the closed connection's place was never freed");
        tokio::task::yield_now().await;
    }
    drop(held);
    server.shutdown().await;
}
