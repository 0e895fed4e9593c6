//! Videos as phones record them: HEVC (QuickTime `hvc1`, `hev1` with in-band parameter sets,
//! 10-bit Main 10), portrait, with audio, `moov` at the end. Each publishes through both paths,
//! shows its real cover, and is stored fast start: the stored file is decoded again with our own
//! probe and decoder, and its boxes are in streaming order.

use shared::videos::IngestOutcome;
use tests::http::{get_url, put_ticket};
use tests::{TestApp, fixture};

/// (fixture, content type, display size). The HEVC clips show ffmpeg's `testsrc2` (six colour bars,
/// red on the left); the H.264 one (H.264 + AAC, `moov` at the end) another pattern.
const PHONE_CLIPS: [(&str, &str, (usize, usize)); 5] = [
    ("hevc-320x240-1s.mp4", "video/mp4", (320, 240)),
    ("hevc-hvc1-1920x1080-1s.mov", "video/quicktime", (1920, 1080)),
    ("hevc-main10-1280x720-1s.mov", "video/quicktime", (1280, 720)),
    ("hevc-hev1-aac-720x1280-1s.mp4", "video/mp4", (720, 1280)),
    ("h264-aac-640x360-1s.mp4", "video/mp4", (640, 360)),
];

/// The top-level box types of a file, in order.
pub fn top_level_boxes(bytes: &[u8]) -> Vec<String> {
    let (mut out, mut at) = (Vec::new(), 0usize);
    while at + 8 <= bytes.len() {
        let size = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        let size = match size {
            0 => bytes.len() - at,
            1 => u64::from_be_bytes(bytes[at + 8..at + 16].try_into().unwrap()) as usize,
            n => n,
        };
        out.push(String::from_utf8_lossy(&bytes[at + 4..at + 8]).into_owned());
        at += size.max(8);
    }
    out
}

/// The stored file is `clip` made fast start: `moov` before the first `mdat`, the same length,
/// and it decodes (our probe and decoder) to the same video and the same cover.
pub fn assert_fast_start_copy_of(stored: &[u8], clip: &[u8]) {
    let order = top_level_boxes(stored);
    let position = |kind: &str| order.iter().position(|k| k == kind);
    assert!(position("moov").unwrap() < position("mdat").unwrap(), "not fast start: {order:?}");
    assert_eq!(stored.len(), clip.len());
    let (again, original) = (shared::video::inspect(stored), shared::video::inspect(clip));
    assert!(again.is_ok(), "the stored file does not decode: {again:?}");
    assert_eq!(again, original, "the stored file decodes to another video");
}

/// The pixel of a JPEG at a fraction of its size, and its size.
fn pixel(jpeg: &[u8], fx: f64, fy: f64) -> ((usize, usize), [u8; 3]) {
    let mut decoder = jpeg_decoder::Decoder::new(jpeg);
    let rgb = decoder.decode().expect("a JPEG");
    let info = decoder.info().unwrap();
    let (w, h) = (usize::from(info.width), usize::from(info.height));
    let at = (((h as f64 * fy) as usize) * w + (w as f64 * fx) as usize) * 3;
    ((w, h), [rgb[at], rgb[at + 1], rgb[at + 2]])
}

/// A published video as the API shows it: its cover is the real first frame (its size, and for the
/// HEVC clips the red left bar of their test pattern), and its file is the fast-start copy of `clip`.
async fn check_published(name: &str, video: &serde_json::Value, clip: &[u8], size: (usize, usize)) {
    let cover = get_url(video["cover_url"].as_str().unwrap()).await;
    assert_eq!(cover.status, 200, "{name}");
    let (decoded, [r, g, b]) = pixel(&cover.body, 1.0 / 12.0, 0.95);
    assert_eq!(decoded, size, "{name}: cover size");
    if name.starts_with("hevc") {
        assert!(r > 180 && g < 80 && b < 80, "{name}: left bar {r},{g},{b} is not red");
    }
    let played = get_url(video["play_url"].as_str().unwrap()).await;
    assert_eq!(played.status, 200, "{name}");
    assert_fast_start_copy_of(&played.body, clip);
}

#[tokio::test]
async fn phone_videos_publish_in_one_request_with_real_covers_and_play_from_the_start() {
    let t = TestApp::new().await;
    let alice = t.new_user("alice").await;
    for (name, _, size) in PHONE_CLIPS {
        let clip = fixture(name);
        let reply = t.publish(&alice.token, name, &clip).await;
        assert_eq!(reply.code(), 0, "{name}: {}", reply.body);
        let video = t.feed(None, None).await.ok()["video_list"][0].clone();
        assert_eq!(video["title"], name);
        check_published(name, &video, &clip, size).await;
    }
    assert_eq!(t.user(Some(alice.id), None).await.ok()["user"]["work_count"], PHONE_CLIPS.len());
}

#[tokio::test]
async fn phone_videos_publish_through_the_presigned_upload_with_real_covers_and_play_from_the_start() {
    let t = TestApp::new().await;
    let alice = t.new_user("alice").await;
    for (name, content_type, size) in PHONE_CLIPS {
        let clip = fixture(name);
        let ticket = t.start_upload(&alice.token, name, content_type, clip.len()).await.ok().clone();
        let video_id = ticket["video_id"].as_u64().unwrap();
        assert_eq!(put_ticket(&ticket, &clip).await.status, 200, "{name}");
        let key = format!("uploads/{video_id}");
        assert_eq!(t.s3_created(&key).await, [IngestOutcome::Published(video_id)], "{name}");
        let status = t.upload_status(&alice.token, video_id).await;
        assert_eq!(status.ok()["state"], "live", "{name}");
        check_published(name, &status.body["video"], &clip, size).await;
        // The rewritten file is the video's own object; the upload as it came is gone.
        assert_eq!(t.app.media().size(&key).await.unwrap(), None, "{name}: the upload object is deleted");
        // A repeated event publishes nothing more.
        assert_eq!(t.s3_created(&key).await, [IngestOutcome::Skipped], "{name}");
    }
    assert_eq!(t.user(Some(alice.id), None).await.ok()["user"]["work_count"], PHONE_CLIPS.len());
}

#[tokio::test]
async fn a_video_already_fast_start_is_stored_as_it_came() {
    let t = TestApp::new().await;
    let alice = t.new_user("alice").await;
    let clip = fixture("h264-1920x1080-1s.mp4");
    assert!(
        top_level_boxes(&clip).iter().position(|k| k == "moov")
            < top_level_boxes(&clip).iter().position(|k| k == "mdat")
    );
    t.publish(&alice.token, "as is", &clip).await.ok();
    let video = t.feed(None, None).await.ok()["video_list"][0].clone();
    assert_eq!(get_url(video["play_url"].as_str().unwrap()).await.body, clip);
}
