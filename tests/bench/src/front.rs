//! The `lambda` benchmark's network (`lambda-bench`): one TLS front per AWS
//! service the functions call, terminating TLS with a test CA's certificate
//! and passing the plain bytes on to the local engine behind it, with a
//! network round trip injected.
//!
//! The round trip is modelled on the server's side: every byte the front
//! sends back to a client leaves `rtt` after the client's bytes that caused
//! it arrived, and the first bytes of a connection one `rtt` later still, for
//! TCP's own handshake (which the kernel answers at once on loopback). So a
//! new connection with one request costs three round trips (TCP, TLS 1.3,
//! the request), and a request on an open connection one, as on a network.
//! Delays are kept by one timer thread ([`Delays`]) at the operating system's
//! precision, not the async runtime's millisecond ticks.

use std::collections::{BinaryHeap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

/// Wakes tasks at precise instants (one thread sleeping until the next one due).
#[derive(Clone)]
pub struct Delays {
    due: mpsc::Sender<(Instant, oneshot::Sender<()>)>,
}

impl Delays {
    /// Starts the timer thread; it ends when every [`Delays`] clone is gone.
    pub fn start() -> Delays {
        let (due, requests) = mpsc::channel::<(Instant, oneshot::Sender<()>)>();
        std::thread::spawn(move || {
            // Earliest first (`Reverse`), then in arrival order.
            let mut heap: BinaryHeap<std::cmp::Reverse<(Instant, u64)>> = BinaryHeap::new();
            let mut waiting: HashMap<u64, oneshot::Sender<()>> = HashMap::new();
            let mut sequence = 0u64;
            loop {
                let now = Instant::now();
                while let Some(std::cmp::Reverse((at, id))) = heap.peek().copied() {
                    if at > now {
                        break;
                    }
                    heap.pop();
                    if let Some(wake) = waiting.remove(&id) {
                        let _ = wake.send(());
                    }
                }
                let next = match heap.peek() {
                    None => requests.recv().map_err(|_| mpsc::RecvTimeoutError::Disconnected),
                    Some(std::cmp::Reverse((at, _))) => requests.recv_timeout(at.saturating_duration_since(now)),
                };
                match next {
                    Ok((at, wake)) => {
                        sequence += 1;
                        heap.push(std::cmp::Reverse((at, sequence)));
                        waiting.insert(sequence, wake);
                    }
                    Err(mpsc::RecvTimeoutError::Timeout) => {}
                    Err(mpsc::RecvTimeoutError::Disconnected) => return,
                }
            }
        });
        Delays { due }
    }

    /// Returns at `at` (at once if it has passed).
    pub async fn until(&self, at: Instant) {
        if at <= Instant::now() {
            return;
        }
        let (wake, woken) = oneshot::channel();
        if self.due.send((at, wake)).is_ok() {
            let _ = woken.await;
        }
    }
}

/// A TLS server configuration from a PEM certificate chain and key.
pub fn server_config(cert_pem: &[u8], key_pem: &[u8]) -> anyhow::Result<Arc<ServerConfig>> {
    let chain = CertificateDer::pem_slice_iter(cert_pem).collect::<Result<Vec<_>, _>>()?;
    let key = PrivateKeyDer::from_pem_slice(key_pem)?;
    let config = ServerConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    Ok(Arc::new(config))
}

/// A TLS front: what it listens on, and when each of its connections was opened.
pub struct Front {
    /// The service it stands for (`dynamodb`, `s3`, …).
    pub service: String,
    /// Where the functions reach it (`https://127.0.0.1:<port>`).
    pub address: SocketAddr,
    /// The engine it passes the plain bytes to.
    pub backend: SocketAddr,
    accepted: Arc<Mutex<Vec<Instant>>>,
}

impl Front {
    /// Listens on a free loopback port; each connection is TLS-terminated
    /// with `tls` and its plain bytes go to `backend`, replies delayed by `rtt`.
    pub async fn start(
        service: &str,
        backend: SocketAddr,
        tls: Arc<ServerConfig>,
        rtt: Duration,
        delays: Delays,
    ) -> anyhow::Result<Front> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let accepted = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&accepted);
        let acceptor = tokio_rustls::TlsAcceptor::from(tls);
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if let Ok(mut log) = log.lock() {
                    log.push(Instant::now());
                }
                let (acceptor, delays) = (acceptor.clone(), delays.clone());
                tokio::spawn(async move {
                    let _ = connection(client, backend, acceptor, rtt, delays).await;
                });
            }
        });
        Ok(Front { service: service.to_owned(), address, backend, accepted })
    }

    /// `https://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("https://{}", self.address)
    }

    /// Connections opened in `[from, to)`.
    pub fn connections_between(&self, from: Instant, to: Instant) -> usize {
        self.accepted.lock().map(|log| log.iter().filter(|at| **at >= from && **at < to).count()).unwrap_or(0)
    }
}

/// One client connection: the delay line on the client's socket, TLS on the
/// other end of it, then bytes both ways to a fresh backend connection.
async fn connection(
    client: TcpStream,
    backend: SocketAddr,
    acceptor: tokio_rustls::TlsAcceptor,
    rtt: Duration,
    delays: Delays,
) -> anyhow::Result<()> {
    client.set_nodelay(true)?;
    let (mut client_read, mut client_write) = client.into_split();
    let (line, tls_side) = tokio::io::duplex(1 << 16);
    let (mut line_read, mut line_write) = tokio::io::split(line);
    // Client → server: at once.
    tokio::spawn(async move {
        let _ = tokio::io::copy(&mut client_read, &mut line_write).await;
        let _ = line_write.shutdown().await;
    });
    // Server → client: each chunk `rtt` after it was sent, the first one a round trip later.
    let (chunks, mut to_send) = tokio::sync::mpsc::unbounded_channel::<(Instant, Bytes)>();
    tokio::spawn(async move {
        let mut buffer = vec![0u8; 1 << 16];
        loop {
            match line_read.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if chunks.send((Instant::now(), Bytes::copy_from_slice(&buffer[..n]))).is_err() {
                        break;
                    }
                }
            }
        }
    });
    tokio::spawn(async move {
        let mut first = true;
        while let Some((sent, chunk)) = to_send.recv().await {
            let due = sent + if first { rtt * 2 } else { rtt };
            first = false;
            delays.until(due).await;
            if client_write.write_all(&chunk).await.is_err() {
                break;
            }
        }
        let _ = client_write.shutdown().await;
    });
    let mut tls = acceptor.accept(tls_side).await?;
    let mut upstream = TcpStream::connect(backend).await?;
    upstream.set_nodelay(true)?;
    tokio::io::copy_bidirectional(&mut tls, &mut upstream).await?;
    Ok(())
}

/// Times the network as a function sees it through `front`: a new TLS
/// connection with one request, then one more request on it (`GET /`, any
/// answer). With a round trip `rtt` they take at least 3 and 1 `rtt`. The
/// second is `None` when the engine closed the connection after its answer
/// (some answer a bare `GET /` with `Connection: close`).
pub async fn probe(front: &Front, ca_pem: &[u8]) -> anyhow::Result<(Duration, Option<Duration>)> {
    use http_body_util::{BodyExt as _, Empty};
    let mut roots = rustls::RootCertStore::empty();
    for certificate in CertificateDer::pem_slice_iter(ca_pem) {
        roots.add(certificate?)?;
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let start = Instant::now();
    let tcp = TcpStream::connect(front.address).await?;
    tcp.set_nodelay(true)?;
    let tls = connector.connect(rustls::pki_types::ServerName::try_from("127.0.0.1")?.to_owned(), tcp).await?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(hyper_util::rt::TokioIo::new(tls)).await?;
    tokio::spawn(connection);
    let request = || -> anyhow::Result<hyper::Request<Empty<Bytes>>> {
        Ok(hyper::Request::get("/").header("host", front.address.to_string()).body(Empty::new())?)
    };
    sender.send_request(request()?).await?.into_body().collect().await?;
    let first = start.elapsed();
    if sender.ready().await.is_err() {
        return Ok((first, None));
    }
    let again = Instant::now();
    match sender.send_request(request()?).await {
        Ok(response) => {
            response.into_body().collect().await?;
            Ok((first, Some(again.elapsed())))
        }
        Err(_) => Ok((first, None)),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn delays_wake_in_order_and_not_before_their_time() {
        let delays = Delays::start();
        let start = Instant::now();
        let (a, b) = tokio::join!(
            delays.until(start + Duration::from_millis(30)),
            delays.until(start + Duration::from_millis(10))
        );
        let _ = (a, b);
        assert!(start.elapsed() >= Duration::from_millis(30));
        let t = Instant::now();
        delays.until(t + Duration::from_micros(1500)).await;
        assert!(t.elapsed() >= Duration::from_micros(1500));
        // In the past: at once.
        delays.until(start).await;
    }
}
