//! Every sample in `events/` is a real API Gateway HTTP API (v2) event: each is
//! loaded with `lambda_http::request::from_str` and pushed through its handler,
//! so the samples never rot.

use std::path::PathBuf;

use tests::{Reply, TestApp};

fn events_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../events")
}

fn event(name: &str) -> String {
    std::fs::read_to_string(events_dir().join(format!("{name}.json"))).unwrap()
}

/// A sample that needs a caller carries `{{token}}` in its query string: a
/// real token cannot live in the repository (it is signed and expires).
fn event_as(name: &str, token: &str) -> String {
    event(name).replace("{{token}}", token)
}

fn red_clip() -> Vec<u8> {
    tests::fixture("portrait-red-360x640-1s.mp4")
}

/// Runs the sample `name` in a fresh app, after whatever setup it needs, and
/// checks its answer.
async fn run_sample(name: &str) -> Reply {
    let t = TestApp::new().await;
    match name {
        "user-register" => {
            let reply = t.event(&event(name)).await;
            assert!(reply.ok()["token"].as_str().is_some_and(|token| !token.is_empty()));
            reply
        }
        "user-login" => {
            let alice = t.new_user("alice").await;
            let reply = t.event(&event(name)).await;
            assert_eq!(reply.ok()["user_id"], alice.id);
            reply
        }
        "user-info" => {
            // The sample asks for user 1: the first id of a fresh table.
            let alice = t.new_user("alice").await;
            assert_eq!(alice.id, 1);
            let reply = t.event(&event(name)).await;
            assert_eq!(reply.ok()["user"]["name"], "alice");
            reply
        }
        "feed" => {
            let alice = t.new_user("alice").await;
            t.publish(&alice.token, "first", &red_clip()).await.ok();
            let reply = t.event(&event(name)).await;
            assert_eq!(reply.ok()["video_list"][0]["title"], "first");
            reply
        }
        "publish-action" => {
            let alice = t.new_user("alice").await;
            let reply = t.event(&event_as(name, &alice.token)).await;
            reply.ok();
            assert_eq!(t.feed(None, None).await.ok()["video_list"][0]["title"], "red sample");
            reply
        }
        "publish-list" => {
            let alice = t.new_user("alice").await;
            assert_eq!(alice.id, 1);
            t.publish(&alice.token, "mine", &red_clip()).await.ok();
            let reply = t.event(&event(name)).await;
            assert_eq!(reply.ok()["video_list"][0]["author"]["id"], 1);
            reply
        }
        "publish-upload" => {
            let alice = t.new_user("alice").await;
            let reply = t.event(&event_as(name, &alice.token)).await;
            let ticket = reply.ok().clone();
            assert_eq!(tests::http::put_ticket(&ticket, &red_clip()).await.status, 200);
            reply
        }
        "publish-status" => {
            let alice = t.new_user("alice").await;
            let ticket = t.start_upload(&alice.token, "later", "video/mp4", 10).await;
            assert_eq!(ticket.ok()["video_id"], 2);
            let reply = t.event(&event_as(name, &alice.token)).await;
            assert_eq!(reply.ok()["state"], "pending");
            reply
        }
        "video-ingest" => {
            let alice = t.new_user("alice").await;
            let clip = red_clip();
            let ticket = t.start_upload(&alice.token, "ingested", "video/mp4", clip.len()).await.ok().clone();
            assert_eq!(ticket["video_id"], 2);
            assert_eq!(tests::http::put_ticket(&ticket, &clip).await.status, 200);
            let event: aws_lambda_events::event::s3::S3Event = serde_json::from_str(&event(name)).unwrap();
            let outcomes = functions::video_ingest::handle(&t.app, event).await.unwrap();
            assert_eq!(outcomes, [shared::videos::IngestOutcome::Published(2)]);
            t.feed(None, None).await
        }
        "favorite-action"
        | "favorite-list"
        | "comment-action"
        | "comment-list"
        | "relation-action"
        | "relation-follow-list"
        | "relation-follower-list"
        | "relation-friend-list" => interaction_sample(&t, name).await,
        "message-action" | "message-chat" => {
            let alice = t.new_user("alice").await;
            let bob = t.new_user("bob").await;
            t.send_message(&alice.token, bob.id, "hello bob").await.ok();
            let reply = t.event(&event_as(name, &bob.token)).await;
            let chat = t.chat(&bob.token, alice.id, None).await;
            let texts: Vec<String> = chat.ok()["message_list"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["content"].as_str().unwrap().to_owned())
                .collect();
            if name == "message-action" {
                assert_eq!(texts, ["hello bob", "hi alice"]);
            } else {
                assert_eq!(reply.ok()["message_list"][0]["content"], "hello bob");
            }
            reply
        }
        "message-consumer" => {
            let alice = t.new_user("alice").await;
            let bob = t.new_user("bob").await;
            let event: aws_lambda_events::event::sqs::SqsEvent = serde_json::from_str(&event(name)).unwrap();
            let consumer = shared::chat::ChatConsumer::new(&t.app);
            use shared::queue::Consumer as _;
            for _ in 0..2 {
                let report = consumer.consume(functions::lambda::deliveries(event.clone())).await;
                assert!(functions::lambda::batch_response(report).batch_item_failures.is_empty());
            }
            let chat = t.chat(&alice.token, bob.id, None).await;
            assert_eq!(chat.ok()["message_list"].as_array().unwrap().len(), 1);
            chat
        }
        "route-fallback" => {
            let reply = t.event(&event(name)).await;
            assert_eq!((reply.http_status, reply.code()), (404, 10004));
            reply
        }
        other => panic!("events/{other}.json has no scenario in tests/it/events.rs"),
    }
}

/// The interaction samples share one cast: alice (user 1) publishes video 2,
/// bob (user 3) likes it, comments on it, and follows alice, who follows back.
async fn interaction_sample(t: &TestApp, name: &str) -> Reply {
    let alice = t.new_user("alice").await;
    let video = t.new_video(&alice.token, "cast").await;
    let bob = t.new_user("bob").await;
    assert_eq!((alice.id, video, bob.id), (1, 2, 3));
    if name != "favorite-action" {
        t.favorite(&bob.token, video, 1).await.ok();
    }
    if name != "relation-action" {
        t.relation(&bob.token, alice.id, 1).await.ok();
        t.relation(&alice.token, bob.id, 1).await.ok();
    }
    if name != "comment-action" {
        t.comment(&bob.token, video, "first").await.ok();
    }
    let reply = t.event(&event_as(name, &bob.token)).await;
    let body = reply.ok().clone();
    match name {
        "favorite-action" => assert_eq!(t.user_counters(bob.id).await["favorite_count"], 1),
        "favorite-list" => assert_eq!(body["video_list"][0]["id"], 2),
        "comment-action" => assert_eq!(body["comment"]["content"], "nice video"),
        "comment-list" => assert_eq!(body["comment_list"][0]["content"], "first"),
        "relation-action" => assert_eq!(t.user_counters(alice.id).await["follower_count"], 1),
        "relation-follow-list" | "relation-friend-list" => assert_eq!(body["user_list"][0]["id"], 1),
        _ => assert_eq!(body["user_list"][0]["id"], 3),
    }
    reply
}

#[tokio::test]
async fn every_event_sample_runs_through_its_handler() {
    let mut names: Vec<String> = std::fs::read_dir(events_dir())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter_map(|file| file.strip_suffix(".json").map(str::to_owned))
        .collect();
    names.sort();
    assert!(names.len() >= 21, "{names:?}");
    for name in names {
        run_sample(&name).await;
    }
}

#[tokio::test]
async fn every_lambda_bin_has_an_event_sample() {
    let bins = std::fs::read_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../functions/src/bin")).unwrap();
    for entry in bins {
        let file = entry.unwrap().file_name().to_string_lossy().into_owned();
        let name = file.strip_suffix(".rs").unwrap();
        if name == "douyin-local" {
            continue;
        }
        assert!(events_dir().join(format!("{name}.json")).exists(), "events/{name}.json is missing");
    }
}
