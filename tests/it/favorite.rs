//! Likes: idempotent, exact counters under concurrency, list newest like first.

use futures_util::future::join_all;
use tests::TestApp;

const LIST: &str = "/douyin/favorite/list/";

async fn video_likes(t: &TestApp, video_id: u64) -> u64 {
    let feed = t.feed(None, None).await;
    let list = feed.ok()["video_list"].as_array().unwrap().clone();
    list.iter().find(|v| v["id"] == video_id).unwrap()["favorite_count"].as_u64().unwrap()
}

#[tokio::test]
async fn like_twice_counts_once_and_unlike_twice_changes_nothing() {
    let t = TestApp::new().await;
    let author = t.new_user("author").await;
    let fan = t.new_user("fan").await;
    let video = t.new_video(&author.token, "v").await;
    for _ in 0..2 {
        t.favorite(&fan.token, video, 1).await.ok();
    }
    assert_eq!(video_likes(&t, video).await, 1);
    assert_eq!(t.user_counters(fan.id).await["favorite_count"], 1);
    assert_eq!(t.user_counters(author.id).await["total_favorited"], 1);
    let seen_by_fan = t.feed(None, Some(&fan.token)).await;
    assert_eq!(seen_by_fan.ok()["video_list"][0]["is_favorite"], true);
    assert_eq!(t.feed(None, None).await.ok()["video_list"][0]["is_favorite"], false);
    for _ in 0..2 {
        t.favorite(&fan.token, video, 2).await.ok();
    }
    assert_eq!(video_likes(&t, video).await, 0);
    assert_eq!(t.user_counters(fan.id).await["favorite_count"], 0);
    assert_eq!(t.user_counters(author.id).await["total_favorited"], 0);
}

#[tokio::test]
async fn liking_your_own_video_counts_on_both_sides() {
    let t = TestApp::new().await;
    let me = t.new_user("me").await;
    let video = t.new_video(&me.token, "mine").await;
    t.favorite(&me.token, video, 1).await.ok();
    let counters = t.user_counters(me.id).await;
    assert_eq!((counters["favorite_count"].as_u64(), counters["total_favorited"].as_u64()), (Some(1), Some(1)));
}

#[tokio::test]
async fn sixteen_users_liking_one_video_at_once_make_sixteen() {
    let t = TestApp::new().await;
    let author = t.new_user("author").await;
    let video = t.new_video(&author.token, "viral").await;
    let fans = join_all((0..16).map(|i| {
        let t = &t;
        async move { t.new_user(&format!("fan{i}")).await }
    }))
    .await;
    let replies = join_all(fans.iter().map(|fan| t.favorite(&fan.token, video, 1))).await;
    assert!(replies.iter().all(|r| r.code() == 0), "{replies:?}");
    assert_eq!(video_likes(&t, video).await, 16);
    assert_eq!(t.user_counters(author.id).await["total_favorited"], 16);
}

#[tokio::test]
async fn flipping_a_like_twenty_times_in_parallel_then_liking_leaves_exactly_one() {
    let t = TestApp::new().await;
    let author = t.new_user("author").await;
    let fan = t.new_user("fan").await;
    let video = t.new_video(&author.token, "v").await;
    let replies = join_all((0..20).map(|i| t.favorite(&fan.token, video, if i % 2 == 0 { 1 } else { 2 }))).await;
    assert!(replies.iter().all(|r| r.code() == 0), "{replies:?}");
    t.favorite(&fan.token, video, 1).await.ok();
    assert_eq!(video_likes(&t, video).await, 1);
    assert_eq!(t.user_counters(fan.id).await["favorite_count"], 1);
    assert_eq!(t.user_counters(author.id).await["total_favorited"], 1);
    assert_eq!(t.list(LIST, fan.id, None).await.ok()["video_list"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn favorite_list_is_newest_like_first_for_guests_too() {
    let t = TestApp::new().await;
    let author = t.new_user("author").await;
    let fan = t.new_user("fan").await;
    let first = t.new_video(&author.token, "first").await;
    let second = t.new_video(&author.token, "second").await;
    // Liked in the other order than published.
    t.favorite(&fan.token, second, 1).await.ok();
    t.favorite(&fan.token, first, 1).await.ok();
    let list = t.list(LIST, fan.id, None).await;
    let ids: Vec<u64> = list.ok()["video_list"].as_array().unwrap().iter().map(|v| v["id"].as_u64().unwrap()).collect();
    assert_eq!(ids, [first, second]);
    assert_eq!(list.body["video_list"][0]["is_favorite"], false, "a guest likes nothing");
    let mine = t.list(LIST, fan.id, Some(&fan.token)).await;
    assert_eq!(mine.ok()["video_list"][0]["is_favorite"], true);
}

#[tokio::test]
async fn favorite_errors_name_the_problem_and_change_nothing() {
    let t = TestApp::new().await;
    let fan = t.new_user("fan").await;
    assert_eq!(t.favorite(&fan.token, 999_999, 1).await.code(), 10004);
    assert_eq!(t.favorite("bad", 1, 1).await.code(), 10002);
    let bad_action = t.favorite(&fan.token, 1, 3).await;
    assert_eq!(bad_action.code(), 10001);
    assert!(bad_action.msg().starts_with("action_type"));
    assert_eq!(t.list(LIST, 999_999, None).await.code(), 10004);
    assert_eq!(t.user_counters(fan.id).await["favorite_count"], 0);
}

/// A like records its video's author, so the list reads the videos and their
/// authors at once (tests/it/requests.rs counts the rounds). A like written
/// before it did (no `author_id`) still lists the same page, one read later;
/// so does a page mixing both.
#[tokio::test]
async fn likes_written_before_they_named_the_author_list_the_same() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let t = TestApp::new().await;
    let author = t.new_user("author").await;
    let fan = t.new_user("fan").await;
    let videos = [t.new_video(&author.token, "old").await, t.new_video(&author.token, "new").await];
    for video in videos {
        t.favorite(&fan.token, video, 1).await.ok();
    }
    let before = t.list(LIST, fan.id, Some(&fan.token)).await.ok()["video_list"].clone();
    assert_eq!(before.as_array().unwrap().len(), 2);
    assert!(before.as_array().unwrap().iter().all(|v| v["is_favorite"] == true && v["author"]["id"] == author.id));

    // The older like as it was stored before: without the author.
    let edges = tests::invariants::scan(&t).await;
    let old = edges.iter().find(|item| {
        tests::invariants::text(item, "pk") == format!("USER#{}", fan.id)
            && tests::invariants::text(item, "sk") == format!("LIKES#{}", videos[0])
    });
    let mut old = old.expect("the like edge").clone();
    assert_eq!(old.remove("author_id"), Some(AttributeValue::N(author.id.to_string())), "a like names its author");
    tests::invariants::raw_client()
        .put_item()
        .table_name(t.app.table().name())
        .set_item(Some(old))
        .send()
        .await
        .unwrap();

    let after = t.list(LIST, fan.id, Some(&fan.token)).await.ok()["video_list"].clone();
    assert_eq!(after, before, "a page with a like of before lists the same");
}
