//! The invocation's deadline on Lambda: a handler still working when it comes
//! answers the envelope (not API Gateway's bare 500 for a timed-out function),
//! and a chat message the queue accepted answers 0 even when no time is left
//! for the send path's own write.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::future::BoxFuture;
use lambda_http::RequestExt as _;
use lambda_http::http::Method;
use shared::queue::{Outgoing, Queue};
use tests::{HeldQueue, TestApp, form_encode};

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

/// A queue whose send never answers (SQS unreachable past every timeout).
#[derive(Debug)]
struct StuckQueue;

impl Queue for StuckQueue {
    fn send(&self, _message: Outgoing) -> BoxFuture<'_, shared::Result<()>> {
        Box::pin(std::future::pending())
    }
}

/// A queue that accepts the message at once but answers only at `until`,
/// leaving the send path no time of its own before the deadline.
#[derive(Debug)]
struct LateAck {
    held: HeldQueue,
    until: tokio::time::Instant,
}

impl Queue for LateAck {
    fn send(&self, message: Outgoing) -> BoxFuture<'_, shared::Result<()>> {
        Box::pin(async move {
            self.held.send(message).await?;
            tokio::time::sleep_until(self.until).await;
            Ok(())
        })
    }
}

#[tokio::test]
async fn a_handler_still_working_at_the_deadline_answers_the_envelope_before_it() {
    let mut t = TestApp::new().await;
    let (ann, ben) = (t.new_user("ann").await, t.new_user("ben").await);
    t.app.chat_queue = Some(Arc::new(StuckQueue));
    let left = Duration::from_secs(2);
    let started = tokio::time::Instant::now();
    // Bounded so that a regression fails here instead of hanging the run.
    let reply = tokio::time::timeout(Duration::from_secs(60), t.send(send_request(&ann.token, ben.id, left)))
        .await
        .expect("the handler was stopped at the deadline");
    assert!(started.elapsed() < left, "answered before Lambda's deadline");
    assert_eq!((reply.http_status, reply.code()), (500, 50000));
    assert_eq!(reply.msg(), "internal error");
}

#[tokio::test]
async fn an_enqueued_message_answers_0_when_no_time_is_left_to_write_it() {
    let mut t = TestApp::new().await;
    let (ann, ben) = (t.new_user("ann").await, t.new_user("ben").await);
    let left = Duration::from_secs(5);
    // The queue answers when less than the send path's reserve is left.
    let until = tokio::time::Instant::now() + left - functions::edge::ANSWER_RESERVE - shared::chat::PERSIST_RESERVE
        + Duration::from_millis(100);
    let queue = Arc::new(LateAck { held: HeldQueue::default(), until });
    t.app.chat_queue = Some(queue.clone());
    let reply = t.send(send_request(&ann.token, ben.id, left)).await;
    assert_eq!(reply.code(), 0, "{}", reply.msg());
    // The queue has it (the consumer will write it); the send path did not
    // start a write it had no time to finish.
    assert_eq!(queue.held.0.lock().unwrap().len(), 1);
    let polled = t.chat(&ben.token, ann.id, None).await;
    assert_eq!(polled.ok()["message_list"].as_array().map(Vec::len), Some(0));
}
