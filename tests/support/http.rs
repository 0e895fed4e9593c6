//! A minimal HTTP/1.1 client over a real socket, for the tests that drive the
//! local server the way a phone would.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// A raw response.
#[derive(Debug)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl Response {
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }
}

/// Sends `method target` with `body` to `address` and reads the whole response.
pub async fn request(
    address: SocketAddr,
    method: &str,
    target: &str,
    content_type: Option<&str>,
    body: &[u8],
) -> Response {
    let headers: Vec<(String, String)> =
        content_type.map(|value| ("content-type".to_owned(), value.to_owned())).into_iter().collect();
    send(address, method, target, &headers, body).await
}

/// Sends a request with `headers` (a `content-length` among them replaces the
/// one computed from `body`).
pub async fn send(
    address: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> Response {
    let mut stream = TcpStream::connect(address).await.expect("connect");
    let head = request_head(address, method, target, headers, body.len(), "");
    stream.write_all(head.as_bytes()).await.expect("write");
    stream.write_all(body).await.expect("write");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("read");
    parse(&raw)
}

/// GETs an absolute `http://host:port/path?query` URL.
pub async fn get_url(url: &str) -> Response {
    send_url("GET", url, &[], &[]).await
}

/// Sends `method` to an absolute `http://host:port/path?query` URL.
pub async fn send_url(method: &str, url: &str, headers: &[(String, String)], body: &[u8]) -> Response {
    let rest = url.strip_prefix("http://").expect("an http URL");
    let (authority, target) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let address: SocketAddr = authority.parse().expect("an ip:port authority");
    send(address, method, if target.is_empty() { "/" } else { target }, headers, body).await
}

/// PUTs `body` to a presigned upload ticket (`upload_url`, `upload_headers`).
pub async fn put_ticket(ticket: &serde_json::Value, body: &[u8]) -> Response {
    let headers: Vec<(String, String)> = ticket["upload_headers"]
        .as_object()
        .expect("upload_headers")
        .iter()
        .map(|(name, value)| (name.clone(), value.as_str().unwrap_or_default().to_owned()))
        .collect();
    send_url("PUT", ticket["upload_url"].as_str().expect("upload_url"), &headers, body).await
}

/// Parses a whole raw response (head and body, chunked or not).
pub fn parse(raw: &[u8]) -> Response {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("a complete response head");
    let head = String::from_utf8_lossy(&raw[..split]);
    let mut lines = head.split("\r\n");
    let status =
        lines.next().and_then(|line| line.split(' ').nth(1)).and_then(|code| code.parse().ok()).expect("status");
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers.iter().any(|(name, value)| name == "transfer-encoding" && value.contains("chunked")) {
        body = dechunk(&body);
    }
    Response { status, headers, body }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(end) = data.windows(2).position(|w| w == b"\r\n") else { return out };
        let size = usize::from_str_radix(String::from_utf8_lossy(&data[..end]).trim(), 16).unwrap_or(0);
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[end + 2..end + 2 + size]);
        data = &data[end + 2 + size + 2..];
    }
}

/// A request whose body is held half sent: [`HeldRequest::start`] sends the
/// head with `Expect: 100-continue`, waits until the server asks for the body
/// (so the request is in flight on the server, its handler reading), and sends
/// the first half; [`HeldRequest::finish`] sends the rest and reads the answer.
/// The test decides what happens in between.
#[derive(Debug)]
pub struct HeldRequest {
    stream: TcpStream,
    rest: Vec<u8>,
}

impl HeldRequest {
    /// Starts `method target` on `address` with `headers` and `body`.
    pub async fn start(
        address: SocketAddr,
        method: &str,
        target: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> HeldRequest {
        let mut stream = TcpStream::connect(address).await.expect("connect");
        let head = request_head(address, method, target, headers, body.len(), "Expect: 100-continue\r\n");
        stream.write_all(head.as_bytes()).await.expect("write");
        let mut interim = Vec::new();
        while !interim.ends_with(b"\r\n\r\n") {
            let mut byte = [0u8; 1];
            assert_eq!(stream.read(&mut byte).await.expect("read"), 1, "closed before 100 Continue: {interim:?}");
            interim.push(byte[0]);
        }
        let interim = String::from_utf8_lossy(&interim).into_owned();
        assert!(interim.starts_with("HTTP/1.1 100"), "expected 100 Continue, got {interim:?}");
        let (first, rest) = body.split_at(body.len() / 2);
        stream.write_all(first).await.expect("write");
        stream.flush().await.expect("flush");
        HeldRequest { stream, rest: rest.to_vec() }
    }

    /// Starts `method` on an absolute `http://ip:port/path?query` URL.
    pub async fn start_url(method: &str, url: &str, headers: &[(String, String)], body: &[u8]) -> HeldRequest {
        let rest = url.strip_prefix("http://").expect("an http URL");
        let (authority, target) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let address: SocketAddr = authority.parse().expect("an ip:port authority");
        HeldRequest::start(address, method, if target.is_empty() { "/" } else { target }, headers, body).await
    }

    /// Sends the rest of the body and reads the whole answer.
    pub async fn finish(mut self) -> Response {
        self.stream.write_all(&self.rest).await.expect("write the rest of the body");
        let mut raw = Vec::new();
        self.stream.read_to_end(&mut raw).await.expect("read");
        parse(&raw)
    }

    /// Drops the connection without sending the rest.
    pub fn abandon(self) {}
}

/// A request head with `Host` and `Connection: close`, then `extra` (whole
/// header lines), a `Content-Length` of `body_len` unless `headers` set one,
/// and `headers` as given.
fn request_head(
    address: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(String, String)],
    body_len: usize,
    extra: &str,
) -> String {
    let mut head = format!("{method} {target} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n{extra}");
    if !headers.iter().any(|(name, _)| name.eq_ignore_ascii_case("content-length")) {
        head.push_str(&format!("Content-Length: {body_len}\r\n"));
    }
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    head
}
