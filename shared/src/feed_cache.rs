//! The newest feed page of a process, kept for guests while it is fresh
//! (`DOUYIN_FEED_CACHE_MS`; [`crate::videos::feed`] decides when to use it).
//! Its own module so that [`crate::app::App`] can hold one without depending
//! on the use cases.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::domain::Video;
use crate::store::model::VideoItem;

/// The newest feed page of this process, as last read from the table: what a
/// warm container serves again while it is fresh. Only the newest page is
/// kept (it is the one every client opens with); older pages always read.
#[derive(Debug, Default)]
pub struct FeedCache {
    newest: std::sync::Mutex<Option<CachedFeed>>,
}

/// One cached newest page.
#[derive(Clone, Debug)]
pub(crate) struct CachedFeed {
    /// When it was read from the table.
    pub(crate) read_at: Instant,
    /// The page's items.
    pub(crate) items: Vec<VideoItem>,
    /// The page as an anonymous viewer sees it, once rendered.
    pub(crate) anonymous: Option<Arc<Vec<Video>>>,
}

impl FeedCache {
    /// The cached page if it was read less than `ttl` before `now`.
    pub(crate) fn get(&self, ttl: Duration, now: Instant) -> Option<CachedFeed> {
        let newest = self.newest.lock().ok()?;
        newest.as_ref().filter(|page| now.saturating_duration_since(page.read_at) < ttl).cloned()
    }

    pub(crate) fn put(&self, page: CachedFeed) {
        if let Ok(mut newest) = self.newest.lock() {
            // Never replace a page with an older read.
            if newest.as_ref().is_none_or(|current| current.read_at <= page.read_at) {
                *newest = Some(page);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::store::model::NewVideo;

    fn page(read_at: Instant, id: u64) -> CachedFeed {
        let item = VideoItem::new(&NewVideo {
            id,
            author_id: 1,
            title: "t".into(),
            play_key: "p".into(),
            cover_key: "c".into(),
            created_at_ms: 1,
            width: 1,
            height: 1,
            duration_ms: 1,
            feed_shard: 0,
        });
        CachedFeed { read_at, items: vec![item], anonymous: None }
    }

    #[test]
    fn the_cached_page_serves_until_its_time_is_up() {
        let cache = FeedCache::default();
        let start = Instant::now();
        let ttl = Duration::from_millis(1000);
        assert!(cache.get(ttl, start).is_none());
        cache.put(page(start, 7));
        assert_eq!(cache.get(ttl, start + Duration::from_millis(999)).unwrap().items[0].id, 7);
        assert!(cache.get(ttl, start + ttl).is_none());
    }

    #[test]
    fn an_older_read_never_replaces_a_newer_one() {
        let cache = FeedCache::default();
        let start = Instant::now();
        cache.put(page(start + Duration::from_millis(5), 2));
        cache.put(page(start, 1));
        assert_eq!(cache.get(Duration::from_secs(1), start + Duration::from_millis(6)).unwrap().items[0].id, 2);
    }
}
