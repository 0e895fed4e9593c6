//! Authentication at the edge: `authenticate` (required token) and `viewer`
//! (optional), driven directly; then every kind of bad token (forged, wrong
//! algorithm, tampered, expired, not yet valid, missing claims, a user that
//! does not exist) against every endpoint that needs a token (10002, nothing
//! changes) and against the reads (a guest, never the token's subject).

use functions::edge::{self, Params};
use lambda_http::Body;
use shared::domain::UserId;
use tests::TestApp;

async fn params(token: Option<&str>) -> Params {
    let uri = match token {
        Some(token) => format!("/douyin/x/?token={token}"),
        None => "/douyin/x/".to_owned(),
    };
    let request = lambda_http::http::Request::builder().uri(uri).body(Body::Empty).unwrap();
    Params::from_request(&request).await
}

#[tokio::test]
async fn authenticate_accepts_a_token_of_an_existing_user() {
    let t = TestApp::new().await;
    let alice = t.new_user("alice").await;
    let user = edge::authenticate(&t.app, &params(Some(&alice.token)).await).await.unwrap();
    assert_eq!(user, UserId(alice.id));
}

#[tokio::test]
async fn authenticate_refuses_missing_malformed_and_unknown_user_tokens() {
    let t = TestApp::new().await;
    // Correctly signed, but for a user that does not exist (deleted, or never was).
    let ghost = t.app.tokens.issue(UserId(424_242)).unwrap().0;
    for token in [None, Some(""), Some("not.a.token"), Some(ghost.as_str())] {
        let error = edge::authenticate(&t.app, &params(token).await).await.unwrap_err();
        assert_eq!(error.status_code(), 10002, "{token:?}");
    }
}

#[tokio::test]
async fn viewer_is_a_guest_when_the_token_is_bad() {
    let t = TestApp::new().await;
    let alice = t.new_user("alice").await;
    assert_eq!(edge::viewer(&t.app, &params(Some(&alice.token)).await), Some(UserId(alice.id)));
    assert_eq!(edge::viewer(&t.app, &params(Some("bad")).await), None);
    assert_eq!(edge::viewer(&t.app, &params(None).await), None);
}

#[tokio::test]
async fn a_token_from_another_deployment_is_refused() {
    let t = TestApp::new().await;
    let other = TestApp::with_config(|config| {
        config.jwt_secret = shared::config::SecretSource::Value("another-secret-another-secret-another".into());
    })
    .await;
    let alice = t.new_user("alice").await;
    let error = edge::authenticate(&other.app, &params(Some(&alice.token)).await).await.unwrap_err();
    assert_eq!(error.status_code(), 10002);
}

// ---------------------------------------------------------------------------
// Forged, expired and otherwise bad tokens on every endpoint that needs one.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use lambda_http::http::Method;
use serde_json::{Value, json};
use tests::snapshot::snapshot;
use tests::{Session, TEST_SECRET, fixture, multipart};

fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

/// base64url without padding, as JWT segments are written.
fn b64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

fn sign(algorithm: Algorithm, claims: &Value, secret: &str) -> String {
    jsonwebtoken::encode(&Header::new(algorithm), claims, &EncodingKey::from_secret(secret.as_bytes())).unwrap()
}

/// `header.claims.signature` with the header written as given and an HS256
/// signature by `secret` (what an algorithm-confusion attack would send).
fn with_header(header: &Value, claims: &Value, secret: &str) -> String {
    let message = format!("{}.{}", b64(header.to_string().as_bytes()), b64(claims.to_string().as_bytes()));
    let signature =
        jsonwebtoken::crypto::sign(message.as_bytes(), &EncodingKey::from_secret(secret.as_bytes()), Algorithm::HS256)
            .unwrap();
    format!("{message}.{signature}")
}

/// Every kind of bad token, each aimed at `victim` (a valid one would act as them).
fn bad_tokens(victim: &Session, other: &Session) -> Vec<(&'static str, String)> {
    let now = unix_now();
    let sub = victim.id.to_string();
    let valid = json!({"sub": sub, "iat": now, "nbf": now, "exp": now + 3600});
    let claims = |edit: &dyn Fn(&mut serde_json::Map<String, Value>)| {
        let mut claims = valid.as_object().unwrap().clone();
        edit(&mut claims);
        Value::Object(claims)
    };
    let parts: Vec<&str> = victim.token.split('.').collect();
    let other_payload = other.token.split('.').nth(1).unwrap();
    let none_header = b64(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = b64(valid.to_string().as_bytes());
    vec![
        ("alg none, empty signature", format!("{none_header}.{payload}.")),
        ("alg none, no signature", format!("{none_header}.{payload}")),
        ("alg None (case)", format!("{}.{payload}.", b64(br#"{"alg":"None"}"#))),
        ("HS384 with our secret", sign(Algorithm::HS384, &valid, TEST_SECRET)),
        ("HS512 with our secret", sign(Algorithm::HS512, &valid, TEST_SECRET)),
        ("RS256 header, HMAC signature", with_header(&json!({"alg": "RS256", "typ": "JWT"}), &valid, TEST_SECRET)),
        ("ES256 header, HMAC signature", with_header(&json!({"alg": "ES256", "typ": "JWT"}), &valid, TEST_SECRET)),
        ("tampered payload", format!("{}.{other_payload}.{}", parts[0], parts[2])),
        ("signature of another token", format!("{}.{}.{}", parts[0], parts[1], other.token.split('.').nth(2).unwrap())),
        ("another secret", sign(Algorithm::HS256, &valid, "another-secret-another-secret-another-secret")),
        ("truncated signature", victim.token[..victim.token.len() - 2].to_owned()),
        (
            "expired",
            sign(
                Algorithm::HS256,
                &claims(&|c| {
                    c.insert("nbf".into(), json!(now - 7200));
                    c.insert("exp".into(), json!(now - 60));
                }),
                TEST_SECRET,
            ),
        ),
        (
            "not yet valid",
            sign(
                Algorithm::HS256,
                &claims(&|c| {
                    c.insert("nbf".into(), json!(now + 3600));
                }),
                TEST_SECRET,
            ),
        ),
        (
            "no sub",
            sign(
                Algorithm::HS256,
                &claims(&|c| {
                    c.remove("sub");
                }),
                TEST_SECRET,
            ),
        ),
        (
            "no exp",
            sign(
                Algorithm::HS256,
                &claims(&|c| {
                    c.remove("exp");
                }),
                TEST_SECRET,
            ),
        ),
        (
            "no nbf",
            sign(
                Algorithm::HS256,
                &claims(&|c| {
                    c.remove("nbf");
                }),
                TEST_SECRET,
            ),
        ),
        (
            "sub not a number",
            sign(
                Algorithm::HS256,
                &claims(&|c| {
                    c.insert("sub".into(), json!("alice"));
                }),
                TEST_SECRET,
            ),
        ),
        (
            "sub a JSON number",
            sign(
                Algorithm::HS256,
                &claims(&|c| {
                    c.insert("sub".into(), json!(victim.id));
                }),
                TEST_SECRET,
            ),
        ),
        (
            "sub zero",
            sign(
                Algorithm::HS256,
                &claims(&|c| {
                    c.insert("sub".into(), json!("0"));
                }),
                TEST_SECRET,
            ),
        ),
        (
            "sub of a user that does not exist",
            sign(
                Algorithm::HS256,
                &claims(&|c| {
                    c.insert("sub".into(), json!("9007199254740991"));
                }),
                TEST_SECRET,
            ),
        ),
        ("empty", String::new()),
        ("garbage", "a.b.c".to_owned()),
        // A well-signed token must also be one `Tokens::issue` could have made:
        // no longer-lived than the configured lifetime (7 days here), with `iat`
        // and a subject written canonically.
        (
            "exp 2^63",
            sign(Algorithm::HS256, &claims(&|c| drop(c.insert("exp".into(), json!(1u64 << 63)))), TEST_SECRET),
        ),
        (
            "lifetime a day longer than configured",
            sign(Algorithm::HS256, &claims(&|c| drop(c.insert("exp".into(), json!(now + 8 * 86_400)))), TEST_SECRET),
        ),
        (
            "issued in the future",
            sign(
                Algorithm::HS256,
                &claims(&|c| {
                    c.insert("iat".into(), json!(now + 86_400));
                    c.insert("exp".into(), json!(now + 2 * 86_400));
                }),
                TEST_SECRET,
            ),
        ),
        ("no iat", sign(Algorithm::HS256, &claims(&|c| drop(c.remove("iat"))), TEST_SECRET)),
        (
            "sub with a plus sign",
            sign(Algorithm::HS256, &claims(&|c| drop(c.insert("sub".into(), json!(format!("+{sub}"))))), TEST_SECRET),
        ),
        (
            "sub padded with spaces and zeros",
            sign(
                Algorithm::HS256,
                &claims(&|c| drop(c.insert("sub".into(), json!(format!(" 00{sub} "))))),
                TEST_SECRET,
            ),
        ),
        (
            "sub with a leading zero",
            sign(Algorithm::HS256, &claims(&|c| drop(c.insert("sub".into(), json!(format!("0{sub}"))))), TEST_SECRET),
        ),
    ]
}

/// The endpoints that need a token, each with parameters that would succeed
/// with the victim's real token, so the token is the only thing wrong.
fn authenticated_requests(token: &str, other: &Session, ids: &Ids) -> Vec<(&'static str, lambda_http::Request)> {
    let request = |method: Method, path: &str, params: &[(&str, &str)]| {
        let uri = format!("{path}?{}", tests::form_encode(params));
        lambda_http::http::Request::builder().method(method).uri(uri).body(lambda_http::Body::Empty).unwrap()
    };
    let (other_id, video, comment, upload) =
        (other.id.to_string(), ids.video.to_string(), ids.comment.to_string(), ids.upload.to_string());
    let (content_type, body) = multipart(
        &[("token", token), ("title", "forged")],
        Some(("data", "clip.mp4", &fixture("portrait-red-360x640-1s.mp4"))),
    );
    let publish = lambda_http::http::Request::builder()
        .method(Method::POST)
        .uri("/douyin/publish/action/")
        .header("content-type", content_type)
        .body(lambda_http::Body::Binary(body))
        .unwrap();
    vec![
        ("publish-action", publish),
        (
            "publish-upload",
            request(
                Method::POST,
                "/douyin/publish/upload/",
                &[("token", token), ("title", "t"), ("content_type", "video/mp4"), ("content_length", "1000")],
            ),
        ),
        ("publish-status", request(Method::GET, "/douyin/publish/status/", &[("token", token), ("video_id", &upload)])),
        (
            "favorite-action",
            request(
                Method::POST,
                "/douyin/favorite/action/",
                &[("token", token), ("video_id", &video), ("action_type", "1")],
            ),
        ),
        (
            "comment-action",
            request(
                Method::POST,
                "/douyin/comment/action/",
                &[("token", token), ("video_id", &video), ("action_type", "1"), ("comment_text", "forged")],
            ),
        ),
        (
            "comment-action",
            request(
                Method::POST,
                "/douyin/comment/action/",
                &[("token", token), ("video_id", &video), ("action_type", "2"), ("comment_id", &comment)],
            ),
        ),
        (
            "relation-action",
            request(
                Method::POST,
                "/douyin/relation/action/",
                &[("token", token), ("to_user_id", &other_id), ("action_type", "2")],
            ),
        ),
        ("relation-friend-list", request(Method::GET, "/douyin/relation/friend/list/", &[("token", token)])),
        ("message-chat", request(Method::GET, "/douyin/message/chat/", &[("token", token), ("to_user_id", &other_id)])),
        (
            "message-action",
            request(
                Method::POST,
                "/douyin/message/action/",
                &[("token", token), ("to_user_id", &other_id), ("action_type", "1"), ("content", "forged")],
            ),
        ),
    ]
}

/// Objects of the victim that forged requests aim at.
struct Ids {
    video: u64,
    comment: u64,
    upload: u64,
}

/// alice (the victim) has a video with her comment, a pending upload, and is
/// friends with bob, with whom she has chatted.
async fn victim_world(t: &TestApp) -> (Session, Session, Ids) {
    let alice = t.new_user("alice").await;
    let bob = t.new_user("bob").await;
    let video = t.new_video(&alice.token, "alice's").await;
    let comment = t.comment(&alice.token, video, "mine").await.ok()["comment"]["id"].as_u64().unwrap();
    let upload = t.start_upload(&alice.token, "pending", "video/mp4", 1000).await.ok()["video_id"].as_u64().unwrap();
    t.relation(&alice.token, bob.id, 1).await.ok();
    t.relation(&bob.token, alice.id, 1).await.ok();
    t.send_message(&alice.token, bob.id, "hi bob").await.ok();
    (alice, bob, Ids { video, comment, upload })
}

#[tokio::test]
async fn every_bad_token_is_10002_on_every_authenticated_endpoint_and_changes_nothing() {
    // With alice's real token every request of the table goes through (on a
    // world of its own, which they change), so each case is live.
    let live = TestApp::new().await;
    let (alice, bob, ids) = victim_world(&live).await;
    for (endpoint, request) in authenticated_requests(&alice.token, &bob, &ids) {
        let reply = live.send(request).await;
        assert_eq!(reply.code(), 0, "{endpoint} with alice's real token: {}", reply.body);
    }

    let t = TestApp::new().await;
    let (alice, bob, ids) = victim_world(&t).await;
    let before = snapshot(&t, &[&alice, &bob]).await;
    let mut checked = 0;
    for (label, token) in bad_tokens(&alice, &bob) {
        for (endpoint, request) in authenticated_requests(&token, &bob, &ids) {
            let reply = t.send(request).await;
            assert_eq!((reply.http_status, reply.code()), (200, 10002), "{label} on {endpoint}: {}", reply.body);
            checked += 1;
        }
    }
    assert_eq!(snapshot(&t, &[&alice, &bob]).await, before, "a refused token changed something");
    assert_eq!(checked, 29 * 10);
    // Nor did any forged publish or upload leave a video or an upload behind.
    assert_eq!(t.upload_status(&alice.token, ids.upload + 1).await.code(), 10004);
}

#[tokio::test]
async fn the_table_covers_every_endpoint_that_needs_a_token() {
    let session = Session { id: 1, token: String::new() };
    let ids = Ids { video: 1, comment: 1, upload: 1 };
    let mut covered: Vec<&str> = authenticated_requests("", &session, &ids).iter().map(|(e, _)| *e).collect();
    covered.extend([
        "feed",
        "user-register",
        "user-login",
        "user-info",
        "publish-list",
        "favorite-list",
        "comment-list",
        "relation-follow-list",
        "relation-follower-list",
    ]);
    covered.sort_unstable();
    covered.dedup();
    let mut routed: Vec<&str> = functions::routes::ENDPOINTS.iter().map(|e| e.name).collect();
    routed.sort_unstable();
    assert_eq!(covered, routed, "classify every new endpoint: token required (above) or open");
}

#[tokio::test]
async fn a_bad_token_on_a_read_endpoint_is_a_guest_never_its_subject() {
    let t = TestApp::new().await;
    let (alice, bob, ids) = victim_world(&t).await;
    t.favorite(&alice.token, ids.video, 1).await.ok();
    // With her real token alice sees her follow and her like...
    assert_eq!(t.user(Some(bob.id), Some(&alice.token)).await.ok()["user"]["is_follow"], true);
    assert_eq!(t.feed(None, Some(&alice.token)).await.ok()["video_list"][0]["is_favorite"], true);
    // ...and with any bad token aimed at her, nobody does.
    for (label, token) in bad_tokens(&alice, &bob) {
        let user = t.user(Some(bob.id), Some(&token)).await;
        assert_eq!(user.ok()["user"]["is_follow"], false, "{label}");
        let feed = t.feed(None, Some(&token)).await;
        assert_eq!(feed.ok()["video_list"][0]["is_favorite"], false, "{label}");
        // Without user_id, a read that defaults to the caller has no caller.
        // (10004 for a well-signed token of a user that does not exist).
        let own = t.call(Method::GET, "/douyin/user/", &[("token", &token)]).await;
        assert!([10001, 10004].contains(&own.code()), "{label}: {}", own.body);
    }
}
