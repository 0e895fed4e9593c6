//! Compressed answers. The stock client (OkHttp) and browsers ask for gzip
//! (`Accept-Encoding: gzip`) and undo it themselves; API Gateway's HTTP APIs
//! compress nothing, so a function that does not answers every list in full.
//! With a Lambda role's session token in every presigned link, a page of 100
//! comments is ~300 KB of JSON that gzip makes ~10 KB (docs/performance.md,
//! session 10). A body of at least [`COMPRESS_FROM`] bytes is compressed when
//! the request accepts gzip; every such body says `Vary: Accept-Encoding`
//! either way, so no cache hands one client's form to another.

use std::io::Write as _;

use lambda_http::http::header::{CONTENT_ENCODING, VARY};
use lambda_http::http::{HeaderMap, HeaderValue};
use lambda_http::{Body, Response};

/// The smallest body worth compressing: below it gzip's framing (~20
/// bytes) and the work outweigh the bytes saved (CloudFront's threshold).
pub const COMPRESS_FROM: usize = 1000;

/// Whether a request with these headers takes a gzip body (RFC 9110 §12.5.3):
/// `gzip` (or `x-gzip`) listed, or `*`, with a weight above 0; an explicit
/// `gzip;q=0` refuses it whatever `*` says. An item whose weight does not
/// parse is ignored.
pub fn accepts_gzip(headers: &HeaderMap) -> bool {
    let (mut gzip, mut any) = (None, None);
    let values = headers.get_all(lambda_http::http::header::ACCEPT_ENCODING);
    for item in values.iter().filter_map(|value| value.to_str().ok()).flat_map(|value| value.split(',')) {
        let mut parameters = item.split(';');
        let coding = parameters.next().unwrap_or_default().trim();
        let weight = parameters
            .filter_map(|parameter| {
                let (name, value) = parameter.split_once('=')?;
                name.trim().eq_ignore_ascii_case("q").then(|| value.trim())
            })
            .next()
            .map_or(Some(1.0), |weight| weight.parse::<f32>().ok().filter(|w| (0.0..=1.0).contains(w)));
        let Some(weight) = weight else { continue };
        if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
            gzip = Some(weight > 0.0);
        } else if coding == "*" {
            any = Some(weight > 0.0);
        }
    }
    gzip.or(any).unwrap_or(false)
}

/// `response` as the client asked for it: a text body of at least
/// [`COMPRESS_FROM`] bytes gzipped (fast level: the bodies are repetitive,
/// and the CPU is the invocation's share) when `gzip` is accepted, and
/// marked `Vary: Accept-Encoding` whether it is or not.
pub fn negotiated(response: Response<Body>, gzip: bool) -> Response<Body> {
    let (mut parts, body) = response.into_parts();
    let Body::Text(text) = body else { return Response::from_parts(parts, body) };
    if text.len() < COMPRESS_FROM {
        return Response::from_parts(parts, Body::Text(text));
    }
    parts.headers.append(VARY, HeaderValue::from_static("accept-encoding"));
    if !gzip {
        return Response::from_parts(parts, Body::Text(text));
    }
    let mut encoder =
        flate2::write::GzEncoder::new(Vec::with_capacity(text.len() / 8 + 64), flate2::Compression::fast());
    // Writing into a `Vec` cannot fail; if it ever did, the plain body still answers.
    match encoder.write_all(text.as_bytes()).and_then(|()| encoder.finish()) {
        Ok(compressed) => {
            parts.headers.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            Response::from_parts(parts, Body::Binary(compressed))
        }
        Err(_) => Response::from_parts(parts, Body::Text(text)),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::io::Read as _;

    use super::*;

    fn accepts(values: &[&str]) -> bool {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(lambda_http::http::header::ACCEPT_ENCODING, HeaderValue::from_str(value).unwrap());
        }
        accepts_gzip(&headers)
    }

    #[test]
    fn gzip_is_taken_when_listed_or_wildcarded_with_a_weight_above_zero() {
        assert!(accepts(&["gzip"]), "OkHttp's header");
        assert!(accepts(&["gzip, deflate, br, zstd"]), "a browser's");
        assert!(accepts(&["br;q=1.0, GZIP;q=0.5"]));
        assert!(accepts(&["identity", "x-gzip"]), "over two header lines");
        assert!(accepts(&["*"]));
        assert!(accepts(&["deflate, *;q=0.1"]));
        assert!(!accepts(&[]), "nothing asked: plain");
        assert!(!accepts(&["identity"]));
        assert!(!accepts(&["br, deflate"]));
        assert!(!accepts(&["gzip;q=0"]));
        assert!(!accepts(&["*, gzip;q=0"]), "an explicit refusal wins over *");
        assert!(!accepts(&["gzip;q=0.000"]));
        assert!(!accepts(&["gzip;q=high"]), "a weight that does not parse: the item is ignored");
        assert!(!accepts(&["gzip;q=2"]), "a weight outside 0–1: ignored");
        assert!(!accepts(&["*;q=0"]));
    }

    fn text_response(body: &str) -> Response<Body> {
        let mut response = Response::new(Body::Text(body.to_owned()));
        response.headers_mut().insert("content-type", HeaderValue::from_static("application/json; charset=utf-8"));
        response
    }

    #[test]
    fn a_large_body_is_gzipped_when_accepted_and_reads_back_the_same() {
        let body = format!(r#"{{"status_code":0,"status_msg":"success","list":"{}"}}"#, "x".repeat(5000));
        let response = negotiated(text_response(&body), true);
        assert_eq!(response.headers()[CONTENT_ENCODING], "gzip");
        assert_eq!(response.headers()[VARY], "accept-encoding");
        assert_eq!(response.headers()["content-type"], "application/json; charset=utf-8", "the type is the JSON's");
        let Body::Binary(compressed) = response.into_body() else { panic!("a gzip body is binary") };
        assert!(compressed.len() < body.len() / 10, "{} bytes", compressed.len());
        let mut read = String::new();
        flate2::read::GzDecoder::new(compressed.as_slice()).read_to_string(&mut read).unwrap();
        assert_eq!(read, body);
    }

    #[test]
    fn a_small_body_or_a_client_that_did_not_ask_gets_the_plain_text() {
        let large = "y".repeat(COMPRESS_FROM);
        let plain = negotiated(text_response(&large), false);
        assert!(!plain.headers().contains_key(CONTENT_ENCODING));
        assert_eq!(plain.headers()[VARY], "accept-encoding", "its form still depends on the request");
        assert!(matches!(plain.into_body(), Body::Text(text) if text == large));
        let small = "z".repeat(COMPRESS_FROM - 1);
        let response = negotiated(text_response(&small), true);
        assert!(!response.headers().contains_key(CONTENT_ENCODING));
        assert!(!response.headers().contains_key(VARY));
        assert!(matches!(response.into_body(), Body::Text(text) if text == small));
    }
}
