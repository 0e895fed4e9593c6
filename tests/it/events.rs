//! Every sample in `events/` is a real API Gateway HTTP API (v2) event: each is
//! loaded with `lambda_http::request::from_str` and pushed through its handler,
//! so the samples never rot. A request sample runs on the samples' cast
//! (`tests::samples`) as bob: a new endpoint's sample needs no change here.

use tests::samples::{self, event, event_as};
use tests::{Reply, TestApp};

fn red_clip() -> Vec<u8> {
    tests::fixture("portrait-red-360x640-1s.mp4")
}

/// Runs the sample `name` in a fresh app, on the samples' cast unless it needs
/// a world of its own, and checks its answer.
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
        _ => on_the_cast(&t, name).await,
    }
}

/// The request sample `name` on the samples' cast, as bob: it must succeed,
/// and where this file knows the endpoint, do what it says.
async fn on_the_cast(t: &TestApp, name: &str) -> Reply {
    assert!(samples::is_request(name), "events/{name}.json: not an API Gateway request, give it a world above");
    let cast = samples::cast(t).await;
    let (alice, bob) = (&cast.alice, &cast.bob);
    // A read finds something to show.
    match name {
        "favorite-list" => drop(t.favorite(&bob.token, cast.video, 1).await.ok()),
        "comment-list" => drop(t.comment(&bob.token, cast.video, "first").await.ok()),
        "relation-follow-list" | "relation-follower-list" | "relation-friend-list" => {
            t.relation(&bob.token, alice.id, 1).await.ok();
            t.relation(&alice.token, bob.id, 1).await.ok();
        }
        "message-chat" => drop(t.send_message(&alice.token, bob.id, "hello bob").await.ok()),
        _ => {}
    }
    let reply = t.event(&event_as(name, &bob.token)).await;
    let body = reply.ok().clone();
    match name {
        "feed" => assert_eq!(body["video_list"][0]["title"], "cast"),
        "user-info" => assert_eq!(body["user"]["name"], "alice"),
        "publish-action" => assert_eq!(t.feed(None, None).await.ok()["video_list"][0]["title"], "red sample"),
        "publish-list" => assert_eq!(body["video_list"][0]["author"]["id"], alice.id),
        "publish-upload" => assert_eq!(tests::http::put_ticket(&body, &red_clip()).await.status, 200),
        "publish-status" => {
            assert_eq!((body["video_id"].as_u64(), &body["state"]), (Some(cast.upload), &"pending".into()))
        }
        "favorite-action" => assert_eq!(t.user_counters(bob.id).await["favorite_count"], 1),
        "favorite-list" => assert_eq!(body["video_list"][0]["id"], cast.video),
        "comment-action" => assert_eq!(body["comment"]["content"], "nice video"),
        "comment-list" => assert_eq!(body["comment_list"][0]["content"], "first"),
        "relation-action" => assert_eq!(t.user_counters(alice.id).await["follower_count"], 1),
        "relation-follow-list" | "relation-friend-list" => assert_eq!(body["user_list"][0]["id"], alice.id),
        "relation-follower-list" => assert_eq!(body["user_list"][0]["id"], bob.id),
        "message-action" => {
            let chat = t.chat(&alice.token, bob.id, None).await;
            assert_eq!(chat.ok()["message_list"][0]["content"], "hi alice");
        }
        "message-chat" => assert_eq!(body["message_list"][0]["content"], "hello bob"),
        // An endpoint this file does not know: its sample succeeded (above).
        _ => {}
    }
    reply
}

#[tokio::test]
async fn every_event_sample_runs_through_its_handler() {
    let names = samples::names();
    assert!(names.len() >= 21, "{names:?}");
    for name in names {
        run_sample(&name).await;
    }
}

#[tokio::test]
async fn every_lambda_bin_has_an_event_sample() {
    let bins =
        std::fs::read_dir(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../functions/src/bin")).unwrap();
    for entry in bins {
        let file = entry.unwrap().file_name().to_string_lossy().into_owned();
        let name = file.strip_suffix(".rs").unwrap();
        if name == "douyin-local" {
            continue;
        }
        assert!(samples::events_dir().join(format!("{name}.json")).exists(), "events/{name}.json is missing");
    }
}
