//! The newest feed page of a process, kept for guests while it is fresh
//! (`DOUYIN_FEED_CACHE_MS`; [`crate::videos::feed`] decides when to use it).
//! Its own module so that [`crate::app::App`] can hold one without depending
//! on the use cases.
//!
//! A page is served only while younger than the setting, never older. Past
//! half of it, the request it serves also starts one refresh in the
//! background ([`FeedCache::begin_refresh`]): under steady traffic the page
//! is replaced before it expires and no guest's request waits for a read
//! (the harness's warm p99 was the read behind an expired page, 8–11× the
//! hits' p50). On Lambda the refresh runs while the runtime hands the answer
//! back, or, if the instance is frozen first, in its next invocation; a page
//! it brings back late is as old as its read's start, so it never serves
//! beyond the setting either.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::domain::Video;

/// The newest feed page of this process, as last read from the table: what a
/// warm container serves again while it is fresh. Only the newest page is
/// kept (it is the one every client opens with); older pages always read.
#[derive(Debug)]
pub struct FeedCache {
    newest: std::sync::Mutex<Option<CachedFeed>>,
    /// When the refresh under way started, if one is.
    refreshing: std::sync::Mutex<Option<Instant>>,
    /// How many refreshes have ended (read or failed), for the tests to wait on.
    refreshed: tokio::sync::watch::Sender<u64>,
}

impl Default for FeedCache {
    fn default() -> FeedCache {
        FeedCache {
            newest: std::sync::Mutex::default(),
            refreshing: std::sync::Mutex::default(),
            refreshed: tokio::sync::watch::Sender::new(0),
        }
    }
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

    /// Whether the request that was served `page` at `now` should refresh it:
    /// it is past half of `ttl` and no refresh is under way (one that began a
    /// whole `ttl` ago counts as lost: a frozen instance's, say). If so, the
    /// caller owns the refresh (it is known by `now`) and must end it with
    /// [`FeedCache::end_refresh`].
    pub(crate) fn begin_refresh(&self, page: &CachedFeed, ttl: Duration, now: Instant) -> Option<Instant> {
        if now.saturating_duration_since(page.read_at) < ttl / 2 {
            return None;
        }
        let mut refreshing = self.refreshing.lock().ok()?;
        if refreshing.is_some_and(|since| now.saturating_duration_since(since) < ttl) {
            return None;
        }
        *refreshing = Some(now);
        Some(now)
    }

    /// Ends the refresh [`FeedCache::begin_refresh`] granted at `began`, with
    /// its page if it read one. A refresh given up as lost that ends after
    /// all leaves the one that replaced it under way.
    pub(crate) fn end_refresh(&self, began: Instant, page: Option<CachedFeed>) {
        if let Some(page) = page {
            self.put(page);
        }
        if let Ok(mut refreshing) = self.refreshing.lock()
            && *refreshing == Some(began)
        {
            *refreshing = None;
        }
        self.refreshed.send_modify(|count| *count += 1);
    }

    /// Counts the refreshes that have ended, as they end.
    pub fn refreshes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.refreshed.subscribe()
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
    fn one_refresh_at_a_time_and_only_past_half_the_time() {
        let cache = FeedCache::default();
        let start = Instant::now();
        let ttl = Duration::from_millis(1000);
        let at = |ms: u64| start + Duration::from_millis(ms);
        let read = page(start, 7);
        assert_eq!(cache.begin_refresh(&read, ttl, at(499)), None, "too young");
        let first = cache.begin_refresh(&read, ttl, at(500)).unwrap();
        assert_eq!(cache.begin_refresh(&read, ttl, at(600)), None, "one is under way");
        cache.end_refresh(first, Some(page(at(500), 8)));
        assert_eq!(*cache.refreshes().borrow(), 1);
        assert_eq!(cache.get(ttl, at(1400)).unwrap().oldest_ms, Some(8), "the refreshed page serves on");
        let lost = cache.begin_refresh(&read, ttl, at(700)).expect("the last one ended");
        // A refresh that never ended (its instance frozen mid-read) does not block the next for ever.
        assert_eq!(cache.begin_refresh(&read, ttl, at(1699)), None);
        let second = cache.begin_refresh(&read, ttl, at(1700)).unwrap();
        // The lost one ending late (failed) leaves the page, and the one under way still under way.
        cache.end_refresh(lost, None);
        assert_eq!(*cache.refreshes().borrow(), 2);
        assert_eq!(cache.get(ttl, at(1400)).unwrap().oldest_ms, Some(8));
        assert_eq!(cache.begin_refresh(&read, ttl, at(1800)), None, "the second is still under way");
        cache.end_refresh(second, None);
        assert!(cache.begin_refresh(&read, ttl, at(1800)).is_some());
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
