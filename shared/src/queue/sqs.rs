//! The SQS adapter: the only module that speaks `aws-sdk-sqs`. Sending is what
//! production uses; [`SqsQueue::poll_once`] plays the part of Lambda's event
//! source mapping for the local server on `--backend aws` and for the
//! fidelity tests on moto.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, MessageSystemAttributeName, QueueAttributeName};
use futures_util::future::BoxFuture;

use super::{Consumer, Delivery, Outgoing, Queue};
use crate::error::{Context as _, Result};

/// An SQS FIFO queue.
#[derive(Clone, Debug)]
pub struct SqsQueue {
    client: Arc<LazyClient>,
    url: String,
}

/// A client, made from the SDK's configuration when first used (or given).
#[derive(Debug)]
struct LazyClient {
    made: OnceLock<Client>,
    sdk: aws_config::SdkConfig,
}

/// A FIFO queue and its dead-letter queue, as created by [`SqsQueue::create_fifo_with_dlq`].
#[derive(Clone, Debug)]
pub struct SqsQueuePair {
    /// The queue.
    pub queue: SqsQueue,
    /// Its dead-letter queue.
    pub dead_letters: SqsQueue,
}

impl SqsQueue {
    /// The queue at `url`.
    pub fn new(client: Client, url: impl Into<String>) -> SqsQueue {
        // Given: `sdk` is never used.
        let client = LazyClient { made: OnceLock::from(client), sdk: aws_config::SdkConfig::builder().build() };
        SqsQueue { client: Arc::new(client), url: url.into() }
    }

    /// The queue at `url`, its client made from `sdk` when it is first used:
    /// every function is told the chat queue's URL, and only the sender
    /// calls it, so the others never pay for the client in their init.
    pub fn on_first_use(sdk: &aws_config::SdkConfig, url: impl Into<String>) -> SqsQueue {
        let client = LazyClient { made: OnceLock::new(), sdk: sdk.clone() };
        SqsQueue { client: Arc::new(client), url: url.into() }
    }

    fn client(&self) -> &Client {
        self.client.made.get_or_init(|| Client::new(&self.client.sdk))
    }

    /// The queue's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Creates `name.fifo` with a dead-letter queue `name-dlq.fifo` that takes
    /// messages after `max_receives` receives (local runs and tests; on AWS the
    /// template creates both).
    pub async fn create_fifo_with_dlq(
        client: Client,
        name: &str,
        max_receives: u32,
        visibility_timeout_secs: u32,
    ) -> Result<SqsQueuePair> {
        let dlq_url = client
            .create_queue()
            .queue_name(format!("{name}-dlq.fifo"))
            .attributes(QueueAttributeName::FifoQueue, "true")
            .send()
            .await
            .context("create dead-letter queue")?
            .queue_url
            .unwrap_or_default();
        let dlq_arn = client
            .get_queue_attributes()
            .queue_url(&dlq_url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .context("read dead-letter queue arn")?
            .attributes
            .and_then(|mut attributes| attributes.remove(&QueueAttributeName::QueueArn))
            .unwrap_or_default();
        let redrive = format!(r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":{max_receives}}}"#);
        let url = client
            .create_queue()
            .queue_name(format!("{name}.fifo"))
            .attributes(QueueAttributeName::FifoQueue, "true")
            .attributes(QueueAttributeName::VisibilityTimeout, visibility_timeout_secs.to_string())
            .attributes(QueueAttributeName::RedrivePolicy, redrive)
            .send()
            .await
            .context("create queue")?
            .queue_url
            .unwrap_or_default();
        Ok(SqsQueuePair { queue: SqsQueue::new(client.clone(), url), dead_letters: SqsQueue::new(client, dlq_url) })
    }

    /// Receives one batch (waiting up to `wait_secs` for it), hands it to
    /// `consumer`, deletes what succeeded and makes what failed visible again
    /// at once. Returns how many messages were received.
    pub async fn poll_once(&self, consumer: &dyn Consumer, wait_secs: i32) -> Result<usize> {
        let output = self
            .client()
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(10)
            .wait_time_seconds(wait_secs)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .context("receive messages")?;
        let messages = output.messages.unwrap_or_default();
        let mut receipts = HashMap::with_capacity(messages.len());
        let mut batch = Vec::with_capacity(messages.len());
        for message in messages {
            let message_id = message.message_id.unwrap_or_default();
            let receive_count = message
                .attributes
                .as_ref()
                .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                .and_then(|count| count.parse().ok())
                .unwrap_or(1);
            receipts.insert(message_id.clone(), message.receipt_handle.unwrap_or_default());
            batch.push(Delivery { message_id, body: message.body.unwrap_or_default(), receive_count });
        }
        let received = batch.len();
        if received == 0 {
            return Ok(0);
        }
        let report = consumer.consume(batch).await;
        let mut deletes = Vec::new();
        for (index, (message_id, receipt)) in receipts.iter().enumerate() {
            if report.failed.contains(message_id) {
                self.client()
                    .change_message_visibility()
                    .queue_url(&self.url)
                    .receipt_handle(receipt)
                    .visibility_timeout(0)
                    .send()
                    .await
                    .context("release failed message")?;
            } else {
                deletes.push(
                    DeleteMessageBatchRequestEntry::builder()
                        .id(index.to_string())
                        .receipt_handle(receipt)
                        .build()
                        .context("delete entry")?,
                );
            }
        }
        if !deletes.is_empty() {
            self.client()
                .delete_message_batch()
                .queue_url(&self.url)
                .set_entries(Some(deletes))
                .send()
                .await
                .context("delete processed messages")?;
        }
        Ok(received)
    }

    /// Receives and deletes up to ten messages without processing them (reading
    /// a dead-letter queue).
    pub async fn drain(&self) -> Result<Vec<String>> {
        let output = self
            .client()
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(10)
            .send()
            .await
            .context("receive messages")?;
        let mut bodies = Vec::new();
        for message in output.messages.unwrap_or_default() {
            if let Some(receipt) = &message.receipt_handle {
                self.client()
                    .delete_message()
                    .queue_url(&self.url)
                    .receipt_handle(receipt)
                    .send()
                    .await
                    .context("delete message")?;
            }
            bodies.extend(message.body);
        }
        Ok(bodies)
    }
}

impl Queue for SqsQueue {
    fn send(&self, message: Outgoing) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            self.client()
                .send_message()
                .queue_url(&self.url)
                .message_group_id(message.group)
                .message_deduplication_id(message.dedup_id)
                .message_body(message.body)
                .send()
                .await
                .context("send to queue")?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every function is told the chat queue's URL; only the sender uses it,
    /// so the others must not build its client in their init (issue J).
    #[test]
    fn a_queue_made_on_first_use_builds_its_client_only_when_used() {
        let sdk = aws_config::SdkConfig::builder()
            .region(aws_config::Region::new("us-east-1"))
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        let queue = SqsQueue::on_first_use(&sdk, "https://sqs.us-east-1.amazonaws.com/000000000000/chat.fifo");
        assert!(queue.client.made.get().is_none(), "no client before the first call");
        let clone = queue.clone();
        let _ = queue.client();
        assert!(clone.client.made.get().is_some(), "made once, shared by the queue's clones");
    }
}
