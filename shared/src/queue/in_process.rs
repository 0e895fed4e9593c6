//! A FIFO queue inside the process, with SQS's delivery rules: batches of up to
//! ten, redelivery of the failed messages only (before anything newer), a
//! dead-letter list after `max_receives`, and deduplication ids remembered for
//! five minutes. Messages live in memory: the local server drains the queue
//! when it stops and keeps what could not be delivered in its data folder
//! ([`InProcessQueue::take_undelivered`]); only a crash loses queued messages
//! (the send path also writes them to the table; see docs/decisions.md,
//! "Chat: durable, read-your-writes, gap-free").

use std::collections::{HashMap, VecDeque};
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures_util::FutureExt as _;
use futures_util::future::BoxFuture;
use tokio::sync::{Notify, watch};

use super::{Consumer, Delivery, Outgoing, Queue};
use crate::error::Result;

/// How long a deduplication id is remembered, as in SQS FIFO.
const DEDUP_WINDOW: Duration = Duration::from_secs(300);

/// Delivery settings.
#[derive(Clone, Copy, Debug)]
pub struct QueueSettings {
    /// Most messages in one batch (SQS: 10 for FIFO).
    pub batch_size: usize,
    /// Receives after which a failing message goes to the dead-letter list.
    pub max_receives: u32,
}

impl Default for QueueSettings {
    fn default() -> Self {
        QueueSettings { batch_size: 10, max_receives: 5 }
    }
}

/// The in-process twin of an SQS FIFO queue with a DLQ and a Lambda trigger.
pub struct InProcessQueue {
    state: Mutex<State>,
    wake: Arc<Notify>,
    /// Number of messages queued or being processed; 0 means idle.
    busy: watch::Sender<usize>,
    settings: QueueSettings,
}

#[derive(Default)]
struct State {
    pending: VecDeque<Delivery>,
    dead: Vec<Delivery>,
    seen: HashMap<String, Instant>,
    next_id: u64,
}

impl std::fmt::Debug for InProcessQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InProcessQueue").field("settings", &self.settings).finish_non_exhaustive()
    }
}

impl InProcessQueue {
    /// A queue delivering to `consumer` from a task on the current runtime.
    pub fn start(consumer: Arc<dyn Consumer>, settings: QueueSettings) -> Arc<InProcessQueue> {
        let queue = Arc::new(InProcessQueue {
            state: Mutex::new(State::default()),
            wake: Arc::new(Notify::new()),
            busy: watch::channel(0).0,
            settings,
        });
        let worker = Arc::downgrade(&queue);
        let wake = Arc::clone(&queue.wake);
        tokio::spawn(async move {
            // Ends when the queue is dropped (its `Drop` wakes this loop).
            while let Some(queue) = worker.upgrade() {
                let batch = queue.take_batch();
                if batch.is_empty() {
                    drop(queue);
                    wake.notified().await;
                    continue;
                }
                // A panicking consumer fails its batch, as a crashed Lambda
                // invocation does; the worker lives on to deliver it again.
                let consumed = AssertUnwindSafe(consumer.consume(batch.clone())).catch_unwind().await;
                let failed = match consumed {
                    Ok(report) => report.failed,
                    Err(_) => {
                        tracing::error!(
                            messages = batch.len(),
                            "chat consumer panicked; the batch will be delivered again"
                        );
                        batch.iter().map(|delivery| delivery.message_id.clone()).collect()
                    }
                };
                queue.settle(batch, &failed);
            }
        });
        queue
    }

    /// Waits until every message sent so far is processed or dead-lettered.
    pub async fn wait_idle(&self) {
        let mut busy = self.busy.subscribe();
        // The sender lives as long as `self`, so this cannot fail.
        let _ = busy.wait_for(|count| *count == 0).await;
    }

    /// Messages that failed `max_receives` times.
    pub fn dead_letters(&self) -> Vec<Delivery> {
        self.lock().dead.clone()
    }

    /// Takes out every message not delivered yet (queued, not in a batch being
    /// processed) and every dead letter, for a process that stops to keep them
    /// elsewhere. Call it once the queue is idle, or has been given up on.
    pub fn take_undelivered(&self) -> Vec<Delivery> {
        let mut state = self.lock();
        let pending: Vec<Delivery> = state.pending.drain(..).collect();
        let mut taken = std::mem::take(&mut state.dead);
        drop(state);
        self.busy.send_modify(|busy| *busy -= pending.len());
        taken.extend(pending);
        taken
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn take_batch(&self) -> Vec<Delivery> {
        let mut state = self.lock();
        let count = state.pending.len().min(self.settings.batch_size);
        state
            .pending
            .drain(..count)
            .map(|mut delivery| {
                delivery.receive_count += 1;
                delivery
            })
            .collect()
    }

    fn settle(&self, batch: Vec<Delivery>, failed: &[String]) {
        let mut state = self.lock();
        let mut done = 0;
        // Failed messages go back to the front, in their order, ahead of newer ones.
        for delivery in batch.into_iter().rev() {
            if !failed.contains(&delivery.message_id) {
                done += 1;
            } else if delivery.receive_count >= self.settings.max_receives {
                tracing::warn!(message_id = %delivery.message_id, "message moved to the dead-letter list");
                state.dead.push(delivery);
                done += 1;
            } else {
                state.pending.push_front(delivery);
            }
        }
        drop(state);
        self.busy.send_modify(|busy| *busy -= done);
        self.wake.notify_one();
    }
}

impl Drop for InProcessQueue {
    fn drop(&mut self) {
        self.wake.notify_one();
    }
}

impl Queue for InProcessQueue {
    fn send(&self, message: Outgoing) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            let mut state = self.lock();
            let now = Instant::now();
            state.seen.retain(|_, at| now.duration_since(*at) < DEDUP_WINDOW);
            if state.seen.contains_key(&message.dedup_id) {
                return Ok(());
            }
            state.seen.insert(message.dedup_id, now);
            state.next_id += 1;
            let message_id = format!("local-{}", state.next_id);
            state.pending.push_back(Delivery { message_id, body: message.body, receive_count: 0 });
            drop(state);
            self.busy.send_modify(|busy| *busy += 1);
            self.wake.notify_one();
            Ok(())
        })
    }
}
