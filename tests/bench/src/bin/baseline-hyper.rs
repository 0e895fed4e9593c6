//! Baseline for the local server's throughput: a bare hyper HTTP/1 server
//! answering a fixed JSON body, on a multi-thread Tokio runtime like
//! `douyin-local`. Usage: `baseline-hyper 127.0.0.1:PORT`.

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let address = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:8090".into());
    let listener = TcpListener::bind(&address).await?;
    loop {
        let (stream, _) = listener.accept().await?;
        tokio::spawn(async move {
            let service = service_fn(|_request: Request<hyper::body::Incoming>| async {
                let body = Full::new(Bytes::from_static(br#"{"status_code":0,"status_msg":"hello"}"#));
                Ok::<_, Infallible>(
                    Response::builder().header("content-type", "application/json").body(body).unwrap_or_default(),
                )
            });
            let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    }
}
