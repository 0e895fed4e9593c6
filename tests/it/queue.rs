//! The queue contract, run against both implementations: the in-process twin
//! always, SQS (on moto) in the fidelity tier. Same assertions, two backends.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures_util::future::BoxFuture;
use shared::queue::{BatchReport, Consumer, Delivery, InProcessQueue, Outgoing, Queue, QueueSettings};

/// Records what it is given; fails each body a set number of times.
#[derive(Default)]
struct Recorder {
    seen: Mutex<Vec<(String, u32)>>,
    failures: HashMap<String, u32>,
}

impl Recorder {
    fn failing(failures: &[(&str, u32)]) -> Arc<Recorder> {
        Arc::new(Recorder {
            seen: Mutex::default(),
            failures: failures.iter().map(|(body, times)| (body.to_string(), *times)).collect(),
        })
    }

    fn bodies(&self) -> Vec<String> {
        self.seen.lock().unwrap().iter().map(|(body, _)| body.clone()).collect()
    }

    fn receives_of(&self, body: &str) -> Vec<u32> {
        self.seen.lock().unwrap().iter().filter(|(b, _)| b == body).map(|(_, count)| *count).collect()
    }
}

impl Consumer for Recorder {
    fn consume(&self, batch: Vec<Delivery>) -> BoxFuture<'_, BatchReport> {
        Box::pin(async move {
            let mut report = BatchReport::default();
            for delivery in batch {
                self.seen.lock().unwrap().push((delivery.body.clone(), delivery.receive_count));
                if self.failures.get(&delivery.body).is_some_and(|times| delivery.receive_count <= *times) {
                    report.failed.push(delivery.message_id);
                }
            }
            report
        })
    }
}

const MAX_RECEIVES: u32 = 3;

/// A queue under test and a way to run its deliveries to completion.
enum Harness {
    InProcess(Arc<InProcessQueue>),
    #[cfg_attr(not(feature = "fidelity"), allow(dead_code))]
    Sqs {
        pair: shared::queue::SqsQueuePair,
        consumer: Arc<Recorder>,
    },
}

impl Harness {
    fn in_process(consumer: Arc<Recorder>) -> Harness {
        Harness::InProcess(InProcessQueue::start(
            consumer,
            QueueSettings { batch_size: 10, max_receives: MAX_RECEIVES },
        ))
    }

    fn queue(&self) -> &dyn Queue {
        match self {
            Harness::InProcess(queue) => queue.as_ref(),
            Harness::Sqs { pair, .. } => &pair.queue,
        }
    }

    async fn send(&self, group: &str, dedup_id: &str, body: &str) {
        let message = Outgoing { group: group.into(), dedup_id: dedup_id.into(), body: body.into() };
        self.queue().send(message).await.unwrap();
    }

    /// Delivers until nothing is left to deliver.
    async fn pump(&self) {
        match self {
            Harness::InProcess(queue) => queue.wait_idle().await,
            Harness::Sqs { pair, consumer } => {
                let mut empty_polls = 0;
                while empty_polls < 2 {
                    let received = pair.queue.poll_once(consumer.as_ref(), 0).await.unwrap();
                    empty_polls = if received == 0 { empty_polls + 1 } else { 0 };
                }
            }
        }
    }

    async fn dead_letter_bodies(&self) -> Vec<String> {
        match self {
            Harness::InProcess(queue) => queue.dead_letters().into_iter().map(|d| d.body).collect(),
            Harness::Sqs { pair, .. } => pair.dead_letters.drain().await.unwrap(),
        }
    }
}

async fn every_message_is_delivered_once_in_order(harness: Harness, consumer: Arc<Recorder>) {
    let expected: Vec<String> = (0..25).map(|i| format!("m{i:02}")).collect();
    for body in &expected {
        harness.send("conversation-1-2", body, body).await;
    }
    harness.pump().await;
    assert_eq!(consumer.bodies(), expected);
}

async fn a_repeated_deduplication_id_is_delivered_once(harness: Harness, consumer: Arc<Recorder>) {
    harness.send("g", "id-1", "first").await;
    harness.send("g", "id-1", "first").await;
    harness.send("g", "id-2", "second").await;
    harness.pump().await;
    assert_eq!(consumer.bodies(), ["first", "second"]);
}

async fn only_failed_messages_come_back(harness: Harness, consumer: Arc<Recorder>) {
    for body in ["a", "b", "c"] {
        harness.send("g", body, body).await;
    }
    harness.pump().await;
    assert_eq!(consumer.receives_of("a"), [1]);
    assert_eq!(consumer.receives_of("b"), [1, 2]);
    assert_eq!(consumer.receives_of("c"), [1]);
    assert!(harness.dead_letter_bodies().await.is_empty());
}

async fn a_message_failing_every_time_ends_in_the_dead_letter_queue(harness: Harness, consumer: Arc<Recorder>) {
    harness.send("g", "poison", "poison").await;
    harness.send("h", "fine", "fine").await;
    harness.pump().await;
    assert_eq!(consumer.receives_of("poison"), (1..=MAX_RECEIVES).collect::<Vec<_>>());
    assert_eq!(consumer.receives_of("fine"), [1]);
    assert_eq!(harness.dead_letter_bodies().await, ["poison"]);
}

mod in_process {
    use super::*;

    #[tokio::test]
    async fn every_message_is_delivered_once_in_order() {
        let consumer = Recorder::failing(&[]);
        super::every_message_is_delivered_once_in_order(Harness::in_process(consumer.clone()), consumer).await;
    }

    #[tokio::test]
    async fn a_repeated_deduplication_id_is_delivered_once() {
        let consumer = Recorder::failing(&[]);
        super::a_repeated_deduplication_id_is_delivered_once(Harness::in_process(consumer.clone()), consumer).await;
    }

    #[tokio::test]
    async fn only_failed_messages_come_back() {
        let consumer = Recorder::failing(&[("b", 1)]);
        super::only_failed_messages_come_back(Harness::in_process(consumer.clone()), consumer).await;
    }

    #[tokio::test]
    async fn a_message_failing_every_time_ends_in_the_dead_letter_queue() {
        let consumer = Recorder::failing(&[("poison", u32::MAX)]);
        super::a_message_failing_every_time_ends_in_the_dead_letter_queue(
            Harness::in_process(consumer.clone()),
            consumer,
        )
        .await;
    }
}

#[cfg(feature = "fidelity")]
mod sqs {
    use shared::queue::SqsQueue;

    use super::*;

    async fn harness(consumer: Arc<Recorder>) -> Harness {
        let engines = tests::engines();
        let sdk = engines.credentials.sdk_config();
        let config = aws_sdk_sqs::config::Builder::from(&sdk).endpoint_url(engines.sqs.clone().unwrap()).build();
        let client = aws_sdk_sqs::Client::from_conf(config);
        let name = tests::unique_name("chat");
        let pair = SqsQueue::create_fifo_with_dlq(client, &name, MAX_RECEIVES, 30).await.unwrap();
        Harness::Sqs { pair, consumer }
    }

    #[tokio::test]
    async fn every_message_is_delivered_once_in_order() {
        let consumer = Recorder::failing(&[]);
        super::every_message_is_delivered_once_in_order(harness(consumer.clone()).await, consumer).await;
    }

    #[tokio::test]
    async fn a_repeated_deduplication_id_is_delivered_once() {
        let consumer = Recorder::failing(&[]);
        super::a_repeated_deduplication_id_is_delivered_once(harness(consumer.clone()).await, consumer).await;
    }

    #[tokio::test]
    async fn only_failed_messages_come_back() {
        let consumer = Recorder::failing(&[("b", 1)]);
        super::only_failed_messages_come_back(harness(consumer.clone()).await, consumer).await;
    }

    #[tokio::test]
    async fn a_message_failing_every_time_ends_in_the_dead_letter_queue() {
        let consumer = Recorder::failing(&[("poison", u32::MAX)]);
        super::a_message_failing_every_time_ends_in_the_dead_letter_queue(harness(consumer.clone()).await, consumer)
            .await;
    }
}
