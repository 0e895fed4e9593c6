//! The web client (`web/` at the top of the repository), embedded in the
//! binary so `douyin-local` serves it from any working directory.
//!
//! Its files live under [`PREFIX`] (`/_web/`): S3 bucket names never contain
//! `_`, so no path-style bucket path can be mistaken for a file, and the API
//! keeps `/douyin/`. `GET /` redirects there; the page's references are
//! relative, so the same folder works unchanged on any static host.

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::header::{self, HeaderValue};
use hyper::{Method, StatusCode};

use super::ResponseBody;

/// Where the client's files are served.
pub const PREFIX: &str = "/_web/";

struct Asset {
    name: &'static str,
    bytes: &'static [u8],
    content_type: &'static str,
    etag: u64,
}

macro_rules! asset {
    ($name:literal, $content_type:expr) => {
        Asset {
            name: $name,
            bytes: include_bytes!(concat!("../../../web/", $name)),
            content_type: $content_type,
            etag: fnv1a(include_bytes!(concat!("../../../web/", $name))),
        }
    };
}

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// Every file of `web/` (a test checks that none is missing).
const ASSETS: &[Asset] = &[
    asset!("index.html", HTML),
    asset!("style.css", CSS),
    asset!("icon.svg", "image/svg+xml"),
    asset!("api.js", JS),
    asset!("app.js", JS),
    asset!("ui.js", JS),
    asset!("login.js", JS),
    asset!("feed.js", JS),
    asset!("upload.js", JS),
    asset!("profile.js", JS),
    asset!("chat.js", JS),
];

/// The answer for a request that belongs to the web client, or `None` when it
/// is not one (then it goes to the S3 engine). `/` is the client's only when
/// unsigned: a signed `GET /` is S3's ListBuckets.
pub fn respond<B>(request: &hyper::Request<B>) -> Option<hyper::Response<ResponseBody>> {
    let path = request.uri().path();
    let readable = request.method() == Method::GET || request.method() == Method::HEAD;
    if path == "/" && readable && !is_signed(request) || path == "/_web" {
        return Some(redirect(PREFIX));
    }
    let name = path.strip_prefix(PREFIX)?;
    if !readable {
        return Some(plain(StatusCode::METHOD_NOT_ALLOWED, "method not allowed"));
    }
    let name = if name.is_empty() { "index.html" } else { name };
    let Some(asset) = ASSETS.iter().find(|asset| asset.name == name) else {
        return Some(plain(StatusCode::NOT_FOUND, "no such file"));
    };
    Some(serve(request, asset))
}

fn is_signed<B>(request: &hyper::Request<B>) -> bool {
    request.headers().contains_key(header::AUTHORIZATION)
        || request.uri().query().is_some_and(|query| query.contains("X-Amz-"))
}

fn serve<B>(request: &hyper::Request<B>, asset: &Asset) -> hyper::Response<ResponseBody> {
    let etag = format!("\"{:016x}\"", asset.etag);
    let fresh = request.headers().get(header::IF_NONE_MATCH).is_some_and(|tag| tag.as_bytes() == etag.as_bytes());
    let (status, body) = if fresh {
        (StatusCode::NOT_MODIFIED, Bytes::new())
    } else if request.method() == Method::HEAD {
        (StatusCode::OK, Bytes::new())
    } else {
        (StatusCode::OK, Bytes::from_static(asset.bytes))
    };
    let mut response = response(status, body, asset.content_type);
    let headers = response.headers_mut();
    // Revalidated on every use (no build step, so no hashed names), answered
    // 304 while unchanged.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    if asset.content_type != "image/svg+xml" {
        headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    }
    response
}

fn redirect(location: &'static str) -> hyper::Response<ResponseBody> {
    let mut response = plain(StatusCode::FOUND, "");
    response.headers_mut().insert(header::LOCATION, HeaderValue::from_static(location));
    response
}

fn plain(status: StatusCode, text: &'static str) -> hyper::Response<ResponseBody> {
    response(status, Bytes::from_static(text.as_bytes()), "text/plain; charset=utf-8")
}

fn response(status: StatusCode, body: Bytes, content_type: &'static str) -> hyper::Response<ResponseBody> {
    let mut response = hyper::Response::new(Full::new(body).map_err(|never| match never {}).boxed_unsync());
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// FNV-1a, at compile time: the files' ETags.
const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    hash
}
