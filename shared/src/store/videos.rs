//! Videos: publishing (one transaction: the video, its author's `work_count`,
//! and the upload's state), presigned uploads, the sharded feed, an author's
//! list, and the viewer context (authors, likes, follows) of a page in one
//! batch read.

use std::collections::{HashMap, HashSet};

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use futures_util::future::try_join_all;

use super::model::{self, Key, UploadItem, UploadState, UserItem, VideoItem};
use super::{Index, Page, Table, TransactOutcome, from_item, to_item};
use crate::error::{Context as _, Error, Result};
use crate::limits::Count;

/// What a page of videos needs to know about its viewer and authors.
#[derive(Debug, Default)]
pub struct ViewerContext {
    /// Profiles of the authors, by id.
    pub authors: HashMap<u64, UserItem>,
    /// Videos of the page the viewer likes.
    pub liked: HashSet<u64>,
    /// Authors of the page the viewer follows.
    pub followed: HashSet<u64>,
}

/// How a video reached [`Table::publish_video`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VideoSource {
    /// In the publish request's body: nothing else to settle.
    Inline,
    /// Through a presigned upload, whose record is settled `live` with it.
    Upload,
}

impl Table {
    /// Publishes a video: creates the item (which puts it in the feed and its
    /// author's list), adds one to the author's `work_count`, and marks its
    /// presigned upload live, all or nothing. Returns `false` when the video
    /// was already published or its upload already settled: a retried ingest
    /// changes nothing.
    pub async fn publish_video(&self, video: &VideoItem, source: VideoSource) -> Result<bool> {
        let author = to_item(&model::user_key(video.author_id))?;
        let count = Update::builder()
            .table_name(&self.name)
            .set_key(Some(author))
            .update_expression("ADD #count :one")
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#count", model::WORK_COUNT_ATTR)
            .expression_attribute_names("#pk", model::PK)
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .build()
            .context("work count action")?;
        let mut actions = vec![self.put_new(video)?, TransactWriteItem::builder().update(count).build()];
        if source == VideoSource::Upload {
            actions.push(self.settle_upload_action(video.id, UploadState::Live, "")?);
        }
        match self.transact(actions, "publish video").await? {
            TransactOutcome::Done => Ok(true),
            TransactOutcome::ConditionFailed(failed) if failed.contains(&1) => {
                Err(Error::NotFound("the author of this video no longer exists".into()))
            }
            TransactOutcome::ConditionFailed(_) => Ok(false),
        }
    }

    /// Records a new presigned upload of an author who must exist
    /// ([`Error::caller_gone`]: checked in the same transaction), with `count`
    /// (the author's rate limit) in it too: one round.
    pub async fn create_upload(&self, upload: &UploadItem, count: Option<&Count>) -> Result<()> {
        let actions = vec![self.put_new(upload)?, self.check(&model::user_key(upload.author_id), true)?];
        match self.transact_counted(actions, count, "create upload").await? {
            TransactOutcome::Done => Ok(()),
            TransactOutcome::ConditionFailed(failed) if failed.contains(&1) => Err(Error::caller_gone()),
            TransactOutcome::ConditionFailed(_) => Err(Error::Internal(anyhow::anyhow!("upload id reused"))),
        }
    }

    /// A presigned upload's record.
    pub async fn upload(&self, video_id: u64) -> Result<Option<UploadItem>> {
        self.get(&model::upload_key(video_id), "get upload").await
    }

    /// Marks a pending upload rejected with `reason`. Returns `false`, having
    /// changed nothing, when the upload was already settled (another ingest
    /// published or rejected it): the caller then owns nothing of it.
    pub async fn reject_upload(&self, video_id: u64, reason: &str) -> Result<bool> {
        // A one-action transaction: rejections are rare, and it shares the
        // publish path's action and condition handling.
        let action = self.settle_upload_action(video_id, UploadState::Rejected, reason)?;
        Ok(matches!(self.transact(vec![action], "reject upload").await?, TransactOutcome::Done))
    }

    fn settle_upload_action(&self, video_id: u64, state: UploadState, reason: &str) -> Result<TransactWriteItem> {
        let state_value = serde_dynamo::to_attribute_value(state).context("encode upload state")?;
        let pending = serde_dynamo::to_attribute_value(UploadState::Pending).context("encode upload state")?;
        let update = Update::builder()
            .table_name(&self.name)
            .set_key(Some(to_item(&model::upload_key(video_id))?))
            .update_expression("SET #state = :state, #reason = :reason")
            .condition_expression("#state = :pending")
            .expression_attribute_names("#state", model::UPLOAD_STATE_ATTR)
            .expression_attribute_names("#reason", model::UPLOAD_REASON_ATTR)
            .expression_attribute_values(":state", state_value)
            .expression_attribute_values(":pending", pending)
            .expression_attribute_values(":reason", AttributeValue::S(reason.to_owned()))
            .build()
            .context("settle upload action")?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// The newest videos published strictly before `before_ms`, at most `limit`
    /// from each of `shards` feed shards (queried in parallel), merged newest
    /// first.
    pub async fn feed(&self, shards: u32, before_ms: u64, limit: usize) -> Result<Vec<VideoItem>> {
        // `<ms>#<id>` < `<before>` exactly when ms < before.
        let page = Page { size: limit, before: Some(model::padded(before_ms)) };
        let queries = (0..shards.max(1)).map(|shard| self.videos_in(Index::One, model::feed_partition(shard), &page));
        let mut videos: Vec<VideoItem> = try_join_all(queries).await?.into_iter().flatten().collect();
        videos.sort_by(|a, b| b.gsi1sk.cmp(&a.gsi1sk));
        videos.truncate(limit);
        Ok(videos)
    }

    /// A page of an author's videos, newest first, and the next page's cursor
    /// when the page is full.
    pub async fn works(&self, author_id: u64, page: &Page) -> Result<(Vec<VideoItem>, Option<String>)> {
        let (items, next) = self.newest(Index::Two, model::works_partition(author_id), page).await?;
        Ok((items.into_iter().map(from_item).collect::<Result<_>>()?, next))
    }

    /// A video.
    pub async fn video(&self, video_id: u64) -> Result<Option<VideoItem>> {
        self.get(&model::video_key(video_id), "get video").await
    }

    /// The authors of `videos`, and which of them and of the videos `viewer`
    /// follows and likes: one batch read for a whole page.
    pub async fn viewer_context(&self, videos: &[VideoItem], viewer: Option<u64>) -> Result<ViewerContext> {
        let page: Vec<(u64, u64)> = videos.iter().map(|video| (video.id, video.author_id)).collect();
        let found = self.batch_get(&context_keys(&page, viewer), "get page context").await?;
        context_of(&found, &page, viewer)
    }

    /// Videos by id, in the order asked (missing ones left out), with their
    /// [`ViewerContext`], in one batch read: `page` pairs each video with its
    /// author as the caller knows it (a like records its video's author). A
    /// video whose author is not the one given gets its context read again.
    pub async fn videos_in_context(
        &self,
        page: &[(u64, u64)],
        viewer: Option<u64>,
    ) -> Result<(Vec<VideoItem>, ViewerContext)> {
        let mut keys: Vec<Key> = page.iter().map(|(video, _)| model::video_key(*video)).collect();
        keys.extend(context_keys(page, viewer));
        let mut found = self.batch_get(&keys, "get videos and context").await?;
        let videos: Vec<VideoItem> = page
            .iter()
            .filter_map(|(video, _)| found.remove(&model::video_key(*video)))
            .map(from_item)
            .collect::<Result<_>>()?;
        let context = if videos.iter().all(|video| page.contains(&(video.id, video.author_id))) {
            context_of(&found, page, viewer)?
        } else {
            self.viewer_context(&videos, viewer).await?
        };
        Ok((videos, context))
    }

    async fn videos_in(&self, index: Index, partition: String, page: &Page) -> Result<Vec<VideoItem>> {
        let (items, _) = self.newest(index, partition, page).await?;
        items.into_iter().map(from_item).collect()
    }
}

/// The keys of a page's [`ViewerContext`]: its `(video, author)` pairs'
/// authors and, for a viewer, their likes of the videos and follows of the
/// authors (not of themselves).
fn context_keys(page: &[(u64, u64)], viewer: Option<u64>) -> Vec<Key> {
    let mut keys: Vec<Key> = page.iter().map(|(_, author)| model::user_key(*author)).collect();
    if let Some(viewer) = viewer {
        keys.extend(page.iter().map(|(video, _)| model::like_key(viewer, *video)));
        keys.extend(
            page.iter().filter(|(_, author)| *author != viewer).map(|(_, author)| model::follow_key(viewer, *author)),
        );
    }
    keys
}

/// The [`ViewerContext`] of `page` in what a batch read of its
/// [`context_keys`] `found`.
fn context_of(found: &HashMap<Key, super::Item>, page: &[(u64, u64)], viewer: Option<u64>) -> Result<ViewerContext> {
    let mut context = ViewerContext::default();
    for &(video, author) in page {
        if let Some(item) = found.get(&model::user_key(author)) {
            context.authors.insert(author, from_item(item.clone())?);
        }
        if let Some(viewer) = viewer {
            if found.contains_key(&model::like_key(viewer, video)) {
                context.liked.insert(video);
            }
            if found.contains_key(&model::follow_key(viewer, author)) {
                context.followed.insert(author);
            }
        }
    }
    Ok(context)
}
