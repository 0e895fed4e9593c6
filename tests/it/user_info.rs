use lambda_http::http::Method;
use tests::TestApp;

const USER_FIELDS: [&str; 11] = [
    "id",
    "name",
    "follow_count",
    "follower_count",
    "is_follow",
    "avatar",
    "background_image",
    "signature",
    "total_favorited",
    "work_count",
    "favorite_count",
];

#[tokio::test]
async fn profile_has_all_eleven_fields_with_defaults() {
    let t = TestApp::new().await;
    let alice = t.new_user("alice").await;
    let reply = t.user(Some(alice.id), None).await;
    let user = reply.ok()["user"].as_object().unwrap().clone();
    let mut keys: Vec<&str> = user.keys().map(String::as_str).collect();
    keys.sort_unstable();
    let mut expected = USER_FIELDS.to_vec();
    expected.sort_unstable();
    assert_eq!(keys, expected);
    for counter in ["follow_count", "follower_count", "total_favorited", "work_count", "favorite_count"] {
        assert_eq!(user[counter], 0, "{counter}");
    }
    assert_eq!(user["is_follow"], false);
    for text in ["avatar", "background_image", "signature"] {
        assert!(!user[text].as_str().unwrap().is_empty(), "{text}");
    }
    assert!(user["avatar"].as_str().unwrap().starts_with("http"));
}

#[tokio::test]
async fn user_id_defaults_to_the_token_user() {
    let t = TestApp::new().await;
    let alice = t.new_user("alice").await;
    t.new_user("bob").await;
    assert_eq!(t.user(None, Some(&alice.token)).await.ok()["user"]["name"], "alice");
}

#[tokio::test]
async fn guests_and_invalid_tokens_can_read_profiles() {
    let t = TestApp::new().await;
    let alice = t.new_user("alice").await;
    assert_eq!(t.user(Some(alice.id), None).await.ok()["user"]["name"], "alice");
    assert_eq!(t.user(Some(alice.id), Some("garbage")).await.ok()["user"]["is_follow"], false);
}

#[tokio::test]
async fn missing_user_id_without_a_valid_token_is_10001() {
    let t = TestApp::new().await;
    for token in [None, Some("garbage")] {
        let reply = t.user(None, token).await;
        assert_eq!((reply.http_status, reply.code()), (200, 10001));
        assert!(reply.msg().starts_with("user_id:"), "{}", reply.msg());
        assert_eq!(reply.body.as_object().unwrap().len(), 2, "only the envelope on errors");
    }
}

#[tokio::test]
async fn unknown_user_is_10004_and_malformed_id_is_10001() {
    let t = TestApp::new().await;
    assert_eq!(t.user(Some(987_654), None).await.code(), 10004);
    for bad in ["abc", "0", "-3", "9007199254740992"] {
        let reply = t.call(Method::GET, "/douyin/user/", &[("user_id", bad)]).await;
        assert_eq!(reply.code(), 10001, "{bad}");
    }
}

#[tokio::test]
async fn profile_is_readable_right_after_register() {
    let t = TestApp::new().await;
    for i in 0..10 {
        let user = t.new_user(&format!("fresh{i}")).await;
        t.user(Some(user.id), Some(&user.token)).await.ok();
    }
}
