//! Upload integrity (issue 17, part 1): a presigned upload URL cannot change
//! what is served. The ingest publishes the bytes it validated at a key only
//! the server writes (`videos/<id>-<digest>.mp4`), the URL takes one PUT while
//! its object exists (`If-None-Match: *` is signed into it), and an ingest
//! that loses a race deletes nothing it does not own.
//!
//! These run on moto's S3 in the fidelity tier ([`TestApp::on_s3_emulator`])
//! and on the embedded engine otherwise; the interleavings are made
//! deterministic with a [`Gate`] on one instance's S3 client.

use aws_sdk_s3::operation::get_object::GetObjectInput;
use shared::videos::IngestOutcome;
use tests::faults::Gate;
use tests::http::{Response, get_url, put_ticket};
use tests::{Session, TestApp, fixture};

/// The upload of these tests. `moov` comes first in it and in the other
/// video below, so the stored bytes are the uploaded ones whether or not the
/// ingest rewrites files for fast start (it only moves a `moov` that follows
/// `mdat`): the tests compare what is served with what was uploaded.
const CLIP: &str = "h264-320x240-1s.mov";

/// Bytes a client could PUT instead of a video: a web page, padded to `len`.
fn html(len: usize) -> Vec<u8> {
    let mut page = b"<!doctype html><title>not the video</title><script>alert(1)</script>".to_vec();
    page.resize(len, b' ');
    page
}

/// `video` made exactly `len` bytes long with a trailing `free` box: another
/// valid video of the length a ticket signed.
fn padded(video: &[u8], len: usize) -> Vec<u8> {
    let pad = len - video.len();
    assert!(pad >= 8, "the padding needs a box header");
    let mut out = video.to_vec();
    out.extend_from_slice(&u32::try_from(pad).unwrap().to_be_bytes());
    out.extend_from_slice(b"free");
    out.resize(len, 0);
    out
}

/// A ticket for `clip`: (the ticket, the video id, the upload's object key).
async fn ticket(t: &TestApp, user: &Session, clip: &[u8]) -> (serde_json::Value, u64, String) {
    let ticket = t.start_upload(&user.token, "mine", "video/mp4", clip.len()).await.ok().clone();
    let video_id = ticket["video_id"].as_u64().unwrap();
    (ticket, video_id, format!("uploads/{video_id}"))
}

#[track_caller]
fn assert_put(response: &Response, statuses: &[u16]) {
    assert!(
        statuses.contains(&response.status),
        "PUT answered {}: {}",
        response.status,
        String::from_utf8_lossy(&response.body)
    );
}

/// The video as its author sees it once live.
async fn live_video(t: &TestApp, user: &Session, video_id: u64) -> serde_json::Value {
    let status = t.upload_status(&user.token, video_id).await;
    assert_eq!(status.ok()["state"], "live", "{}", status.body);
    status.body["video"].clone()
}

/// What a player gets from the video's links, and from the feed's.
async fn assert_serves(t: &TestApp, video: &serde_json::Value, clip: &[u8], cover: &[u8]) {
    let play = get_url(video["play_url"].as_str().unwrap()).await;
    assert_eq!(play.status, 200, "the live video's file is gone");
    assert!(play.body == clip, "the live video serves other bytes than the ones validated ({} bytes)", play.body.len());
    assert_eq!(get_url(video["cover_url"].as_str().unwrap()).await.body, cover, "the cover changed");
    let listed = t.feed(None, None).await.ok()["video_list"][0].clone();
    assert_eq!(listed["id"], video["id"]);
    assert!(get_url(listed["play_url"].as_str().unwrap()).await.body == clip, "the feed serves other bytes");
}

#[tokio::test]
async fn a_put_after_the_video_is_live_changes_nothing_that_is_served() {
    let t = TestApp::on_s3_emulator().await;
    let alice = t.new_user("alice").await;
    let clip = fixture(CLIP);
    let (ticket, video_id, key) = ticket(&t, &alice, &clip).await;
    assert_put(&put_ticket(&ticket, &clip).await, &[200]);
    assert_eq!(t.s3_created(&key).await, [IngestOutcome::Published(video_id)]);
    let video = live_video(&t, &alice, video_id).await;
    let cover = get_url(video["cover_url"].as_str().unwrap()).await.body;

    // The same URL (still valid for minutes), the same length, other bytes.
    let second = put_ticket(&ticket, &html(clip.len())).await;
    assert_put(&second, &[200, 412]);
    if second.status == 200 {
        // Its event: the upload is settled, the object is nobody's.
        assert_eq!(t.s3_created(&key).await, [IngestOutcome::Skipped]);
    }
    assert_serves(&t, &video, &clip, &cover).await;
    assert_eq!(t.upload_status(&alice.token, video_id).await.ok()["state"], "live");
    let play_url = video["play_url"].as_str().unwrap();
    assert!(!play_url.contains("/uploads/"), "served from a key the upload URL can write: {play_url}");
    assert_eq!(t.app.media().size(&key).await.unwrap(), None, "the published upload is deleted");
}

#[tokio::test]
async fn the_condition_cannot_be_left_out_of_the_put() {
    // The embedded engine checks signatures (moto does not): the header is
    // signed, so a PUT without it is refused before anything is written.
    let t = TestApp::new().await;
    let alice = t.new_user("alice").await;
    let clip = fixture(CLIP);
    let (ticket, _, key) = ticket(&t, &alice, &clip).await;
    let headers: Vec<(String, String)> = ticket["upload_headers"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(name, _)| name.as_str() != "if-none-match")
        .map(|(name, value)| (name.clone(), value.as_str().unwrap().to_owned()))
        .collect();
    let put = tests::http::send_url("PUT", ticket["upload_url"].as_str().unwrap(), &headers, &clip).await;
    assert_put(&put, &[403]);
    assert_eq!(t.app.media().size(&key).await.unwrap(), None);
}

#[tokio::test]
async fn the_upload_url_takes_one_put() {
    let t = TestApp::on_s3_emulator().await;
    let alice = t.new_user("alice").await;
    let clip = fixture(CLIP);
    let (ticket, video_id, key) = ticket(&t, &alice, &clip).await;
    let signed: Vec<&String> = ticket["upload_headers"].as_object().unwrap().keys().collect();
    assert!(signed.iter().any(|name| name.as_str() == "if-none-match"), "{signed:?}");
    assert_put(&put_ticket(&ticket, &clip).await, &[200]);
    // Before the ingest has run, a second PUT to the URL is refused by the store.
    let second = put_ticket(&ticket, &html(clip.len())).await;
    assert_put(&second, &[412]);
    assert_eq!(t.s3_created(&key).await, [IngestOutcome::Published(video_id)]);
    let video = live_video(&t, &alice, video_id).await;
    assert!(get_url(video["play_url"].as_str().unwrap()).await.body == clip);
}

/// Two PUTs of one ticket at once: S3 takes both in turn (or, without the
/// conditional header, both), and each fires an ingest. The interleaving that
/// broke: the late ingest reads the upload still pending, the first one
/// publishes, the second PUT's bytes land, and the late ingest reads them.
/// Here the late ingest is held before it reads the object (a [`Gate`]),
/// while the other publishes and the second PUT lands.
async fn race_with_a_second_put(second: impl Fn(usize) -> Vec<u8>) -> (TestApp, u64, Vec<u8>, Vec<u8>) {
    let t = TestApp::on_s3_emulator().await;
    let gate = Gate::before::<GetObjectInput>();
    let late = t.another_instance(vec![gate.interceptor()]).await;
    let alice = t.new_user("alice").await;
    let clip = fixture(CLIP);
    let (ticket, video_id, key) = ticket(&t, &alice, &clip).await;
    assert_put(&put_ticket(&ticket, &clip).await, &[200]);

    let late_key = key.clone();
    let late_ingest = tokio::spawn(async move { late.s3_created(&late_key).await });
    gate.reached().await;
    assert_eq!(t.s3_created(&key).await, [IngestOutcome::Published(video_id)]);
    let video = live_video(&t, &alice, video_id).await;
    let cover = get_url(video["cover_url"].as_str().unwrap()).await.body;
    let second = second(clip.len());
    assert_put(&put_ticket(&ticket, &second).await, &[200]);
    gate.open();

    assert_eq!(late_ingest.await.unwrap(), [IngestOutcome::Skipped], "the late ingest settled nothing");
    assert_serves(&t, &video, &clip, &cover).await;
    assert_eq!(t.upload_status(&alice.token, video_id).await.ok()["state"], "live");
    assert_eq!(t.user(Some(alice.id), None).await.ok()["user"]["work_count"], 1);
    (t, video_id, clip, second)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ingest_that_loses_the_race_to_junk_deletes_nothing_it_does_not_own() {
    // The late ingest reads a web page: it is refused, but the upload was
    // settled meanwhile, so its rejection changes nothing and deletes nothing.
    race_with_a_second_put(html).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ingest_that_loses_the_race_to_another_video_removes_only_its_own_objects() {
    // The late ingest reads another valid video: it stores it at its own keys,
    // its publish fails (the upload is live), and it removes what it stored.
    let other = |len| padded(&fixture("h264-320x240-2s.mp4"), len);
    let (t, video_id, _, second) = race_with_a_second_put(other).await;
    for key in [shared::videos::play_key(video_id, &second), shared::videos::cover_key(video_id, &second)] {
        assert_eq!(t.app.media().size(&key).await.unwrap(), None, "{key} left behind");
    }
}

#[tokio::test]
async fn concurrent_puts_of_one_ticket_store_exactly_one() {
    // The embedded engine's conditional writes are atomic per key (moto's
    // check is not, so this one runs on the embedded engine in both tiers).
    let t = TestApp::new().await;
    let alice = t.new_user("alice").await;
    let clip = fixture(CLIP);
    let (ticket, video_id, key) = ticket(&t, &alice, &clip).await;
    let bodies: Vec<Vec<u8>> = (0..8).map(|i| if i == 3 { clip.clone() } else { html(clip.len()) }).collect();
    let puts = futures_util::future::join_all(bodies.iter().map(|body| put_ticket(&ticket, body))).await;
    let statuses: Vec<u16> = puts.iter().map(|put| put.status).collect();
    assert_eq!(statuses.iter().filter(|status| **status == 200).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|status| **status == 412).count(), 7, "{statuses:?}");
    let stored = t.app.media().get(&key).await.unwrap().unwrap();
    let winner = statuses.iter().position(|status| *status == 200).unwrap();
    assert!(stored == bodies[winner], "the object is the accepted PUT's");
    let outcome = t.s3_created(&key).await;
    if winner == 3 {
        assert_eq!(outcome, [IngestOutcome::Published(video_id)]);
    } else {
        assert!(matches!(outcome[..], [IngestOutcome::Rejected(_)]), "{outcome:?}");
    }
}
