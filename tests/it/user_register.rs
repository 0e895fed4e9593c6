use futures_util::future::join_all;
use tests::{TestApp, session_of};

#[tokio::test]
async fn register_returns_a_user_id_and_a_working_token() {
    let t = TestApp::new().await;
    let body = t.register("alice", "password1").await.ok().clone();
    let session = session_of(&body);
    assert!(session.id > 0 && session.id < (1 << 53));
    let me = t.user(None, Some(&session.token)).await;
    assert_eq!(me.ok()["user"]["id"], session.id);
    assert_eq!(me.ok()["user"]["name"], "alice");
}

#[tokio::test]
async fn register_rejects_taken_username_with_empty_session() {
    let t = TestApp::new().await;
    t.register("bob", "password1").await.ok();
    let again = t.register("bob", "another-password").await;
    assert_eq!((again.http_status, again.code()), (200, 10005));
    assert_eq!(again.body["user_id"], 0);
    assert_eq!(again.body["token"], "");
    assert!(again.msg().contains("already taken"), "{}", again.msg());
    // The first password still works: the failed attempt changed nothing.
    t.login("bob", "password1").await.ok();
    t.login("bob", "another-password").await;
    assert_eq!(t.login("bob", "another-password").await.code(), 10006);
}

#[tokio::test]
async fn usernames_are_trimmed_and_case_sensitive() {
    let t = TestApp::new().await;
    t.register("  carol ", "password1").await.ok();
    assert_eq!(t.register("carol", "password1").await.code(), 10005);
    t.register("Carol", "password1").await.ok();
}

#[tokio::test]
async fn invalid_username_or_password_is_10001_naming_the_field_and_writes_nothing() {
    let t = TestApp::new().await;
    let cases = [
        ("", "password1", "username"),
        ("has space", "password1", "username"),
        (&*"x".repeat(33), "password1", "username"),
        ("dave", "12345", "password"),
        ("dave", &*"p".repeat(33), "password"),
    ];
    for (username, password, field) in cases {
        let reply = t.register(username, password).await;
        assert_eq!(reply.code(), 10001, "{username:?}/{password:?}: {}", reply.body);
        assert!(reply.msg().starts_with(field), "{}", reply.msg());
        assert_eq!((reply.body["user_id"].as_u64(), reply.body["token"].as_str()), (Some(0), Some("")));
    }
    let missing = t.call(lambda_http::http::Method::POST, "/douyin/user/register/", &[("username", "dave")]).await;
    assert_eq!(missing.code(), 10001);
    assert_eq!(missing.msg(), "password: is required");
    // Nothing was written: the name is still free.
    t.register("dave", "password1").await.ok();
}

#[tokio::test]
async fn register_reads_parameters_from_an_urlencoded_body() {
    let t = TestApp::new().await;
    let reply = t.post_form("/douyin/user/register", &[("username", "erin"), ("password", "password1")]).await;
    reply.ok();
}

#[tokio::test]
async fn twenty_parallel_registrations_of_one_name_succeed_once() {
    let t = TestApp::new().await;
    let replies = join_all((0..20).map(|i| {
        let t = &t;
        async move { t.register("frank", &format!("password{i}")).await }
    }))
    .await;
    let winners: Vec<_> = replies.iter().filter(|r| r.code() == 0).collect();
    let losers = replies.iter().filter(|r| r.code() == 10005).count();
    assert_eq!((winners.len(), losers), (1, 19), "{replies:?}");
    // The winner's password is the one stored.
    let winner = session_of(&winners[0].body);
    let login_all = join_all((0..20).map(|i| {
        let t = &t;
        async move { t.login("frank", &format!("password{i}")).await }
    }))
    .await;
    assert_eq!(login_all.iter().filter(|r| r.code() == 0).count(), 1);
    let logged_in = login_all.iter().find(|r| r.code() == 0).unwrap();
    assert_eq!(session_of(&logged_in.body).id, winner.id);
}

#[tokio::test]
async fn parallel_registrations_of_different_names_get_distinct_ids() {
    let t = TestApp::new().await;
    let replies = join_all((0..16).map(|i| {
        let t = &t;
        async move { t.register(&format!("user{i}"), "password1").await }
    }))
    .await;
    let mut ids: Vec<u64> = replies.iter().map(|r| session_of(r.ok()).id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 16);
}

/// Two names that look the same are one name: full-width letters, ligatures
/// and other compatibility forms are stored in their plain form (NFKC), and
/// invisible characters that would make a look-alike are refused.
#[tokio::test]
async fn look_alike_names_are_one_name() {
    let t = TestApp::new().await;
    let alice = session_of(t.register("alice", "password1").await.ok());
    let wide = t.register("ａｌｉｃｅ", "password2").await;
    assert_eq!((wide.code(), wide.body["user_id"].as_u64()), (10005, Some(0)), "{}", wide.body);
    // Logging in with either spelling finds the one account.
    assert_eq!(t.login("ａｌｉｃｅ", "password1").await.ok()["user_id"], alice.id);
    assert_eq!(t.login("alice", "password1").await.ok()["user_id"], alice.id);
    // A name registered in full-width is stored and shown in its plain form.
    let fish = session_of(t.register("ﬁｓｈ", "password1").await.ok());
    assert_eq!(t.user(Some(fish.id), None).await.ok()["user"]["name"], "fish");
    assert_eq!(t.login("fish", "password1").await.ok()["user_id"], fish.id);
    // Invisible and direction characters cannot make a second "alice".
    for sneaky in ["alice\u{200B}", "\u{FEFF}alice", "al\u{200D}ice", "\u{202E}ecila", "alice\u{3164}"] {
        let reply = t.register(sneaky, "password1").await;
        assert_eq!(reply.code(), 10001, "{sneaky:?}");
        assert!(reply.msg().starts_with("username: must not contain"), "{sneaky:?}: {}", reply.msg());
        assert!(reply.msg().contains("U+"), "the message names the character: {}", reply.msg());
    }
    assert_eq!(t.login("alice\u{200B}", "password1").await.code(), 10001);
}
