//! Likes, comments and relations: what users do to videos and to each other.
//! Every change is idempotent where the contract says so (liking twice,
//! unliking what is not liked, following twice, unfollowing twice: status 0,
//! nothing changes) and keeps the counters exact (see `store::interactions`).

use crate::app::App;
use crate::domain::{Comment, CommentId, CommentText, Listed, User, UserId, Video, VideoId, now_ms};
use crate::error::{Error, Result};
use crate::limits::Scope;
use crate::metrics::{self, Metric};
use crate::store::Page;
use crate::store::model::{self, CommentItem};
use crate::users::{Claimed, user_view};
use crate::videos::{PAGE_SIZE, render};

/// Most users in a page of a follow, follower or friend list, and comments
/// in a page of comments.
pub const LIST_SIZE: usize = 100;

/// `user` likes `video_id` (idempotent).
pub async fn like(app: &App, user: Claimed, video_id: VideoId) -> Result<()> {
    let video = claimant_and_video(app, user, video_id).await?;
    if app.table.like(user.id().0, &video, now_ms()).await? {
        metrics::count(Metric::Likes);
    }
    Ok(())
}

/// `user` stops liking `video_id` (idempotent).
pub async fn unlike(app: &App, user: Claimed, video_id: VideoId) -> Result<()> {
    let video = claimant_and_video(app, user, video_id).await?;
    app.table.unlike(user.id().0, &video).await?;
    Ok(())
}

/// The video `video_id`, read in the same round that confirms the claimed
/// caller exists (a user that does not is [`Error::Unauthenticated`], as
/// `edge::authenticate` would have answered).
async fn claimant_and_video(app: &App, user: Claimed, VideoId(video_id): VideoId) -> Result<model::VideoItem> {
    let (profile, video) = app.table.user_and_video(user.id(), video_id).await?;
    profile.ok_or_else(Error::caller_gone)?;
    video.ok_or_else(|| no_such_video(video_id))
}

/// The videos `user` liked, newest like first, as `viewer` sees them.
pub async fn liked_videos(
    app: &App,
    user: UserId,
    viewer: Option<UserId>,
    cursor: Option<String>,
) -> Result<Listed<Video>> {
    let page = Page { size: PAGE_SIZE, before: cursor };
    let (likes, next_cursor) = app.table.likes(user.0, &page).await?;
    if likes.is_empty() {
        existing_user(app, user).await?;
        return Ok(Listed { items: Vec::new(), next_cursor });
    }
    // A like records its video's author: the videos, their authors and the
    // viewer's likes and follows in one read. Likes older than that record
    // take a read more.
    let known: Option<Vec<(u64, u64)>> = likes.iter().map(|like| Some((like.video_id, like.author_id?))).collect();
    let viewer_id = viewer.map(|viewer| viewer.0);
    let (videos, context) = match known {
        Some(page) => app.table.videos_in_context(&page, viewer_id).await?,
        None => {
            let ids: Vec<u64> = likes.iter().map(|like| like.video_id).collect();
            let videos = app.table.videos(&ids).await?;
            let context = app.table.viewer_context(&videos, viewer_id).await?;
            (videos, context)
        }
    };
    Ok(Listed { items: render(&app.media, videos, &context).await?, next_cursor })
}

/// `from` follows `to` (idempotent). Yourself is 10003, an unknown user 10004.
/// The follower is confirmed by the follow's own transaction, which updates
/// their counter only if their profile exists, and counts the follow against
/// the follower's limit: a follow that writes nothing counts nothing.
pub async fn follow(app: &App, from: Claimed, to: UserId) -> Result<()> {
    if from.id() == to {
        return Err(Error::Forbidden("you cannot follow yourself".into()));
    }
    let count = app.limiter.count(Scope::Follow, &from.id().to_string());
    if app.table.follow(from.id().0, to.0, now_ms(), count.as_ref()).await? {
        metrics::count(Metric::Follows);
    }
    Ok(())
}

/// `from` stops following `to` (idempotent), counted against the follower's
/// limit in the unfollow's transaction (an unfollow that changes nothing
/// counts nothing).
pub async fn unfollow(app: &App, from: Claimed, to: UserId) -> Result<()> {
    if from.id() == to {
        return Err(Error::Forbidden("you cannot unfollow yourself".into()));
    }
    // Unfollowing what you do not follow changes nothing, and says nothing
    // about the caller: confirmed first.
    let from = from.id();
    crate::users::existing_user(app, from).await?;
    let count = app.limiter.count(Scope::Follow, &from.to_string());
    if !app.table.unfollow(from.0, to.0, count.as_ref()).await? {
        existing_user(app, to).await?;
    }
    Ok(())
}

/// Which list of users.
#[derive(Clone, Copy, Debug)]
pub enum Relation {
    /// Whom the user follows.
    Following,
    /// Who follows the user.
    Followers,
}

/// A relation list of `user`, newest relation first, as `viewer` sees it.
pub async fn relation_list(
    app: &App,
    user: UserId,
    relation: Relation,
    viewer: Option<UserId>,
    cursor: Option<String>,
) -> Result<Listed<User>> {
    let page = Page { size: LIST_SIZE, before: cursor };
    let (ids, next_cursor) = match relation {
        Relation::Following => app.table.followed_ids(user.0, &page).await?,
        Relation::Followers => app.table.follower_ids(user.0, &page).await?,
    };
    if ids.is_empty() {
        existing_user(app, user).await?;
        return Ok(Listed { items: Vec::new(), next_cursor });
    }
    let mut users = Vec::with_capacity(ids.len());
    for (item, follows) in app.table.users_seen_by(&ids, viewer.map(|v| v.0)).await? {
        users.push(user_view(app, item, follows).await?);
    }
    Ok(Listed { items: users, next_cursor })
}

/// Posts a comment on `video_id`, answered with the caller's profile. The
/// comment's transaction confirms the caller (it writes only if their profile
/// exists), and the profile the answer shows is read at the same time: one
/// round. The comment's transaction counts it against the author's limit. A
/// comment changes none of the profile's counters.
pub async fn post_comment(app: &App, user: Claimed, VideoId(video_id): VideoId, text: &CommentText) -> Result<Comment> {
    let id = app.ids.next().await?;
    let item = CommentItem::new(id, video_id, user.id().0, text.as_str(), now_ms());
    let count = app.limiter.count(Scope::Comment, &user.id().to_string());
    let (written, profile) = tokio::join!(app.table.add_comment(&item, count.as_ref()), app.table.user(user.id()));
    written?;
    metrics::count(Metric::Comments);
    // The transaction saw the profile, so only a failed read misses it: the
    // comment is posted, and the answer is worth a second read.
    let profile = match profile {
        Ok(Some(profile)) => profile,
        _ => crate::users::existing_user(app, user.id()).await?,
    };
    let user = user_view(app, profile, false).await?;
    Ok(Comment { id: item.id, user, content: item.content, create_date: date(app, item.created_at_ms) })
}

/// Deletes a comment: allowed for its author and for the video's author
/// (10003 otherwise). Returns the deleted comment.
pub async fn delete_comment(
    app: &App,
    user: UserId,
    VideoId(video_id): VideoId,
    CommentId(comment_id): CommentId,
) -> Result<Comment> {
    let comment = app.table.comment(comment_id).await?.filter(|comment| comment.video_id == video_id);
    let comment = comment.ok_or_else(|| Error::NotFound(format!("comment {comment_id} does not exist")))?;
    if comment.user_id != user.0 {
        let video = existing_video(app, video_id).await?;
        if video.author_id != user.0 {
            return Err(Error::Forbidden("only the comment's author or the video's author can delete it".into()));
        }
    }
    if !app.table.delete_comment(&comment).await? {
        return Err(Error::NotFound(format!("comment {comment_id} does not exist")));
    }
    comment_view(app, comment).await
}

/// The comments of `video_id`, newest first.
pub async fn comments(
    app: &App,
    VideoId(video_id): VideoId,
    viewer: Option<UserId>,
    cursor: Option<String>,
) -> Result<Listed<Comment>> {
    let (items, next_cursor) = app.table.comments(video_id, &Page { size: LIST_SIZE, before: cursor }).await?;
    if items.is_empty() {
        existing_video(app, video_id).await?;
        return Ok(Listed { items: Vec::new(), next_cursor });
    }
    let mut authors: Vec<u64> = items.iter().map(|c| c.user_id).collect();
    authors.sort_unstable();
    authors.dedup();
    // Each author is rendered once, however many of the page's comments are theirs.
    let mut users = std::collections::HashMap::with_capacity(authors.len());
    for (author, follows) in app.table.users_seen_by(&authors, viewer.map(|v| v.0)).await? {
        users.insert(author.id, user_view(app, author, follows).await?);
    }
    let mut comments = Vec::with_capacity(items.len());
    for item in items {
        let Some(user) = users.get(&item.user_id) else { continue };
        let create_date = date(app, item.created_at_ms);
        comments.push(Comment { id: item.id, user: user.clone(), content: item.content, create_date });
    }
    Ok(Listed { items: comments, next_cursor })
}

async fn comment_view(app: &App, item: CommentItem) -> Result<Comment> {
    let author = app.table.user(UserId(item.user_id)).await?;
    let author = author.ok_or_else(|| Error::NotFound("the comment's author no longer exists".into()))?;
    let user = user_view(app, author, false).await?;
    Ok(Comment { id: item.id, user, content: item.content, create_date: date(app, item.created_at_ms) })
}

/// `MM-DD` of `ms` in the configured time zone.
fn date(app: &App, ms: u64) -> String {
    month_day(&app.config.time_zone, ms)
}

/// `MM-DD` of `ms` (milliseconds since the epoch) in `zone`; `01-01` for a
/// time outside what a calendar date can name (none we store).
fn month_day(zone: &jiff::tz::TimeZone, ms: u64) -> String {
    let date = i64::try_from(ms).ok().and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok());
    match date.map(|time| zone.to_datetime(time)) {
        Some(local) => format!("{:02}-{:02}", local.month(), local.day()),
        None => String::from("01-01"),
    }
}

async fn existing_video(app: &App, video_id: u64) -> Result<model::VideoItem> {
    app.table.video(video_id).await?.ok_or_else(|| no_such_video(video_id))
}

fn no_such_video(video_id: u64) -> Error {
    Error::NotFound(format!("video {video_id} does not exist"))
}

async fn existing_user(app: &App, user: UserId) -> Result<()> {
    match app.table.user(user).await? {
        Some(_) => Ok(()),
        None => Err(Error::NotFound(format!("user {user} does not exist"))),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::month_day;
    use crate::config::time_zone;

    fn at(zone: &str, utc: &str) -> String {
        let ms = utc.parse::<jiff::Timestamp>().unwrap().as_millisecond();
        month_day(&time_zone(zone).unwrap(), u64::try_from(ms).unwrap())
    }

    #[test]
    fn a_comment_date_is_the_calendar_day_of_its_zone() {
        assert_eq!(at("Asia/Shanghai", "2026-11-25T15:59:59Z"), "11-25");
        assert_eq!(at("Asia/Shanghai", "2026-11-25T16:00:00Z"), "11-26", "midnight at UTC+8");
        assert_eq!(at("UTC", "2026-11-25T16:00:00Z"), "11-25");
        assert_eq!(at("America/New_York", "2026-07-01T03:59:59Z"), "06-30", "UTC-4 in summer");
        assert_eq!(at("America/New_York", "2026-01-01T04:59:59Z"), "12-31", "UTC-5 in winter");
    }

    #[test]
    fn a_comment_date_follows_the_zones_history() {
        // Samoa moved from UTC-10 to UTC+14 at the end of 29 December 2011:
        // its 30 December never happened. A fixed offset cannot say that.
        assert_eq!(at("Pacific/Apia", "2011-12-30T09:59:59Z"), "12-29");
        assert_eq!(at("Pacific/Apia", "2011-12-30T10:00:00Z"), "12-31");
    }

    #[test]
    fn a_time_no_calendar_names_is_the_first_of_january() {
        assert_eq!(month_day(&time_zone("UTC").unwrap(), u64::MAX), "01-01");
    }
}
