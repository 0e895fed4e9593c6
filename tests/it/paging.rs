//! Long lists page with `cursor` / `next_cursor` (this project's addition: the
//! contract has no paging): every entry once, none skipped, none repeated.

use std::collections::HashSet;

use lambda_http::http::Method;
use shared::store::model::{NewVideo, VideoItem};
use tests::TestApp;

/// Pages through `path` with `params`, collecting the ids under `list`.
async fn page_through(t: &TestApp, path: &str, params: &[(&str, &str)], list: &str) -> (Vec<u64>, Vec<usize>) {
    let mut ids = Vec::new();
    let mut sizes = Vec::new();
    let mut cursor = String::new();
    for _ in 0..10 {
        let mut query = params.to_vec();
        if !cursor.is_empty() {
            query.push(("cursor", &cursor));
        }
        let reply = t.call(Method::GET, path, &query).await;
        let page = reply.ok()[list].as_array().unwrap().clone();
        sizes.push(page.len());
        ids.extend(page.iter().map(|entry| entry["id"].as_u64().unwrap()));
        cursor = reply.body["next_cursor"].as_str().unwrap().to_owned();
        if cursor.is_empty() {
            break;
        }
    }
    (ids, sizes)
}

fn assert_each_once(ids: &[u64], expected: usize) {
    let unique: HashSet<u64> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "an entry was listed twice");
    assert_eq!(ids.len(), expected, "an entry was skipped");
}

#[tokio::test]
async fn follower_and_follow_lists_page_by_100() {
    let t = TestApp::new().await;
    let star = t.new_user("star").await;
    for i in 0..130 {
        let fan = t.new_user(&format!("fan{i}")).await;
        t.relation(&fan.token, star.id, 1).await.ok();
        t.relation(&star.token, fan.id, 1).await.ok();
    }
    let star_id = star.id.to_string();
    let (followers, sizes) =
        page_through(&t, "/douyin/relation/follower/list/", &[("user_id", &star_id)], "user_list").await;
    assert_eq!(sizes, [100, 30]);
    assert_each_once(&followers, 130);
    let (follows, _) = page_through(&t, "/douyin/relation/follow/list/", &[("user_id", &star_id)], "user_list").await;
    assert_each_once(&follows, 130);
    let (friends, _) = page_through(&t, "/douyin/relation/friend/list/", &[("token", &star.token)], "user_list").await;
    assert_each_once(&friends, 130);
}

#[tokio::test]
async fn favorite_and_comment_lists_page_without_gaps() {
    let t = TestApp::new().await;
    let fan = t.new_user("fan").await;
    let mut videos = Vec::new();
    for i in 0..70u64 {
        let id = t.app.ids().next().await.unwrap();
        let video = VideoItem::new(&NewVideo {
            id,
            author_id: fan.id,
            title: format!("v{i}"),
            play_key: format!("videos/{id}.mp4"),
            cover_key: format!("covers/{id}.jpg"),
            created_at_ms: 1_700_000_000_000 + i,
            width: 320,
            height: 240,
            duration_ms: 1000,
            feed_shard: 0,
        });
        assert!(t.app.table().publish_video(&video, shared::store::VideoSource::Inline).await.unwrap());
        t.favorite(&fan.token, id, 1).await.ok();
        videos.push(id);
    }
    let fan_id = fan.id.to_string();
    let (liked, sizes) = page_through(&t, "/douyin/favorite/list/", &[("user_id", &fan_id)], "video_list").await;
    assert_eq!(sizes, [30, 30, 10]);
    assert_each_once(&liked, 70);

    let video = videos[0];
    for i in 0..110 {
        t.comment(&fan.token, video, &format!("c{i}")).await.ok();
    }
    let video_id = video.to_string();
    let (comments, sizes) = page_through(&t, "/douyin/comment/list/", &[("video_id", &video_id)], "comment_list").await;
    assert_eq!(sizes, [100, 10]);
    assert_each_once(&comments, 110);
}

#[tokio::test]
async fn an_authors_list_shows_98_videos_without_a_cursor_and_pages_on() {
    let t = TestApp::new().await;
    let author = t.new_user("author").await;
    let mut published = t.insert_videos(author.id, 120).await;
    let author_id = author.id.to_string();
    // The stock client's request: no cursor; it sees the newest 98.
    let first = t.publish_list(author.id, None).await;
    let first: Vec<u64> =
        first.ok()["video_list"].as_array().unwrap().iter().map(|v| v["id"].as_u64().unwrap()).collect();
    published.reverse();
    assert_eq!(first, published[..98]);
    let (ids, sizes) = page_through(&t, "/douyin/publish/list/", &[("user_id", &author_id)], "video_list").await;
    assert_eq!(sizes, [98, 22]);
    assert_eq!(ids, published, "newest first, every video once");
    // As its author (token only), the same pages.
    let (mine, _) = page_through(&t, "/douyin/publish/list/", &[("token", &author.token)], "video_list").await;
    assert_eq!(mine, published);
}

#[tokio::test]
async fn a_short_author_list_ends_with_an_empty_cursor() {
    let t = TestApp::new().await;
    let author = t.new_user("author").await;
    t.insert_videos(author.id, 3).await;
    let reply = t.publish_list(author.id, None).await;
    assert_eq!(reply.ok()["video_list"].as_array().unwrap().len(), 3);
    assert_eq!(reply.body["next_cursor"], "");
}

#[tokio::test]
async fn a_malformed_cursor_is_10001() {
    let t = TestApp::new().await;
    let user = t.new_user("u").await;
    let id = user.id.to_string();
    for bad in ["abc", "1#2", "00000000000000000000000000000000x"] {
        for path in ["/douyin/relation/follow/list/", "/douyin/publish/list/"] {
            let reply = t.call(Method::GET, path, &[("user_id", &id), ("cursor", bad)]).await;
            assert_eq!(reply.code(), 10001, "{path} {bad}");
            assert!(reply.msg().starts_with("cursor:"));
        }
    }
}
