//! The queue seam: chat messages go through a FIFO queue to a consumer. SQS has
//! no engine that embeds in a process, so this is the one place with a trait:
//! [`SqsQueue`] in production and against moto, [`InProcessQueue`] in the local
//! server and the tests. Both deliver batches to the same [`Consumer`] code the
//! SQS-triggered Lambda runs, and both honour its per-message failure report:
//! only failed messages come back, and after `max_receives` receives a message
//! goes to the dead-letter queue.

mod in_process;
mod sqs;

use futures_util::future::BoxFuture;

pub use in_process::{InProcessQueue, QueueSettings};
pub use sqs::{SqsQueue, SqsQueuePair};

use crate::error::Result;

/// A message to enqueue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outgoing {
    /// FIFO group: messages of one group are delivered in order.
    pub group: String,
    /// Deduplication id: a second message with the same id within five minutes
    /// is dropped.
    pub dedup_id: String,
    /// The payload (JSON).
    pub body: String,
}

/// A message as delivered to a consumer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// The queue's id of this message (what a failure report names).
    pub message_id: String,
    /// The payload.
    pub body: String,
    /// How many times it has been received, this time included.
    pub receive_count: u32,
}

/// What a consumer reports for a batch: the ids of the messages it failed to
/// process. Everything else in the batch counts as done.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BatchReport {
    /// Message ids to deliver again.
    pub failed: Vec<String>,
}

/// Where messages are sent.
pub trait Queue: Send + Sync + std::fmt::Debug {
    /// Enqueues `message`. `Ok` means the queue has durably accepted it.
    fn send(&self, message: Outgoing) -> BoxFuture<'_, Result<()>>;
}

/// The code that processes delivered batches (the SQS Lambda's handler).
pub trait Consumer: Send + Sync {
    /// Processes a batch; reports the messages that failed.
    fn consume(&self, batch: Vec<Delivery>) -> BoxFuture<'_, BatchReport>;
}
