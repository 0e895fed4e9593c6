//! Chat: read your writes, both directions oldest first, no gap and no repeat
//! for a client polling with the newest `create_time` it has, the queue when
//! the table cannot take a send, idempotent consumption, previews in the
//! friend list.

use std::collections::HashSet;
use std::sync::Arc;

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsInput;
use futures_util::future::join_all;
use shared::queue::{Consumer, Delivery, InProcessQueue, Outgoing, Queue};
use shared::store::NewMessage;
use tests::faults::{Fault, FaultInjector};
use tests::{Faults, HeldQueue, Session, TestApp};

fn messages(reply: &tests::Reply) -> Vec<serde_json::Value> {
    reply.ok()["message_list"].as_array().unwrap().clone()
}

async fn pair(t: &TestApp) -> (Session, Session) {
    (t.new_user("ann").await, t.new_user("ben").await)
}

#[tokio::test]
async fn the_senders_next_poll_reads_the_message() {
    let t = TestApp::new().await;
    let (ann, ben) = pair(&t).await;
    let before = t.chat(&ann.token, ben.id, None).await;
    assert!(messages(&before).is_empty());
    t.send_message(&ann.token, ben.id, "  hello ben  ").await.ok();
    // No waiting for the queue: the send path has written it.
    let mine = messages(&t.chat(&ann.token, ben.id, Some(0)).await);
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["content"], "hello ben");
    assert_eq!((mine[0]["from_user_id"].as_u64(), mine[0]["to_user_id"].as_u64()), (Some(ann.id), Some(ben.id)));
    let theirs = messages(&t.chat(&ben.token, ann.id, None).await);
    assert_eq!(theirs, mine);
    t.chat.wait_idle().await;
    assert_eq!(messages(&t.chat(&ben.token, ann.id, None).await).len(), 1, "the consumer wrote nothing twice");
}

#[tokio::test]
async fn polls_return_both_directions_newer_than_pre_msg_time_oldest_first() {
    let t = TestApp::new().await;
    let (ann, ben) = pair(&t).await;
    for (from, to, text) in [(&ann, &ben, "1"), (&ben, &ann, "2"), (&ann, &ben, "3")] {
        t.send_message(&from.token, to.id, text).await.ok();
    }
    let all = messages(&t.chat(&ben.token, ann.id, None).await);
    let texts: Vec<&str> = all.iter().map(|m| m["content"].as_str().unwrap()).collect();
    assert_eq!(texts, ["1", "2", "3"]);
    let times: Vec<u64> = all.iter().map(|m| m["create_time"].as_u64().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] < w[1]), "{times:?}");
    let after_first = messages(&t.chat(&ben.token, ann.id, Some(times[0])).await);
    assert_eq!(after_first.len(), 2);
    assert!(messages(&t.chat(&ben.token, ann.id, Some(times[2])).await).is_empty());
}

/// 40 messages from both sides at once while a client polls the way the stock
/// client does (with the newest `create_time` it has): it ends with all 40,
/// each once.
#[tokio::test]
async fn a_burst_from_both_sides_reaches_a_polling_client_without_gap_or_repeat() {
    let t = TestApp::new().await;
    let (ann, ben) = pair(&t).await;
    let sends = join_all((0..40).map(|i| {
        let (from, to) = if i % 2 == 0 { (&ann, &ben) } else { (&ben, &ann) };
        let t = &t;
        async move { t.send_message(&from.token, to.id, &format!("m{i}")).await }
    }));
    let poller = async {
        let mut seen: Vec<(u64, u64)> = Vec::new();
        let mut pre = 0;
        for _ in 0..10_000 {
            for message in messages(&t.chat(&ann.token, ben.id, Some(pre)).await) {
                let (id, time) = (message["id"].as_u64().unwrap(), message["create_time"].as_u64().unwrap());
                assert!(time > pre, "a message at or before pre_msg_time came back");
                seen.push((id, time));
                pre = time;
            }
            if seen.len() >= 40 {
                break;
            }
            tokio::task::yield_now().await;
        }
        seen
    };
    let (replies, seen) = tokio::join!(sends, poller);
    assert!(replies.iter().all(|r| r.code() == 0));
    let unique: HashSet<u64> = seen.iter().map(|(id, _)| *id).collect();
    assert_eq!(unique.len(), seen.len(), "a message was shown twice");
    assert_eq!(seen.len(), 40, "a message was skipped");
    t.chat.wait_idle().await;
    assert_eq!(messages(&t.chat(&ben.token, ann.id, None).await).len(), 40);
}

#[tokio::test]
async fn a_redelivered_batch_writes_nothing_twice() {
    let t = TestApp::new().await;
    let (ann, ben) = pair(&t).await;
    let consumer = shared::chat::ChatConsumer::new(&t.app);
    let message =
        NewMessage { id: 9_000_001, from_user_id: ann.id, to_user_id: ben.id, content: "once".into(), sent_at: 1 };
    let delivery = |n: u32| Delivery {
        message_id: format!("sqs-{n}"),
        body: serde_json::to_string(&message).unwrap(),
        receive_count: n,
    };
    for n in 1..=3 {
        assert!(consumer.consume(vec![delivery(n), delivery(n + 10)]).await.failed.is_empty());
    }
    assert_eq!(messages(&t.chat(&ann.token, ben.id, None).await).len(), 1);
}

#[tokio::test]
async fn the_consumer_reports_only_the_messages_that_failed() {
    let t = TestApp::new().await;
    let (ann, ben) = pair(&t).await;
    let carl = t.new_user("carl").await;
    let consumer = shared::chat::ChatConsumer::new(&t.app);
    let body = |id: u64, to: u64| {
        serde_json::to_string(&NewMessage {
            id,
            from_user_id: ann.id,
            to_user_id: to,
            content: format!("{id}"),
            sent_at: 5,
        })
        .unwrap()
    };
    let batch = vec![
        Delivery { message_id: "a".into(), body: body(8_000_001, ben.id), receive_count: 1 },
        Delivery { message_id: "broken".into(), body: "{not json".into(), receive_count: 1 },
        Delivery { message_id: "c".into(), body: body(8_000_002, carl.id), receive_count: 1 },
    ];
    let report = consumer.consume(batch).await;
    assert_eq!(report.failed, ["broken"]);
    assert_eq!(messages(&t.chat(&ann.token, ben.id, None).await).len(), 1);
    assert_eq!(messages(&t.chat(&ann.token, carl.id, None).await).len(), 1);
}

#[tokio::test]
async fn the_friend_list_shows_the_latest_message_and_who_sent_it() {
    let t = TestApp::new().await;
    let (ann, ben) = pair(&t).await;
    t.relation(&ann.token, ben.id, 1).await.ok();
    t.relation(&ben.token, ann.id, 1).await.ok();
    let friend = |token: String, id: u64| {
        let t = &t;
        async move { t.list("/douyin/relation/friend/list/", id, Some(&token)).await.ok()["user_list"][0].clone() }
    };
    let none = friend(ann.token.clone(), ann.id).await;
    assert_eq!((none["message"].as_str(), none["msgType"].as_u64()), (Some(""), Some(0)));
    t.send_message(&ann.token, ben.id, "first").await.ok();
    t.send_message(&ben.token, ann.id, "latest").await.ok();
    let for_ann = friend(ann.token.clone(), ann.id).await;
    assert_eq!((for_ann["message"].as_str(), for_ann["msgType"].as_u64()), (Some("latest"), Some(0)));
    let for_ben = friend(ben.token.clone(), ben.id).await;
    assert_eq!((for_ben["message"].as_str(), for_ben["msgType"].as_u64()), (Some("latest"), Some(1)));
}

#[tokio::test]
async fn chat_errors_follow_the_contract_and_send_nothing() {
    let t = TestApp::new().await;
    let (ann, ben) = pair(&t).await;
    assert_eq!(t.send_message(&ann.token, ann.id, "me").await.code(), 10003);
    assert_eq!(t.send_message(&ann.token, 999_999, "who").await.code(), 10004);
    assert_eq!(t.send_message(&ann.token, ben.id, "   ").await.code(), 10001);
    assert_eq!(t.send_message(&ann.token, ben.id, &"字".repeat(501)).await.code(), 10001);
    assert!(t.send_message(&ann.token, ben.id, &"字".repeat(500)).await.code() == 0);
    assert_eq!(t.send_message("bad", ben.id, "x").await.code(), 10002);
    let two = t
        .call(
            lambda_http::http::Method::POST,
            "/douyin/message/action/",
            &[("token", &ann.token), ("to_user_id", &ben.id.to_string()), ("action_type", "2"), ("content", "x")],
        )
        .await;
    assert_eq!(two.code(), 10001);
    assert_eq!(t.chat(&ann.token, 999_999, None).await.code(), 10004);
    let bad_time = t
        .call(
            lambda_http::http::Method::GET,
            "/douyin/message/chat/",
            &[("token", &ann.token), ("to_user_id", &ben.id.to_string()), ("pre_msg_time", "soon")],
        )
        .await;
    assert_eq!(bad_time.code(), 10001);
    t.chat.wait_idle().await;
    assert_eq!(messages(&t.chat(&ann.token, ben.id, None).await).len(), 1, "only the valid message was sent");
}

/// A send is one round: one transaction writes the message, moves the
/// clock, checks both users and counts the send. The queue is not asked.
#[tokio::test]
async fn a_send_is_one_transaction_and_leaves_the_queue_alone() {
    let mut t = TestApp::new().await;
    let (ann, ben) = pair(&t).await;
    let queue = Arc::new(HeldQueue::default());
    t.app.chat_queue = Some(queue.clone());
    t.app.ids().reserve_ahead().await.unwrap();
    let before = t.app.dynamodb_calls.snapshot();
    let reply = t.send_message(&ann.token, ben.id, "at once").await;
    let used = t.app.dynamodb_calls.snapshot() - before;
    assert_eq!(reply.code(), 0, "{}", reply.body);
    assert_eq!(used.operations, 1, "one transaction");
    assert!(queue.0.lock().unwrap().is_empty(), "the queue was asked");
    assert_eq!(messages(&t.chat(&ben.token, ann.id, None).await).len(), 1);
}

/// When the send's transaction fails, the send takes the queue's path: it
/// confirms the users, then enqueues and writes at once, and either alone
/// makes the message durable. It answers 0 when the queue refuses but the
/// second write stores it, and when the queue takes it but the second write
/// fails too (the consumer then writes it).
#[tokio::test]
async fn a_send_whose_transaction_fails_answers_0_when_either_the_queue_or_a_second_write_keeps_it() {
    let table = FaultInjector::new();
    let t = TestApp::with_faults(Faults {
        table: Some(table.clone()),
        queue: Some((1, Fault::Refused)),
        ..Faults::default()
    })
    .await;
    let (ann, ben) = pair(&t).await;
    table.fail_next_of::<TransactWriteItemsInput>(Fault::Refused);
    let reply = t.send_message(&ann.token, ben.id, "stored, not queued").await;
    assert_eq!(reply.code(), 0, "{}", reply.body);
    assert_eq!(t.queue.as_ref().unwrap().sends(), 1, "the queue was asked");
    t.chat.wait_idle().await;
    let read = messages(&t.chat(&ben.token, ann.id, None).await);
    assert_eq!(read.iter().map(|m| m["content"].as_str().unwrap()).collect::<Vec<_>>(), ["stored, not queued"]);

    let table = FaultInjector::new();
    let t = TestApp::with_faults(Faults { table: Some(table.clone()), ..Faults::default() }).await;
    let (ann, ben) = pair(&t).await;
    table.fail_next_n_of::<TransactWriteItemsInput>(2, Fault::Refused);
    let reply = t.send_message(&ann.token, ben.id, "queued, not stored").await;
    assert_eq!(reply.code(), 0, "{}", reply.body);
    assert_eq!(table.failed(), 2, "both of the send's writes failed");
    t.chat.wait_idle().await;
    let read = messages(&t.chat(&ben.token, ann.id, None).await);
    assert_eq!(read.iter().map(|m| m["content"].as_str().unwrap()).collect::<Vec<_>>(), ["queued, not stored"]);
}

#[tokio::test]
async fn a_send_that_neither_the_queue_nor_its_own_writes_keep_fails_and_shows_nothing() {
    let table = FaultInjector::new();
    let faults = Faults { table: Some(table.clone()), queue: Some((1, Fault::Refused)), ..Faults::default() };
    let t = TestApp::with_faults(faults).await;
    let (ann, ben) = pair(&t).await;
    table.fail_next_n_of::<TransactWriteItemsInput>(2, Fault::Refused);
    let reply = t.send_message(&ann.token, ben.id, "lost").await;
    assert_eq!((reply.http_status, reply.code(), reply.msg()), (500, 50000, "internal error"));
    assert_eq!((table.failed(), t.queue.as_ref().unwrap().sends()), (2, 1), "every write was tried");
    t.chat.wait_idle().await;
    assert!(messages(&t.chat(&ben.token, ann.id, None).await).is_empty());
}

/// The send's transaction commits whatever the queue would do, and its
/// answer lost after the commit sends it down the queue's path, which finds
/// it stored: shown once.
#[tokio::test]
async fn a_send_whose_committed_transaction_lost_its_answer_is_shown_once() {
    let table = FaultInjector::new();
    let t = TestApp::with_faults(Faults { table: Some(table.clone()), ..Faults::default() }).await;
    let (ann, ben) = pair(&t).await;
    table.fail_next_of::<TransactWriteItemsInput>(Fault::AnswerLost);
    let reply = t.send_message(&ann.token, ben.id, "once").await;
    assert_eq!(reply.code(), 0, "{}", reply.body);
    assert_eq!(table.failed(), 1);
    t.chat.wait_idle().await;
    let read = messages(&t.chat(&ben.token, ann.id, None).await);
    assert_eq!(read.iter().map(|m| m["content"].as_str().unwrap()).collect::<Vec<_>>(), ["once"]);
}

/// A send's transaction starts from the message's own time on the condition
/// that the conversation's clock is behind it; when another instance's
/// message got a later time first, the condition fails, the clock is read,
/// and the message lands after it: a client holding that message still gets
/// this one.
#[tokio::test]
async fn a_send_behind_the_conversations_clock_lands_after_it() {
    let t = TestApp::new().await;
    let (ann, ben) = pair(&t).await;
    let ahead = NewMessage {
        id: 7_200_001,
        from_user_id: ben.id,
        to_user_id: ann.id,
        content: "from the future".into(),
        sent_at: shared::domain::now_ms() + 60_000,
    };
    assert!(t.app.table().persist_message(&ahead).await.unwrap());
    let pre = messages(&t.chat(&ann.token, ben.id, None).await).last().unwrap()["create_time"].as_u64().unwrap();
    t.app.ids().reserve_ahead().await.unwrap();
    let before = t.app.dynamodb_calls.snapshot();
    t.send_message(&ann.token, ben.id, "now").await.ok();
    let used = t.app.dynamodb_calls.snapshot() - before;
    assert_eq!(used.operations, 3, "the transaction, a read of the clock, the transaction");
    let next = messages(&t.chat(&ann.token, ben.id, Some(pre)).await);
    assert_eq!(next.len(), 1, "the message was skipped");
    assert_eq!(next[0]["content"], "now");
    assert_eq!(next[0]["create_time"].as_u64().unwrap(), pre + 1);
}

/// Two instances assign times, but the older message commits last: it must
/// still reach a client that already holds the newer one.
#[tokio::test]
async fn a_late_commit_of_an_older_message_is_not_skipped() {
    let t = TestApp::new().await;
    let (ann, ben) = pair(&t).await;
    let newer =
        NewMessage { id: 7_000_002, from_user_id: ben.id, to_user_id: ann.id, content: "newer".into(), sent_at: 2_000 };
    let older =
        NewMessage { id: 7_000_001, from_user_id: ann.id, to_user_id: ben.id, content: "older".into(), sent_at: 1_000 };
    assert!(t.app.table().persist_message(&newer).await.unwrap());
    let first = messages(&t.chat(&ann.token, ben.id, None).await);
    let pre = first.last().unwrap()["create_time"].as_u64().unwrap();
    assert_eq!(pre, 2_000);
    assert!(t.app.table().persist_message(&older).await.unwrap());
    let next = messages(&t.chat(&ann.token, ben.id, Some(pre)).await);
    assert_eq!(next.len(), 1, "the late message was skipped");
    assert_eq!(next[0]["content"], "older");
    assert!(next[0]["create_time"].as_u64().unwrap() > pre);
}

/// A send reads its conversation's clock before it enqueues and persists
/// from that read (one round fewer); when another message commits in
/// between, the stale clock fails the transaction's condition and the persist
/// reads it again: the message still lands after everything already seen.
#[tokio::test]
async fn a_persist_from_a_clock_read_before_another_commit_reads_the_clock_again() {
    let t = TestApp::new().await;
    let (ann, ben) = pair(&t).await;
    let (users, clock) = t.app.table().message_parties(ann.id, ben.id).await.unwrap();
    assert_eq!(users.iter().map(|u| u.id).collect::<Vec<_>>(), [ann.id, ben.id]);
    let meanwhile = NewMessage {
        id: 7_100_002,
        from_user_id: ben.id,
        to_user_id: ann.id,
        content: "meanwhile".into(),
        sent_at: 5_000,
    };
    assert!(t.app.table().persist_message(&meanwhile).await.unwrap());
    let seen = messages(&t.chat(&ann.token, ben.id, None).await);
    let pre = seen.last().unwrap()["create_time"].as_u64().unwrap();

    let sent =
        NewMessage { id: 7_100_001, from_user_id: ann.id, to_user_id: ben.id, content: "sent".into(), sent_at: 1_000 };
    let before = t.app.dynamodb_calls.snapshot();
    assert!(t.app.table().persist_message_from(&sent, Some(clock)).await.unwrap());
    let used = t.app.dynamodb_calls.snapshot() - before;
    assert_eq!(used.operations, 3, "the stale clock's transaction, a read of the clock, the transaction");
    let next = messages(&t.chat(&ann.token, ben.id, Some(pre)).await);
    assert_eq!(next.len(), 1, "the message was skipped");
    assert_eq!(next[0]["content"], "sent");
    assert!(next[0]["create_time"].as_u64().unwrap() > pre);
    // Written once: a second persist (the consumer's) changes nothing.
    assert!(!t.app.table().persist_message(&sent).await.unwrap());
}

/// Fails the first delivery of some messages, then behaves: the queue
/// redelivers exactly those, and every message ends up written once.
struct FailingFirst {
    inner: shared::chat::ChatConsumer,
    fail: std::sync::Mutex<HashSet<String>>,
}

impl Consumer for FailingFirst {
    fn consume(&self, batch: Vec<Delivery>) -> futures_util::future::BoxFuture<'_, shared::queue::BatchReport> {
        Box::pin(async move {
            let (failing, passing): (Vec<Delivery>, Vec<Delivery>) = {
                let mut fail = self.fail.lock().unwrap();
                batch.into_iter().partition(|d| fail.remove(&d.body))
            };
            let mut report = self.inner.consume(passing).await;
            report.failed.extend(failing.into_iter().map(|d| d.message_id));
            report
        })
    }
}

#[tokio::test]
async fn a_consumer_failing_mid_batch_loses_nothing() {
    let t = TestApp::new().await;
    let (ann, ben) = pair(&t).await;
    let message = |id: u64, to: u64| NewMessage {
        id,
        from_user_id: ann.id,
        to_user_id: to,
        content: format!("m{id}"),
        sent_at: id,
    };
    let carl = t.new_user("carl").await;
    let all: Vec<NewMessage> =
        (1..=10).map(|i| message(6_000_000 + i, if i % 2 == 0 { ben.id } else { carl.id })).collect();
    let bodies: Vec<String> = all.iter().map(|m| serde_json::to_string(m).unwrap()).collect();
    let consumer = Arc::new(FailingFirst {
        inner: shared::chat::ChatConsumer::new(&t.app),
        fail: std::sync::Mutex::new([bodies[3].clone(), bodies[6].clone()].into()),
    });
    let queue = InProcessQueue::start(consumer.clone(), Default::default());
    for (message, body) in all.iter().zip(&bodies) {
        let group = shared::store::model::conversation_partition(message.from_user_id, message.to_user_id);
        queue.send(Outgoing { group, dedup_id: message.id.to_string(), body: body.clone() }).await.unwrap();
    }
    queue.wait_idle().await;
    assert!(consumer.fail.lock().unwrap().is_empty(), "both failures were redelivered");
    assert!(queue.dead_letters().is_empty());
    assert_eq!(messages(&t.chat(&ann.token, ben.id, None).await).len(), 5);
    assert_eq!(messages(&t.chat(&ann.token, carl.id, None).await).len(), 5);
}

#[cfg(feature = "fidelity")]
mod on_sqs {
    use shared::queue::SqsQueue;

    use super::*;

    async fn queue_pair() -> shared::queue::SqsQueuePair {
        let engines = tests::engines();
        let sdk = engines.credentials.sdk_config();
        let config = aws_sdk_sqs::config::Builder::from(&sdk).endpoint_url(engines.sqs.clone().unwrap()).build();
        SqsQueue::create_fifo_with_dlq(aws_sdk_sqs::Client::from_conf(config), &tests::unique_name("chat"), 5, 30)
            .await
            .unwrap()
    }

    /// A send whose writes both fail is kept by SQS alone: shown once the
    /// consumer has run, and once.
    #[tokio::test]
    async fn a_send_the_table_cannot_take_goes_through_sqs_and_reads_back_once_the_consumer_ran() {
        let table = FaultInjector::new();
        let mut t = TestApp::with_faults(Faults { table: Some(table.clone()), ..Faults::default() }).await;
        let pair = queue_pair().await;
        t.app.chat_queue = Some(Arc::new(pair.queue.clone()));
        let (ann, ben) = pair_of_users(&t).await;
        table.fail_next_n_of::<TransactWriteItemsInput>(2, Fault::Refused);
        let reply = t.send_message(&ann.token, ben.id, "over sqs").await;
        assert_eq!(reply.code(), 0, "{}", reply.body);
        assert!(messages(&t.chat(&ben.token, ann.id, None).await).is_empty(), "only the queue has it");
        let consumer = shared::chat::ChatConsumer::new(&t.app);
        assert_eq!(pair.queue.poll_once(&consumer, 0).await.unwrap(), 1);
        assert_eq!(messages(&t.chat(&ben.token, ann.id, None).await).len(), 1);
        assert_eq!(pair.queue.poll_once(&consumer, 0).await.unwrap(), 0, "the consumer deleted what it wrote");
        assert_eq!(messages(&t.chat(&ben.token, ann.id, None).await).len(), 1);
    }

    #[tokio::test]
    async fn a_poison_message_ends_in_the_dead_letter_queue() {
        let t = TestApp::new().await;
        let pair = queue_pair().await;
        let poison = Outgoing { group: "CHAT#1#2".into(), dedup_id: "poison".into(), body: "{not json".into() };
        pair.queue.send(poison).await.unwrap();
        let consumer = shared::chat::ChatConsumer::new(&t.app);
        let mut receives = 0;
        while pair.queue.poll_once(&consumer, 0).await.unwrap() > 0 {
            receives += 1;
            assert!(receives <= 5, "received more than maxReceiveCount times");
        }
        assert_eq!(receives, 5);
        assert_eq!(pair.dead_letters.drain().await.unwrap(), ["{not json"]);
    }

    async fn pair_of_users(t: &TestApp) -> (Session, Session) {
        (t.new_user("ann").await, t.new_user("ben").await)
    }
}
