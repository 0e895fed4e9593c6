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
use tests::{Session, TEST_SECRET, samples};

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

/// The endpoints that need a token: those that answer a call without one
/// with 10002 (the probe `openapi::documented_security_matches_what_handlers_require`
/// holds the document to).
async fn needing_a_token(t: &TestApp) -> Vec<&'static str> {
    let mut names = Vec::new();
    for endpoint in functions::routes::ENDPOINTS {
        if t.call(endpoint.method.clone(), endpoint.path, &[]).await.code() == 10002 {
            names.push(endpoint.name);
        }
    }
    names
}

/// Every endpoint that needs a token, by its sample in `events/` (which
/// succeeds on the samples' cast with bob's real token, so the token is the
/// only thing wrong), and comment-action's other side: deleting `comment`.
/// Derived, not listed: a new endpoint is in the table as soon as it has its
/// sample.
fn authenticated_requests(
    needing: &[&'static str],
    token: &str,
    video: u64,
    comment: u64,
) -> Vec<(&'static str, lambda_http::Request)> {
    let mut requests: Vec<_> = needing.iter().map(|&name| (name, samples::request_as(name, token))).collect();
    let (video, comment) = (video.to_string(), comment.to_string());
    let params = [("token", token), ("video_id", &video), ("action_type", "2"), ("comment_id", &comment)];
    requests.push(("comment-action (delete)", tests::scenario::post("/douyin/comment/action/", &params)));
    requests
}

/// The samples' cast (bob, the victim, has a pending upload), and a comment
/// of bob's on alice's video: every request of the table would change
/// something with bob's real token.
async fn victim_world(t: &TestApp) -> (samples::SampleCast, u64) {
    let cast = samples::cast(t).await;
    let comment = t.comment(&cast.bob.token, cast.video, "mine").await.ok()["comment"]["id"].as_u64().unwrap();
    (cast, comment)
}

#[tokio::test]
async fn every_bad_token_is_10002_on_every_authenticated_endpoint_and_changes_nothing() {
    // With bob's real token every request of the table goes through (on a
    // world of its own, which they change), so each case is live.
    let live = TestApp::new().await;
    let (cast, comment) = victim_world(&live).await;
    let needing = needing_a_token(&live).await;
    assert!(needing.contains(&"favorite-action") && !needing.contains(&"feed"), "the probe: {needing:?}");
    for (endpoint, request) in authenticated_requests(&needing, &cast.bob.token, cast.video, comment) {
        let reply = live.send(request).await;
        assert_eq!(reply.code(), 0, "{endpoint} with bob's real token: {}", reply.body);
    }

    let t = TestApp::new().await;
    let (cast, comment) = victim_world(&t).await;
    let (alice, bob) = (&cast.alice, &cast.bob);
    let before = snapshot(&t, &[alice, bob]).await;
    let tokens = bad_tokens(bob, alice);
    let mut checked = 0;
    for (label, token) in &tokens {
        for (endpoint, request) in authenticated_requests(&needing, token, cast.video, comment) {
            let reply = t.send(request).await;
            assert_eq!((reply.http_status, reply.code()), (200, 10002), "{label} on {endpoint}: {}", reply.body);
            checked += 1;
        }
    }
    assert_eq!(snapshot(&t, &[alice, bob]).await, before, "a refused token changed something");
    assert_eq!(checked, tokens.len() * (needing.len() + 1));
    // Nor did any forged publish take an id. A comment, an upload ticket and
    // a message take theirs (from the block this instance holds: nothing
    // written) before their transaction confirms the caller, so the one
    // well-signed token of a user that does not exist costs each one.
    let burned = 3;
    assert_eq!(t.upload_status(&bob.token, comment + 1).await.code(), 10004);
    let next = t.start_upload(&bob.token, "after", "video/mp4", 10).await.ok()["video_id"].clone();
    assert_eq!(next, comment + 1 + burned);
}

#[tokio::test]
async fn a_sample_made_without_a_token_is_of_an_endpoint_that_needs_none() {
    // Otherwise the table above would try bad tokens on a request that has
    // no token to be bad: the sample must carry `{{token}}`.
    let t = TestApp::new().await;
    for name in needing_a_token(&t).await {
        assert!(samples::needs_caller(name), "events/{name}.json: needs a token but carries no {{{{token}}}}");
    }
}

#[tokio::test]
async fn a_bad_token_on_a_read_endpoint_is_a_guest_never_its_subject() {
    let t = TestApp::new().await;
    let (cast, _) = victim_world(&t).await;
    let (alice, bob) = (&cast.alice, &cast.bob);
    t.favorite(&bob.token, cast.video, 1).await.ok();
    t.relation(&bob.token, alice.id, 1).await.ok();
    // With his real token bob sees his follow and his like...
    assert_eq!(t.user(Some(alice.id), Some(&bob.token)).await.ok()["user"]["is_follow"], true);
    assert_eq!(t.feed(None, Some(&bob.token)).await.ok()["video_list"][0]["is_favorite"], true);
    // ...and with any bad token aimed at him, nobody does.
    for (label, token) in bad_tokens(bob, alice) {
        let user = t.user(Some(alice.id), Some(&token)).await;
        assert_eq!(user.ok()["user"]["is_follow"], false, "{label}");
        let feed = t.feed(None, Some(&token)).await;
        assert_eq!(feed.ok()["video_list"][0]["is_favorite"], false, "{label}");
        // Without user_id, a read that defaults to the caller has no caller.
        // (10004 for a well-signed token of a user that does not exist).
        let own = t.call(Method::GET, "/douyin/user/", &[("token", &token)]).await;
        assert!([10001, 10004].contains(&own.code()), "{label}: {}", own.body);
    }
}
