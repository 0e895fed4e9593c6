//! Likes, follows (and the friend edges they imply) and comments. Every change
//! of an edge and its counters is one transaction whose first action is the
//! edge with a condition: a retried or repeated request fails that condition
//! and changes nothing, so counters always equal the number of edges.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Delete, TransactWriteItem, Update};

use super::model::{self, CommentItem, EdgeItem, Key, LikeItem, UserItem, VideoItem};
use super::{Table, TransactOutcome, from_item, to_item};
use crate::error::{Context as _, Error, Result};
use crate::limits::Count;

/// How many times a follow re-reads the reverse edge when it changed under it.
const FOLLOW_ATTEMPTS: usize = 8;

impl Table {
    /// `user` likes `video`. `false` when it already did (nothing changes).
    pub async fn like(&self, user: u64, video: &VideoItem, at_ms: u64) -> Result<bool> {
        let mut actions = vec![self.put_new(&LikeItem::new(user, video.id, video.author_id, at_ms))?];
        actions.extend(self.like_counters(user, video, 1)?);
        self.edge_transaction(actions, None, "like").await
    }

    /// `user` no longer likes `video`. `false` when it did not (nothing changes).
    pub async fn unlike(&self, user: u64, video: &VideoItem) -> Result<bool> {
        let mut actions = vec![self.delete_existing(&model::like_key(user, video.id))?];
        actions.extend(self.like_counters(user, video, -1)?);
        self.edge_transaction(actions, None, "unlike").await
    }

    fn like_counters(&self, user: u64, video: &VideoItem, delta: i64) -> Result<Vec<TransactWriteItem>> {
        let mut actions = vec![self.add(&model::video_key(video.id), &[(model::FAVORITE_COUNT_ATTR, delta)], true)?];
        // One transaction may not touch an item twice: liking your own video
        // updates your profile once, with both counters.
        if user == video.author_id {
            let counters = [(model::FAVORITE_COUNT_ATTR, delta), (model::TOTAL_FAVORITED_ATTR, delta)];
            actions.push(self.add(&model::user_key(user), &counters, false)?);
        } else {
            actions.push(self.add(&model::user_key(user), &[(model::FAVORITE_COUNT_ATTR, delta)], false)?);
            actions.push(self.add(
                &model::user_key(video.author_id),
                &[(model::TOTAL_FAVORITED_ATTR, delta)],
                false,
            )?);
        }
        Ok(actions)
    }

    /// `from` follows `to`; when `to` already follows `from` they become friends
    /// in the same transaction. The reverse edge is checked inside the
    /// transaction, so two users following each other at the same instant end
    /// up friends: the loser's condition fails and it retries with the new
    /// state. `false` when `from` already follows `to`. `to` must exist
    /// ([`Error::NotFound`]), and so must `from` ([`Error::caller_gone`]: the
    /// transaction updates their counter only if their profile is there).
    ///
    /// The reverse edge is not read first: the transaction assumes it absent
    /// and, when its check says otherwise, runs again as the mutual follow it
    /// is. A follow that is not mutual (or already there) is one round; a
    /// mutual one two, as with a read before it. `count` (the follower's rate
    /// limit) commits with the follow ([`Table::transact_counted`]).
    pub async fn follow(&self, from: u64, to: u64, at_ms: u64, count: Option<&Count>) -> Result<bool> {
        let reverse = model::follow_key(to, from);
        let mut mutual = false;
        for _ in 0..FOLLOW_ATTEMPTS {
            let mut actions = vec![
                self.put_new(&EdgeItem::follow(from, to, at_ms))?,
                self.add(&model::user_key(to), &[(model::FOLLOWER_COUNT_ATTR, 1)], true)?,
                self.add(&model::user_key(from), &[(model::FOLLOW_COUNT_ATTR, 1)], true)?,
                self.check(&reverse, mutual)?,
            ];
            if mutual {
                actions.push(self.put(&EdgeItem::friend(from, to, at_ms))?);
                actions.push(self.put(&EdgeItem::friend(to, from, at_ms))?);
            }
            match self.transact_counted(actions, count, "follow").await? {
                TransactOutcome::Done => return Ok(true),
                TransactOutcome::ConditionFailed(failed) if failed.contains(&2) => return Err(Error::caller_gone()),
                TransactOutcome::ConditionFailed(failed) if failed.contains(&0) => return Ok(false),
                TransactOutcome::ConditionFailed(failed) if failed.contains(&1) => {
                    return Err(Error::NotFound(format!("user {to} does not exist")));
                }
                // The reverse edge is not as assumed: try the other way.
                TransactOutcome::ConditionFailed(_) => mutual = !mutual,
            }
        }
        Err(Error::Internal(anyhow::anyhow!("follow: the reverse edge kept changing")))
    }

    /// `from` no longer follows `to` (and they are no longer friends). `false`
    /// when it did not follow (nothing written, `count` included).
    pub async fn unfollow(&self, from: u64, to: u64, count: Option<&Count>) -> Result<bool> {
        let actions = vec![
            self.delete_existing(&model::follow_key(from, to))?,
            self.add(&model::user_key(to), &[(model::FOLLOWER_COUNT_ATTR, -1)], false)?,
            self.add(&model::user_key(from), &[(model::FOLLOW_COUNT_ATTR, -1)], false)?,
            self.delete(&model::friend_key(from, to))?,
            self.delete(&model::friend_key(to, from))?,
        ];
        self.edge_transaction(actions, count, "unfollow").await
    }

    /// Posts a comment and counts it on its video, which must exist
    /// ([`Error::NotFound`]), by a user who must exist
    /// ([`Error::caller_gone`]: checked in the same transaction), with
    /// `count` (the author's rate limit) in the same transaction.
    pub async fn add_comment(&self, comment: &CommentItem, count: Option<&Count>) -> Result<()> {
        let actions = vec![
            self.put_new(comment)?,
            self.add(&model::video_key(comment.video_id), &[(model::COMMENT_COUNT_ATTR, 1)], true)?,
            self.check(&model::user_key(comment.user_id), true)?,
        ];
        match self.transact_counted(actions, count, "add comment").await? {
            TransactOutcome::Done => Ok(()),
            TransactOutcome::ConditionFailed(failed) if failed.contains(&2) => Err(Error::caller_gone()),
            TransactOutcome::ConditionFailed(failed) if failed.contains(&1) => {
                Err(Error::NotFound(format!("video {} does not exist", comment.video_id)))
            }
            TransactOutcome::ConditionFailed(_) => Err(Error::Internal(anyhow::anyhow!("comment id reused"))),
        }
    }

    /// Deletes a comment and uncounts it. `false` when it was already gone.
    pub async fn delete_comment(&self, comment: &CommentItem) -> Result<bool> {
        let actions = vec![
            self.delete_existing(&model::comment_key(comment.id))?,
            self.add(&model::video_key(comment.video_id), &[(model::COMMENT_COUNT_ATTR, -1)], false)?,
        ];
        self.edge_transaction(actions, None, "delete comment").await
    }

    /// A comment by id.
    pub async fn comment(&self, id: u64) -> Result<Option<CommentItem>> {
        self.get(&model::comment_key(id), "get comment").await
    }

    /// Whether `from` follows `to`.
    pub async fn follows(&self, from: u64, to: u64) -> Result<bool> {
        self.exists(&model::follow_key(from, to)).await
    }

    /// Profiles by id, in the order asked, with whether `viewer` follows each;
    /// missing users are left out. One batch read for the whole list.
    pub async fn users_seen_by(&self, ids: &[u64], viewer: Option<u64>) -> Result<Vec<(UserItem, bool)>> {
        let mut keys: Vec<Key> = ids.iter().map(|id| model::user_key(*id)).collect();
        if let Some(viewer) = viewer {
            keys.extend(ids.iter().filter(|id| **id != viewer).map(|id| model::follow_key(viewer, *id)));
        }
        let found = self.batch_get(&keys, "get users").await?;
        let mut users = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(item) = found.get(&model::user_key(*id)) {
                let follows = viewer.is_some_and(|viewer| found.contains_key(&model::follow_key(viewer, *id)));
                users.push((from_item(item.clone())?, follows));
            }
        }
        Ok(users)
    }

    /// Videos by id, in the order asked; missing ones are left out.
    pub async fn videos(&self, ids: &[u64]) -> Result<Vec<VideoItem>> {
        let keys: Vec<Key> = ids.iter().map(|id| model::video_key(*id)).collect();
        let mut found: HashMap<Key, _> = self.batch_get(&keys, "get videos").await?;
        ids.iter().filter_map(|id| found.remove(&model::video_key(*id))).map(from_item).collect()
    }

    /// The likes of `user`, newest first, by page.
    pub async fn likes(&self, user: u64, page: &Page) -> Result<(Vec<LikeItem>, Option<String>)> {
        let (items, next) = self.newest(Index::One, model::liked_by_partition(user), page).await?;
        Ok((items.into_iter().map(from_item).collect::<Result<_>>()?, next))
    }

    /// Whom `user` follows, newest follow first, by page (their ids).
    pub async fn followed_ids(&self, user: u64, page: &Page) -> Result<(Vec<u64>, Option<String>)> {
        self.newest_ids(Index::Two, model::following_partition(user), "to_user", page).await
    }

    /// Who follows `user`, newest follow first, by page (their ids).
    pub async fn follower_ids(&self, user: u64, page: &Page) -> Result<(Vec<u64>, Option<String>)> {
        self.newest_ids(Index::One, model::followers_partition(user), "from_user", page).await
    }

    /// `user`'s friends (mutual follows), newest first, by page (their ids).
    pub async fn friend_ids(&self, user: u64, page: &Page) -> Result<(Vec<u64>, Option<String>)> {
        self.newest_ids(Index::Two, model::friends_partition(user), "to_user", page).await
    }

    /// Up to `limit` newest entries of an index partition older than the
    /// cursor `before` (a sort key), as the numeric attribute `attr` of each
    /// item (the ids a list is made of), and the cursor of the next page
    /// when the page is full.
    async fn newest_ids(
        &self,
        index: Index,
        partition: String,
        attr: &str,
        page: &Page,
    ) -> Result<(Vec<u64>, Option<String>)> {
        let (items, next) = self.newest(index, partition, page).await?;
        let mut ids = Vec::with_capacity(items.len());
        for item in items {
            if let Some(AttributeValue::N(n)) = item.get(attr) {
                ids.push(n.parse().context("id in list")?);
            }
        }
        Ok((ids, next))
    }

    /// Newest comments of a video, by page.
    pub async fn comments(&self, video: u64, page: &Page) -> Result<(Vec<CommentItem>, Option<String>)> {
        let (items, next) = self.newest(Index::One, model::comments_partition(video), page).await?;
        let comments = items.into_iter().map(from_item).collect::<Result<_>>()?;
        Ok((comments, next))
    }

    /// Up to `page.size` newest items of an index partition older than the
    /// page's cursor, and the next page's cursor when the page is full.
    pub(super) async fn newest(
        &self,
        index: Index,
        partition: String,
        page: &Page,
    ) -> Result<(Vec<HashMap<String, AttributeValue>>, Option<String>)> {
        let (index_name, pk, sk) = index.names();
        let mut query = self
            .client
            .query()
            .table_name(&self.name)
            .index_name(index_name)
            .expression_attribute_names("#pk", pk)
            .expression_attribute_values(":pk", AttributeValue::S(partition))
            .scan_index_forward(false)
            .limit(i32::try_from(page.size).unwrap_or(i32::MAX));
        query = match &page.before {
            Some(cursor) => query
                .key_condition_expression("#pk = :pk AND #sk < :before")
                .expression_attribute_names("#sk", sk)
                .expression_attribute_values(":before", AttributeValue::S(cursor.clone())),
            None => query.key_condition_expression("#pk = :pk"),
        };
        let items = query.send().await.context("query list")?.items.unwrap_or_default();
        let next = match items.last() {
            Some(last) if items.len() >= page.size => match last.get(sk) {
                Some(AttributeValue::S(key)) => Some(key.clone()),
                _ => None,
            },
            _ => None,
        };
        Ok((items, next))
    }

    /// An edge's transaction, whose first action is the edge's own
    /// conditional put or delete, with `count` (a rate limit) in it if any:
    /// `false` when that condition failed (the edge was already as asked:
    /// nothing written, nothing counted).
    async fn edge_transaction(
        &self,
        actions: Vec<TransactWriteItem>,
        count: Option<&Count>,
        what: &'static str,
    ) -> Result<bool> {
        match self.transact_counted(actions, count, what).await? {
            TransactOutcome::Done => Ok(true),
            TransactOutcome::ConditionFailed(failed) if failed.contains(&0) => Ok(false),
            TransactOutcome::ConditionFailed(_) => Err(Error::NotFound("the video no longer exists".into())),
        }
    }

    async fn exists(&self, key: &Key) -> Result<bool> {
        Ok(self.get::<Key>(key, "get edge").await?.is_some())
    }

    /// `ADD` the deltas to an item's counters; with `must_exist`, the item must
    /// be there (its absence fails the transaction).
    fn add(&self, key: &Key, deltas: &[(&str, i64)], must_exist: bool) -> Result<TransactWriteItem> {
        let mut expression = Vec::new();
        let mut update = Update::builder().table_name(&self.name).set_key(Some(to_item(key)?));
        for (i, (attr, delta)) in deltas.iter().enumerate() {
            expression.push(format!("#c{i} :d{i}"));
            update = update
                .expression_attribute_names(format!("#c{i}"), *attr)
                .expression_attribute_values(format!(":d{i}"), AttributeValue::N(delta.to_string()));
        }
        update = update.update_expression(format!("ADD {}", expression.join(", ")));
        if must_exist {
            update = update.condition_expression("attribute_exists(#pk)").expression_attribute_names("#pk", model::PK);
        }
        Ok(TransactWriteItem::builder().update(update.build().context("counter action")?).build())
    }

    fn delete_existing(&self, key: &Key) -> Result<TransactWriteItem> {
        let delete = Delete::builder()
            .table_name(&self.name)
            .set_key(Some(to_item(key)?))
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", model::PK)
            .build()
            .context("delete action")?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }

    fn delete(&self, key: &Key) -> Result<TransactWriteItem> {
        let delete =
            Delete::builder().table_name(&self.name).set_key(Some(to_item(key)?)).build().context("delete action")?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }

    pub(super) fn check(&self, key: &Key, exists: bool) -> Result<TransactWriteItem> {
        let condition = if exists { "attribute_exists(#pk)" } else { "attribute_not_exists(#pk)" };
        let check = ConditionCheck::builder()
            .table_name(&self.name)
            .set_key(Some(to_item(key)?))
            .condition_expression(condition)
            .expression_attribute_names("#pk", model::PK)
            .build()
            .context("condition check")?;
        Ok(TransactWriteItem::builder().condition_check(check).build())
    }
}

/// A page of a list: at most `size` entries older than `before`, a cursor
/// (the sort key of the previous page's last entry).
#[derive(Clone, Debug)]
pub struct Page {
    /// Most entries.
    pub size: usize,
    /// Only entries strictly older than this cursor.
    pub before: Option<String>,
}

/// The two overloaded indexes.
#[derive(Clone, Copy, Debug)]
pub enum Index {
    /// `gsi1`.
    One,
    /// `gsi2`.
    Two,
}

impl Index {
    fn names(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Index::One => (model::GSI1, model::GSI1_PK, model::GSI1_SK),
            Index::Two => (model::GSI2, model::GSI2_PK, model::GSI2_SK),
        }
    }
}
