//! The invocation's deadline on Lambda: a handler still working when it comes
//! answers the envelope (not API Gateway's bare 500 for a timed-out function),
//! and a chat message the send path stored answers 0 in time even when the
//! queue never answers.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsInput;
use futures_util::future::BoxFuture;
use lambda_http::RequestExt as _;
use lambda_http::http::Method;
use shared::queue::{Outgoing, Queue};
use tests::faults::{Fault, FaultInjector};
use tests::{Faults, TestApp, form_encode};

/// A Lambda context whose deadline is `left` from now.
fn context_with(left: Duration) -> lambda_http::Context {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let mut context = lambda_http::Context::default();
    context.deadline = u64::try_from((now + left).as_millis()).unwrap();
    context
}

fn send_request(token: &str, to: u64, left: Duration) -> lambda_http::Request {
    let query =
        form_encode(&[("token", token), ("to_user_id", &to.to_string()), ("action_type", "1"), ("content", "hi")]);
    lambda_http::http::Request::builder()
        .method(Method::POST)
        .uri(format!("/douyin/message/action/?{query}"))
        .body(lambda_http::Body::Empty)
        .unwrap()
        .with_lambda_context(context_with(left))
}

/// Sends a message with 2 s left before the invocation's deadline and checks
/// that it is answered before it.
async fn send_answered_before_the_deadline(t: &TestApp, token: &str, to: u64) -> tests::Reply {
    let left = Duration::from_secs(2);
    let started = tokio::time::Instant::now();
    // Bounded so that a regression fails here instead of hanging the run.
    let reply = tokio::time::timeout(Duration::from_secs(60), t.send(send_request(token, to, left)))
        .await
        .expect("the handler answered");
    assert!(started.elapsed() < left, "answered before Lambda's deadline");
    reply
}

/// A queue whose send never answers (SQS unreachable past every timeout).
#[derive(Debug)]
struct StuckQueue;

impl Queue for StuckQueue {
    fn send(&self, _message: Outgoing) -> BoxFuture<'_, shared::Result<()>> {
        Box::pin(std::future::pending())
    }
}

#[tokio::test]
async fn a_handler_still_working_at_the_deadline_answers_the_envelope_before_it() {
    let table = FaultInjector::new();
    let mut t = TestApp::with_faults(Faults { table: Some(table.clone()), ..Faults::default() }).await;
    let (ann, ben) = (t.new_user("ann").await, t.new_user("ben").await);
    // Both of the send's writes fail, so the send waits for the queue,
    // which never answers.
    t.app.chat_queue = Some(Arc::new(StuckQueue));
    table.fail_next_n_of::<TransactWriteItemsInput>(2, Fault::Refused);
    let reply = send_answered_before_the_deadline(&t, &ann.token, ben.id).await;
    assert_eq!((reply.http_status, reply.code()), (500, 50000));
    assert_eq!(reply.msg(), "internal error");
    assert_eq!(table.failed(), 2);
}

#[tokio::test]
async fn a_message_its_send_stored_answers_0_in_time_though_the_queue_never_answers() {
    let table = FaultInjector::new();
    let mut t = TestApp::with_faults(Faults { table: Some(table.clone()), ..Faults::default() }).await;
    let (ann, ben) = (t.new_user("ann").await, t.new_user("ben").await);
    // The send's transaction fails: its queue's path stores the message with
    // its second write while the queue never answers.
    t.app.chat_queue = Some(Arc::new(StuckQueue));
    table.fail_next_of::<TransactWriteItemsInput>(Fault::Refused);
    let reply = send_answered_before_the_deadline(&t, &ann.token, ben.id).await;
    assert_eq!(reply.code(), 0, "{}", reply.msg());
    assert_eq!(table.failed(), 1);
    let polled = t.chat(&ben.token, ann.id, None).await;
    assert_eq!(polled.ok()["message_list"].as_array().map(Vec::len), Some(1));
}
