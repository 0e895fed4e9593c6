//! Object-level authorization (BOLA): mallory, with her own valid token, aims
//! every endpoint that takes an object id at alice's and carol's objects. Each
//! attempt gets the contract's answer and leaves everything alice and carol
//! have exactly as it was; parameters that name another user (`user_id`,
//! `from_user_id`) never make mallory act or read as them.

use lambda_http::http::Method;
use tests::snapshot::snapshot;
use tests::{Session, TestApp};

/// alice and carol, their objects, and mallory with a video of her own.
struct World {
    alice: Session,
    carol: Session,
    mallory: Session,
    /// alice's video: alice's comment and carol's comment on it.
    alice_video: u64,
    alice_comment: u64,
    carols_comment_on_alices_video: u64,
    /// carol's video, which alice likes, with alice's comment on it.
    carol_video: u64,
    alices_comment_on_carols_video: u64,
    mallory_video: u64,
    /// alice's pending presigned upload.
    alice_upload: u64,
}

async fn world(t: &TestApp) -> World {
    let alice = t.new_user("alice").await;
    let carol = t.new_user("carol").await;
    let mallory = t.new_user("mallory").await;
    let alice_video = t.new_video(&alice.token, "alice's").await;
    let carol_video = t.new_video(&carol.token, "carol's").await;
    let mallory_video = t.new_video(&mallory.token, "mallory's").await;
    let comment = |reply: tests::Reply| reply.ok()["comment"]["id"].as_u64().unwrap();
    let alice_comment = comment(t.comment(&alice.token, alice_video, "alice on alice").await);
    let carols_comment_on_alices_video = comment(t.comment(&carol.token, alice_video, "carol on alice").await);
    let alices_comment_on_carols_video = comment(t.comment(&alice.token, carol_video, "alice on carol").await);
    t.favorite(&alice.token, carol_video, 1).await.ok();
    t.relation(&alice.token, carol.id, 1).await.ok();
    t.relation(&carol.token, alice.id, 1).await.ok();
    t.send_message(&alice.token, carol.id, "private to carol").await.ok();
    t.send_message(&carol.token, alice.id, "private to alice").await.ok();
    let upload = t.start_upload(&alice.token, "alice's upload", "video/mp4", 1000).await;
    let alice_upload = upload.ok()["video_id"].as_u64().unwrap();
    World {
        alice,
        carol,
        mallory,
        alice_video,
        alice_comment,
        carols_comment_on_alices_video,
        carol_video,
        alices_comment_on_carols_video,
        mallory_video,
        alice_upload,
    }
}

/// One of mallory's attempts: the endpoint, its parameters (her token is
/// added), and the `status_code` the contract gives it.
struct Attempt {
    label: &'static str,
    method: Method,
    path: &'static str,
    params: Vec<(&'static str, String)>,
    expected: i64,
}

fn attempts(w: &World) -> Vec<Attempt> {
    let id = |n: u64| n.to_string();
    let post = |label, path, params: &[(&'static str, String)], expected| Attempt {
        label,
        method: Method::POST,
        path,
        params: params.to_vec(),
        expected,
    };
    let get = |label, path, params: &[(&'static str, String)], expected| Attempt {
        label,
        method: Method::GET,
        path,
        params: params.to_vec(),
        expected,
    };
    let comment_delete = "/douyin/comment/action/";
    vec![
        post(
            "delete alice's comment on alice's video",
            comment_delete,
            &[("video_id", id(w.alice_video)), ("action_type", "2".into()), ("comment_id", id(w.alice_comment))],
            10003,
        ),
        post(
            "delete carol's comment on alice's video",
            comment_delete,
            &[
                ("video_id", id(w.alice_video)),
                ("action_type", "2".into()),
                ("comment_id", id(w.carols_comment_on_alices_video)),
            ],
            10003,
        ),
        post(
            "delete alice's comment on carol's video",
            comment_delete,
            &[
                ("video_id", id(w.carol_video)),
                ("action_type", "2".into()),
                ("comment_id", id(w.alices_comment_on_carols_video)),
            ],
            10003,
        ),
        // mallory is the author of her own video: naming it must not make her
        // the "video's author" of a comment that is on another video.
        post(
            "delete alice's comment through mallory's own video",
            comment_delete,
            &[
                ("video_id", id(w.mallory_video)),
                ("action_type", "2".into()),
                ("comment_id", id(w.alices_comment_on_carols_video)),
            ],
            10004,
        ),
        post(
            "delete alice's comment on alice's video, as user_id alice",
            comment_delete,
            &[
                ("user_id", id(w.alice.id)),
                ("video_id", id(w.alice_video)),
                ("action_type", "2".into()),
                ("comment_id", id(w.alice_comment)),
            ],
            10003,
        ),
        get("status of alice's upload", "/douyin/publish/status/", &[("video_id", id(w.alice_upload))], 10004),
        get(
            "status of alice's upload, as user_id alice",
            "/douyin/publish/status/",
            &[("user_id", id(w.alice.id)), ("video_id", id(w.alice_upload))],
            10004,
        ),
        // Acting "as alice" through extra parameters: each acts as mallory,
        // for whom it changes nothing (she never liked or followed).
        post(
            "unlike carol's video as user_id alice",
            "/douyin/favorite/action/",
            &[("user_id", id(w.alice.id)), ("video_id", id(w.carol_video)), ("action_type", "2".into())],
            0,
        ),
        post(
            "unfollow carol as user_id / from_user_id alice",
            "/douyin/relation/action/",
            &[
                ("user_id", id(w.alice.id)),
                ("from_user_id", id(w.alice.id)),
                ("to_user_id", id(w.carol.id)),
                ("action_type", "2".into()),
            ],
            0,
        ),
        get("alice's friend list", "/douyin/relation/friend/list/", &[("user_id", id(w.alice.id))], 10003),
        get("carol's friend list", "/douyin/relation/friend/list/", &[("user_id", id(w.carol.id))], 10003),
        get(
            "alice's chat with carol, as user_id / from_user_id alice",
            "/douyin/message/chat/",
            &[("user_id", id(w.alice.id)), ("from_user_id", id(w.alice.id)), ("to_user_id", id(w.carol.id))],
            0,
        ),
    ]
}

#[tokio::test]
async fn another_users_objects_cannot_be_changed_or_read_and_nothing_changes() {
    let t = TestApp::new().await;
    let w = world(&t).await;
    let before = snapshot(&t, &[&w.alice, &w.carol]).await;
    for attempt in attempts(&w) {
        let mut params: Vec<(&str, &str)> = vec![("token", &w.mallory.token)];
        params.extend(attempt.params.iter().map(|(k, v)| (*k, v.as_str())));
        let reply = t.call(attempt.method.clone(), attempt.path, &params).await;
        assert_eq!((reply.http_status, reply.code()), (200, attempt.expected), "{}: {}", attempt.label, reply.body);
        if attempt.expected != 0 {
            let keys: Vec<&String> = reply.body.as_object().unwrap().keys().collect();
            assert_eq!(keys, ["status_code", "status_msg"], "{}: an error carries nothing else", attempt.label);
        }
        // Read answers hold nothing of alice and carol's conversation.
        assert!(!reply.body.to_string().contains("private to"), "{}: {}", attempt.label, reply.body);
        let after = snapshot(&t, &[&w.alice, &w.carol]).await;
        assert_eq!(after, before, "{} changed alice's or carol's state", attempt.label);
    }
    // The same attempts with the owner's token are allowed (the cases are live).
    let alice_deletes = t.delete_comment(&w.alice.token, w.alice_video, w.carols_comment_on_alices_video).await;
    alice_deletes.ok();
    assert_eq!(t.upload_status(&w.alice.token, w.alice_upload).await.ok()["state"], "pending");
}

#[tokio::test]
async fn writes_naming_another_user_act_as_the_caller() {
    let t = TestApp::new().await;
    let w = world(&t).await;
    let before = snapshot(&t, &[&w.alice, &w.carol]).await;
    let (mallory, alice) = (&w.mallory, w.alice.id.to_string());
    let carol = w.carol.id.to_string();

    // A message "from alice" is mallory's, in mallory's conversation.
    let params = [
        ("token", mallory.token.as_str()),
        ("from_user_id", alice.as_str()),
        ("user_id", alice.as_str()),
        ("to_user_id", carol.as_str()),
        ("action_type", "1"),
        ("content", "spoofed"),
    ];
    t.call(Method::POST, "/douyin/message/action/", &params).await.ok();
    let chat = t.chat(&w.carol.token, mallory.id, None).await;
    let sent = &chat.ok()["message_list"][0];
    assert_eq!((sent["from_user_id"].as_u64(), sent["content"].as_str()), (Some(mallory.id), Some("spoofed")));

    // A comment "by alice" is mallory's.
    let video = w.mallory_video.to_string();
    let params = [
        ("token", mallory.token.as_str()),
        ("user_id", alice.as_str()),
        ("video_id", video.as_str()),
        ("action_type", "1"),
        ("comment_text", "spoofed"),
    ];
    let posted = t.call(Method::POST, "/douyin/comment/action/", &params).await;
    assert_eq!(posted.ok()["comment"]["user"]["id"].as_u64(), Some(mallory.id));

    // A like and a follow "as alice" are mallory's.
    let params = [("token", mallory.token.as_str()), ("user_id", alice.as_str()), ("video_id", video.as_str())];
    let mut like = params.to_vec();
    like.push(("action_type", "1"));
    t.call(Method::POST, "/douyin/favorite/action/", &like).await.ok();
    assert_eq!(t.user_counters(mallory.id).await["favorite_count"], 1);
    let dave = t.new_user("dave").await;
    let dave_id = dave.id.to_string();
    let follow = [
        ("token", mallory.token.as_str()),
        ("user_id", alice.as_str()),
        ("from_user_id", alice.as_str()),
        ("to_user_id", dave_id.as_str()),
        ("action_type", "1"),
    ];
    t.call(Method::POST, "/douyin/relation/action/", &follow).await.ok();
    let followers = t.list("/douyin/relation/follower/list/", dave.id, None).await;
    assert_eq!(followers.ok()["user_list"][0]["id"].as_u64(), Some(mallory.id));

    // An upload "for alice" is mallory's: alice cannot see it, mallory can.
    let params = [
        ("token", mallory.token.as_str()),
        ("user_id", alice.as_str()),
        ("title", "spoofed"),
        ("content_type", "video/mp4"),
        ("content_length", "1000"),
    ];
    let ticket = t.call(Method::POST, "/douyin/publish/upload/", &params).await;
    let upload = ticket.ok()["video_id"].as_u64().unwrap();
    assert_eq!(t.upload_status(&w.alice.token, upload).await.code(), 10004);
    assert_eq!(t.upload_status(&mallory.token, upload).await.ok()["state"], "pending");

    assert_eq!(snapshot(&t, &[&w.alice, &w.carol]).await, before, "alice's or carol's state changed");
}
