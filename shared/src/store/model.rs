//! The single-table data model: every key format, item type, index and
//! attribute name of the DynamoDB table lives here, and nowhere else.
//!
//! `docs/data-model.md` is the prose version: one row per access pattern of the
//! contract, with the operation that serves it and the conditions each
//! transaction carries. Keep the two in the same commit.
//!
//! Keys are strings (`pk`, `sk`); two overloaded global secondary indexes
//! (`gsi1`, `gsi2`) serve the lists sorted by time. Numbers inside sort keys are
//! zero-padded to 16 digits so that string order is numeric order (every id and
//! millisecond time is below 2^53 < 10^16).

use serde::{Deserialize, Serialize};

/// Partition key attribute.
pub const PK: &str = "pk";
/// Sort key attribute.
pub const SK: &str = "sk";
/// First overloaded index (followers by time, feed shards, likes by time).
pub const GSI1: &str = "gsi1";
/// Partition key of [`GSI1`].
pub const GSI1_PK: &str = "gsi1pk";
/// Sort key of [`GSI1`].
pub const GSI1_SK: &str = "gsi1sk";
/// Second overloaded index (follows by time, a user's videos by time).
pub const GSI2: &str = "gsi2";
/// Partition key of [`GSI2`].
pub const GSI2_PK: &str = "gsi2pk";
/// Sort key of [`GSI2`].
pub const GSI2_SK: &str = "gsi2sk";
/// Time-to-live attribute (epoch seconds) for items that expire (rate windows,
/// pending uploads).
pub const TTL: &str = "expires_at";

/// A primary key.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Key {
    /// Partition key.
    pub pk: String,
    /// Sort key.
    pub sk: String,
}

/// `WARMUP` / `WARMUP`: the key a Lambda function's init reads to open its
/// DynamoDB connection ([`super::Table::warm_up`]). No item ever has it.
pub fn warm_up_key() -> Key {
    Key { pk: "WARMUP".into(), sk: "WARMUP".into() }
}

/// A number inside a sort key: zero-padded so string order is numeric order.
pub fn padded(n: u64) -> String {
    format!("{n:016}")
}

/// `USER#<id>` / `PROFILE`: a user's profile and counters.
pub fn user_key(user_id: u64) -> Key {
    Key { pk: format!("USER#{user_id}"), sk: "PROFILE".into() }
}

/// `USERNAME#<name>` / `USERNAME`: the uniqueness guard of a username, which also
/// holds the password hash (so a profile read can never carry it).
pub fn username_key(name: &str) -> Key {
    Key { pk: format!("USERNAME#{name}"), sk: "USERNAME".into() }
}

/// `USER#<follower>` / `FOLLOWS#<followee>`: a follow edge, looked up by key for
/// `is_follow`.
pub fn follow_key(follower: u64, followee: u64) -> Key {
    Key { pk: format!("USER#{follower}"), sk: format!("FOLLOWS#{followee}") }
}

/// `USER#<user>` / `LIKES#<video>`: a like edge, looked up by key for
/// `is_favorite`.
pub fn like_key(user_id: u64, video_id: u64) -> Key {
    Key { pk: format!("USER#{user_id}"), sk: format!("LIKES#{video_id}") }
}

/// `USER#<a>` / `FRIEND#<b>`: `a` and `b` follow each other. Written and
/// deleted in the transactions that create or remove the second follow edge.
pub fn friend_key(user: u64, friend: u64) -> Key {
    Key { pk: format!("USER#{user}"), sk: format!("FRIEND#{friend}") }
}

/// `COMMENT#<id>` / `COMMENT`: a comment, found by id for deletion.
pub fn comment_key(comment_id: u64) -> Key {
    Key { pk: format!("COMMENT#{comment_id}"), sk: "COMMENT".into() }
}

/// Partition of a user's likes by time in [`GSI1`].
pub fn liked_by_partition(user: u64) -> String {
    format!("LIKED_BY#{user}")
}

/// Partition of a user's followers by time in [`GSI1`].
pub fn followers_partition(user: u64) -> String {
    format!("FOLLOWERS#{user}")
}

/// Partition of whom a user follows, by time, in [`GSI2`].
pub fn following_partition(user: u64) -> String {
    format!("FOLLOWING#{user}")
}

/// Partition of a user's friends by time in [`GSI2`].
pub fn friends_partition(user: u64) -> String {
    format!("FRIENDS#{user}")
}

/// Partition of a video's comments by time in [`GSI1`].
pub fn comments_partition(video: u64) -> String {
    format!("COMMENTS#{video}")
}

/// Partition of the conversation between `a` and `b` (either order).
pub fn conversation_partition(a: u64, b: u64) -> String {
    format!("CHAT#{}#{}", a.min(b), a.max(b))
}

/// `CHAT#<min>#<max>` / `CLOCK`: the conversation's clock (the newest
/// message's time) and its preview (that message).
pub fn conversation_key(a: u64, b: u64) -> Key {
    Key { pk: conversation_partition(a, b), sk: "CLOCK".into() }
}

/// Sort key of a message: its time, then its id.
pub fn message_sort_key(create_time: u64, id: u64) -> String {
    format!("MSG#{}#{}", padded(create_time), padded(id))
}

/// `MSGID#<id>` / `MSGID`: written with the message, so that persisting the
/// same message twice (send path and consumer) writes it once.
pub fn message_guard_key(id: u64) -> Key {
    Key { pk: format!("MSGID#{id}"), sk: "MSGID".into() }
}

/// `VIDEO#<id>` / `VIDEO`: a published video with its counters.
pub fn video_key(video_id: u64) -> Key {
    Key { pk: format!("VIDEO#{video_id}"), sk: "VIDEO".into() }
}

/// `UPLOAD#<video id>` / `UPLOAD`: the state of a presigned upload.
pub fn upload_key(video_id: u64) -> Key {
    Key { pk: format!("UPLOAD#{video_id}"), sk: "UPLOAD".into() }
}

/// Partition of feed shard `shard` in [`GSI1`].
pub fn feed_partition(shard: u32) -> String {
    format!("FEED#{shard}")
}

/// Partition of an author's videos in [`GSI2`].
pub fn works_partition(author_id: u64) -> String {
    format!("WORKS#{author_id}")
}

/// Sort key of a video in the feed and in its author's list: publish time,
/// then id, so that videos of the same millisecond have a stable order.
pub fn video_time_key(created_at_ms: u64, video_id: u64) -> String {
    format!("{}#{}", padded(created_at_ms), padded(video_id))
}

/// `COUNTER#ids` / `COUNTER`: the high-water mark of allocated ids.
pub fn id_counter_key() -> Key {
    Key { pk: "COUNTER#ids".into(), sk: "COUNTER".into() }
}

/// `RATE#<scope>#<subject>#<window start>` / `RATE`: how many calls `subject`
/// (an address or a user id) made under limit `scope` in the fixed window
/// starting at `window_start` (epoch seconds). The window is the last part and
/// holds no `#`, so no two (subject, window) pairs share a key.
pub fn rate_window_key(scope: &str, subject: &str, window_start: u64) -> Key {
    Key { pk: format!("RATE#{scope}#{subject}#{window_start}"), sk: "RATE".into() }
}

/// Calls counted in a rate window item ([`rate_window_key`]); it also carries
/// [`TTL`], so DynamoDB deletes it some time after its window.
pub const RATE_COUNT_ATTR: &str = "count";

/// A user's profile item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserItem {
    /// `USER#<id>`.
    pub pk: String,
    /// `PROFILE`.
    pub sk: String,
    /// The user id.
    pub id: u64,
    /// The username.
    pub name: String,
    /// Profile text.
    pub signature: String,
    /// Media key of the avatar.
    pub avatar_key: String,
    /// Media key of the background image.
    pub background_key: String,
    /// Users this user follows.
    pub follow_count: u64,
    /// Users following this user.
    pub follower_count: u64,
    /// Likes received on own videos.
    pub total_favorited: u64,
    /// Own videos.
    pub work_count: u64,
    /// Videos liked.
    pub favorite_count: u64,
    /// Registration time, ms since the epoch.
    pub created_at_ms: u64,
}

impl UserItem {
    /// A new user with zero counters.
    pub fn new(id: u64, name: &str, profile: &NewProfile, created_at_ms: u64) -> UserItem {
        let key = user_key(id);
        UserItem {
            pk: key.pk,
            sk: key.sk,
            id,
            name: name.to_owned(),
            signature: profile.signature.clone(),
            avatar_key: profile.avatar_key.clone(),
            background_key: profile.background_key.clone(),
            follow_count: 0,
            follower_count: 0,
            total_favorited: 0,
            work_count: 0,
            favorite_count: 0,
            created_at_ms,
        }
    }
}

/// What a new profile starts with.
#[derive(Clone, Debug)]
pub struct NewProfile {
    /// Default signature.
    pub signature: String,
    /// Default avatar's media key.
    pub avatar_key: String,
    /// Default background's media key.
    pub background_key: String,
}

/// The uniqueness guard of a username, with the login credentials.
#[derive(Clone, Serialize, Deserialize)]
pub struct UsernameItem {
    /// `USERNAME#<name>`.
    pub pk: String,
    /// `USERNAME`.
    pub sk: String,
    /// The user owning the name.
    pub user_id: u64,
    /// Argon2id PHC string.
    pub password_hash: String,
}

impl std::fmt::Debug for UsernameItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UsernameItem").field("pk", &self.pk).field("user_id", &self.user_id).finish_non_exhaustive()
    }
}

impl UsernameItem {
    /// The guard of `name`, owned by `user_id`.
    pub fn new(name: &str, user_id: u64, password_hash: String) -> UsernameItem {
        let key = username_key(name);
        UsernameItem { pk: key.pk, sk: key.sk, user_id, password_hash }
    }
}

/// A published video.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VideoItem {
    /// `VIDEO#<id>`.
    pub pk: String,
    /// `VIDEO`.
    pub sk: String,
    /// `FEED#<shard>`.
    pub gsi1pk: String,
    /// [`video_time_key`].
    pub gsi1sk: String,
    /// `WORKS#<author>`.
    pub gsi2pk: String,
    /// [`video_time_key`].
    pub gsi2sk: String,
    /// The video id.
    pub id: u64,
    /// Its author.
    pub author_id: u64,
    /// Title, trimmed.
    pub title: String,
    /// Media key of the video file.
    pub play_key: String,
    /// Media key of the JPEG cover.
    pub cover_key: String,
    /// Likes.
    pub favorite_count: u64,
    /// Comments.
    pub comment_count: u64,
    /// Publish time, ms since the epoch.
    pub created_at_ms: u64,
    /// Display width.
    pub width: u32,
    /// Display height.
    pub height: u32,
    /// Duration in ms.
    pub duration_ms: u64,
}

/// What a new video is made of.
#[derive(Clone, Debug)]
pub struct NewVideo {
    /// The video id.
    pub id: u64,
    /// Its author.
    pub author_id: u64,
    /// Title, trimmed.
    pub title: String,
    /// Media key of the video file.
    pub play_key: String,
    /// Media key of the cover.
    pub cover_key: String,
    /// Publish time, ms.
    pub created_at_ms: u64,
    /// Display width.
    pub width: u32,
    /// Display height.
    pub height: u32,
    /// Duration in ms.
    pub duration_ms: u64,
    /// The feed shard it goes to.
    pub feed_shard: u32,
}

impl VideoItem {
    /// A new video with zero counters, in its feed shard and its author's list.
    pub fn new(video: &NewVideo) -> VideoItem {
        let key = video_key(video.id);
        let time_key = video_time_key(video.created_at_ms, video.id);
        VideoItem {
            pk: key.pk,
            sk: key.sk,
            gsi1pk: feed_partition(video.feed_shard),
            gsi1sk: time_key.clone(),
            gsi2pk: works_partition(video.author_id),
            gsi2sk: time_key,
            id: video.id,
            author_id: video.author_id,
            title: video.title.clone(),
            play_key: video.play_key.clone(),
            cover_key: video.cover_key.clone(),
            favorite_count: 0,
            comment_count: 0,
            created_at_ms: video.created_at_ms,
            width: video.width,
            height: video.height,
            duration_ms: video.duration_ms,
        }
    }
}

/// Where a presigned upload stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UploadState {
    /// Waiting for the object, or being ingested.
    Pending,
    /// Ingested: the video is published.
    Live,
    /// Refused; `reason` says why.
    Rejected,
}

/// A presigned upload: created when the URL is handed out, settled by the
/// ingest. Expires (TTL) 15 days after creation
/// ([`crate::videos::UPLOAD_RECORD_TTL`]: longer than a failed ingest can wait
/// in its dead-letter queue).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadItem {
    /// `UPLOAD#<video id>`.
    pub pk: String,
    /// `UPLOAD`.
    pub sk: String,
    /// The video id the upload becomes.
    pub video_id: u64,
    /// Who uploads.
    pub author_id: u64,
    /// Title, trimmed.
    pub title: String,
    /// Where the client puts the file.
    pub object_key: String,
    /// Declared content type (signed into the URL).
    pub content_type: String,
    /// Declared size in bytes (signed into the URL).
    pub content_length: u64,
    /// Where it stands.
    pub state: UploadState,
    /// Why it was rejected (empty otherwise).
    pub reason: String,
    /// Creation time, ms.
    pub created_at_ms: u64,
    /// TTL, epoch seconds.
    pub expires_at: u64,
}

impl UploadItem {
    /// A pending upload's record as far as the store decides it: its keys and
    /// state; the caller gives the rest (struct update syntax).
    pub fn pending(video_id: u64) -> UploadItem {
        let key = upload_key(video_id);
        UploadItem {
            pk: key.pk,
            sk: key.sk,
            video_id,
            author_id: 0,
            title: String::new(),
            object_key: String::new(),
            content_type: String::new(),
            content_length: 0,
            state: UploadState::Pending,
            reason: String::new(),
            created_at_ms: 0,
            expires_at: 0,
        }
    }
}

/// A like: `user` likes `video`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LikeItem {
    /// `USER#<user>`.
    pub pk: String,
    /// `LIKES#<video>`.
    pub sk: String,
    /// `LIKED_BY#<user>`.
    pub gsi1pk: String,
    /// `<ms>#<video>`.
    pub gsi1sk: String,
    /// The video.
    pub video_id: u64,
    /// The video's author, so that a list of likes reads the videos and
    /// their authors at once. Absent on likes written before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author_id: Option<u64>,
    /// When, ms.
    pub liked_at_ms: u64,
}

impl LikeItem {
    /// `user` likes `video` (by `author`) since `at_ms`.
    pub fn new(user: u64, video: u64, author: u64, at_ms: u64) -> LikeItem {
        let key = like_key(user, video);
        LikeItem {
            pk: key.pk,
            sk: key.sk,
            gsi1pk: liked_by_partition(user),
            gsi1sk: video_time_key(at_ms, video),
            video_id: video,
            author_id: Some(author),
            liked_at_ms: at_ms,
        }
    }
}

/// A follow edge, or a friend edge: the same shape, other keys.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EdgeItem {
    /// `USER#<from>`.
    pub pk: String,
    /// `FOLLOWS#<to>` or `FRIEND#<to>`.
    pub sk: String,
    /// `FOLLOWERS#<to>` (follow edges only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gsi1pk: Option<String>,
    /// `<ms>#<from>` (follow edges only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gsi1sk: Option<String>,
    /// `FOLLOWING#<from>` or `FRIENDS#<from>`.
    pub gsi2pk: String,
    /// `<ms>#<to>`.
    pub gsi2sk: String,
    /// Who follows (or one friend).
    pub from_user: u64,
    /// Who is followed (or the other friend).
    pub to_user: u64,
    /// Since when, ms.
    pub since_ms: u64,
}

impl EdgeItem {
    /// `from` follows `to` since `at_ms`.
    pub fn follow(from: u64, to: u64, at_ms: u64) -> EdgeItem {
        let key = follow_key(from, to);
        EdgeItem {
            pk: key.pk,
            sk: key.sk,
            gsi1pk: Some(followers_partition(to)),
            gsi1sk: Some(video_time_key(at_ms, from)),
            gsi2pk: following_partition(from),
            gsi2sk: video_time_key(at_ms, to),
            from_user: from,
            to_user: to,
            since_ms: at_ms,
        }
    }

    /// `from` and `to` are friends since `at_ms` (one of the two edges).
    pub fn friend(from: u64, to: u64, at_ms: u64) -> EdgeItem {
        let key = friend_key(from, to);
        EdgeItem {
            pk: key.pk,
            sk: key.sk,
            gsi1pk: None,
            gsi1sk: None,
            gsi2pk: friends_partition(from),
            gsi2sk: video_time_key(at_ms, to),
            from_user: from,
            to_user: to,
            since_ms: at_ms,
        }
    }
}

/// A comment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommentItem {
    /// `COMMENT#<id>`.
    pub pk: String,
    /// `COMMENT`.
    pub sk: String,
    /// `COMMENTS#<video>`.
    pub gsi1pk: String,
    /// `<ms>#<id>`.
    pub gsi1sk: String,
    /// The comment id.
    pub id: u64,
    /// The video commented.
    pub video_id: u64,
    /// The author.
    pub user_id: u64,
    /// The text, trimmed.
    pub content: String,
    /// When, ms.
    pub created_at_ms: u64,
}

impl CommentItem {
    /// A new comment.
    pub fn new(id: u64, video: u64, user: u64, content: &str, at_ms: u64) -> CommentItem {
        let key = comment_key(id);
        CommentItem {
            pk: key.pk,
            sk: key.sk,
            gsi1pk: comments_partition(video),
            gsi1sk: video_time_key(at_ms, id),
            id,
            video_id: video,
            user_id: user,
            content: content.to_owned(),
            created_at_ms: at_ms,
        }
    }
}

/// A chat message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageItem {
    /// [`conversation_partition`].
    pub pk: String,
    /// [`message_sort_key`].
    pub sk: String,
    /// The message id.
    pub id: u64,
    /// Sender.
    pub from_user_id: u64,
    /// Recipient.
    pub to_user_id: u64,
    /// Text, trimmed.
    pub content: String,
    /// ms; strictly increasing within a conversation, in commit order.
    pub create_time: u64,
}

/// The clock and preview of a conversation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationItem {
    /// [`conversation_partition`].
    pub pk: String,
    /// `CLOCK`.
    pub sk: String,
    /// Time of the newest message, ms.
    pub last_time: u64,
    /// Its sender.
    pub last_from: u64,
    /// Its text.
    pub last_content: String,
}

// Attribute names the update expressions name: the counters of a video
// (likes, comments) and of a user (likes received, follows, followers,
// videos), and an upload's state and reason.
pub const FAVORITE_COUNT_ATTR: &str = "favorite_count";
pub const TOTAL_FAVORITED_ATTR: &str = "total_favorited";
pub const COMMENT_COUNT_ATTR: &str = "comment_count";
pub const FOLLOW_COUNT_ATTR: &str = "follow_count";
pub const FOLLOWER_COUNT_ATTR: &str = "follower_count";
pub const WORK_COUNT_ATTR: &str = "work_count";
pub const UPLOAD_STATE_ATTR: &str = "state";
pub const UPLOAD_REASON_ATTR: &str = "reason";

/// The counter item of [`id_counter_key`].
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct IdCounterItem {
    /// Highest id handed out so far.
    pub next_id: u64,
}

/// Attribute name of [`IdCounterItem::next_id`].
pub const ID_COUNTER_ATTR: &str = "next_id";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padded_numbers_sort_as_strings() {
        assert!(padded(9) < padded(10));
        assert!(padded(999_999_999_999) < padded((1 << 53) - 1));
        assert_eq!(padded((1 << 53) - 1).len(), 16);
    }

    #[test]
    fn key_formats_are_stable() {
        assert_eq!(user_key(5), Key { pk: "USER#5".into(), sk: "PROFILE".into() });
        assert_eq!(username_key("bob").pk, "USERNAME#bob");
        assert_eq!(follow_key(1, 2).sk, "FOLLOWS#2");
        assert_eq!(rate_window_key("login-user", "a#1", 60).pk, "RATE#login-user#a#1#60");
    }
}
