//! Request heads, read and checked before hyper sees them.
//!
//! hyper answers a request it cannot parse itself, with a bare status and an
//! empty body (431 for a long URL or large headers, 400 for a bad
//! `Content-Length`), and offers no hook to answer otherwise. So the local
//! server reads each request head first ([`Gated`], between the socket and
//! hyper): a head within our limits, that `httparse` and the `http` crate
//! accept and whose body framing is unambiguous, goes on to hyper unchanged;
//! any other is replaced by a harmless stand-in request, and the connection's
//! [`Verdicts`] tell the service to answer that one with the envelope
//! ([`Refusal`]) and close. The gate follows each body's framing
//! (`Content-Length`, or chunked to its last chunk and trailers) so it knows
//! where the next head starts on a reused connection; hyper decodes the body
//! itself, as before.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, ready};

use bytes::{Buf as _, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::edge::reply::Protocol;

/// The longest request target accepted: just under hyper's own limit
/// (65,534), far above the contract's longest query (a 500-character comment
/// of 4-byte characters, percent-encoded, is 6 KiB), so that generous
/// clients and fuzzers meet the documented 10001 of a field first.
pub const MAX_URL_BYTES: usize = 60 * 1024;
/// The largest request head accepted, request line included (hyper's read
/// buffer holds 400 KiB).
pub const MAX_HEAD_BYTES: usize = 96 * 1024;
/// The most header fields accepted (hyper's own limit).
pub const MAX_HEADERS: usize = 100;
/// The largest chunk-size line or trailer section followed; beyond it the gate
/// stops following the framing and hyper refuses the body itself.
const MAX_FRAMING_LINE: usize = 8 * 1024;

/// Why a request head was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The request target is longer than [`MAX_URL_BYTES`].
    UrlTooLong,
    /// The head is larger than [`MAX_HEAD_BYTES`].
    HeadTooLarge,
    /// More than [`MAX_HEADERS`] header fields.
    TooManyHeaders,
    /// `Content-Length` is not one non-negative number.
    BadContentLength,
    /// `Transfer-Encoding` that does not end in `chunked`, or comes with
    /// `Content-Length`, or in an HTTP/1.0 request.
    BadTransferEncoding,
    /// Not HTTP/1.x syntax.
    Malformed,
}

impl Refusal {
    /// Its kind, which sets the answer's HTTP status (`edge::reply::Failure::statuses`).
    pub fn kind(self) -> Protocol {
        match self {
            Refusal::UrlTooLong => Protocol::UriTooLong,
            Refusal::HeadTooLarge | Refusal::TooManyHeaders => Protocol::HeadersTooLarge,
            Refusal::BadContentLength | Refusal::BadTransferEncoding | Refusal::Malformed => Protocol::Malformed,
        }
    }

    /// What the client is told.
    pub fn message(self) -> String {
        match self {
            Refusal::UrlTooLong => format!("the URL is longer than {MAX_URL_BYTES} bytes"),
            Refusal::HeadTooLarge => format!("the request headers are larger than {MAX_HEAD_BYTES} bytes"),
            Refusal::TooManyHeaders => format!("the request has more than {MAX_HEADERS} headers"),
            Refusal::BadContentLength => "Content-Length must be one number of bytes".to_owned(),
            Refusal::BadTransferEncoding => {
                "Transfer-Encoding must end in chunked and cannot come with Content-Length".to_owned()
            }
            Refusal::Malformed => "not an HTTP/1.1 request".to_owned(),
        }
    }
}

/// What the gate decided about each head it passed on, in order: the service
/// takes one per request it is called for (hyper calls it once per head, in
/// order), and answers a [`Refusal`] instead of serving the request.
#[derive(Debug, Default)]
pub struct Verdicts(Mutex<VecDeque<Option<Refusal>>>);

impl Verdicts {
    fn push(&self, verdict: Option<Refusal>) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).push_back(verdict);
    }

    /// The verdict on the request the service is now called for.
    pub fn next(&self) -> Option<Refusal> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).pop_front().flatten()
    }
}

/// The request passed on in place of a refused one: it only carries the
/// refusal to the service, which answers it and closes the connection.
const STAND_IN: &[u8] = b"GET / HTTP/1.1\r\nhost: refused\r\nconnection: close\r\n\r\n";

/// How the body after a head ends.
#[derive(Clone, Copy, Debug)]
enum Framing {
    /// This many bytes (0: no body).
    Length(u64),
    /// Chunked, at this point of its framing.
    Chunked(Chunk),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Chunk {
    /// Expecting a chunk-size line.
    Size,
    /// Inside a chunk's data, this many bytes left.
    Data(u64),
    /// Expecting the CRLF after a chunk's data.
    DataEnd,
    /// After the last chunk: trailer fields until an empty line.
    Trailers,
}

#[derive(Debug)]
enum State {
    /// Gathering a head in the buffer.
    Head,
    /// Passing on the head's bytes (the front of the buffer), then its body.
    Forward { left: usize, then: Framing },
    /// Passing on a body.
    Body(Framing),
    /// Passing on this many framed bytes at the front of the buffer, then the
    /// rest of the chunked body.
    Framed { ready: usize, then: Chunk },
    /// A refused head: the stand-in request, then nothing more.
    Refused { sent: usize },
    /// The framing could not be followed (a malformed chunked body, which
    /// hyper refuses and then closes): bytes pass as they come.
    Raw,
}

/// A connection's socket with each request head checked before hyper reads it.
#[derive(Debug)]
pub struct Gated<IO> {
    io: IO,
    buffer: BytesMut,
    state: State,
    eof: bool,
    /// How much of a head being gathered has been searched for its end, and
    /// whether its request line has ended: each byte is looked at once, so
    /// a head trickled a byte at a time costs no more than a fast one.
    scanned: usize,
    line_ended: bool,
    verdicts: Arc<Verdicts>,
    /// Set once the write side is shut: see [`Gated::poll_shutdown`].
    closing: Option<Closing>,
}

/// A connection closing while its client may still be sending.
#[derive(Debug)]
struct Closing {
    until: Pin<Box<tokio::time::Sleep>>,
    drained: usize,
}

/// How long, and how much, a closing connection keeps reading what its client
/// still sends, so that its last answer is not lost to a reset.
const LINGER: std::time::Duration = std::time::Duration::from_secs(2);
const LINGER_BYTES: usize = 1024 * 1024;

impl<IO> Gated<IO> {
    /// Wraps `io`; the service of its connection reads `verdicts`.
    pub fn new(io: IO, verdicts: Arc<Verdicts>) -> Gated<IO> {
        Gated {
            io,
            buffer: BytesMut::with_capacity(8 * 1024),
            state: State::Head,
            eof: false,
            scanned: 0,
            line_ended: false,
            verdicts,
            closing: None,
        }
    }
}

/// A head's outcome: its length and framing, or why it is refused.
#[derive(Debug, PartialEq)]
enum Head {
    Partial,
    Complete { length: usize, body: BodyKind },
    Refused(Refusal),
}

#[derive(Debug, PartialEq, Eq)]
enum BodyKind {
    Length(u64),
    Chunked,
}

/// Checks the head at the front of `bytes`.
fn check_head(bytes: &[u8]) -> Head {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    let length = match request.parse(bytes) {
        Ok(httparse::Status::Complete(length)) => length,
        Ok(httparse::Status::Partial) => return Head::Partial,
        Err(httparse::Error::TooManyHeaders) => return Head::Refused(Refusal::TooManyHeaders),
        Err(_) => return Head::Refused(Refusal::Malformed),
    };
    let target = request.path.unwrap_or_default();
    if target.len() > MAX_URL_BYTES {
        return Head::Refused(Refusal::UrlTooLong);
    }
    if length > MAX_HEAD_BYTES {
        return Head::Refused(Refusal::HeadTooLarge);
    }
    // What hyper parses with after httparse: refused here, never by hyper.
    let method = request.method.unwrap_or_default();
    if hyper::Method::from_bytes(method.as_bytes()).is_err()
        || (method != "CONNECT" && hyper::Uri::try_from(target).is_err())
    {
        return Head::Refused(Refusal::Malformed);
    }
    match framing(request.version.unwrap_or(1), request.headers) {
        Ok(body) => Head::Complete { length, body },
        Err(refusal) => Head::Refused(refusal),
    }
}

/// The body framing the headers declare, refusing what is ambiguous.
fn framing(version: u8, headers: &[httparse::Header<'_>]) -> Result<BodyKind, Refusal> {
    let mut length: Option<u64> = None;
    let mut encodings: Option<String> = None;
    for header in headers {
        if header.name.eq_ignore_ascii_case("content-length") {
            let value = std::str::from_utf8(header.value).map_err(|_| Refusal::BadContentLength)?;
            for part in value.split(',') {
                let part = part.trim();
                if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(Refusal::BadContentLength);
                }
                let number: u64 = part.parse().map_err(|_| Refusal::BadContentLength)?;
                if length.is_some_and(|seen| seen != number) {
                    return Err(Refusal::BadContentLength);
                }
                length = Some(number);
            }
        } else if header.name.eq_ignore_ascii_case("transfer-encoding") {
            let value = std::str::from_utf8(header.value).map_err(|_| Refusal::BadTransferEncoding)?;
            let all = encodings.get_or_insert_with(String::new);
            if !all.is_empty() {
                all.push(',');
            }
            all.push_str(value);
        }
    }
    match encodings {
        None => Ok(BodyKind::Length(length.unwrap_or(0))),
        Some(encodings) => {
            let last = encodings.rsplit(',').next().unwrap_or_default().trim();
            if version == 0 || length.is_some() || !last.eq_ignore_ascii_case("chunked") {
                return Err(Refusal::BadTransferEncoding);
            }
            Ok(BodyKind::Chunked)
        }
    }
}

/// How far the chunked framing at the front of `bytes` goes: the bytes it
/// covers and where it stands after them; `None` when it is not chunked
/// framing. `Ok((0, same))` means more bytes are needed.
fn follow_chunks(bytes: &[u8], mut at: Chunk) -> Option<(usize, Option<Chunk>)> {
    let mut used = 0;
    loop {
        let rest = &bytes[used..];
        match at {
            Chunk::Size => match httparse::parse_chunk_size(rest) {
                Ok(httparse::Status::Complete((length, 0))) => {
                    used += length;
                    at = Chunk::Trailers;
                }
                Ok(httparse::Status::Complete((length, size))) => {
                    used += length;
                    at = Chunk::Data(size);
                }
                Ok(httparse::Status::Partial) if rest.len() <= MAX_FRAMING_LINE => return Some((used, Some(at))),
                Ok(httparse::Status::Partial) | Err(_) => return None,
            },
            Chunk::Data(left) => {
                let take = usize::try_from(left).unwrap_or(usize::MAX).min(rest.len());
                used += take;
                let left = left - take as u64;
                if left > 0 {
                    return Some((used, Some(Chunk::Data(left))));
                }
                at = Chunk::DataEnd;
            }
            Chunk::DataEnd => {
                if rest.len() < 2 {
                    return Some((used, Some(at)));
                }
                if &rest[..2] != b"\r\n" {
                    return None;
                }
                used += 2;
                at = Chunk::Size;
            }
            Chunk::Trailers => {
                let Some(end) = rest.iter().position(|&b| b == b'\n') else {
                    return (rest.len() <= MAX_FRAMING_LINE).then_some((used, Some(at)));
                };
                used += end + 1;
                if rest[..end].strip_suffix(b"\r").unwrap_or(&rest[..end]).is_empty() {
                    return Some((used, None));
                }
            }
        }
    }
}

impl<IO: AsyncRead + Unpin> Gated<IO> {
    /// Reads more from the socket into the buffer; `Ready(Ok(false))` at EOF.
    fn fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<bool>> {
        if self.eof {
            return Poll::Ready(Ok(false));
        }
        let mut chunk = [0u8; 16 * 1024];
        let mut read = ReadBuf::new(&mut chunk);
        ready!(Pin::new(&mut self.io).poll_read(cx, &mut read))?;
        if read.filled().is_empty() {
            self.eof = true;
            return Poll::Ready(Ok(false));
        }
        self.buffer.extend_from_slice(read.filled());
        Poll::Ready(Ok(true))
    }

    /// Where the head being gathered stands: complete (checked), refused for
    /// its size, or partial.
    fn gathered(&mut self) -> Head {
        // Empty lines before a request line are ignored (RFC 9112, 2.2).
        if !self.line_ended {
            let blank = self.buffer.iter().take_while(|&&b| b == b'\r' || b == b'\n').count();
            self.buffer.advance(blank);
            self.scanned = self.scanned.saturating_sub(blank);
        }
        let from = self.scanned.saturating_sub(2);
        let fresh = &self.buffer[from..];
        self.line_ended |= fresh.contains(&b'\n');
        let ended = fresh.windows(2).any(|w| w == b"\n\n") || fresh.windows(3).any(|w| w == b"\n\r\n");
        self.scanned = self.buffer.len();
        if ended {
            return match check_head(&self.buffer) {
                Head::Partial => Head::Refused(Refusal::Malformed),
                checked => checked,
            };
        }
        // A request line longer than any target we accept, or a head longer
        // than the limit, is refused without waiting for its end.
        if !self.line_ended && self.buffer.len() > MAX_URL_BYTES + 64 {
            return Head::Refused(Refusal::UrlTooLong);
        }
        if self.buffer.len() > MAX_HEAD_BYTES {
            return Head::Refused(Refusal::HeadTooLarge);
        }
        Head::Partial
    }

    /// Whether the client may have sent bytes nobody read: then closing the
    /// socket at once would reset the connection, and the client could lose
    /// the answer it was just sent.
    fn unread(&self) -> bool {
        !self.eof
            && (!self.buffer.is_empty()
                || match self.state {
                    State::Head | State::Body(Framing::Length(0)) => false,
                    State::Refused { .. }
                    | State::Forward { .. }
                    | State::Body(_)
                    | State::Framed { .. }
                    | State::Raw => true,
                })
    }

    /// Moves up to `limit` bytes from the front of the buffer to `out`.
    fn give(&mut self, out: &mut ReadBuf<'_>, limit: usize) -> usize {
        let n = limit.min(self.buffer.len()).min(out.remaining());
        out.put_slice(&self.buffer[..n]);
        self.buffer.advance(n);
        n
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for Gated<IO> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, out: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if out.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        loop {
            match this.state {
                State::Head => match this.gathered() {
                    Head::Partial => {
                        if !ready!(this.fill(cx))? {
                            // The client left (mid-head or between requests).
                            return Poll::Ready(Ok(()));
                        }
                    }
                    Head::Complete { length, body } => {
                        this.scanned = 0;
                        this.line_ended = false;
                        this.verdicts.push(None);
                        let then = match body {
                            BodyKind::Length(length) => Framing::Length(length),
                            BodyKind::Chunked => Framing::Chunked(Chunk::Size),
                        };
                        this.state = State::Forward { left: length, then };
                    }
                    Head::Refused(refusal) => {
                        this.scanned = 0;
                        this.line_ended = false;
                        this.verdicts.push(Some(refusal));
                        this.buffer.clear();
                        this.state = State::Refused { sent: 0 };
                    }
                },
                State::Forward { left, then } => {
                    let n = this.give(out, left);
                    this.state = if n == left { State::Body(then) } else { State::Forward { left: left - n, then } };
                    return Poll::Ready(Ok(()));
                }
                State::Body(Framing::Length(0)) => this.state = State::Head,
                State::Body(Framing::Length(left)) => {
                    if this.buffer.is_empty() && !ready!(this.fill(cx))? {
                        return Poll::Ready(Ok(()));
                    }
                    let n = this.give(out, usize::try_from(left).unwrap_or(usize::MAX));
                    this.state = State::Body(Framing::Length(left - n as u64));
                    return Poll::Ready(Ok(()));
                }
                State::Body(Framing::Chunked(at)) => match follow_chunks(&this.buffer, at) {
                    None => this.state = State::Raw,
                    Some((0, Some(at))) => {
                        if !ready!(this.fill(cx))? {
                            return Poll::Ready(Ok(()));
                        }
                        this.state = State::Body(Framing::Chunked(at));
                    }
                    Some((ready, Some(then))) => this.state = State::Framed { ready, then },
                    Some((ready, None)) => this.state = State::Forward { left: ready, then: Framing::Length(0) },
                },
                State::Framed { ready, then } => {
                    let n = this.give(out, ready);
                    this.state = if n == ready {
                        State::Body(Framing::Chunked(then))
                    } else {
                        State::Framed { ready: ready - n, then }
                    };
                    return Poll::Ready(Ok(()));
                }
                State::Refused { sent } if sent == STAND_IN.len() => {
                    // Nothing more, but no end either: hyper would take an
                    // end of input for a client gone and drop the answer. It
                    // answers the stand-in and closes; nothing else wakes this.
                    return Poll::Pending;
                }
                State::Refused { sent } => {
                    let n = (STAND_IN.len() - sent).min(out.remaining());
                    out.put_slice(&STAND_IN[sent..sent + n]);
                    this.state = State::Refused { sent: sent + n };
                    return Poll::Ready(Ok(()));
                }
                State::Raw => {
                    if this.buffer.is_empty() && !ready!(this.fill(cx))? {
                        return Poll::Ready(Ok(()));
                    }
                    this.give(out, usize::MAX);
                    return Poll::Ready(Ok(()));
                }
            }
        }
    }
}

impl<IO: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Gated<IO> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, bytes: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, bytes)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    /// Shuts the write side (the client sees the end of the answer), then,
    /// when the client may still be sending (a refused head, a body cut off),
    /// reads and drops what it sends until it closes, for up to [`LINGER`]:
    /// closing a socket with unread bytes resets the connection, and the
    /// client would lose the answer.
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.closing.is_none() {
            ready!(Pin::new(&mut this.io).poll_shutdown(cx))?;
            if !this.unread() {
                return Poll::Ready(Ok(()));
            }
            this.buffer.clear();
            this.closing = Some(Closing { until: Box::pin(tokio::time::sleep(LINGER)), drained: 0 });
        }
        let Some(closing) = this.closing.as_mut() else { return Poll::Ready(Ok(())) };
        loop {
            if closing.drained > LINGER_BYTES || closing.until.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Ok(()));
            }
            let mut scratch = [0u8; 8 * 1024];
            let mut read = ReadBuf::new(&mut scratch);
            match ready!(Pin::new(&mut this.io).poll_read(cx, &mut read)) {
                Ok(()) if !read.filled().is_empty() => closing.drained += read.filled().len(),
                Ok(()) | Err(_) => return Poll::Ready(Ok(())),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_are_checked_and_framed() {
        let get = b"GET /douyin/feed/ HTTP/1.1\r\nHost: x\r\n\r\n";
        assert_eq!(check_head(get), Head::Complete { length: get.len(), body: BodyKind::Length(0) });
        assert_eq!(check_head(&get[..10]), Head::Partial);
        let post = b"POST / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\nhello";
        assert_eq!(check_head(post), Head::Complete { length: post.len() - 5, body: BodyKind::Length(5) });
        let chunked = b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n";
        assert_eq!(check_head(chunked), Head::Complete { length: chunked.len(), body: BodyKind::Chunked });
        for (head, refusal) in [
            (&b"POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\n"[..], Refusal::BadContentLength),
            (b"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", Refusal::BadContentLength),
            (b"POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n", Refusal::BadContentLength),
            (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", Refusal::BadTransferEncoding),
            (b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", Refusal::BadTransferEncoding),
            (
                b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
                Refusal::BadTransferEncoding,
            ),
            (b"GET /a b HTTP/1.1\r\n\r\n", Refusal::Malformed),
            (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", Refusal::Malformed),
        ] {
            assert_eq!(check_head(head), Head::Refused(refusal), "{}", String::from_utf8_lossy(head));
        }
        let long = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(MAX_URL_BYTES));
        assert_eq!(check_head(long.as_bytes()), Head::Refused(Refusal::UrlTooLong));
    }

    #[test]
    fn chunked_framing_is_followed_to_its_end() {
        let body = b"5\r\nhello\r\n3;ext=1\r\nabc\r\n0\r\nTrailer: t\r\n\r\nNEXT";
        assert_eq!(follow_chunks(body, Chunk::Size), Some((body.len() - 4, None)));
        // Cut anywhere, it goes as far as it can and asks for more.
        for cut in 0..body.len() - 4 {
            let (used, at) = follow_chunks(&body[..cut], Chunk::Size).unwrap();
            assert!(used <= cut);
            let at = at.unwrap();
            let (rest, end) = follow_chunks(&body[used..], at).unwrap();
            assert_eq!((used + rest, end.is_none()), (body.len() - 4, true), "cut at {cut}");
        }
        assert_eq!(follow_chunks(b"zz\r\n", Chunk::Size), None);
        assert_eq!(follow_chunks(b"1\r\nabc", Chunk::Size), None);
    }

    /// Heads that never end are refused once they pass a limit, without
    /// waiting for the rest.
    #[tokio::test]
    async fn endless_heads_are_refused_at_their_limit() {
        use tokio::io::AsyncReadExt as _;
        for (input, refusal) in [
            (format!("GET /{}", "a".repeat(MAX_URL_BYTES + 100)), Refusal::UrlTooLong),
            (format!("GET / HTTP/1.1\r\nX: {}", "a".repeat(MAX_HEAD_BYTES)), Refusal::HeadTooLarge),
        ] {
            let verdicts = Arc::new(Verdicts::default());
            let mut gated = Gated::new(input.as_bytes(), Arc::clone(&verdicts));
            let mut seen = vec![0u8; STAND_IN.len()];
            gated.read_exact(&mut seen).await.unwrap();
            assert_eq!(seen, STAND_IN);
            // Then nothing more, and no end: hyper answers and closes.
            let mut more = [0u8; 1];
            assert!(futures_util::FutureExt::now_or_never(gated.read(&mut more)).is_none());
            assert_eq!(verdicts.next(), Some(refusal));
        }
    }

    #[tokio::test]
    async fn a_stream_of_requests_reaches_the_reader_with_refusals_replaced() {
        use tokio::io::AsyncReadExt as _;
        let input = b"\r\nPOST /a HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc\
            POST /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n\
            GET /c HTTP/1.1\r\nContent-Length: x\r\n\r\nGET /never HTTP/1.1\r\n\r\n";
        let verdicts = Arc::new(Verdicts::default());
        let mut gated = Gated::new(&input[..], Arc::clone(&verdicts));
        let mut expected = input[2..input.len() - 61].to_vec();
        expected.extend_from_slice(STAND_IN);
        let mut seen = vec![0u8; expected.len()];
        gated.read_exact(&mut seen).await.unwrap();
        assert_eq!(String::from_utf8_lossy(&seen), String::from_utf8_lossy(&expected));
        assert_eq!(verdicts.next(), None);
        assert_eq!(verdicts.next(), None);
        assert_eq!(verdicts.next(), Some(Refusal::BadContentLength));
    }
}
