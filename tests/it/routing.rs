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
