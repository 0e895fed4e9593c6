//! The video use cases: publish (in one request, or through a presigned
//! upload), the one ingest pipeline both paths share, the feed and an
//! author's list. Plain async functions over [`App`].
//!
//! Ingest validates by content ([`crate::video::accept`]: container, codec
//! (H.264 or HEVC), size, duration, and a decoded first frame for the cover)
//! and rewrites a file whose `moov` trails its `mdat` for fast start; a refused
//! video leaves nothing behind. What is published is exactly what was
//! validated: the bytes held in memory (the fast-start file when rewritten)
//! are written to server-owned keys that name their
//! content (`videos/<id>-<digest>.mp4`, `covers/<id>-<digest>.jpg`), never
//! served from where a client uploaded them. Publishing is one transaction
//! (video, feed entry, author's `work_count`, upload state), so a video appears
//! whole or not at all, and a retried S3 event publishes nothing twice.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use sha2::Digest as _;

use crate::app::App;
use crate::domain::{Listed, User, UserId, Video, VideoId, VideoTitle, feed_cursor, now_ms};
use crate::error::{Error, Result};
use crate::feed_cache::{CachedFeed, FeedCache};
use crate::limits::Scope;
use crate::media::{Fetched, Media};
use crate::metrics::{self, Metric};
use crate::store::Page;
pub use crate::store::model::UploadState;
use crate::store::model::{NewVideo, UploadItem, VideoItem};
use crate::store::{Table, VideoSource, ViewerContext};
use crate::users::{Claimed, user_view_in};
use crate::video::{self, Cover, VideoInfo};

/// Most videos in a feed page or a list of liked videos.
pub const PAGE_SIZE: usize = 30;
/// Most videos in a page of an author's list (`publish/list`). The stock
/// client asks for one page and has no way on, so the page is as large as one
/// request's reads allow without growing: one `Query` and one `BatchGetItem`,
/// which takes 100 keys (the author, the viewer's like of each video, the
/// viewer's follow of the author): 98 videos. An author with more pages on
/// with `cursor`.
pub const WORKS_PAGE_SIZE: usize = 98;
/// Most bytes of event a synchronous Lambda invocation takes (6 MB), base64
/// body and all.
pub const LAMBDA_PAYLOAD_BYTES: usize = 6_291_456;
/// Most bytes an API Gateway HTTP API (v2) event adds around the body: the
/// request line and headers (HTTP APIs cap them at 10 KiB), the path, query
/// and user agent again in `requestContext`, the rest of `requestContext`,
/// JSON escaping.
pub const EVENT_ALLOWANCE_BYTES: usize = 32 * 1024;
/// Most bytes the stock client's multipart body adds around the video:
/// boundaries, part headers with the file name, the token and the title.
pub const MULTIPART_ALLOWANCE_BYTES: usize = 8 * 1024;
/// Largest video the one-request publish accepts (4.4 MiB). API Gateway
/// base64-encodes the multipart body (4/3 larger), and the event must fit
/// [`LAMBDA_PAYLOAD_BYTES`] even for a file just over this limit, so that its
/// sender gets our 10007 rather than API Gateway's error; 4.5 MiB (4/3 of
/// 6 MiB exactly) left no room for the rest of the event.
/// `tests/it/publish.rs` and the rehearsal's payload rule hold the sum.
pub const INLINE_MAX_BYTES: usize = 44 * 1024 * 1024 / 10;
/// Content types a presigned upload may declare.
pub const UPLOAD_CONTENT_TYPES: [&str; 2] = ["video/mp4", "video/quicktime"];
/// Key prefix of presigned uploads: the S3 notification that starts the
/// ingest watches it.
pub const UPLOAD_PREFIX: &str = "uploads/";
/// How long an upload's record outlives its creation (its TTL). A failed
/// ingest must still find the record when it is replayed from the ingest
/// dead-letter queue, however late within the queue's retention: the client
/// may PUT until its link expires (at most an hour), Lambda retries the S3
/// event for up to 6 hours, then the event waits up to 14 days in the queue.
/// 15 days covers the 14 days 7 hours; a test holds the template to it
/// (`tests/it/template.rs`). An abandoned upload's record stays that long too
/// (a few hundred bytes).
pub const UPLOAD_RECORD_TTL: Duration = Duration::from_secs(15 * 24 * 3600);

/// How long an object may stay under [`UPLOAD_PREFIX`] unclaimed: the bucket's
/// lifecycle rule expires it after a day on AWS (template.yaml), and the
/// local server's sweep ([`sweep_stale_uploads`]) does the same. Ingests end
/// within minutes (Lambda retries an S3 event for up to six hours).
pub const UPLOAD_MAX_AGE: Duration = Duration::from_secs(24 * 3600);

/// The digest of stored video bytes that names its objects: the first 128
/// bits of SHA-256, in hex. Keys that name their content are written once
/// with one content (two ingests of different bytes can never overwrite each
/// other's objects), and a CDN may cache them forever.
pub fn media_digest(stored: &[u8]) -> String {
    sha2::Sha256::digest(stored)[..16].iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Media key of a published video whose stored bytes are `stored`.
pub fn play_key(video_id: u64, stored: &[u8]) -> String {
    MediaKeys::new(video_id, &media_digest(stored)).play
}

/// Media key of the cover of a published video whose stored bytes are `stored`.
pub fn cover_key(video_id: u64, stored: &[u8]) -> String {
    MediaKeys::new(video_id, &media_digest(stored)).cover
}

/// The server-owned keys of a video's objects.
#[derive(Clone, Debug, PartialEq, Eq)]
struct MediaKeys {
    play: String,
    cover: String,
}

impl MediaKeys {
    fn new(video_id: u64, digest: &str) -> MediaKeys {
        MediaKeys { play: format!("videos/{video_id}-{digest}.mp4"), cover: format!("covers/{video_id}-{digest}.jpg") }
    }
}

/// Media key a presigned upload goes to.
pub fn upload_object_key(video_id: u64) -> String {
    format!("{UPLOAD_PREFIX}{video_id}")
}

/// A video that passed the content checks, in memory: what gets stored and shown.
struct Validated {
    info: VideoInfo,
    cover: Cover,
    /// The bytes to store: the ones validated.
    stored: Bytes,
    /// [`media_digest`] of `stored`.
    digest: String,
}

/// Publishes a video sent in the request itself (the stock client's path).
/// Answers once the video is in the feed, or with the reason it was refused.
pub async fn publish_inline(app: &App, author: Claimed, title: &VideoTitle, bytes: Bytes) -> Result<u64> {
    if bytes.len() > INLINE_MAX_BYTES {
        metrics::count(Metric::UploadsRejected);
        return Err(Error::UnsupportedMedia(format!(
            "the video is {:.1} MB; a direct upload carries at most {:.1} MB, use the presigned upload \
             (POST /douyin/publish/upload/) for larger files",
            bytes.len() as f64 / 1_048_576.0,
            INLINE_MAX_BYTES as f64 / 1_048_576.0
        )));
    }
    // The author is confirmed while the video is decoded: one round, not
    // two; a user who no longer exists is refused before anything is stored.
    // The decode is handed to its thread first, then the read is sent.
    let (validated, confirmed) = tokio::join!(validate(app, bytes), crate::users::existing_user(app, author.id()));
    confirmed?;
    let author = author.id();
    let validated = validated.inspect_err(|error| {
        if matches!(error, Error::UnsupportedMedia(_)) {
            metrics::count(Metric::UploadsRejected);
        }
    })?;
    let video_id = app.ids.next().await?;
    let keys = MediaKeys::new(video_id, &validated.digest);
    let result = match store(app, &keys, &validated).await {
        Ok(()) => {
            let title = title.as_str();
            let info = &validated.info;
            publish(app, Publication { video_id, author, title, keys: &keys, info, source: VideoSource::Inline }).await
        }
        Err(error) => Err(error),
    };
    match result {
        Ok(true) => {
            metrics::count(Metric::UploadsAccepted);
            Ok(video_id)
        }
        // A fresh id is never published already.
        Ok(false) => Err(Error::Internal(anyhow::anyhow!("video {video_id} was published already"))),
        Err(error) => {
            discard_unless_live(app, video_id, &keys).await;
            Err(error)
        }
    }
}

/// Deletes the objects of a video whose publish failed, unless they are the
/// live video's: a transaction whose answer was lost (a timeout after the
/// commit) made them live, and they must stay. When even that cannot be read,
/// the objects stay too: an orphan object costs a few bytes, a live video
/// without its file is broken.
async fn discard_unless_live(app: &App, video_id: u64, keys: &MediaKeys) {
    match app.table.video(video_id).await {
        Ok(Some(live)) if live.play_key == keys.play => {
            tracing::warn!(video_id, "publish failed after its commit; the video is live");
        }
        Ok(_) => {
            let _ = app.media.delete(&keys.play).await;
            let _ = app.media.delete(&keys.cover).await;
        }
        Err(_) => tracing::warn!(video_id, "publish failed and its outcome is unknown; objects kept"),
    }
}

/// A presigned upload handed to a client.
#[derive(Debug)]
pub struct UploadTicket {
    /// The id the video will have.
    pub video_id: u64,
    /// Where to PUT the file.
    pub url: String,
    /// Headers the PUT must carry (content type, length).
    pub headers: Vec<(String, String)>,
    /// Seconds the URL stays valid.
    pub expires_in: u64,
}

/// Starts a presigned upload: records it as pending and signs a PUT bound to
/// a server-chosen key, the declared content type and the exact size. One
/// round: the record's transaction confirms the author and counts the ticket
/// against their limit.
pub async fn start_upload(
    app: &App,
    author: Claimed,
    title: &VideoTitle,
    content_type: &str,
    content_length: u64,
) -> Result<UploadTicket> {
    let content_type = content_type.trim().to_ascii_lowercase();
    if !UPLOAD_CONTENT_TYPES.contains(&content_type.as_str()) {
        return Err(Error::UnsupportedMedia("content_type must be video/mp4 or video/quicktime".into()));
    }
    let max = app.config.max_upload_bytes;
    if content_length == 0 || content_length > max {
        return Err(Error::UnsupportedMedia(format!(
            "content_length must be between 1 and {max} bytes ({} MB)",
            max / 1_048_576
        )));
    }
    let author = author.id();
    let video_id = app.ids.next().await?;
    let object_key = upload_object_key(video_id);
    let now = now_ms();
    let upload = UploadItem {
        author_id: author.0,
        title: title.as_str().to_owned(),
        object_key: object_key.clone(),
        content_type: content_type.clone(),
        content_length,
        created_at_ms: now,
        expires_at: now / 1000 + UPLOAD_RECORD_TTL.as_secs(),
        ..UploadItem::pending(video_id)
    };
    let count = app.limiter.count(Scope::Upload, &author.to_string());
    app.table.create_upload(&upload, count.as_ref()).await?;
    let ttl = app.config.upload_url_ttl;
    let (url, headers) = app.media.upload_link(&object_key, &content_type, content_length, ttl).await?;
    Ok(UploadTicket { video_id, url, headers, expires_in: ttl.as_secs() })
}

/// The size of the object a client uploaded to `object_key`, if it is there.
pub async fn uploaded_size(app: &App, object_key: &str) -> Result<Option<u64>> {
    app.media.size(object_key).await
}

/// What the ingest of an uploaded object did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IngestOutcome {
    /// The video is live.
    Published(u64),
    /// The video was refused and its object deleted.
    Rejected(String),
    /// Nothing to do: a repeated event, or an object that is not a pending upload.
    Skipped,
}

/// Ingests an object that landed under [`UPLOAD_PREFIX`] (S3 `ObjectCreated`).
/// Safe to call any number of times for one object, and for two objects of
/// one upload at once (two PUTs of its URL): the first ingest to settle the
/// upload decides, and the other changes nothing and deletes nothing of it.
pub async fn ingest_upload(app: &App, object_key: &str) -> Result<IngestOutcome> {
    let Some(video_id) = object_key.strip_prefix(UPLOAD_PREFIX).and_then(|id| id.parse::<u64>().ok()) else {
        tracing::warn!(object_key, "object outside the upload scheme ignored");
        return Ok(IngestOutcome::Skipped);
    };
    let Some(upload) = app.table.upload(video_id).await? else {
        // No record (never issued, or expired): nobody will claim this object.
        app.media.delete(object_key).await?;
        return Ok(IngestOutcome::Skipped);
    };
    if upload.object_key != object_key {
        return Ok(IngestOutcome::Skipped);
    }
    if upload.state != UploadState::Pending {
        // Settled: a PUT after the ingest removed the upload, or a retried
        // event of an ingest whose delete failed. Nothing reads this object.
        app.media.delete(object_key).await?;
        return Ok(IngestOutcome::Skipped);
    }
    let bytes = match app.media.get_exact(object_key, upload.content_length).await? {
        Fetched::Bytes(bytes) => bytes,
        Fetched::Missing => return Ok(IngestOutcome::Skipped),
        Fetched::OtherSize(size) => {
            let reason = format!("the upload has {size} bytes, {} were declared", upload.content_length);
            return reject(app, &upload, reason).await;
        }
    };
    // From here on, the bytes in memory are the upload: whatever a client
    // PUTs to the URL now is never read by this ingest.
    let validated = match validate(app, bytes).await {
        Ok(validated) => validated,
        Err(Error::UnsupportedMedia(reason)) => return reject(app, &upload, reason).await,
        Err(error) => return Err(error),
    };
    let keys = MediaKeys::new(video_id, &validated.digest);
    store(app, &keys, &validated).await?;
    let author = UserId(upload.author_id);
    let publication = Publication {
        video_id,
        author,
        title: &upload.title,
        keys: &keys,
        info: &validated.info,
        source: VideoSource::Upload,
    };
    if !publish(app, publication).await? {
        // Another ingest settled the upload first (published or rejected it).
        discard_unless_live(app, video_id, &keys).await;
        return Ok(IngestOutcome::Skipped);
    }
    metrics::count(Metric::UploadsAccepted);
    // Published: the upload is the ingest's to remove. If this fails, the
    // retried event finds the upload live and removes it then.
    app.media.delete(object_key).await?;
    Ok(IngestOutcome::Published(video_id))
}

async fn reject(app: &App, upload: &UploadItem, reason: String) -> Result<IngestOutcome> {
    // The record first: if the delete then fails, the retried event finds the
    // upload rejected and deletes the object; the other way round, a failed
    // record would leave the upload pending forever with its object gone.
    if !app.table.reject_upload(upload.video_id, &reason).await? {
        // Settled meanwhile by another ingest: its outcome stands, and the
        // object is not this ingest's to delete.
        tracing::info!(video_id = upload.video_id, %reason, "refused upload already settled by another ingest");
        return Ok(IngestOutcome::Skipped);
    }
    tracing::info!(video_id = upload.video_id, %reason, "upload rejected");
    app.media.delete(&upload.object_key).await?;
    metrics::count(Metric::UploadsRejected);
    Ok(IngestOutcome::Rejected(reason))
}

/// Deletes objects under [`UPLOAD_PREFIX`] written more than `max_age` ago
/// (at most 1,000 a call): uploads whose ingest never removed them (a crash
/// past its retries, a refused loser of a race). What the bucket's lifecycle
/// rule does on AWS, for the local server. A video published in place there
/// before published media moved to server-owned keys is kept. Returns how
/// many were deleted.
pub async fn sweep_stale_uploads(app: &App, max_age: Duration) -> Result<usize> {
    let before = SystemTime::now().checked_sub(max_age).unwrap_or(SystemTime::UNIX_EPOCH);
    let mut deleted = 0;
    for key in app.media.written_before(UPLOAD_PREFIX, before, 1000).await? {
        let video_id = key.strip_prefix(UPLOAD_PREFIX).and_then(|id| id.parse::<u64>().ok());
        if let Some(video_id) = video_id
            && app.table.video(video_id).await?.is_some_and(|video| video.play_key == key)
        {
            continue;
        }
        app.media.delete(&key).await?;
        deleted += 1;
    }
    if deleted > 0 {
        tracing::info!(deleted, "stale uploads removed");
    }
    Ok(deleted)
}

/// Where a presigned upload stands, for its author.
#[derive(Debug)]
pub struct UploadStatus {
    /// `pending`, `live` or `rejected`.
    pub state: UploadState,
    /// Why it was rejected (empty otherwise).
    pub reason: String,
    /// The published video, once live.
    pub video: Option<Video>,
}

/// The state of `video_id`'s upload. Another user's upload is "not found":
/// uploads are private until published.
pub async fn upload_status(app: &App, caller: UserId, VideoId(video_id): VideoId) -> Result<UploadStatus> {
    let upload = app.table.upload(video_id).await?.filter(|upload| upload.author_id == caller.0);
    let upload = upload.ok_or_else(|| Error::NotFound(format!("no upload {video_id} of yours")))?;
    let video = match upload.state {
        UploadState::Live => match app.table.video(video_id).await? {
            Some(item) => views(app, vec![item], Some(caller)).await?.pop(),
            None => None,
        },
        _ => None,
    };
    Ok(UploadStatus { state: upload.state, reason: upload.reason, video })
}

/// A page of the feed.
#[derive(Debug)]
pub struct FeedPage {
    /// Newest first, at most [`PAGE_SIZE`].
    pub videos: Vec<Video>,
    /// The next `latest_time`: publish time of the oldest video of the page,
    /// or the cursor used when the page is empty.
    pub next_time: u64,
}

/// The videos published strictly before `latest_time` (see
/// [`feed_cursor`]), newest first. A page never ends in the middle of a
/// millisecond, so a client paging with `next_time` sees each video once.
///
/// A guest's newest page (no `latest_time`, or one in the future) is read
/// from [`FeedCache`] when it is fresher than `config.feed_cache`: then it
/// makes no call at all, and past half that age it starts one refresh of the
/// page in the background ([`refresh_newest_page`]), so that steady traffic
/// never meets an expired page. A logged-in viewer's page is always read: someone
/// who just published, or whose friend just did, sees it at once (the
/// rehearsal's smoke test found a user's new video missing from the next
/// user's feed behind a page cached a moment before).
pub async fn feed(app: &App, viewer: Option<UserId>, latest_time: Option<i64>) -> Result<FeedPage> {
    let now = now_ms();
    let cursor = feed_cursor(latest_time, now);
    let ttl = app.config.feed_cache;
    let caching = viewer.is_none() && cursor > now && !ttl.is_zero();
    let served_at = Instant::now();
    if caching && let Some(hit) = app.feed_cache.get(ttl, served_at) {
        if let Some(began) = app.feed_cache.begin_refresh(&hit, ttl, served_at) {
            tokio::spawn(refresh_newest_page(
                app.table.clone(),
                app.media.clone(),
                app.config.feed_shards,
                Arc::clone(&app.feed_cache),
                began,
            ));
        }
        return Ok(hit.page(cursor));
    }
    if caching {
        // A guest's newest page: read as init and the refresh read it, and kept.
        let read = read_newest_page(&app.table, &app.media, app.config.feed_shards).await?;
        app.feed_cache.put(read.clone());
        return Ok(read.page(cursor));
    }
    let items = feed_items(&app.table, app.config.feed_shards, cursor).await?;
    let oldest_ms = items.last().map(|video| video.created_at_ms);
    let videos = views(app, items, viewer).await?;
    Ok(FeedPage { videos, next_time: oldest_ms.unwrap_or(cursor) })
}

impl CachedFeed {
    /// The page as a request answers it; `cursor`, the request's, is the
    /// next one when the page is empty.
    fn page(&self, cursor: u64) -> FeedPage {
        FeedPage { videos: self.videos.as_ref().clone(), next_time: self.oldest_ms.unwrap_or(cursor) }
    }
}

/// The videos of a feed page published before `cursor`, newest first.
async fn feed_items(table: &Table, shards: u32, cursor: u64) -> Result<Vec<VideoItem>> {
    Ok(whole_milliseconds(table.feed(shards, cursor, PAGE_SIZE + 1).await?, PAGE_SIZE))
}

/// Reads and renders a guest's newest feed page while a Lambda function
/// starts ([`crate::app::DynamoDbWarmup::FeedPage`]), before the app exists
/// (its links signed by `media`, whose link cache keeps them), for
/// [`prime_feed_cache`]: a guest's first request is then a cache hit.
pub(crate) async fn read_newest_page(table: &Table, media: &Media, shards: u32) -> Result<CachedFeed> {
    let read_at = Instant::now();
    let items = feed_items(table, shards, feed_cursor(None, now_ms())).await?;
    let oldest_ms = items.last().map(|video| video.created_at_ms);
    let context = table.viewer_context(&items, None).await?;
    let videos = render(media, items, &context).await?;
    Ok(CachedFeed { read_at, oldest_ms, videos: Arc::new(videos) })
}

/// The background refresh [`feed`] starts: reads the newest page anew into
/// `cache`. A failure leaves the page as it was (it expires on time) and is
/// only logged: no request waits on it.
async fn refresh_newest_page(table: Table, media: Media, shards: u32, cache: Arc<FeedCache>, began: Instant) {
    let page = match read_newest_page(&table, &media, shards).await {
        Ok(page) => Some(page),
        Err(error) => {
            tracing::warn!(
                error = format!("{:#}", anyhow::Error::from(error)),
                "the feed's page could not be refreshed"
            );
            None
        }
    };
    cache.end_refresh(began, page);
}

/// Puts a page read by [`read_newest_page`] in the app's feed cache, unless
/// the cache is off. It serves guests for as long as any page read then
/// would (`DOUYIN_FEED_CACHE_MS` from when it was read).
pub(crate) fn prime_feed_cache(app: &App, page: CachedFeed) {
    if !app.config.feed_cache.is_zero() {
        app.feed_cache.put(page);
    }
}

/// An author's videos, newest first, [`WORKS_PAGE_SIZE`] a page: the first
/// page without `cursor`, the next ones with the previous page's `next_cursor`.
pub async fn works(app: &App, author: UserId, viewer: Option<UserId>, cursor: Option<String>) -> Result<Listed<Video>> {
    let page = Page { size: WORKS_PAGE_SIZE, before: cursor };
    let (items, next_cursor) = app.table.works(author.0, &page).await?;
    if items.is_empty() && app.table.user(author).await?.is_none() {
        return Err(Error::NotFound(format!("user {author} does not exist")));
    }
    Ok(Listed { items: views(app, items, viewer).await?, next_cursor })
}

/// Cuts `items` (newest first, up to `limit + 1`) to at most `limit`, never
/// splitting videos that share the boundary's millisecond: they all move to
/// the next page, which asks for videos strictly older than the last one kept.
/// More than `limit` videos in one millisecond cannot be split; then the page
/// is full and the rest of that millisecond is not reachable by paging.
fn whole_milliseconds(mut items: Vec<VideoItem>, limit: usize) -> Vec<VideoItem> {
    if items.len() <= limit {
        return items;
    }
    let boundary = items[limit].created_at_ms;
    items.truncate(limit);
    let whole: Vec<VideoItem> = items.iter().filter(|v| v.created_at_ms != boundary).cloned().collect();
    if whole.is_empty() { items } else { whole }
}

/// The contract's Video objects for `items` as `viewer` sees them: one batch
/// read for authors, likes and follows, whatever the page size.
pub(crate) async fn views(app: &App, items: Vec<VideoItem>, viewer: Option<UserId>) -> Result<Vec<Video>> {
    let context = app.table.viewer_context(&items, viewer.map(|v| v.0)).await?;
    render(&app.media, items, &context).await
}

/// The contract's Video objects for `items` in the `context` read for them,
/// their links signed by `media`.
pub(crate) async fn render(media: &Media, items: Vec<VideoItem>, context: &ViewerContext) -> Result<Vec<Video>> {
    let mut videos = Vec::with_capacity(items.len());
    // Each author is rendered once, however many of the page's videos are theirs.
    let mut authors: std::collections::HashMap<u64, User> = std::collections::HashMap::new();
    for item in items {
        // A video whose author is gone is not shown.
        let Some(profile) = context.authors.get(&item.author_id) else { continue };
        let author = match authors.get(&item.author_id) {
            Some(author) => author.clone(),
            None => {
                let author = user_view_in(media, profile.clone(), context.followed.contains(&item.author_id)).await?;
                authors.insert(item.author_id, author.clone());
                author
            }
        };
        videos.push(Video {
            id: item.id,
            author,
            play_url: media.link(&item.play_key).await?,
            cover_url: media.link(&item.cover_key).await?,
            favorite_count: item.favorite_count,
            comment_count: item.comment_count,
            is_favorite: context.liked.contains(&item.id),
            title: item.title,
        });
    }
    Ok(videos)
}

/// Writes a validated video and its cover to their server-owned keys. Both
/// are written before the transaction that makes them reachable.
async fn store(app: &App, keys: &MediaKeys, validated: &Validated) -> Result<()> {
    // At once, on two connections (the function opens both in init,
    // `Warmup::s3_connections`). Both are waited for, never one cancelled
    // mid-flight: a failed publish then deletes both keys after either could
    // have landed.
    let (video, cover) = tokio::join!(
        app.media.put_immutable(&keys.play, validated.stored.clone(), "video/mp4"),
        app.media.put_immutable(&keys.cover, Bytes::from(validated.cover.jpeg.clone()), "image/jpeg")
    );
    video.and(cover)
}

/// Makes a stored video live (one transaction). `false`: it was published
/// already, or its upload settled by another ingest.
/// What [`publish`] makes live.
struct Publication<'a> {
    video_id: u64,
    author: UserId,
    title: &'a str,
    keys: &'a MediaKeys,
    info: &'a VideoInfo,
    source: VideoSource,
}

async fn publish(app: &App, publication: Publication<'_>) -> Result<bool> {
    let Publication { video_id, author, title, keys, info, source } = publication;
    let item = VideoItem::new(&NewVideo {
        id: video_id,
        author_id: author.0,
        title: title.to_owned(),
        play_key: keys.play.clone(),
        cover_key: keys.cover.clone(),
        created_at_ms: now_ms(),
        width: info.width,
        height: info.height,
        duration_ms: info.duration_ms,
        feed_shard: u32::try_from(video_id % u64::from(app.config.feed_shards.max(1))).unwrap_or(0),
    });
    let published = app.table.publish_video(&item, source).await?;
    if published {
        tracing::info!(video_id, user_id = author.0, "video published");
    }
    Ok(published)
}

/// Checks a video by content and makes its cover, in the process's pool for
/// CPU-heavy work ([`crate::heavy::HeavyWork`]: off the runtime's threads, at
/// most half the cores at once), and digests the bytes to store.
async fn validate(app: &App, bytes: Bytes) -> Result<Validated> {
    let validated = app
        .heavy
        .run("video inspection task", move || {
            let accepted = video::accept(&bytes)?;
            // The bytes validated are the bytes stored: the file rewritten
            // for fast start (moov before mdat), or the upload as it came.
            let (info, cover) = (accepted.info, accepted.cover);
            let stored = accepted.fast_start.map(Bytes::from).unwrap_or(bytes);
            let digest = media_digest(&stored);
            Ok::<_, video::VideoError>(Validated { info, cover, stored, digest })
        })
        .await?;
    validated.map_err(|error| Error::UnsupportedMedia(error.to_string()))
}
