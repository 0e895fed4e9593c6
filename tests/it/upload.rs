//! The presigned upload: ticket, PUT straight to the store, S3 event, ingest,
//! status. Through the handlers here; through the local server's own S3
//! engine and automatic event in `local_server`.

use shared::videos::IngestOutcome;
use tests::http::{get_url, put_ticket, send_url};
use tests::{TestApp, fixture};

#[tokio::test]
async fn presigned_upload_goes_live_after_the_s3_event() {
    let t = TestApp::new().await;
    let alice = t.new_user("alice").await;
    let clip = fixture("h264-aac-640x360-1s.mp4");
    let ticket = t.start_upload(&alice.token, "big one", "video/mp4", clip.len()).await.ok().clone();
    let video_id = ticket["video_id"].as_u64().unwrap();
    assert_eq!(ticket["upload_method"], "PUT");
    assert!(ticket["expires_in"].as_u64().unwrap() <= 900);
    assert_eq!(t.upload_status(&alice.token, video_id).await.ok()["state"], "pending");

    let put = put_ticket(&ticket, &clip).await;
    assert_eq!(put.status, 200, "{}", String::from_utf8_lossy(&put.body));
    let key = format!("uploads/{video_id}");
    assert_eq!(t.s3_created(&key).await, [IngestOutcome::Published(video_id)]);

    let status = t.upload_status(&alice.token, video_id).await;
    assert_eq!(status.ok()["state"], "live");
    assert_eq!(status.body["video"]["id"], video_id);
    let video = t.feed(None, None).await.ok()["video_list"][0].clone();
    assert_eq!((video["id"].as_u64(), video["title"].as_str()), (Some(video_id), Some("big one")));
    // The clip has `moov` at the end: it is stored fast start.
    crate::phones::assert_fast_start_copy_of(&get_url(video["play_url"].as_str().unwrap()).await.body, &clip);
}

/// The ingest's runbook (template.yaml, IngestDeadLetterQueue): an ingest that
/// failed every try waits in the dead-letter queue; once its cause is fixed,
/// the event is replayed. However late within the queue's 14 days, the replay
/// publishes the upload: its record has not expired.
#[tokio::test]
async fn a_failed_ingest_replayed_on_the_dead_letter_queues_last_day_publishes() {
    const HOUR: u64 = 3600;
    let t = TestApp::new().await;
    let alice = t.new_user("alice").await;
    let clip = fixture("h264-320x240-2s.mp4");
    let ticket = t.start_upload(&alice.token, "late", "video/mp4", clip.len()).await.ok().clone();
    let video_id = ticket["video_id"].as_u64().unwrap();
    assert_eq!(put_ticket(&ticket, &clip).await.status, 200);
    // The event failed (say the ingest had a bug) and went to the queue. The
    // latest a replay can come: the PUT an hour after the ticket (the longest
    // upload link), 6 hours of Lambda retries, 14 days in the queue.
    tests::invariants::rewind(&t, &format!("UPLOAD#{video_id}"), "UPLOAD", 14 * 24 * HOUR + 7 * HOUR).await;
    tests::invariants::expire_ttl(&t).await;

    let key = format!("uploads/{video_id}");
    assert_eq!(t.s3_created(&key).await, [IngestOutcome::Published(video_id)]);
    assert_eq!(t.upload_status(&alice.token, video_id).await.ok()["state"], "live");
    assert_eq!(t.feed(None, None).await.ok()["video_list"][0]["id"], video_id);
}

/// Past its record's life an upload's object is an orphan: the event deletes it.
#[tokio::test]
async fn an_ingest_replayed_after_its_record_expired_deletes_the_orphan_object() {
    let t = TestApp::new().await;
    let alice = t.new_user("alice").await;
    let clip = fixture("h264-320x240-2s.mp4");
    let ticket = t.start_upload(&alice.token, "too late", "video/mp4", clip.len()).await.ok().clone();
    let video_id = ticket["video_id"].as_u64().unwrap();
    assert_eq!(put_ticket(&ticket, &clip).await.status, 200);
    let ttl = shared::videos::UPLOAD_RECORD_TTL.as_secs();
    tests::invariants::rewind(&t, &format!("UPLOAD#{video_id}"), "UPLOAD", ttl + 60).await;
    assert_eq!(tests::invariants::expire_ttl(&t).await, 1);
    let key = format!("uploads/{video_id}");
    assert_eq!(t.s3_created(&key).await, [IngestOutcome::Skipped]);
    assert_eq!(t.app.media().size(&key).await.unwrap(), None);
}

#[tokio::test]
async fn a_repeated_s3_event_publishes_once() {
    let t = TestApp::new().await;
    let alice = t.new_user("alice").await;
    let clip = fixture("h264-320x240-2s.mp4");
    let ticket = t.start_upload(&alice.token, "once", "video/mp4", clip.len()).await.ok().clone();
    let video_id = ticket["video_id"].as_u64().unwrap();
    assert_eq!(put_ticket(&ticket, &clip).await.status, 200);
    let key = format!("uploads/{video_id}");
    let (first, second) = tokio::join!(t.s3_created(&key), t.s3_created(&key));
    let third = t.s3_created(&key).await;
    let published =
        [first, second, third].concat().into_iter().filter(|o| *o == IngestOutcome::Published(video_id)).count();
    assert_eq!(published, 1);
    assert_eq!(t.user(Some(alice.id), None).await.ok()["user"]["work_count"], 1);
    assert_eq!(t.feed(None, None).await.ok()["video_list"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn an_upload_that_is_not_a_video_is_rejected_deleted_and_explained() {
    let t = TestApp::new().await;
    let alice = t.new_user("alice").await;
    let junk = fixture("not-a-video.mp4");
    let ticket = t.start_upload(&alice.token, "junk", "video/mp4", junk.len()).await.ok().clone();
    let video_id = ticket["video_id"].as_u64().unwrap();
    assert_eq!(put_ticket(&ticket, &junk).await.status, 200);
    let key = format!("uploads/{video_id}");
    assert!(matches!(t.s3_created(&key).await[..], [IngestOutcome::Rejected(_)]));
    let status = t.upload_status(&alice.token, video_id).await;
    assert_eq!(status.ok()["state"], "rejected");
    assert!(status.body["reason"].as_str().unwrap().contains("not an MP4 or MOV"), "{}", status.body);
    assert_eq!(status.body["video"], serde_json::Value::Null);
    assert_eq!(t.app.media().size(&key).await.unwrap(), None, "the rejected object is deleted");
    assert_eq!(t.feed(None, None).await.ok()["video_list"], serde_json::json!([]));
    assert_eq!(t.user(Some(alice.id), None).await.ok()["user"]["work_count"], 0);
}

#[tokio::test]
async fn the_store_refuses_a_put_of_another_size_or_type() {
    let t = TestApp::new().await;
    let alice = t.new_user("alice").await;
    let clip = fixture("h264-320x240-2s.mp4");
    let ticket = t.start_upload(&alice.token, "x", "video/mp4", clip.len()).await.ok().clone();
    let url = ticket["upload_url"].as_str().unwrap();
    let wrong_type = vec![
        ("content-type".to_owned(), "video/quicktime".to_owned()),
        ("content-length".to_owned(), clip.len().to_string()),
    ];
    assert_eq!(send_url("PUT", url, &wrong_type, &clip).await.status, 403);
    let shorter = &clip[..clip.len() - 10];
    let wrong_size = vec![
        ("content-type".to_owned(), "video/mp4".to_owned()),
        ("content-length".to_owned(), shorter.len().to_string()),
    ];
    assert_eq!(send_url("PUT", url, &wrong_size, shorter).await.status, 403);
}

#[tokio::test]
async fn an_object_of_another_size_than_declared_is_rejected() {
    let t = TestApp::new().await;
    let alice = t.new_user("alice").await;
    let clip = fixture("h264-320x240-2s.mp4");
    let ticket = t.start_upload(&alice.token, "x", "video/mp4", clip.len() + 5).await.ok().clone();
    let video_id = ticket["video_id"].as_u64().unwrap();
    // Written behind the ticket's back, as a misbehaving client with store access could.
    let key = format!("uploads/{video_id}");
    t.app.media().put(&key, clip.into(), "video/mp4").await.unwrap();
    assert!(matches!(t.s3_created(&key).await[..], [IngestOutcome::Rejected(_)]));
    assert_eq!(t.upload_status(&alice.token, video_id).await.ok()["state"], "rejected");
}

#[tokio::test]
async fn stray_objects_and_unknown_keys_are_ignored_or_removed() {
    let t = TestApp::new().await;
    t.app.media().put("uploads/424242", bytes::Bytes::from_static(b"x"), "video/mp4").await.unwrap();
    assert_eq!(t.s3_created("uploads/424242").await, [IngestOutcome::Skipped]);
    assert_eq!(t.app.media().size("uploads/424242").await.unwrap(), None);
    assert_eq!(t.s3_created("covers/1.jpg").await, [IngestOutcome::Skipped]);
}

#[tokio::test]
async fn upload_requests_are_checked_before_anything_is_signed() {
    let t = TestApp::new().await;
    let alice = t.new_user("alice").await;
    let wrong_type = t.start_upload(&alice.token, "x", "image/png", 100).await;
    assert_eq!(wrong_type.code(), 10007);
    assert!(wrong_type.msg().contains("video/mp4"));
    let too_big = t.start_upload(&alice.token, "x", "video/mp4", 1 << 40).await;
    assert_eq!(too_big.code(), 10007);
    assert_eq!(t.start_upload(&alice.token, "x", "video/mp4", 0).await.code(), 10007);
    assert_eq!(t.start_upload("", "x", "video/mp4", 100).await.code(), 10002);
    assert_eq!(t.start_upload(&alice.token, "", "video/mp4", 100).await.code(), 10001);
    let bad_length = t
        .call(
            lambda_http::http::Method::POST,
            "/douyin/publish/upload/",
            &[("token", &alice.token), ("title", "x"), ("content_type", "video/mp4"), ("content_length", "lots")],
        )
        .await;
    assert_eq!(bad_length.code(), 10001);
}

#[tokio::test]
async fn another_users_upload_status_is_not_found() {
    let t = TestApp::new().await;
    let alice = t.new_user("alice").await;
    let bob = t.new_user("bob").await;
    let ticket = t.start_upload(&alice.token, "mine", "video/mp4", 100).await.ok().clone();
    let video_id = ticket["video_id"].as_u64().unwrap();
    assert_eq!(t.upload_status(&bob.token, video_id).await.code(), 10004);
    assert_eq!(t.upload_status(&alice.token, video_id + 1000).await.code(), 10004);
}
