//! Comments: post returns the comment, delete only by its author or the
//! video's author, exact comment_count, newest first, MM-DD dates.

use tests::TestApp;

#[tokio::test]
async fn posted_comment_is_returned_listed_and_counted() {
    let t = TestApp::new().await;
    let author = t.new_user("author").await;
    let fan = t.new_user("fan").await;
    let video = t.new_video(&author.token, "v").await;
    let posted = t.comment(&fan.token, video, "  nice!  ").await;
    let comment = posted.ok()["comment"].clone();
    assert_eq!(comment["content"], "nice!");
    assert_eq!(comment["user"]["id"], fan.id);
    let date = comment["create_date"].as_str().unwrap();
    assert!(date.len() == 5 && date.as_bytes()[2] == b'-', "{date}");
    t.comment(&author.token, video, "thanks").await.ok();
    let list = t.comment_list(video, None).await;
    let contents: Vec<&str> =
        list.ok()["comment_list"].as_array().unwrap().iter().map(|c| c["content"].as_str().unwrap()).collect();
    assert_eq!(contents, ["thanks", "nice!"]);
    let feed = t.feed(None, None).await;
    assert_eq!(feed.ok()["video_list"][0]["comment_count"], 2);
}

#[tokio::test]
async fn create_date_is_in_the_configured_time_zone() {
    // UTC+14 and UTC-12: 26 hours apart, so never the same calendar day,
    // whatever the time of the run (UTC+8 and UTC-10, 18 hours apart, share
    // the day from 10:00 to 16:00 UTC).
    let kiritimati =
        TestApp::with_config(|config| config.time_zone = shared::config::time_zone("Pacific/Kiritimati").unwrap())
            .await;
    let baker =
        TestApp::with_config(|config| config.time_zone = shared::config::time_zone("Etc/GMT+12").unwrap()).await;
    let mut dates = Vec::new();
    for t in [&kiritimati, &baker] {
        let user = t.new_user("u").await;
        let video = t.new_video(&user.token, "v").await;
        dates
            .push(t.comment(&user.token, video, "x").await.ok()["comment"]["create_date"].as_str().unwrap().to_owned());
    }
    assert_ne!(dates[0], dates[1]);
}

#[tokio::test]
async fn only_the_comment_author_or_the_video_author_may_delete() {
    let t = TestApp::new().await;
    let owner = t.new_user("owner").await;
    let writer = t.new_user("writer").await;
    let stranger = t.new_user("stranger").await;
    let video = t.new_video(&owner.token, "v").await;
    let first = t.comment(&writer.token, video, "one").await.ok()["comment"]["id"].as_u64().unwrap();
    let second = t.comment(&writer.token, video, "two").await.ok()["comment"]["id"].as_u64().unwrap();
    let refused = t.delete_comment(&stranger.token, video, first).await;
    assert_eq!(refused.code(), 10003);
    let deleted = t.delete_comment(&writer.token, video, first).await;
    assert_eq!(deleted.ok()["comment"]["content"], "one");
    t.delete_comment(&owner.token, video, second).await.ok();
    assert_eq!(t.comment_list(video, None).await.ok()["comment_list"], serde_json::json!([]));
    assert_eq!(t.feed(None, None).await.ok()["video_list"][0]["comment_count"], 0);
    assert_eq!(t.delete_comment(&writer.token, video, first).await.code(), 10004);
}

#[tokio::test]
async fn comment_errors_follow_the_contract_and_change_nothing() {
    let t = TestApp::new().await;
    let user = t.new_user("u").await;
    let video = t.new_video(&user.token, "v").await;
    assert_eq!(t.comment(&user.token, 999_999, "x").await.code(), 10004);
    assert_eq!(t.comment(&user.token, video, "   ").await.code(), 10001);
    assert_eq!(t.comment(&user.token, video, &"字".repeat(501)).await.code(), 10001);
    assert_eq!(t.comment("bad", video, "x").await.code(), 10002);
    let id = t.comment(&user.token, video, "kept").await.ok()["comment"]["id"].as_u64().unwrap();
    // The comment exists, but not on this video.
    let other = t.new_video(&user.token, "w").await;
    assert_eq!(t.delete_comment(&user.token, other, id).await.code(), 10004);
    assert_eq!(t.comment_list(999_999, None).await.code(), 10004);
    assert_eq!(t.comment_list(video, None).await.ok()["comment_list"].as_array().unwrap().len(), 1);
}

/// Characters that hide or reorder text are refused in comments, messages and
/// titles with a message the user can act on, and change nothing; emoji and
/// scripts that need joiners pass.
#[tokio::test]
async fn texts_that_hide_or_reorder_content_are_refused_and_change_nothing() {
    let t = TestApp::new().await;
    let alice = t.new_user("alice").await;
    let bob = t.new_user("bob").await;
    let video = t.new_video(&alice.token, "v").await;
    // "Trojan source": an override makes "evil" read as something else.
    let reply = t.comment(&alice.token, video, "nice \u{202E}live\u{202C} clip").await;
    assert_eq!(reply.code(), 10001);
    assert_eq!(
        reply.msg(),
        "comment_text: must not contain invisible or text-direction characters (found U+202E); remove it and send again"
    );
    assert_eq!(t.send_message(&alice.token, bob.id, "pay\u{200B}pal").await.code(), 10001);
    assert_eq!(t.start_upload(&alice.token, "\u{FEFF}title", "video/mp4", 1000).await.code(), 10001);
    assert_eq!(t.comment_list(video, None).await.ok()["comment_list"].as_array().unwrap().len(), 0);
    assert_eq!(t.chat(&alice.token, bob.id, None).await.ok()["message_list"].as_array().unwrap().len(), 0);

    let family = "family 👨\u{200D}👩\u{200D}👧 ❤\u{FE0F}";
    let posted = t.comment(&alice.token, video, family).await;
    assert_eq!(posted.ok()["comment"]["content"], family);
    t.send_message(&alice.token, bob.id, family).await.ok();
}

/// The stock client (OkHttp) asks for gzip and undoes it itself: a page of
/// comments, each with its author's profile and links, comes gzipped, and
/// reads back as the same page; a client that does not ask, or an answer too
/// small to gain, gets the plain JSON.
#[tokio::test]
async fn a_page_of_comments_comes_gzipped_to_a_client_that_asks_and_reads_the_same() {
    let t = TestApp::new().await;
    let author = t.new_user("author").await;
    let video = t.new_video(&author.token, "v").await;
    for n in 0..20 {
        t.comment(&author.token, video, &format!("comment {n}")).await.ok();
    }
    let list = |accept: Option<&'static str>| {
        let mut request = lambda_http::http::Request::builder()
            .method(lambda_http::http::Method::GET)
            .uri(format!("/douyin/comment/list/?video_id={video}"));
        if let Some(accept) = accept {
            request = request.header("accept-encoding", accept);
        }
        t.send(request.body(lambda_http::Body::Empty).unwrap())
    };
    let plain = list(None).await;
    assert!(!plain.gzipped);
    assert_eq!(plain.ok()["comment_list"].as_array().unwrap().len(), 20);
    for accept in ["gzip", "gzip, deflate, br", "br;q=1, *;q=0.5"] {
        let zipped = list(Some(accept)).await;
        assert!(zipped.gzipped, "{accept}");
        assert_eq!(zipped.body, plain.body, "{accept}");
    }
    assert!(!list(Some("gzip;q=0")).await.gzipped);
    let mut small = lambda_http::http::Request::builder()
        .method(lambda_http::http::Method::POST)
        .uri(format!("/douyin/favorite/action/?token={}&video_id={video}&action_type=1", author.token))
        .header("accept-encoding", "gzip");
    small = small.header("content-length", "0");
    let liked = t.send(small.body(lambda_http::Body::Empty).unwrap()).await;
    assert_eq!((liked.code(), liked.gzipped), (0, false), "an envelope alone is under the threshold");
}
