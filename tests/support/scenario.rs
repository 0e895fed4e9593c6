//! The benchmark scenario, shared by the benchmarks (`tests/bench`) and the
//! request-count tests: a cast with `n` of everything (videos, likes,
//! comments, friends, messages), and one request per endpoint acting on it.

use lambda_http::Body;
use lambda_http::http::{Method, Request};

use shared::telemetry::CallCount;

use crate::{Session, TestApp, fixture, form_encode};

/// One benchmarked call: a label and how to build its request (the n-th call).
pub struct Case {
    /// The endpoint, and how it is called.
    pub label: &'static str,
    /// Builds the n-th request.
    pub request: Box<dyn Fn(usize) -> Request<Body>>,
}

/// A GET with `params` in the query.
pub fn get(path: &str, params: &[(&str, &str)]) -> Request<Body> {
    let uri = format!("{path}?{}", form_encode(params));
    Request::builder().method(Method::GET).uri(uri).body(Body::Empty).unwrap()
}

/// A POST with `params` in the query, as the stock client sends them.
pub fn post(path: &str, params: &[(&str, &str)]) -> Request<Body> {
    let uri = format!("{path}?{}", form_encode(params));
    Request::builder().method(Method::POST).uri(uri).body(Body::Empty).unwrap()
}

/// The cast of [`cast`].
pub struct Cast {
    /// Publishes `n` videos; has `n` friends, follows and followers.
    pub alice: Session,
    /// Likes `n` videos, comments `n` times, exchanges `n` messages with alice.
    pub bob: Session,
    /// One of the videos bob likes.
    pub liked: u64,
    /// The video with `n` comments.
    pub commented: u64,
}

/// Sends `request` and returns the DynamoDB calls it made; it must succeed.
pub async fn calls_of(t: &TestApp, request: Request<Body>) -> CallCount {
    let before = t.app.dynamodb_calls.snapshot();
    let reply = t.send(request).await;
    let used = t.app.dynamodb_calls.snapshot() - before;
    reply.ok();
    used
}

/// alice publishes `n` videos; bob likes all of them and comments `n` times on
/// one; `n` fans and alice follow each other (`n` friends); bob follows alice,
/// and alice and bob exchange `n` messages.
pub async fn cast(t: &TestApp, n: usize) -> Cast {
    let clip = fixture("portrait-red-360x640-1s.mp4");
    let alice = t.new_user("alice").await;
    let bob = t.new_user("bob").await;
    let mut videos = Vec::new();
    for n in 0..n {
        t.publish(&alice.token, &format!("video {n}"), &clip).await.ok();
    }
    let listed = t.publish_list(alice.id, None).await;
    for video in listed.ok()["video_list"].as_array().unwrap() {
        videos.push(video["id"].as_u64().unwrap());
    }
    for video in &videos {
        t.favorite(&bob.token, *video, 1).await.ok();
    }
    for n in 0..n {
        t.comment(&bob.token, videos[0], &format!("comment {n}")).await.ok();
    }
    for n in 0..n {
        let fan = t.new_user(&format!("fan{n}")).await;
        t.relation(&fan.token, alice.id, 1).await.ok();
        t.relation(&alice.token, fan.id, 1).await.ok();
    }
    t.relation(&bob.token, alice.id, 1).await.ok();
    for n in 0..n {
        let (from, to) = if n % 2 == 0 { (&alice, &bob) } else { (&bob, &alice) };
        t.send_message(&from.token, to.id, &format!("message {n}")).await.ok();
    }
    // The consumer's writes would otherwise overlap the calls counted next.
    t.chat.wait_idle().await;
    Cast { liked: videos[videos.len() - 1], commented: videos[0], alice, bob }
}

/// One request per endpoint of the contract (reads first, then writes that
/// leave the cast as it was or only add to it), acting on `cast`.
pub fn cases(cast: &Cast) -> Vec<Case> {
    let (a, b) = (cast.alice.clone(), cast.bob.clone());
    let (a_id, b_id) = (a.id.to_string(), b.id.to_string());
    let video = cast.liked.to_string();
    let mut cases: Vec<Case> = Vec::new();
    macro_rules! case {
        ($label:expr, $build:expr) => {
            cases.push(Case { label: $label, request: Box::new($build) })
        };
    }
    case!("feed (anonymous)", |_| get("/douyin/feed/", &[]));
    let token = b.token.clone();
    case!("feed (as bob)", move |_| get("/douyin/feed/", &[("token", &token)]));
    let (token, id) = (b.token.clone(), a_id.clone());
    case!("user-info", move |_| get("/douyin/user/", &[("token", &token), ("user_id", &id)]));
    let (token, id) = (b.token.clone(), a_id.clone());
    case!("publish-list", move |_| get("/douyin/publish/list/", &[("token", &token), ("user_id", &id)]));
    let (token, id) = (b.token.clone(), b_id.clone());
    case!("favorite-list", move |_| get("/douyin/favorite/list/", &[("token", &token), ("user_id", &id)]));
    let (token, v) = (b.token.clone(), cast.commented.to_string());
    case!("comment-list", move |_| get("/douyin/comment/list/", &[("token", &token), ("video_id", &v)]));
    for (label, path) in [
        ("relation-follow-list", "/douyin/relation/follow/list/"),
        ("relation-follower-list", "/douyin/relation/follower/list/"),
        ("relation-friend-list", "/douyin/relation/friend/list/"),
    ] {
        let (token, id) = (a.token.clone(), a_id.clone());
        case!(label, move |_| get(path, &[("token", &token), ("user_id", &id)]));
    }
    let (token, id) = (a.token.clone(), b_id.clone());
    case!("message-chat", move |_| get(
        "/douyin/message/chat/",
        &[("token", &token), ("to_user_id", &id), ("pre_msg_time", "0")]
    ));
    let (token, v) = (b.token.clone(), video.clone());
    // Alternates unlike/like: every call changes the edge.
    case!("favorite-action", move |n| {
        let action = if n % 2 == 0 { "1" } else { "2" };
        post("/douyin/favorite/action/", &[("token", &token), ("video_id", &v), ("action_type", action)])
    });
    let (token, id) = (b.token.clone(), a_id.clone());
    case!("relation-action", move |n| {
        let action = if n % 2 == 0 { "1" } else { "2" };
        post("/douyin/relation/action/", &[("token", &token), ("to_user_id", &id), ("action_type", action)])
    });
    let (token, v) = (b.token.clone(), video.clone());
    case!("comment-action", move |n| {
        let text = format!("benchmark comment {n}");
        post(
            "/douyin/comment/action/",
            &[("token", &token), ("video_id", &v), ("action_type", "1"), ("comment_text", &text)],
        )
    });
    let (token, id) = (b.token.clone(), a_id.clone());
    case!("message-action", move |n| {
        let text = format!("benchmark message {n}");
        post(
            "/douyin/message/action/",
            &[("token", &token), ("to_user_id", &id), ("action_type", "1"), ("content", &text)],
        )
    });
    cases
}
