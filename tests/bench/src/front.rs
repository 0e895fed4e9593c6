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
//!
//! A front speaks HTTP/1.1 to the functions and keeps their connections open
//! as AWS's endpoints do, whatever the engine behind it does: moto answers
//! every request with `Connection: close`, which passed through as bytes made
//! every SQS request a new TLS connection (a cost no SQS client pays). Each
//! request goes to the engine whole, over a connection the front reopens when
//! the engine closed it, and the front records how long the engine took to
//! answer ([`Exchange`]): the service's own time, which the bench reports
//! apart from the function's.

use std::collections::{BinaryHeap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper::header::{self, HeaderMap, HeaderName};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
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

/// One request the engine behind a front answered: from the request sent
/// (whole) to the answer received (whole).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exchange {
    pub sent: Instant,
    pub answered: Instant,
}

/// A TLS front: what it listens on, when each of its connections was opened,
/// and its engine's answers.
pub struct Front {
    /// The service it stands for (`dynamodb`, `s3`, …).
    pub service: String,
    /// Where the functions reach it (`https://127.0.0.1:<port>`).
    pub address: SocketAddr,
    /// The engine it passes the requests to.
    pub backend: SocketAddr,
    accepted: Arc<Mutex<Vec<Instant>>>,
    exchanges: Arc<Mutex<Vec<Exchange>>>,
}

impl Front {
    /// Listens on a free loopback port; each connection is TLS-terminated
    /// with `tls` and its requests go to `backend`, replies delayed by `rtt`.
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
        let exchanges = Arc::new(Mutex::new(Vec::new()));
        let (log, answers) = (Arc::clone(&accepted), Arc::clone(&exchanges));
        let acceptor = tokio_rustls::TlsAcceptor::from(tls);
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if let Ok(mut log) = log.lock() {
                    log.push(Instant::now());
                }
                let (acceptor, delays, answers) = (acceptor.clone(), delays.clone(), Arc::clone(&answers));
                tokio::spawn(async move {
                    let _ = connection(client, backend, acceptor, rtt, delays, answers).await;
                });
            }
        });
        Ok(Front { service: service.to_owned(), address, backend, accepted, exchanges })
    }

    /// `https://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("https://{}", self.address)
    }

    /// Connections opened in `[from, to)`.
    pub fn connections_between(&self, from: Instant, to: Instant) -> usize {
        self.accepted.lock().map(|log| log.iter().filter(|at| **at >= from && **at < to).count()).unwrap_or(0)
    }

    /// The engine's answers that overlap `[from, to)`, cut to it.
    pub fn exchanges_between(&self, from: Instant, to: Instant) -> Vec<Exchange> {
        let Ok(log) = self.exchanges.lock() else { return Vec::new() };
        log.iter()
            .filter(|e| e.sent < to && e.answered > from)
            .map(|e| Exchange { sent: e.sent.max(from), answered: e.answered.min(to) })
            .collect()
    }
}

/// How long at least one of `exchanges` was under way (overlaps counted once):
/// the time the services spent answering, whatever the function did meanwhile.
pub fn busy(mut exchanges: Vec<Exchange>) -> Duration {
    exchanges.sort_by_key(|e| e.sent);
    let mut total = Duration::ZERO;
    let mut current: Option<Exchange> = None;
    for exchange in exchanges {
        match &mut current {
            Some(open) if exchange.sent <= open.answered => open.answered = open.answered.max(exchange.answered),
            _ => {
                if let Some(done) = current.replace(exchange) {
                    total += done.answered - done.sent;
                }
            }
        }
    }
    total + current.map_or(Duration::ZERO, |done| done.answered - done.sent)
}

/// One client connection: the delay line on the client's socket, TLS on the
/// other end of it, then HTTP/1.1 requests passed on to the engine ([`forward`]).
async fn connection(
    client: TcpStream,
    backend: SocketAddr,
    acceptor: tokio_rustls::TlsAcceptor,
    rtt: Duration,
    delays: Delays,
    exchanges: Arc<Mutex<Vec<Exchange>>>,
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
    let tls = acceptor.accept(tls_side).await?;
    let engine = Arc::new(tokio::sync::Mutex::new(None));
    let service = hyper::service::service_fn(move |request| {
        forward(request, backend, Arc::clone(&engine), Arc::clone(&exchanges))
    });
    hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(tls), service).await?;
    Ok(())
}

/// Headers that describe one connection, not the message (RFC 9110 §7.6.1),
/// and `Expect`, already met: the front has the whole body.
const HOP_BY_HOP: [HeaderName; 6] =
    [header::CONNECTION, header::TRANSFER_ENCODING, header::TE, header::TRAILER, header::UPGRADE, header::EXPECT];

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    for name in &HOP_BY_HOP {
        headers.remove(name);
    }
    headers.remove("keep-alive");
}

/// Passes one request to the engine, whole, on this client connection's
/// engine connection (a new one if the engine closed the last), and its
/// answer back, whole, logging the engine's time. An engine that cannot be
/// reached is a 502, and the client's connection stays open.
async fn forward(
    request: Request<Incoming>,
    backend: SocketAddr,
    engine: Arc<tokio::sync::Mutex<Option<SendRequest<Full<Bytes>>>>>,
    exchanges: Arc<Mutex<Vec<Exchange>>>,
) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
    let answer = async {
        let (mut parts, body) = request.into_parts();
        let body = body.collect().await?.to_bytes();
        strip_hop_by_hop(&mut parts.headers);
        let mut slot = engine.lock().await;
        let reusable = match slot.take() {
            Some(mut open) => open.ready().await.is_ok().then_some(open),
            None => None,
        };
        let mut sender = match reusable {
            Some(open) => open,
            None => {
                let tcp = TcpStream::connect(backend).await?;
                tcp.set_nodelay(true)?;
                let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await?;
                tokio::spawn(connection);
                sender
            }
        };
        let sent = Instant::now();
        let response = sender.send_request(Request::from_parts(parts, Full::new(body))).await?;
        let (mut parts, body) = response.into_parts();
        let body = body.collect().await?.to_bytes();
        let answered = Instant::now();
        if let Ok(mut log) = exchanges.lock() {
            log.push(Exchange { sent, answered });
        }
        let closes =
            parts.headers.get(header::CONNECTION).is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"close"));
        if !closes {
            *slot = Some(sender);
        }
        strip_hop_by_hop(&mut parts.headers);
        anyhow::Ok(Response::from_parts(parts, Full::new(body)))
    };
    Ok(answer.await.unwrap_or_else(|error| {
        let mut response =
            Response::new(Full::new(Bytes::from(format!("bench front: the engine did not answer: {error}"))));
        *response.status_mut() = StatusCode::BAD_GATEWAY;
        response
    }))
}

/// Times the network as a function sees it through `front`: a new TLS
/// connection with one request, then one more request on it (`GET /`, any
/// answer). With a round trip `rtt` they take at least 3 and 1 `rtt`. The
/// second is `None` if the front closed the connection after its answer
/// (it must not: AWS's endpoints keep theirs open).
pub async fn probe(front: &Front, ca_pem: &[u8]) -> anyhow::Result<(Duration, Option<Duration>)> {
    use http_body_util::Empty;
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

    fn exchange(base: Instant, from_ms: u64, to_ms: u64) -> Exchange {
        Exchange { sent: base + Duration::from_millis(from_ms), answered: base + Duration::from_millis(to_ms) }
    }

    #[test]
    fn busy_counts_overlapping_answers_once() {
        let base = Instant::now();
        assert_eq!(busy(Vec::new()), Duration::ZERO);
        // [0, 4) and [2, 6) overlap: 6 ms; [10, 11) apart: 1 ms; [3, 5) inside the first: nothing more.
        let exchanges = vec![exchange(base, 10, 11), exchange(base, 0, 4), exchange(base, 3, 5), exchange(base, 2, 6)];
        assert_eq!(busy(exchanges), Duration::from_millis(7));
    }

    /// An engine that answers each request after `delay` and then closes the
    /// connection (`Connection: close`), as moto does.
    async fn closing_engine(delay: Duration) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buffer = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match socket.read(&mut buffer).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buffer[..n]),
                        }
                    }
                    tokio::time::sleep(delay).await;
                    let answer = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok";
                    let _ = socket.write_all(answer.as_bytes()).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        address
    }

    /// A CA and a certificate for 127.0.0.1 it signed: (CA PEM, certificate PEM, key PEM).
    fn test_pki() -> (String, String, String) {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let certificate = params.signed_by(&key, &issuer).unwrap();
        (ca.pem(), certificate.pem(), key.serialize_pem())
    }

    #[tokio::test]
    async fn a_front_keeps_its_clients_connection_open_when_the_engine_closes_and_times_the_engine() {
        // A round trip well above a busy machine's timer jitter, so that an
        // engine's time is told from the network's with room to spare.
        let engine_delay = Duration::from_millis(20);
        let rtt = Duration::from_millis(50);
        let (ca, certificate, key) = test_pki();
        let tls = server_config(certificate.as_bytes(), key.as_bytes()).unwrap();
        let backend = closing_engine(engine_delay).await;
        let front = Front::start("sqs", backend, tls, rtt, Delays::start()).await.unwrap();
        let start = Instant::now();
        let (first, second) = probe(&front, ca.as_bytes()).await.unwrap();
        let end = Instant::now();
        // The second request went on the same connection, as it would to SQS.
        let second = second.expect("the front closed the client's connection after the engine closed its own");
        assert_eq!(front.connections_between(start, end), 1);
        assert!(first >= engine_delay + rtt * 3, "{first:?}");
        assert!(second >= engine_delay + rtt, "{second:?}");
        // Two answers, each the engine's delay and none of the network's or TLS's round trips.
        let exchanges = front.exchanges_between(start, end);
        assert_eq!(exchanges.len(), 2, "{exchanges:?}");
        let mut total = Duration::ZERO;
        for exchange in &exchanges {
            let took = exchange.answered - exchange.sent;
            assert!(took >= engine_delay && took < engine_delay + rtt, "{took:?}");
            total += took;
        }
        // One after the other: the services' time is their sum.
        assert_eq!(busy(exchanges), total);
    }
}
