//! Secrets never reach a log: a whole scenario (register, login, publish,
//! like, comment, follow, message, failed logins, bad tokens, a storage
//! fault) runs with every log line captured at the most verbose level a
//! deployment can set, and no token, password, password hash or the signing
//! secret appears in them.
//!
//! The capture is this test's own: a subscriber set as the default of this
//! thread only (`#[tokio::test]` runs the test and every task it spawns on
//! one thread), so other tests running in parallel neither add to it nor
//! see it.

use lambda_http::http::Method;
use shared::config::Config;
use shared::domain::Username;
use tests::logs::LogBuffer;
use tests::{TEST_SECRET, TestApp, fixture, session_of};
use tracing_subscriber::EnvFilter;

/// The filter a deployment gets from `DOUYIN_LOG=<level>` (through `Config`,
/// as at cold start).
fn deployed_filter(level: &str) -> EnvFilter {
    let variables = [
        ("DOUYIN_TABLE", "t"),
        ("DOUYIN_MEDIA_BUCKET", "b"),
        ("DOUYIN_JWT_SECRET", TEST_SECRET),
        ("DOUYIN_LOG", level),
    ];
    let config = Config::from_lookup(|name| variables.iter().find(|(n, _)| *n == name).map(|(_, v)| v.to_string()));
    EnvFilter::new(config.unwrap().log_filter)
}

/// Runs the scenario; returns the secrets it used and saw.
async fn scenario(t: &TestApp, broken: &TestApp) -> Vec<String> {
    let mut secrets = vec![TEST_SECRET.to_owned()];
    let passwords = ["alice-pass-Q7x!", "bob-pass-Z9k#", "wrong-guess-R2d"];
    secrets.extend(passwords.iter().map(|p| p.to_string()));
    let alice = session_of(t.register("alice", passwords[0]).await.ok());
    let bob = session_of(t.register("bob", passwords[1]).await.ok());
    let alice_again = session_of(t.login("alice", passwords[0]).await.ok());
    assert_eq!(t.login("alice", passwords[2]).await.code(), 10006);
    assert_eq!(t.login("nobody", passwords[2]).await.code(), 10006);
    assert_eq!(t.register("alice", passwords[2]).await.code(), 10005);
    // A password in a body, and one too long to be valid.
    t.post_form("/douyin/user/login/", &[("username", "bob"), ("password", passwords[1])]).await.ok();
    assert_eq!(t.register("carol", "too-long-password-0123456789-abcdef").await.code(), 10001);
    secrets.push("too-long-password-0123456789-abcdef".into());

    t.publish(&alice.token, "clip", &fixture("portrait-red-360x640-1s.mp4")).await.ok();
    let video = t.new_video(&alice.token, "second").await;
    t.favorite(&bob.token, video, 1).await.ok();
    let comment = t.comment(&bob.token, video, "nice").await.ok()["comment"]["id"].as_u64().unwrap();
    t.delete_comment(&alice.token, video, comment).await.ok();
    t.relation(&bob.token, alice.id, 1).await.ok();
    t.relation(&alice.token, bob.id, 1).await.ok();
    t.send_message(&alice.token, bob.id, "hello").await.ok();
    t.chat(&bob.token, alice.id, None).await.ok();
    t.list("/douyin/relation/friend/list/", alice.id, Some(&alice.token)).await.ok();

    // Bad tokens: a tampered one (alice's header and signature, bob's claims),
    // a truncated one, and one that is not a token at all.
    let parts: Vec<&str> = alice.token.split('.').collect();
    let tampered = format!("{}.{}.{}", parts[0], bob.token.split('.').nth(1).unwrap(), parts[2]);
    let truncated = alice.token[..alice.token.len() - 3].to_owned();
    for bad in [&tampered, &truncated, &format!("{}x", bob.token)] {
        assert_eq!(t.favorite(bad, video, 1).await.code(), 10002);
        t.feed(None, Some(bad)).await.ok();
    }
    // A fault on our side, logged at error level with its cause.
    let faulty = broken.call(Method::GET, "/douyin/user/", &[("token", &alice.token), ("user_id", "1")]).await;
    assert_eq!(faulty.code(), 50000);
    assert_eq!(broken.login("alice", passwords[0]).await.code(), 50000);

    for session in [&alice, &bob, &alice_again] {
        secrets.push(session.token.clone());
        // The signature alone is as secret as the token.
        secrets.push(session.token.rsplit('.').next().unwrap().to_owned());
    }
    for name in ["alice", "bob"] {
        let item = t.app.table().credentials(&Username::parse("u", name).unwrap()).await.unwrap().unwrap();
        secrets.push(item.password_hash.clone());
        // The digest alone (the last field of the PHC string).
        secrets.push(item.password_hash.rsplit('$').next().unwrap().to_owned());
    }
    secrets
}

#[tokio::test]
async fn no_secret_reaches_the_logs_at_any_level() {
    // Built before the capture starts: building logs nothing secret, but
    // keeping it out keeps the capture to requests.
    let t = TestApp::new().await;
    let broken = TestApp::without_storage().await;
    let captured = LogBuffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(deployed_filter("trace"))
        .json()
        .with_current_span(true)
        .with_span_list(true)
        .with_writer(captured.clone())
        .finish();
    let secrets = {
        let _capture = tracing::subscriber::set_default(subscriber);
        scenario(&t, &broken).await
    };
    let logs = captured.text();
    // The capture works: it holds the requests, refusals and the fault.
    assert!(logs.contains("request served"), "nothing captured");
    assert!(logs.contains("request refused") && logs.contains("request failed"), "{logs}");
    for secret in &secrets {
        assert!(secret.len() >= 8, "{secret:?} is too short to search for");
        if let Some(line) = logs.lines().find(|line| line.contains(secret.as_str())) {
            panic!("a secret reached the logs: {line}");
        }
    }
}
