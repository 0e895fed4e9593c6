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
