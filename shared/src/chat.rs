//! Chat: send in one transaction (the queue when the table cannot take it),
//! persist idempotently, poll without gaps.
//!
//! Send assigns the id and time and writes the message in one transaction
//! with its checks and its count, so the sender's next poll reads it ("read
//! your writes"). When that transaction fails, the send confirms the users
//! itself, then enqueues the message (FIFO, group = the conversation,
//! deduplication id = the message id) and writes it again at once; the
//! consumer persists what the queue took. Whichever write comes first wins,
//! the other finds the message's guard and writes nothing. Persisting moves
//! the conversation's clock forward in the same transaction (`store::chat`),
//! so messages become visible in `create_time` order and a client polling
//! with the newest `create_time` it has never misses one.

use std::panic::AssertUnwindSafe;

use futures_util::FutureExt as _;
use futures_util::future::BoxFuture;

use crate::app::App;
use crate::domain::{Listed, Message, MessageText, User, UserId, now_ms};
use crate::error::{Error, Result};
use crate::interactions::LIST_SIZE;
use crate::limits::Scope;
use crate::metrics::{self, Metric};
use crate::queue::{BatchReport, Consumer, Delivery, Outgoing};
use crate::store::model::conversation_partition;
use crate::store::{NewMessage, Page, Stored, Table};
use crate::users::{Claimed, user_view};

/// A friend (a mutual follow) and the latest message between the two.
#[derive(Clone, Debug)]
pub struct Friend {
    /// The friend, as the caller sees them.
    pub user: User,
    /// The latest message's text, and whether the caller sent it (`None`: no message yet).
    pub latest: Option<(String, bool)>,
}

/// `caller`'s friends by page (newest friendship first), each with the
/// latest message between them: the friend list of the chat screen. Two
/// rounds: the page of ids, then one read of the friends' profiles, the
/// conversations' previews and the caller (confirmed there, as a
/// [`Claimed`] is).
pub async fn friends(app: &App, caller: Claimed, cursor: Option<String>) -> Result<Listed<Friend>> {
    let me = caller.id().0;
    let page = Page { size: LIST_SIZE, before: cursor };
    let (ids, next_cursor) = app.table.friend_ids(me, &page).await?;
    let mut found = app.table.friends_with_previews(me, &ids).await?;
    if !found.caller_exists {
        return Err(Error::caller_gone());
    }
    let mut items = Vec::with_capacity(found.friends.len());
    for friend in found.friends {
        let latest = found.previews.remove(&friend.id).map(|p| (p.last_content, p.last_from == me));
        // A friend is followed: the friend edges come and go with the follows.
        items.push(Friend { user: user_view(app, friend, true).await?, latest });
    }
    Ok(Listed { items, next_cursor })
}

/// The queue message of `message` (its JSON `body`): one message group per
/// conversation, deduplicated by the message's id.
fn outgoing(message: &NewMessage, body: String) -> Outgoing {
    let group = conversation_partition(message.from_user_id, message.to_user_id);
    Outgoing { group, dedup_id: message.id.to_string(), body }
}

/// The queue message of a message body sent before (the local server's spool
/// of messages its queue had not stored at a stop); an unreadable body is
/// [`Error::InvalidArgument`].
pub fn resend(body: &str) -> Result<Outgoing> {
    let message: NewMessage =
        serde_json::from_str(body).map_err(|error| Error::InvalidArgument(format!("not a chat message: {error}")))?;
    Ok(outgoing(&message, body.to_owned()))
}

/// Most messages one poll returns (a client polls again for the rest).
pub const POLL_LIMIT: usize = 500;

/// How long before the invocation's deadline the send path stops waiting for
/// one of its two writes when the other has made the message durable, so
/// that it still answers 0 in time.
pub const PERSIST_RESERVE: std::time::Duration = std::time::Duration::from_millis(500);

/// Sends `text` from `from` to `to`, counted against the sender's message
/// limit. Answers once the message is durable: written to the table, or
/// accepted by the queue when the table could not take it.
///
/// One round: a transaction that writes the message, moves the
/// conversation's clock, checks that both users exist and counts the send
/// (`Table::store_sent_message`); a refusal in it (the limit, a missing
/// user) writes nothing and counts nothing. Only when that transaction fails
/// (a throttle, an outage, a clock that kept moving) does the send take the
/// queue's path ([`send_through_queue`]).
pub async fn send(app: &App, from: Claimed, to: UserId, text: &MessageText) -> Result<()> {
    let from = from.id();
    if from == to {
        return Err(Error::Forbidden("you cannot send a message to yourself".into()));
    }
    let message = NewMessage {
        id: app.ids.next().await?,
        from_user_id: from.0,
        to_user_id: to.0,
        content: text.as_str().to_owned(),
        sent_at: now_ms(),
    };
    let count = app.limiter.count(Scope::Message, &from.to_string());
    match app.table.store_sent_message(&message, count.as_ref()).await {
        Ok(Stored::New) => {
            metrics::count(Metric::MessagesPersisted);
            sent()
        }
        // Its id is new, so nothing else wrote it; were it not, it is stored.
        Ok(Stored::Already) => sent(),
        Ok(Stored::SenderGone) => Err(Error::caller_gone()),
        Ok(Stored::NoRecipient) => Err(Error::NotFound(format!("user {to} does not exist"))),
        Err(refused @ Error::RateLimited { .. }) => Err(refused),
        Err(error) => {
            tracing::warn!(
                message_id = message.id,
                error = format!("{:#}", anyhow::Error::from(error)),
                "the send's transaction failed; the queue's path takes the message"
            );
            send_through_queue(app, message).await
        }
    }
}

/// The send's path when its transaction failed: two rounds, as a send was
/// before the table took it in one. The limit is counted beside the read
/// that confirms both users and reads the conversation's clock (the failed
/// transaction counted nothing, unless its answer was lost after it
/// committed: then this counts the message a second time, its write below
/// finds it stored, and a window that second count fills refuses a message
/// that is in fact stored); then the enqueue and a second write run at
/// once. Either one alone makes the message durable (the queue keeps it
/// until the consumer has written it; the write is the message), so the
/// send answers 0 when either succeeds and fails only when both do. Neither
/// starts before the limit and both users are confirmed, so a refused send
/// writes nothing.
async fn send_through_queue(app: &App, message: NewMessage) -> Result<()> {
    let subject = message.from_user_id.to_string();
    let (counted, parties) = tokio::join!(
        app.limiter.hit(Scope::Message, &subject),
        app.table.message_parties(message.from_user_id, message.to_user_id)
    );
    counted?;
    let (found, clock) = parties?;
    if !found.iter().any(|user| user.id == message.from_user_id) {
        return Err(Error::caller_gone());
    }
    if !found.iter().any(|user| user.id == message.to_user_id) {
        return Err(Error::NotFound(format!("user {} does not exist", message.to_user_id)));
    }
    let body = serde_json::to_string(&message).map_err(|e| Error::Internal(e.into()))?;
    let queue = app.chat_queue()?;
    // Both are caught (a panic in either is that write failing) and given up
    // at the reserve: the send answers 0 in time once either has made the
    // message durable.
    let mut enqueue = AssertUnwindSafe(queue.send(outgoing(&message, body))).catch_unwind();
    let write = AssertUnwindSafe(app.table.persist_message_from(&message, Some(clock))).catch_unwind();
    let (enqueued, written) = tokio::join!(
        crate::deadline::bounded(PERSIST_RESERVE, &mut enqueue),
        crate::deadline::bounded(PERSIST_RESERVE, write)
    );
    let stored = match written {
        Some(Ok(Ok(new))) => {
            if new {
                metrics::count(Metric::MessagesPersisted);
            }
            true
        }
        None => {
            tracing::warn!(message_id = message.id, "send path out of time to persist; the consumer will");
            false
        }
        Some(Ok(Err(error))) => {
            tracing::warn!(
                message_id = message.id,
                error = format!("{:#}", anyhow::Error::from(error)),
                "send path could not persist; the consumer will"
            );
            false
        }
        Some(Err(_)) => {
            tracing::error!(message_id = message.id, "send path panicked persisting; the consumer will persist");
            false
        }
    };
    let enqueued = match enqueued {
        Some(enqueued) => enqueued,
        // Stored: the queue's copy would only be written again.
        None if stored => {
            tracing::warn!(message_id = message.id, "the queue did not answer in time; the message is stored");
            return sent();
        }
        // Not stored: only the queue can make it durable. Waiting for it
        // lets the invocation's deadline answer (the envelope) if it never
        // does.
        None => enqueue.await,
    };
    let failure = match enqueued {
        Ok(Ok(())) => return sent(),
        Ok(Err(error)) => error,
        Err(_) => Error::Internal(anyhow::anyhow!("the queue's client panicked")),
    };
    if !stored {
        return Err(failure);
    }
    tracing::warn!(
        message_id = message.id,
        error = format!("{:#}", anyhow::Error::from(failure)),
        "the queue refused a message the send path stored"
    );
    sent()
}

/// A send that answers 0.
fn sent() -> Result<()> {
    metrics::count(Metric::MessagesSent);
    Ok(())
}

/// The messages between `caller` and `other` newer than `pre_msg_time` (ms;
/// absent or 0: the whole history), oldest first.
pub async fn poll(app: &App, caller: Claimed, other: UserId, pre_msg_time: u64) -> Result<Vec<Message>> {
    let caller = caller.id();
    if caller == other {
        return Err(Error::Forbidden("there is no conversation with yourself".into()));
    }
    // The caller is confirmed beside the read of the messages (both reads).
    let (confirmed, items) = tokio::join!(
        crate::users::existing_user(app, caller),
        app.table.messages(caller.0, other.0, pre_msg_time, POLL_LIMIT)
    );
    confirmed?;
    let items = items?;
    if items.is_empty() && app.table.user(other).await?.is_none() {
        return Err(Error::NotFound(format!("user {other} does not exist")));
    }
    Ok(items
        .into_iter()
        .map(|item| Message {
            id: item.id,
            to_user_id: item.to_user_id,
            from_user_id: item.from_user_id,
            content: item.content,
            create_time: item.create_time,
        })
        .collect())
}

/// The consumer of the chat queue: persists each message (idempotently). In
/// a FIFO group a failure stops the group: the failed message and every later
/// one of its conversation in the batch are reported, so order is kept.
#[derive(Clone, Debug)]
pub struct ChatConsumer {
    table: Table,
}

impl ChatConsumer {
    /// A consumer writing to `app`'s table.
    pub fn new(app: &App) -> ChatConsumer {
        ChatConsumer { table: app.table.clone() }
    }
}

impl Consumer for ChatConsumer {
    fn consume(&self, batch: Vec<Delivery>) -> BoxFuture<'_, BatchReport> {
        Box::pin(async move {
            let mut report = BatchReport::default();
            let mut stopped_groups: Vec<String> = Vec::new();
            for delivery in batch {
                let message: NewMessage = match serde_json::from_str(&delivery.body) {
                    Ok(message) => message,
                    Err(error) => {
                        // Never valid: retrying cannot help; the DLQ keeps it.
                        tracing::error!(message_id = %delivery.message_id, %error, "malformed chat message");
                        report.failed.push(delivery.message_id);
                        continue;
                    }
                };
                let group = conversation_partition(message.from_user_id, message.to_user_id);
                if stopped_groups.contains(&group) {
                    report.failed.push(delivery.message_id);
                    continue;
                }
                match self.table.persist_message(&message).await {
                    Ok(true) => metrics::count(Metric::MessagesPersisted),
                    Ok(false) => {}
                    Err(error) => {
                        tracing::warn!(
                            message_id = message.id,
                            error = format!("{:#}", anyhow::Error::from(error)),
                            "persist failed"
                        );
                        stopped_groups.push(group);
                        report.failed.push(delivery.message_id);
                    }
                }
            }
            report
        })
    }
}
