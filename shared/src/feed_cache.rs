//! The newest feed page of a process, kept for guests while it is fresh
//! (`DOUYIN_FEED_CACHE_MS`; [`crate::videos::feed`] decides when to use it).
//! Its own module so that [`crate::app::App`] can hold one without depending
//! on the use cases.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::domain::Video;

/// The newest feed page of this process, as last read from the table: what a
/// warm container serves again while it is fresh. Only the newest page is
/// kept (it is the one every client opens with); older pages always read.
#[derive(Debug, Default)]
pub struct FeedCache {
    newest: std::sync::Mutex<Option<CachedFeed>>,
}

/// One cached newest page, as a guest sees it (only guests are served from
/// the cache).
#[derive(Clone, Debug)]
pub(crate) struct CachedFeed {
    /// When it was read from the table.
    pub(crate) read_at: Instant,
    /// The publish time of its oldest video (the next `latest_time`), if any.
    pub(crate) oldest_ms: Option<u64>,
    /// The page, rendered.
    pub(crate) videos: Arc<Vec<Video>>,
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

    fn page(read_at: Instant, oldest_ms: u64) -> CachedFeed {
        CachedFeed { read_at, oldest_ms: Some(oldest_ms), videos: Arc::default() }
    }

    #[test]
    fn the_cached_page_serves_until_its_time_is_up() {
        let cache = FeedCache::default();
        let start = Instant::now();
        let ttl = Duration::from_millis(1000);
        assert!(cache.get(ttl, start).is_none());
        cache.put(page(start, 7));
        assert_eq!(cache.get(ttl, start + Duration::from_millis(999)).unwrap().oldest_ms, Some(7));
        assert!(cache.get(ttl, start + ttl).is_none());
    }

    #[test]
    fn an_older_read_never_replaces_a_newer_one() {
        let cache = FeedCache::default();
        let start = Instant::now();
        cache.put(page(start + Duration::from_millis(5), 2));
        cache.put(page(start, 1));
        assert_eq!(cache.get(Duration::from_secs(1), start + Duration::from_millis(6)).unwrap().oldest_ms, Some(2));
    }
}
