//! Publishing through the stock client's one-request upload, and the ingest
//! rules both paths share.

use tests::http::get_url;
use tests::{TestApp, fixture};

/// Decodes a JPEG: (width, height, RGB of the centre pixel).
pub fn decode_jpeg(bytes: &[u8]) -> (u16, u16, [u8; 3]) {
    let mut decoder = jpeg_decoder::Decoder::new(bytes);
    let pixels = decoder.decode().expect("a JPEG");
    let info = decoder.info().unwrap();
    let (w, h) = (usize::from(info.width), usize::from(info.height));
    let centre = (h / 2 * w + w / 2) * 3;
    (info.width, info.height, [pixels[centre], pixels[centre + 1], pixels[centre + 2]])
}

#[tokio::test]
async fn published_video_is_in_feed_and_list_with_a_real_cover() {
    let t = TestApp::new().await;
    let alice = t.new_user("alice").await;
    let clip = fixture("portrait-red-360x640-1s.mp4");
    t.publish(&alice.token, "  red  ", &clip).await.ok();

    let feed = t.feed(None, None).await;
    let video = feed.ok()["video_list"][0].clone();
    assert_eq!(video["title"], "red");
    assert_eq!(video["author"]["id"], alice.id);
    assert_eq!(video["author"]["work_count"], 1);
    assert_eq!((video["favorite_count"].as_u64(), video["comment_count"].as_u64()), (Some(0), Some(0)));
    assert_eq!(video["is_favorite"], false);

    let played = get_url(video["play_url"].as_str().unwrap()).await;
    assert_eq!(played.status, 200);
    // The clip has `moov` at the end: it is stored fast start.
    crate::phones::assert_fast_start_copy_of(&played.body, &clip);
    let cover = get_url(video["cover_url"].as_str().unwrap()).await;
    assert_eq!(cover.status, 200);
    let (width, height, [r, g, b]) = decode_jpeg(&cover.body);
    assert_eq!((width, height), (360, 640));
    assert!(r > 180 && g < 80 && b < 80, "centre pixel {r},{g},{b} is not red");

    let list = t.publish_list(alice.id, None).await;
    assert_eq!(list.ok()["video_list"][0]["id"], video["id"]);
    assert_eq!(t.user(Some(alice.id), None).await.ok()["user"]["work_count"], 1);
}

#[tokio::test]
async fn broken_or_unsupported_media_is_10007_and_changes_nothing() {
    let t = TestApp::new().await;
    let alice = t.new_user("alice").await;
    let cases = [
        ("not-a-video.mp4", "not an MP4 or MOV"),
        ("truncated.mp4", ""),
        ("h264-10bit-320x240.mp4", "10-bit H.264"),
        ("vp9-320x240-1s.webm", "not an MP4 or MOV"),
    ];
    for (name, words) in cases {
        let reply = t.publish(&alice.token, "bad", &fixture(name)).await;
        assert_eq!((reply.http_status, reply.code()), (200, 10007), "{name}: {}", reply.body);
        assert!(reply.msg().contains(words), "{name}: {}", reply.msg());
    }
    assert_eq!(t.feed(None, None).await.ok()["video_list"], serde_json::json!([]));
    assert_eq!(t.publish_list(alice.id, None).await.ok()["video_list"], serde_json::json!([]));
    assert_eq!(t.user(Some(alice.id), None).await.ok()["user"]["work_count"], 0);
}

#[tokio::test]
async fn a_file_over_the_request_limit_points_to_the_presigned_upload() {
    let t = TestApp::new().await;
    let alice = t.new_user("alice").await;
    let big = vec![0u8; shared::videos::INLINE_MAX_BYTES + 1];
    let reply = t.publish(&alice.token, "big", &big).await;
    assert_eq!(reply.code(), 10007);
    assert!(reply.msg().contains("4.4 MB") && reply.msg().contains("/douyin/publish/upload/"), "{}", reply.msg());
}

/// The largest request our limit refuses, as API Gateway hands it to Lambda:
/// a multipart body (token, title, a file one byte over [`INLINE_MAX_BYTES`])
/// base64-encoded in a v2 event whose request line and headers take all of
/// HTTP API's 10 KiB (a long user agent, which the event carries twice).
fn largest_refused_publish_event(token: &str) -> (String, usize, usize) {
    use shared::videos::INLINE_MAX_BYTES;
    let video = vec![0u8; INLINE_MAX_BYTES + 1];
    let title = "🎬".repeat(shared::domain::VideoTitle::MAX_CHARS); // 4 bytes a character
    let (content_type, body) =
        tests::multipart(&[("token", token), ("title", &title)], Some(("data", "VID_20261123_235959.mp4", &video)));
    let encoded = aws_smithy_types::base64::encode(&body);
    let sample =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../events/publish-action.json")).unwrap();
    let mut event: serde_json::Value = serde_json::from_str(&sample).unwrap();
    let user_agent = format!("okhttp/3.12.0 {}", "x".repeat(9 * 1024));
    event["rawQueryString"] = "".into();
    event.as_object_mut().unwrap().remove("queryStringParameters");
    event["headers"]["content-type"] = content_type.into();
    event["headers"]["content-length"] = body.len().to_string().into();
    event["headers"]["user-agent"] = user_agent.clone().into();
    event["requestContext"]["http"]["userAgent"] = user_agent.into();
    event["body"] = encoded.clone().into();
    let json = serde_json::to_string(&event).unwrap();
    let (event_overhead, multipart_overhead) = (json.len() - encoded.len(), body.len() - video.len());
    (json, event_overhead, multipart_overhead)
}

#[test]
fn the_inline_limit_plus_its_allowances_fits_a_lambda_payload_after_base64() {
    use shared::videos::{EVENT_ALLOWANCE_BYTES, INLINE_MAX_BYTES, LAMBDA_PAYLOAD_BYTES, MULTIPART_ALLOWANCE_BYTES};
    let body = INLINE_MAX_BYTES + 1 + MULTIPART_ALLOWANCE_BYTES;
    let base64 = body.div_ceil(3) * 4;
    assert!(
        base64 + EVENT_ALLOWANCE_BYTES <= LAMBDA_PAYLOAD_BYTES,
        "{} > {LAMBDA_PAYLOAD_BYTES}",
        base64 + EVENT_ALLOWANCE_BYTES
    );
    // The old limit (4.5 MiB) filled the payload with the file alone.
    assert_eq!((4_718_592_usize + 1).div_ceil(3) * 4, LAMBDA_PAYLOAD_BYTES + 4);
}

#[tokio::test]
async fn a_body_just_over_the_inline_limit_fits_the_event_and_is_answered_10007() {
    let t = TestApp::new().await;
    let alice = t.new_user("alice").await;
    let (event, event_overhead, multipart_overhead) = largest_refused_publish_event(&alice.token);
    assert!(event.len() <= shared::videos::LAMBDA_PAYLOAD_BYTES, "{} bytes", event.len());
    assert!(event_overhead <= shared::videos::EVENT_ALLOWANCE_BYTES, "{event_overhead}");
    assert!(multipart_overhead <= shared::videos::MULTIPART_ALLOWANCE_BYTES, "{multipart_overhead}");
    let reply = t.event(&event).await;
    assert_eq!(reply.code(), 10007, "{}", reply.msg());
    assert!(reply.msg().contains("presigned upload"), "{}", reply.msg());
}

#[tokio::test]
async fn publish_needs_a_token_a_title_and_a_file() {
    let t = TestApp::new().await;
    let alice = t.new_user("alice").await;
    let clip = fixture("h264-320x240-2s.mp4");
    assert_eq!(t.publish("", "x", &clip).await.code(), 10002);
    assert_eq!(t.publish("forged", "x", &clip).await.code(), 10002);
    let no_title = t.publish(&alice.token, "   ", &clip).await;
    assert_eq!(no_title.code(), 10001);
    assert!(no_title.msg().starts_with("title:"));
    let long = t.publish(&alice.token, &"t".repeat(101), &clip).await;
    assert_eq!(long.code(), 10001);
    let (content_type, body) = tests::multipart(&[("token", &alice.token), ("title", "x")], None);
    let request = lambda_http::http::Request::builder()
        .method("POST")
        .uri("/douyin/publish/action/")
        .header("content-type", content_type)
        .body(lambda_http::Body::Binary(body))
        .unwrap();
    let no_file = t.send(request).await;
    assert_eq!(no_file.code(), 10001);
    assert!(no_file.msg().starts_with("data:"), "{}", no_file.msg());
    assert_eq!(t.user(Some(alice.id), None).await.ok()["user"]["work_count"], 0);
}

#[tokio::test]
async fn mov_and_1080p_clips_are_accepted_with_covers_of_their_size() {
    let t = TestApp::new().await;
    let alice = t.new_user("alice").await;
    for (name, size) in [("h264-320x240-1s.mov", (320, 240)), ("h264-1920x1080-1s.mp4", (1920, 1080))] {
        t.publish(&alice.token, name, &fixture(name)).await.ok();
        let video = t.feed(None, None).await.ok()["video_list"][0].clone();
        let cover = get_url(video["cover_url"].as_str().unwrap()).await;
        let (w, h, _) = decode_jpeg(&cover.body);
        assert_eq!((w, h), size, "{name}");
    }
}

/// Decoding is bounded like hashing (issue 17, part 5): every decode runs in
/// the process's heavy-work pool, never more at once than it has places, and
/// the runtime keeps serving while publishes wait for one. On a
/// single-threaded runtime, with the pool's places held by jobs the test
/// controls, 32 publishes all queue at the pool, ten feed reads finish
/// meanwhile, and once the places free up the 32 decode at most two at a
/// time. Counters and permits, no timing; a small clip, as the size changes
/// nothing here (the 1080p figures are `tests/bench/run publish_burst`). That
/// a pool job runs on a blocking thread, not the runtime's, is `heavy::tests`.
#[tokio::test]
async fn publishes_decode_in_the_pool_never_more_at_once_than_its_places() {
    use std::sync::{Arc, Mutex};
    let t = Arc::new(TestApp::with_config(|config| config.heavy_places = 2).await);
    let alice = t.new_user("alice").await;
    let heavy = t.app.heavy().clone();
    let before = heavy.stats();
    let (release, held) = std::sync::mpsc::channel::<()>();
    let held = Arc::new(Mutex::new(held));
    let blockers: Vec<_> = (0..2)
        .map(|_| {
            let (heavy, held) = (heavy.clone(), held.clone());
            tokio::spawn(async move { heavy.run("blocker", move || held.lock().unwrap().recv().unwrap()).await })
        })
        .collect();
    while heavy.stats().running < 2 {
        tokio::task::yield_now().await;
    }

    let clip = Arc::new(fixture("portrait-red-360x640-1s.mp4"));
    let publishes: Vec<_> = (0..32)
        .map(|n| {
            let (t, clip, token) = (t.clone(), clip.clone(), alice.token.clone());
            tokio::spawn(async move { t.publish(&token, &format!("clip {n}"), &clip).await })
        })
        .collect();
    while heavy.stats().waiting < 32 {
        assert!(!publishes.iter().any(tokio::task::JoinHandle::is_finished), "a publish ended before the pool");
        tokio::task::yield_now().await;
    }
    for _ in 0..10 {
        t.feed(None, Some(&alice.token)).await.ok();
    }
    assert!(!publishes.iter().any(tokio::task::JoinHandle::is_finished), "a publish decoded past the pool");
    assert_eq!((heavy.stats().running, heavy.stats().waiting), (2, 32));

    for _ in 0..2 {
        release.send(()).unwrap();
    }
    for blocker in blockers {
        blocker.await.unwrap().unwrap();
    }
    for publish in publishes {
        publish.await.unwrap().ok();
    }
    let after = heavy.stats();
    assert_eq!(after.done - before.done, 2 + 32, "every decode went through the pool");
    assert_eq!(after.peak, 2, "never more jobs at once than places");
    assert_eq!(t.user_counters(alice.id).await["work_count"], 32);
}

/// A publish confirms its author (a read) while its video decodes, and
/// stores the video and its cover at once: with the author's read held at a
/// gate, the decode still runs to its end; the two objects are two S3 calls
/// in flight together. Before, each waited for the one before it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publish_decodes_while_its_author_is_confirmed_and_stores_both_files_at_once() {
    use aws_sdk_dynamodb::operation::get_item::GetItemInput;
    use shared::app::Interceptors;
    use std::sync::Arc;
    use tests::faults::Gate;

    let t = TestApp::new().await;
    let alice = t.new_user("alice").await;
    let gate = Gate::before::<GetItemInput>();
    let gated = Arc::new(
        t.another_instance_intercepted(Interceptors { dynamodb: vec![gate.interceptor()], s3: Vec::new() }).await,
    );
    let heavy = gated.app.heavy().clone();
    let decoded = heavy.stats().done;
    gated.app.s3_calls.take_peak();

    let clip = fixture("portrait-red-360x640-1s.mp4");
    let publish = {
        let (gated, token) = (gated.clone(), alice.token.clone());
        tokio::spawn(async move { gated.publish(&token, "at once", &clip).await })
    };
    gate.reached().await;
    let decode = async {
        while heavy.stats().done == decoded {
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(30), decode)
        .await
        .expect("the video decodes while the author's read is held");
    assert!(!publish.is_finished(), "the publish waits for its author's read");
    gate.open();

    assert_eq!(publish.await.unwrap().code(), 0);
    assert_eq!(gated.app.s3_calls.take_peak(), 2, "the video and its cover are stored at once");
    assert_eq!(t.user_counters(alice.id).await["work_count"], 1);
}
