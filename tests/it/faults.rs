//! Every AWS call can fail: fail each call of a scenario in turn (the N-th
//! DynamoDB call, the N-th S3 call, the N-th queue send; refused, or applied
//! with its answer lost, or panicking) and check that the stored data still
//! holds every invariant (`tests::invariants`), and that no client ever sees
//! the failure's text.
//!
//! Runs on both tiers: the injector is an SDK interceptor, so the same calls
//! fail against the embedded engine and DynamoDB Local. The fidelity tier
//! takes every third N (DynamoDB Local answers a call in milliseconds, not
//! microseconds); the embedded tier takes them all.

use std::panic::AssertUnwindSafe;

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsInput;
use aws_sdk_dynamodb::types::AttributeValue;
use std::sync::Mutex;

use futures_util::FutureExt as _;
use futures_util::stream::{self, StreamExt as _};
use shared::videos::IngestOutcome;
use tests::faults::{FAULT_TEXT, Fault, FaultInjector};
use tests::http::put_ticket;
use tests::{FIDELITY, Faults, Reply, Session, TestApp, fixture, invariants, session_of};

/// What a run of the scenario leaves for the checks.
#[derive(Debug, Default)]
struct Run {
    /// Every reply a client got.
    replies: Vec<Reply>,
    /// Contents of the chat messages whose send answered 0.
    accepted: Vec<String>,
}

/// A client that tries each step at most twice (a failed step is retried
/// once, as an app's user would tap again) and goes on without what failed.
struct Client<'a> {
    t: &'a TestApp,
    run: Mutex<Run>,
}

impl Client<'_> {
    /// Runs `step` up to twice; the last reply.
    async fn step<F: std::future::Future<Output = Reply>>(&self, step: impl Fn() -> F) -> Reply {
        let mut reply = step().await;
        self.record(&reply);
        if reply.code() != 0 {
            reply = step().await;
            self.record(&reply);
        }
        reply
    }

    fn record(&self, reply: &Reply) {
        self.run.lock().unwrap().replies.push(reply.clone());
    }

    async fn user(&self, name: &str) -> Option<Session> {
        let registered = self.step(|| self.t.register(name, "password1")).await;
        if registered.code() == 0 {
            return Some(session_of(&registered.body));
        }
        // Maybe registered, the answer lost: log in.
        let login = self.step(|| self.t.login(name, "password1")).await;
        (login.code() == 0).then(|| session_of(&login.body))
    }

    async fn videos_of(&self, user: &Session) -> Vec<u64> {
        let list = self.step(|| self.t.publish_list(user.id, Some(&user.token))).await;
        let videos = list.body["video_list"].as_array().cloned().unwrap_or_default();
        videos.iter().filter_map(|video| video["id"].as_u64()).collect()
    }

    /// The presigned path: ticket, PUT, then the S3 event, delivered like
    /// Lambda delivers it: retried twice after an error or a crash.
    async fn upload(&self, user: &Session, clip: &[u8]) {
        let ticket = self.step(|| self.t.start_upload(&user.token, "uploaded", "video/mp4", clip.len())).await;
        let Some(video_id) = ticket.body["video_id"].as_u64() else { return };
        assert_eq!(put_ticket(&ticket.body, clip).await.status, 200);
        let event = functions::video_ingest::created_event(
            &self.t.app.config.media_bucket,
            &format!("uploads/{video_id}"),
            clip.len() as i64,
        );
        for _ in 0..3 {
            let ingest = AssertUnwindSafe(functions::video_ingest::handle(&self.t.app, event.clone())).catch_unwind();
            if let Ok(Ok(outcomes)) = ingest.await {
                assert!(!outcomes.iter().any(|o| matches!(o, IngestOutcome::Rejected(_))), "{outcomes:?}");
                break;
            }
        }
    }

    /// Sends a message; a retry is another message (its own content), as
    /// the API has no idempotency key: the one that answered 0 must be
    /// stored once, the other at most once.
    async fn message(&self, from: &Session, to: &Session, content: &str) {
        for attempt in 1..=2 {
            let content = format!("{content} ({attempt})");
            let reply = self.t.send_message(&from.token, to.id, &content).await;
            self.record(&reply);
            if reply.code() == 0 {
                self.run.lock().unwrap().accepted.push(content);
                return;
            }
        }
    }
}

/// Two users; a video published in one request and one through a presigned
/// upload; likes and an unlike; comments and a deletion; follows both ways
/// and an unfollow; messages both ways. Then the chat queue drains.
async fn scenario(t: &TestApp, clip: &[u8]) -> Run {
    let client = Client { t, run: Mutex::new(Run::default()) };
    let (Some(alice), Some(bob)) = (client.user("alice").await, client.user("bob").await) else {
        return client.run.into_inner().unwrap();
    };
    client.step(|| t.publish(&alice.token, "published", clip)).await;
    client.upload(&bob, clip).await;
    let ours = client.videos_of(&alice).await;
    let theirs = client.videos_of(&bob).await;
    for video in &ours {
        client.step(|| t.favorite(&bob.token, *video, 1)).await;
        client.step(|| t.favorite(&alice.token, *video, 1)).await;
        let comment = client.step(|| t.comment(&bob.token, *video, "first")).await;
        client.step(|| t.comment(&alice.token, *video, "thanks")).await;
        if let Some(comment) = comment.body["comment"]["id"].as_u64() {
            client.step(|| t.delete_comment(&alice.token, *video, comment)).await;
        }
    }
    for video in &theirs {
        client.step(|| t.favorite(&alice.token, *video, 1)).await;
        client.step(|| t.favorite(&alice.token, *video, 2)).await;
    }
    client.step(|| t.relation(&bob.token, alice.id, 1)).await;
    client.step(|| t.relation(&alice.token, bob.id, 1)).await;
    client.message(&alice, &bob, "hello bob").await;
    client.message(&bob, &alice, "hi alice").await;
    client.step(|| t.relation(&bob.token, alice.id, 2)).await;
    client.message(&alice, &bob, "still there?").await;
    // A bound, not a pause: a queue that never drains is a failure.
    tokio::time::timeout(std::time::Duration::from_secs(30), t.chat.wait_idle()).await.expect("the chat queue drains");
    client.run.into_inner().unwrap()
}

/// Runs the scenario with `faults` and returns what went wrong with the data
/// or the replies.
async fn run_with(faults: Faults, clip: &[u8]) -> Vec<String> {
    let t = TestApp::with_faults(faults).await;
    let run = scenario(&t, clip).await;
    let mut problems = invariants::violations(&t, &run.accepted).await;
    for reply in &run.replies {
        let message = reply.msg();
        if message.contains("injected") || message.contains("arn:aws") || message.contains("ServiceUnavailable") {
            problems.push(format!("a client saw the fault's text: {}", reply.body));
        }
        if reply.code() == 50000 && (reply.http_status, message) != (500, "internal error") {
            problems.push(format!("an internal error without the generic answer: {}", reply.body));
        }
    }
    assert!(t.chat.dead_letters().is_empty(), "dead letters: {:?}", t.chat.dead_letters());
    problems
}

/// How many calls of each kind the scenario makes without faults.
async fn calls_of_scenario(clip: &[u8]) -> (u64, u64, u64) {
    calls_of_scenario_with(FaultInjector::new(), clip).await
}

/// [`calls_of_scenario`] with `table` on the table's client.
async fn calls_of_scenario_with(table: FaultInjector, clip: &[u8]) -> (u64, u64, u64) {
    let blob = FaultInjector::new();
    let t = TestApp::with_faults(Faults { table: Some(table.clone()), blob: Some(blob.clone()), queue: None }).await;
    let run = scenario(&t, clip).await;
    assert!(run.replies.iter().all(|reply| reply.code() == 0), "the scenario fails without faults");
    assert_eq!(run.accepted.len(), 3);
    assert_eq!(invariants::violations(&t, &run.accepted).await, Vec::<String>::new());
    (table.operations(), blob.operations(), t.queue.as_ref().unwrap().sends())
}

/// Fails call N of one client for every N (every third in the fidelity
/// tier), with each kind of fault, a few runs at a time.
async fn every_call_fails_in_turn(make: fn(u64, Fault) -> Faults, calls: u64, kinds: &[Fault]) {
    let clip = fixture("portrait-red-360x640-1s.mp4");
    let step = if FIDELITY { 3 } else { 1 };
    let runs: Vec<(u64, Fault)> =
        (1..=calls).step_by(step).flat_map(|n| kinds.iter().map(move |kind| (n, *kind))).collect();
    let failures: Vec<String> = stream::iter(runs)
        .map(|(n, kind)| {
            let clip = &clip;
            async move {
                let problems = run_with(make(n, kind), clip).await;
                (!problems.is_empty()).then(|| format!("call {n} failing ({kind:?}):\n  {}", problems.join("\n  ")))
            }
        })
        .buffer_unordered(4)
        .filter_map(|failure| async move { failure })
        .collect()
        .await;
    assert!(failures.is_empty(), "{} of the runs broke an invariant:\n{}", failures.len(), failures.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scenario_without_faults_holds_every_invariant() {
    let (table, blob, queue) = calls_of_scenario(&fixture("portrait-red-360x640-1s.mp4")).await;
    assert!(table > 30 && blob > 5 && queue == 0, "{table} table calls, {blob} blob calls, {queue} sends");
    let (_, _, queue) =
        calls_of_scenario_with(sends_kept_by_the_queue(), &fixture("portrait-red-360x640-1s.mp4")).await;
    assert_eq!(queue, 3, "the sends whose writes fail go through the queue");
}

/// A table client on which the send path cannot write a message: the first
/// two transactions of each message (the send's own and the second write of
/// the queue's path) are refused, so each send keeps its message by the queue
/// alone; the third (the consumer's) passes.
fn sends_kept_by_the_queue() -> FaultInjector {
    let table = FaultInjector::new();
    let tries: Mutex<std::collections::HashMap<String, u32>> = Mutex::default();
    table.fail_every_where::<TransactWriteItemsInput>(Fault::Refused, move |input| {
        let guard = input.transact_items().iter().find_map(|item| {
            let key = item.put()?.item().get(shared::store::model::PK)?.as_s().ok()?;
            key.starts_with("MSGID#").then(|| key.clone())
        });
        let Some(guard) = guard else { return false };
        let mut tries = tries.lock().unwrap();
        let tried = tries.entry(guard).or_default();
        *tried += 1;
        *tried <= 2
    });
    table
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_table_call_may_fail_and_nothing_is_half_done() {
    let (calls, _, _) = calls_of_scenario(&fixture("portrait-red-360x640-1s.mp4")).await;
    let make = |n, kind| Faults { table: Some(FaultInjector::nth(n, kind)), ..Faults::default() };
    every_call_fails_in_turn(make, calls, &[Fault::Refused, Fault::AnswerLost, Fault::Panic]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_blob_call_may_fail_and_nothing_is_half_done() {
    let (_, calls, _) = calls_of_scenario(&fixture("portrait-red-360x640-1s.mp4")).await;
    let make = |n, kind| Faults { blob: Some(FaultInjector::nth(n, kind)), ..Faults::default() };
    every_call_fails_in_turn(make, calls, &[Fault::Refused, Fault::AnswerLost, Fault::Panic]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_queue_send_may_fail_and_no_accepted_message_is_lost() {
    let (_, _, calls) =
        calls_of_scenario_with(sends_kept_by_the_queue(), &fixture("portrait-red-360x640-1s.mp4")).await;
    let make = |n, kind| Faults { queue: Some((n, kind)), table: Some(sends_kept_by_the_queue()), ..Faults::default() };
    every_call_fails_in_turn(make, calls, &[Fault::Refused, Fault::AnswerLost, Fault::Panic]).await;
}

/// The client sees 50000 and "internal error"; the log line of the failed
/// request carries the cause, the fault's own text.
#[tokio::test]
async fn an_aws_failure_answers_the_generic_50000_and_logs_its_cause() {
    let table = FaultInjector::new();
    let t = TestApp::with_faults(Faults { table: Some(table.clone()), ..Faults::default() }).await;
    let alice = t.new_user("alice").await;
    let log = tests::logs::LogBuffer::default();
    let subscriber = tracing_subscriber::fmt().with_writer(log.clone()).with_ansi(false).finish();
    let reply = {
        let _scope = tracing::subscriber::set_default(subscriber);
        table.fail_next(Fault::Refused);
        t.user(Some(alice.id), Some(&alice.token)).await
    };
    assert_eq!((reply.http_status, reply.code(), reply.msg()), (500, 50000, "internal error"));
    assert!(!reply.body.to_string().contains("injected"), "{}", reply.body);
    let log = log.text();
    assert!(log.contains("request failed") && log.contains(FAULT_TEXT), "{log}");
}

// ---------------------------------------------------------------------------
// A transaction whose answer says it may not have committed is retried with
// its own client request token (docs/security.md, "Faults").

/// Items of `t`'s table whose `pk` starts with `prefix` and whose `sk` is `sk`.
async fn count_items(t: &TestApp, prefix: &str, sk: &str) -> usize {
    let text = |item: &std::collections::HashMap<String, AttributeValue>, name: &str| match item.get(name) {
        Some(AttributeValue::S(value)) => value.clone(),
        _ => String::new(),
    };
    invariants::scan(t)
        .await
        .iter()
        .filter(|item| text(item, "pk").starts_with(prefix) && text(item, "sk") == sk)
        .count()
}

/// The faults after which a transaction may have committed while its caller
/// was told otherwise: DynamoDB's `TransactionInProgressException` outlasting
/// the SDK's own retries (then retried by our loop), and a 500 (retried by the
/// SDK, as a network failure is).
const COMMITTED_THEN: [Fault; 2] = [Fault::AppliedThenInProgress, Fault::AppliedThenServerError];

#[tokio::test]
async fn a_registration_that_committed_behind_an_ambiguous_answer_answers_0_and_creates_one_account() {
    for fault in COMMITTED_THEN {
        let table = FaultInjector::new();
        let t = TestApp::with_faults(Faults { table: Some(table.clone()), ..Faults::default() }).await;
        table.fail_next_of::<TransactWriteItemsInput>(fault);
        let reply = t.register("alice", "password1").await;
        assert_eq!(table.failed(), 1, "{fault:?}: the fault struck");
        let alice = session_of(reply.ok());
        assert_eq!(t.login("alice", "password1").await.ok()["user_id"], alice.id, "{fault:?}");
        assert_eq!(t.user(Some(alice.id), Some(&alice.token)).await.ok()["user"]["name"], "alice", "{fault:?}");
        assert_eq!(count_items(&t, "USERNAME#", "USERNAME").await, 1, "{fault:?}: one username guard");
        assert_eq!(count_items(&t, "USER#", "PROFILE").await, 1, "{fault:?}: one profile");
        assert_eq!(invariants::violations(&t, &[]).await, Vec::<String>::new(), "{fault:?}");
    }
}

#[tokio::test]
async fn a_comment_that_committed_behind_an_ambiguous_answer_answers_0_and_is_stored_once() {
    for fault in COMMITTED_THEN {
        let table = FaultInjector::new();
        let t = TestApp::with_faults(Faults { table: Some(table.clone()), ..Faults::default() }).await;
        let alice = t.new_user("alice").await;
        let video = t.new_video(&alice.token, "clip").await;
        table.fail_next_of::<TransactWriteItemsInput>(fault);
        let reply = t.comment(&alice.token, video, "first!").await;
        assert_eq!(table.failed(), 1, "{fault:?}: the fault struck");
        let comment = reply.ok()["comment"]["id"].as_u64().unwrap();
        let listed = t.comment_list(video, None).await;
        let ids: Vec<u64> =
            listed.ok()["comment_list"].as_array().unwrap().iter().map(|c| c["id"].as_u64().unwrap()).collect();
        assert_eq!(ids, vec![comment], "{fault:?}");
        assert_eq!(count_items(&t, "COMMENT#", "COMMENT").await, 1, "{fault:?}");
        assert_eq!(invariants::violations(&t, &[]).await, Vec::<String>::new(), "{fault:?}: comment_count is 1");
    }
}

/// A transaction cancelled by a condition did not commit: its answer stands
/// (a taken name is still 10005), whatever the token.
#[tokio::test]
async fn a_taken_username_is_still_a_conflict() {
    let t = TestApp::new().await;
    t.new_user("alice").await;
    assert_eq!(t.register("alice", "password2").await.code(), 10005);
    assert_eq!(count_items(&t, "USERNAME#", "USERNAME").await, 1);
}
