//! Chat messages. A conversation has a clock item; a message is committed in
//! one transaction with the clock moving forward to the message's time, so
//! within a conversation commit order is `create_time` order. A poll (a
//! strongly consistent query) therefore always sees a prefix of the
//! conversation: a message can never appear later with an older time than
//! one already seen, and a client polling with `pre_msg_time` skips nothing.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};

use super::model::{self, ConversationItem, Key, MessageItem, UserItem};
use super::{Table, TransactOutcome, from_item, to_item};
use crate::error::{Context as _, Error, Result};
use crate::limits::Count;

/// How many times a persist re-reads the clock when another message moved it.
const CLOCK_ATTEMPTS: usize = 25;

/// A message to persist: everything but its final time.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NewMessage {
    /// The id, assigned at send.
    pub id: u64,
    /// Sender.
    pub from_user_id: u64,
    /// Recipient.
    pub to_user_id: u64,
    /// Text, trimmed.
    pub content: String,
    /// The time assigned at send (ms): the message gets it unless the
    /// conversation's clock is already there, then the clock's next ms.
    pub sent_at: u64,
}

/// A conversation's clock as a read found it ([`Table::message_parties`]),
/// for a persist to start from ([`Table::persist_message_from`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClockRead(Option<ConversationItem>);

impl Table {
    /// The users of a message from `from` to `to` that exist, and their
    /// conversation's clock: one strongly consistent read, what a send
    /// confirms before it enqueues and the clock its persist then starts from.
    pub async fn message_parties(&self, from: u64, to: u64) -> Result<(Vec<UserItem>, ClockRead)> {
        let clock_key = model::conversation_key(from, to);
        let mut found = self
            .batch_get(&[model::user_key(from), model::user_key(to), clock_key.clone()], "get message parties")
            .await?;
        let mut users = Vec::with_capacity(2);
        for id in [from, to] {
            if let Some(item) = found.remove(&model::user_key(id)) {
                users.push(from_item(item)?);
            }
        }
        let clock = found.remove(&clock_key).map(from_item).transpose()?;
        Ok((users, ClockRead(clock)))
    }

    /// Persists `message` once: `false` when it already was (by the send path
    /// or an earlier delivery). Returns after the message is visible.
    pub async fn persist_message(&self, message: &NewMessage) -> Result<bool> {
        self.persist_message_from(message, None).await
    }

    /// [`Table::persist_message`], its first attempt from `known`, a read made
    /// before (the send's queue's path's, beside its enqueue), or without
    /// one from the message's own time on the condition that the clock is
    /// behind it: one round either way. A clock that moved since (or is not
    /// behind) fails the transaction's condition, and the clock is read
    /// again, as when another message moves it between a read and a commit.
    pub async fn persist_message_from(&self, message: &NewMessage, known: Option<ClockRead>) -> Result<bool> {
        match self.commit_message(message, known, false, None).await? {
            Stored::New => Ok(true),
            Stored::Already => Ok(false),
            refused => Err(Error::Internal(anyhow::anyhow!("persist message: {refused:?} without checks"))),
        }
    }

    /// A send's one transaction: `message` persisted (as
    /// [`Table::persist_message`] does) only if both its users exist, with
    /// `count` (the sender's rate limit) in it: [`Count::refused`] when the
    /// window is full, and then, as when a user is missing, nothing is
    /// written and nothing counted. One round when the conversation's clock
    /// is behind the message's time, as it is unless another message of the
    /// same conversation got a time as late or later.
    pub async fn store_sent_message(&self, message: &NewMessage, count: Option<&Count>) -> Result<Stored> {
        self.commit_message(message, None, true, count).await
    }

    /// Commits `message` with the conversation's clock moving to its time.
    /// The first attempt starts from `known` or, without a read, from the
    /// message's own time on the condition that the clock is behind it; a
    /// clock that is not fails the condition and is read. With `parties`,
    /// both users are checked in the same transaction; `count` is counted in
    /// it.
    async fn commit_message(
        &self,
        message: &NewMessage,
        known: Option<ClockRead>,
        parties: bool,
        count: Option<&Count>,
    ) -> Result<Stored> {
        let clock_key = model::conversation_key(message.from_user_id, message.to_user_id);
        let mut clock = known;
        for _ in 0..CLOCK_ATTEMPTS {
            let (time, condition) = match &clock {
                None => (message.sent_at, ClockCondition::Before),
                Some(ClockRead(clock)) => match clock.as_ref().map(|c| c.last_time) {
                    Some(last) => (message.sent_at.max(last + 1), ClockCondition::At(last)),
                    None => (message.sent_at, ClockCondition::Unset),
                },
            };
            let item = MessageItem {
                pk: clock_key.pk.clone(),
                sk: model::message_sort_key(time, message.id),
                id: message.id,
                from_user_id: message.from_user_id,
                to_user_id: message.to_user_id,
                content: message.content.clone(),
                create_time: time,
            };
            let guard = model::message_guard_key(message.id);
            let mut actions =
                vec![self.put_new(&guard)?, self.advance_clock(&clock_key, condition, &item)?, self.put_new(&item)?];
            if parties {
                actions.push(self.check(&model::user_key(message.from_user_id), true)?);
                actions.push(self.check(&model::user_key(message.to_user_id), true)?);
            }
            match self.transact_counted(actions, count, "persist message").await? {
                TransactOutcome::Done => return Ok(Stored::New),
                TransactOutcome::ConditionFailed(failed) if failed.contains(&0) => return Ok(Stored::Already),
                TransactOutcome::ConditionFailed(failed) if failed.contains(&3) => return Ok(Stored::SenderGone),
                TransactOutcome::ConditionFailed(failed) if failed.contains(&4) => return Ok(Stored::NoRecipient),
                // The clock is not where this attempt took it to be: read it.
                TransactOutcome::ConditionFailed(_) => {
                    clock = Some(ClockRead(self.get(&clock_key, "get conversation clock").await?));
                }
            }
        }
        Err(Error::Internal(anyhow::anyhow!("persist message: the conversation clock kept moving")))
    }

    /// The messages between `a` and `b` newer than `after` (ms), oldest first,
    /// at most `limit`.
    pub async fn messages(&self, a: u64, b: u64, after: u64, limit: usize) -> Result<Vec<MessageItem>> {
        let output = self
            .client
            .query()
            .table_name(&self.name)
            .key_condition_expression("#pk = :pk AND #sk BETWEEN :from AND :to")
            .expression_attribute_names("#pk", model::PK)
            .expression_attribute_names("#sk", model::SK)
            .expression_attribute_values(":pk", AttributeValue::S(model::conversation_partition(a, b)))
            // Everything of `after` itself sorts below `<after>#~`.
            .expression_attribute_values(":from", AttributeValue::S(format!("MSG#{}#~", model::padded(after))))
            .expression_attribute_values(":to", AttributeValue::S("MSG#~".into()))
            .consistent_read(true)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .send()
            .await
            .context("query messages")?;
        output.items.unwrap_or_default().into_iter().map(from_item).collect()
    }

    /// `user`'s `friends` (those of them that exist, in order), the previews of
    /// their conversations with `user`, and whether `user` exists: one read.
    pub async fn friends_with_previews(&self, user: u64, friends: &[u64]) -> Result<FriendsRead> {
        let mut keys = vec![model::user_key(user)];
        keys.extend(friends.iter().map(|friend| model::user_key(*friend)));
        keys.extend(friends.iter().map(|friend| model::conversation_key(user, *friend)));
        let found = self.batch_get(&keys, "get friends and previews").await?;
        let mut read = FriendsRead { caller_exists: found.contains_key(&model::user_key(user)), ..Default::default() };
        for friend in friends {
            if let Some(item) = found.get(&model::user_key(*friend)) {
                read.friends.push(from_item(item.clone())?);
            }
            if let Some(item) = found.get(&model::conversation_key(user, *friend)) {
                read.previews.insert(*friend, from_item(item.clone())?);
            }
        }
        Ok(read)
    }

    fn advance_clock(&self, key: &Key, condition: ClockCondition, message: &MessageItem) -> Result<TransactWriteItem> {
        let update = Update::builder()
            .table_name(&self.name)
            .set_key(Some(to_item(key)?))
            .update_expression("SET #time = :time, #from = :from, #content = :content")
            .expression_attribute_names("#time", "last_time")
            .expression_attribute_names("#from", "last_from")
            .expression_attribute_names("#content", "last_content")
            .expression_attribute_values(":time", AttributeValue::N(message.create_time.to_string()))
            .expression_attribute_values(":from", AttributeValue::N(message.from_user_id.to_string()))
            .expression_attribute_values(":content", AttributeValue::S(message.content.clone()));
        // Every message committed so far is older than ours: the clock is
        // where we read it (no message committed in between), or, unread,
        // behind our time.
        let update = match condition {
            ClockCondition::At(last) => update
                .condition_expression("#time = :last")
                .expression_attribute_values(":last", AttributeValue::N(last.to_string())),
            ClockCondition::Unset => update.condition_expression("attribute_not_exists(#time)"),
            ClockCondition::Before => update.condition_expression("attribute_not_exists(#time) OR #time < :time"),
        };
        Ok(TransactWriteItem::builder().update(update.build().context("clock action")?).build())
    }
}

/// What a message's transaction did ([`Table::store_sent_message`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stored {
    /// The message is written now.
    New,
    /// It was already (an earlier write under the same id): nothing written.
    Already,
    /// The sender no longer exists: nothing written.
    SenderGone,
    /// The recipient does not exist: nothing written.
    NoRecipient,
}

/// Where a persist's transaction requires the conversation's clock to be.
#[derive(Clone, Copy, Debug)]
enum ClockCondition {
    /// Never set (no message yet), as read.
    Unset,
    /// At this time, as read.
    At(u64),
    /// Unset or before the message's time (not read).
    Before,
}

/// What [`Table::friends_with_previews`] read.
#[derive(Debug, Default)]
pub struct FriendsRead {
    /// Whether the user whose friends these are exists.
    pub caller_exists: bool,
    /// The friends' profiles, in the order asked.
    pub friends: Vec<UserItem>,
    /// The conversation previews, by friend.
    pub previews: HashMap<u64, ConversationItem>,
}
