//! Everything the API shows about a set of users, as one JSON value: take one
//! before and one after requests that must change nothing, and compare.

use serde_json::{Value, json};

use crate::{Session, TestApp};

/// What the endpoints show about `users` and their videos: profiles and
/// counters, videos and their counters, comments, likes, follows, followers,
/// friends with their chat previews, and every conversation between them.
/// Media links are left out (they are signed per time window).
pub async fn snapshot(t: &TestApp, users: &[&Session]) -> Value {
    let mut state = serde_json::Map::new();
    for user in users {
        let mut profile = t.user_counters(user.id).await;
        strip_links(&mut profile);
        let videos = t.publish_list(user.id, None).await.ok()["video_list"].clone();
        let mut shown = Vec::new();
        for video in videos.as_array().unwrap() {
            let id = video["id"].as_u64().unwrap();
            let comments = t.comment_list(id, None).await.ok()["comment_list"].clone();
            let comments: Vec<Value> =
                comments.as_array().unwrap().iter().map(|c| json!([c["id"], c["user"]["id"], c["content"]])).collect();
            shown.push(json!({
                "id": id, "title": video["title"], "favorite_count": video["favorite_count"],
                "comment_count": video["comment_count"], "comments": comments,
            }));
        }
        let ids = |reply: crate::Reply, key: &str| -> Value {
            reply.ok()[key].as_array().unwrap().iter().map(|entry| entry["id"].clone()).collect()
        };
        let likes = ids(t.list("/douyin/favorite/list/", user.id, None).await, "video_list");
        let follows = ids(t.list("/douyin/relation/follow/list/", user.id, None).await, "user_list");
        let followers = ids(t.list("/douyin/relation/follower/list/", user.id, None).await, "user_list");
        let friends = t.list("/douyin/relation/friend/list/", user.id, Some(&user.token)).await.ok()["user_list"]
            .as_array()
            .unwrap()
            .iter()
            .map(|friend| json!([friend["id"], friend["message"], friend["msgType"]]))
            .collect::<Value>();
        let mut chats = serde_json::Map::new();
        for other in users.iter().filter(|other| other.id != user.id) {
            let chat = t.chat(&user.token, other.id, None).await.ok()["message_list"].clone();
            let chat: Value = chat
                .as_array()
                .unwrap()
                .iter()
                .map(|m| json!([m["id"], m["from_user_id"], m["to_user_id"], m["content"]]))
                .collect();
            chats.insert(other.id.to_string(), chat);
        }
        state.insert(
            user.id.to_string(),
            json!({
                "profile": profile, "videos": shown, "likes": likes, "follows": follows,
                "followers": followers, "friends": friends, "chats": chats,
            }),
        );
    }
    Value::Object(state)
}

fn strip_links(user: &mut Value) {
    if let Some(fields) = user.as_object_mut() {
        fields.remove("avatar");
        fields.remove("background_image");
    }
}
