//! Bounds on what a client can hold: connections per address ([`Slots`]) and
//! the time a request body may take to arrive ([`Deadline`]). The time a head
//! may take (and an idle keep-alive connection may wait) is hyper's
//! `header_read_timeout`, set where connections are served.

use std::collections::HashMap;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt as _;
use hyper::body::{Body, Frame, SizeHint};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Open connections per client address (IPv6 by its /64, as rate limits
/// count them), up to a cap.
#[derive(Debug)]
pub struct Slots {
    cap: usize,
    open: Mutex<HashMap<String, usize>>,
}

/// One connection's place; freed when dropped.
#[derive(Debug)]
pub struct Slot {
    slots: Arc<Slots>,
    subject: String,
}

impl Slots {
    /// At most `cap` connections per address.
    pub fn new(cap: usize) -> Arc<Slots> {
        Arc::new(Slots { cap, open: Mutex::new(HashMap::new()) })
    }

    /// A place for a connection from `peer`, or `None` when its address holds
    /// the cap already.
    pub fn take(self: &Arc<Self>, peer: IpAddr) -> Option<Slot> {
        let subject = shared::limits::address_subject(peer);
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(subject.clone()).or_insert(0);
        if *count >= self.cap {
            return None;
        }
        *count += 1;
        Some(Slot { slots: Arc::clone(self), subject })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.slots.open.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.subject) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.subject);
            }
        }
    }
}

/// Answers a connection over its address's cap: 429 with the envelope, then
/// closes. The client's request (if it sent one) is read and discarded for up
/// to a second first, so that closing does not reset the connection before
/// the answer is read.
pub async fn refuse_connection(mut socket: TcpStream) {
    let refusal = shared::Error::RateLimited { what: "connections from this address", retry_after_secs: 1 };
    let response = crate::edge::reply::failure(
        &crate::edge::reply::Failure::Refused(&refusal),
        crate::edge::ErrorFields::EnvelopeOnly,
    );
    let status = response.status();
    let body = match response.body() {
        lambda_http::Body::Text(text) => text.clone(),
        _ => String::new(),
    };
    let answer = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: application/json; charset=utf-8\r\n\
         content-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n{body}",
        status.as_u16(),
        status.canonical_reason().unwrap_or_default(),
        body.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        socket.write_all(answer.as_bytes()).await?;
        socket.shutdown().await?;
        let mut discard = [0u8; 4096];
        let mut total = 0;
        while total < 64 * 1024 {
            match socket.read(&mut discard).await? {
                0 => break,
                n => total += n,
            }
        }
        std::io::Result::Ok(())
    })
    .await;
}

/// The body did not arrive within its bound.
#[derive(Debug)]
pub struct BodyTimedOut;

impl std::fmt::Display for BodyTimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the request body did not arrive in time")
    }
}

impl std::error::Error for BodyTimedOut {}

/// A request body that must be whole within a time: past it, the next read
/// fails with [`BodyTimedOut`] and `expired` turns true.
pub struct Deadline<B> {
    inner: B,
    sleep: Pin<Box<tokio::time::Sleep>>,
    expired: Arc<AtomicBool>,
    first_read: Option<Box<dyn FnOnce() + Send>>,
}

impl<B: std::fmt::Debug> std::fmt::Debug for Deadline<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deadline").field("inner", &self.inner).field("expired", &self.expired).finish_non_exhaustive()
    }
}

impl<B> Deadline<B> {
    /// `inner`, to be read whole within `bound` from now.
    pub fn new(inner: B, bound: Duration) -> (Deadline<B>, Arc<AtomicBool>) {
        let expired = Arc::new(AtomicBool::new(false));
        let body = Deadline {
            inner,
            sleep: Box::pin(tokio::time::sleep(bound)),
            expired: Arc::clone(&expired),
            first_read: None,
        };
        (body, expired)
    }

    /// Runs `then` when the body is first read (by the S3 engine: once it has
    /// checked the request's signature).
    pub fn on_first_read(mut self, then: impl FnOnce() + Send + 'static) -> Deadline<B> {
        self.first_read = Some(Box::new(then));
        self
    }
}

impl<B> Body for Deadline<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if let Some(then) = self.first_read.take() {
            then();
        }
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|frame| frame.map_err(Into::into)));
        }
        if self.sleep.as_mut().poll(cx).is_ready() {
            self.expired.store(true, Ordering::SeqCst);
            return Poll::Ready(Some(Err(Box::new(BodyTimedOut))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Reads `body` whole within `bound`, at most `limit` bytes.
pub async fn collect<B>(body: B, bound: Duration, limit: usize) -> Result<Bytes, Unread>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    let (body, expired) = Deadline::new(body, bound);
    match http_body_util::Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(_) if expired.load(Ordering::SeqCst) => Err(Unread::TimedOut),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => Err(Unread::TooLarge),
        Err(_) => Err(Unread::Broken),
    }
}

/// Why a body was not read.
#[derive(Debug, PartialEq, Eq)]
pub enum Unread {
    /// Not whole within its time.
    TimedOut,
    /// Over the size limit.
    TooLarge,
    /// Cut off or malformed on the wire.
    Broken,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_counted_per_address_and_freed() {
        let slots = Slots::new(2);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let (first, second) = (slots.take(a).unwrap(), slots.take(a).unwrap());
        assert!(slots.take(a).is_none());
        assert!(slots.take("10.0.0.2".parse().unwrap()).is_some());
        // One /64 is one client.
        let six: IpAddr = "2001:db8::1".parse().unwrap();
        let _six = (slots.take(six).unwrap(), slots.take("2001:db8::2".parse().unwrap()).unwrap());
        assert!(slots.take("2001:db8::3".parse().unwrap()).is_none());
        drop(first);
        let third = slots.take(a).unwrap();
        drop((second, third));
        assert!(slots.open.lock().unwrap().get("10.0.0.1").is_none());
    }

    /// A body whose sender never sends.
    struct Stalled;

    impl Body for Stalled {
        type Data = Bytes;
        type Error = std::convert::Infallible;

        fn poll_frame(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            Poll::Pending
        }
    }

    #[tokio::test]
    async fn a_body_that_stalls_times_out_and_a_whole_one_is_read() {
        let whole = http_body_util::Full::new(Bytes::from_static(b"hello"));
        assert_eq!(collect(whole, Duration::from_secs(1), 10).await.unwrap(), "hello");
        let large = http_body_util::Full::new(Bytes::from_static(b"hello"));
        assert_eq!(collect(large, Duration::from_secs(1), 4).await, Err(Unread::TooLarge));
        assert_eq!(collect(Stalled, Duration::from_millis(50), 10).await, Err(Unread::TimedOut));
    }
}
