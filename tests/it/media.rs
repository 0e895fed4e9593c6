//! Media links: presigned GETs that the S3 engine really checks, or a public
//! base URL.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use tests::TestApp;
use tests::http::get_url;

#[tokio::test]
async fn presigned_link_serves_the_object() {
    let t = TestApp::new().await;
    t.app.media().put("videos/x.bin", Bytes::from_static(b"hello media"), "application/octet-stream").await.unwrap();
    let link = t.app.media().link("videos/x.bin").await.unwrap();
    assert!(link.contains("X-Amz-Signature="), "{link}");
    let response = get_url(&link).await;
    assert_eq!(response.status, 200);
    assert_eq!(response.body, b"hello media");
}

#[tokio::test]
async fn tampered_or_unsigned_link_is_refused() {
    let t = TestApp::new().await;
    t.app.media().put("videos/y.bin", Bytes::from_static(b"secret"), "application/octet-stream").await.unwrap();
    let link = t.app.media().link("videos/y.bin").await.unwrap();
    let other_key = link.replace("videos/y.bin", "videos/z.bin");
    assert_eq!(get_url(&other_key).await.status, 403);
    let unsigned = link.split('?').next().unwrap();
    assert_eq!(get_url(unsigned).await.status, 403);
}

#[tokio::test]
async fn expired_link_is_refused() {
    let t = TestApp::new().await;
    t.app.media().put("videos/old.bin", Bytes::from_static(b"old"), "application/octet-stream").await.unwrap();
    // Signed two hours ago for one hour: expired an hour ago.
    let link = t
        .app
        .media()
        .link_signed_at("videos/old.bin", SystemTime::now() - Duration::from_secs(7200), Duration::from_secs(3600))
        .await
        .unwrap();
    assert_eq!(get_url(&link).await.status, 403);
}

#[tokio::test]
async fn links_are_stable_within_their_window() {
    let t = TestApp::new().await;
    let first = t.app.media().link("defaults/avatar.png").await.unwrap();
    let second = t.app.media().link("defaults/avatar.png").await.unwrap();
    assert_eq!(first, second);
}

#[tokio::test]
async fn public_base_url_replaces_presigning() {
    let t = TestApp::with_config(|config| config.media_base_url = Some("https://cdn.example.com".into())).await;
    assert_eq!(t.app.media().link("defaults/avatar.png").await.unwrap(), "https://cdn.example.com/defaults/avatar.png");
}

#[tokio::test]
async fn default_images_are_uploaded_once_and_served() {
    let t = TestApp::new().await;
    let alice = t.new_user("alice").await;
    let user = t.user(Some(alice.id), None).await.ok()["user"].clone();
    for field in ["avatar", "background_image"] {
        let response = get_url(user[field].as_str().unwrap()).await;
        assert_eq!(response.status, 200, "{field}");
        assert_eq!(&response.body[..8], b"\x89PNG\r\n\x1a\n", "{field}");
    }
}

// ---------------------------------------------------------------------------
// Links never outlive the credentials that sign them (a Lambda's role
// credentials are temporary; a link signed with them dies with them).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::UNIX_EPOCH;

use aws_sdk_dynamodb::config::{Credentials, ProvideCredentials, SharedCredentialsProvider};

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// The engines' keys, as temporary credentials expiring at `expires` (epoch s).
fn temporary_credentials(expires: u64) -> Credentials {
    let [(_, access), (_, secret)] = tests::engines().credentials.as_env();
    Credentials::new(access, secret, None, Some(UNIX_EPOCH + Duration::from_secs(expires)), "test-role-session")
}

/// When a presigned link stops working: `X-Amz-Date` + `X-Amz-Expires`, epoch s.
fn link_expiry(link: &str) -> u64 {
    let query = link.split_once('?').unwrap().1;
    let param = |name: &str| {
        form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v.into_owned()).unwrap()
    };
    let date = param("X-Amz-Date"); // 20261125T173000Z
    let n = |range: std::ops::Range<usize>| date[range].parse::<i64>().unwrap();
    let (year, month, day) = (n(0..4), n(4..6), n(6..8));
    // Days since the epoch of a Gregorian date (Howard Hinnant's days_from_civil).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + day - 1;
    let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468;
    let signed = days * 86_400 + n(9..11) * 3600 + n(11..13) * 60 + n(13..15);
    signed as u64 + param("X-Amz-Expires").parse::<u64>().unwrap()
}

#[tokio::test]
async fn a_link_expires_no_later_than_the_credentials_that_signed_it() {
    // The role's session ends in 20 minutes; links live 6 hours by default.
    let expires = unix_now() + 20 * 60;
    let t = TestApp::with_credentials(SharedCredentialsProvider::new(temporary_credentials(expires))).await;
    assert!(t.app.config.media_url_ttl > Duration::from_secs(3600));
    t.app.media().put("videos/a.bin", Bytes::from_static(b"a"), "application/octet-stream").await.unwrap();
    let link = t.app.media().link("videos/a.bin").await.unwrap();
    assert!(link_expiry(&link) <= expires, "{link}");
    assert_eq!(get_url(&link).await.status, 200, "the capped link works");
    // Every link of the window is capped the same way, and still the same link.
    let other = t.app.media().link("defaults/avatar.png").await.unwrap();
    assert!(link_expiry(&other) <= expires, "{other}");
    assert_eq!(t.app.media().link("videos/a.bin").await.unwrap(), link);
}

#[tokio::test]
async fn a_link_signed_with_credentials_without_expiry_keeps_its_lifetime() {
    let t = TestApp::new().await;
    let link = t.app.media().link("defaults/avatar.png").await.unwrap();
    let ttl = t.app.config.media_url_ttl.as_secs();
    assert!(link.contains(&format!("X-Amz-Expires={ttl}")), "{link}");
}

/// A role session being renewed: credentials that expire in two hours, except
/// once, when asked to, credentials that expire within a minute. Counts calls.
#[derive(Clone, Debug, Default)]
struct RenewedSession {
    calls: Arc<AtomicU64>,
    ending_once: Arc<std::sync::atomic::AtomicBool>,
}

impl ProvideCredentials for RenewedSession {
    fn provide_credentials<'a>(&'a self) -> aws_credential_types::provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let ending = self.ending_once.swap(false, Ordering::SeqCst);
        let expires = if ending { unix_now() + 60 } else { unix_now() + 7200 };
        aws_credential_types::provider::future::ProvideCredentials::ready(Ok(temporary_credentials(expires)))
    }
}

#[tokio::test]
async fn credentials_about_to_expire_are_resolved_again_before_the_next_link() {
    let session = RenewedSession::default();
    let t = TestApp::with_credentials(SharedCredentialsProvider::new(session.clone())).await;
    t.app.media().put("videos/b.bin", Bytes::from_static(b"b"), "application/octet-stream").await.unwrap();
    // The app's own AWS calls resolve through the SDK's cache; count from here.
    let before = session.calls.load(Ordering::SeqCst);
    session.ending_once.store(true, Ordering::SeqCst);
    let first = t.app.media().link("videos/b.bin").await.unwrap();
    let second = t.app.media().link("videos/b.bin").await.unwrap();
    let calls = session.calls.load(Ordering::SeqCst) - before;
    assert_eq!(calls, 2, "resolved for the first link, and again since they expire within minutes");
    assert!(link_expiry(&second) > link_expiry(&first), "{first}\n{second}");
    assert_eq!(get_url(&second).await.status, 200);
}

/// With the template's CDN on, `DOUYIN_MEDIA_BASE_URL` is the distribution's
/// domain: links are that base and the content-named keys, and the objects
/// behind them carry the year-long, immutable caching the distribution honours.
#[tokio::test]
async fn through_a_cdn_links_name_the_published_keys_which_are_cached_for_a_year() {
    let base = "https://d111111abcdef8.cloudfront.net";
    let t = TestApp::with_config(|config| config.media_base_url = Some(base.into())).await;
    let alice = t.new_user("alice").await;
    // moov first: stored as uploaded (no fast-start rewrite), so its digest names the keys.
    let clip = tests::fixture("h264-320x240-2s.mp4");
    t.publish(&alice.token, "via cdn", &clip).await.ok();
    let video = t.feed(None, None).await.ok()["video_list"][0].clone();
    let id = video["id"].as_u64().unwrap();
    let (play, cover) = (shared::videos::play_key(id, &clip), shared::videos::cover_key(id, &clip));
    assert_eq!(video["play_url"], format!("{base}/{play}"));
    assert_eq!(video["cover_url"], format!("{base}/{cover}"));
    // What CloudFront fetches from the bucket (here through a presigned link).
    for (key, body) in [(&play, Some(&clip)), (&cover, None)] {
        let link = t.app.media().link_signed_at(key, SystemTime::now(), Duration::from_secs(60)).await.unwrap();
        let object = get_url(&link).await;
        assert_eq!(object.status, 200, "{key}");
        assert_eq!(object.header("cache-control"), Some(shared::media::IMMUTABLE), "{key}");
        if let Some(body) = body {
            assert!(object.body == *body, "{key}");
        }
    }
}
