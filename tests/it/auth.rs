//! Authentication at the edge: `authenticate` (required token) and `viewer`
//! (optional). No endpoint of this stage needs a token, so these drive the
//! edge functions directly with real requests.

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
