//! Media links: presigned GETs that the S3 engine really checks, or a public
//! base URL.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use tests::TestApp;
use tests::http::get_url;

#[tokio::test]
async fn presigned_link_serves_the_object() {
    let t = TestApp::new().await;
    t.app.media.put("videos/x.bin", Bytes::from_static(b"hello media"), "application/octet-stream").await.unwrap();
    let link = t.app.media.link("videos/x.bin").await.unwrap();
    assert!(link.contains("X-Amz-Signature="), "{link}");
    let response = get_url(&link).await;
    assert_eq!(response.status, 200);
    assert_eq!(response.body, b"hello media");
}

#[tokio::test]
async fn tampered_or_unsigned_link_is_refused() {
    let t = TestApp::new().await;
    t.app.media.put("videos/y.bin", Bytes::from_static(b"secret"), "application/octet-stream").await.unwrap();
    let link = t.app.media.link("videos/y.bin").await.unwrap();
    let other_key = link.replace("videos/y.bin", "videos/z.bin");
    assert_eq!(get_url(&other_key).await.status, 403);
    let unsigned = link.split('?').next().unwrap();
    assert_eq!(get_url(unsigned).await.status, 403);
}

#[tokio::test]
async fn expired_link_is_refused() {
    let t = TestApp::new().await;
    t.app.media.put("videos/old.bin", Bytes::from_static(b"old"), "application/octet-stream").await.unwrap();
    // Signed two hours ago for one hour: expired an hour ago.
    let link = t
        .app
        .media
        .link_signed_at("videos/old.bin", SystemTime::now() - Duration::from_secs(7200), Duration::from_secs(3600))
        .await
        .unwrap();
    assert_eq!(get_url(&link).await.status, 403);
}

#[tokio::test]
async fn links_are_stable_within_their_window() {
    let t = TestApp::new().await;
    let first = t.app.media.link("defaults/avatar.png").await.unwrap();
    let second = t.app.media.link("defaults/avatar.png").await.unwrap();
    assert_eq!(first, second);
}

#[tokio::test]
async fn public_base_url_replaces_presigning() {
    let t = TestApp::with_config(|config| config.media_base_url = Some("https://cdn.example.com".into())).await;
    assert_eq!(t.app.media.link("defaults/avatar.png").await.unwrap(), "https://cdn.example.com/defaults/avatar.png");
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
        let link = t.app.media.link_signed_at(key, SystemTime::now(), Duration::from_secs(60)).await.unwrap();
        let object = get_url(&link).await;
        assert_eq!(object.status, 200, "{key}");
        assert_eq!(object.header("cache-control"), Some(shared::media::IMMUTABLE), "{key}");
        if let Some(body) = body {
            assert!(object.body == *body, "{key}");
        }
    }
}
