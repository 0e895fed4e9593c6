use lambda_http::http::Method;
use tests::TestApp;

#[tokio::test]
async fn unknown_path_is_404_with_the_envelope() {
    let t = TestApp::new().await;
    let reply = t.call(Method::GET, "/douyin/nothing/", &[]).await;
    assert_eq!((reply.http_status, reply.code()), (404, 10004));
    assert!(!reply.msg().is_empty());
}

#[tokio::test]
async fn wrong_method_is_405_with_the_envelope() {
    let t = TestApp::new().await;
    let reply = t.call(Method::GET, "/douyin/user/register/", &[]).await;
    assert_eq!((reply.http_status, reply.code()), (405, 10001));
}

#[tokio::test]
async fn paths_work_without_the_trailing_slash() {
    let t = TestApp::new().await;
    let alice = t.new_user("alice").await;
    let reply = t.call(Method::GET, "/douyin/user", &[("user_id", &alice.id.to_string())]).await;
    reply.ok();
}

#[tokio::test]
async fn a_storage_fault_is_500_with_a_generic_message() {
    let t = TestApp::without_storage().await;
    for reply in [t.register("alice", "password1").await, t.login("alice", "password1").await] {
        assert_eq!((reply.http_status, reply.code()), (500, 50000));
        assert_eq!(reply.msg(), "internal error");
        assert_eq!((reply.body["user_id"].as_u64(), reply.body["token"].as_str()), (Some(0), Some("")));
    }
    let info = t.user(Some(1), None).await;
    assert_eq!((info.http_status, info.code(), info.msg()), (500, 50000, "internal error"));
}

#[tokio::test]
async fn a_panicking_handler_answers_the_500_envelope() {
    let t = TestApp::new().await;
    let endpoint = functions::routes::Endpoint {
        name: "panics",
        method: &Method::GET,
        path: "/douyin/panics/",
        handler: |_, _| Box::pin(async { panic!("boom") }),
        error_fields: functions::routes::ErrorFields::EnvelopeOnly,
    };
    let request = lambda_http::http::Request::builder().uri("/douyin/panics/").body(lambda_http::Body::Empty).unwrap();
    let response = functions::edge::respond(&t.app, &endpoint, request).await;
    assert_eq!(response.status(), 500);
    let body: serde_json::Value = match response.body() {
        lambda_http::Body::Text(text) => serde_json::from_str(text).unwrap(),
        other => panic!("unexpected body {other:?}"),
    };
    assert_eq!(body["status_code"], 50000);
}
