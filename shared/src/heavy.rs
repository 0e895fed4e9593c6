//! CPU-heavy work off the runtime, bounded: password hashing (argon2id) and
//! video inspection (container walk, first-frame decode, cover, digest).
//!
//! Each job runs on Tokio's blocking pool, so it never stalls the runtime's
//! threads, and at most [`HeavyWork::places`] jobs run at once (a semaphore,
//! half the cores by default), so that a burst (32 publishes of 1080p video,
//! eight logins) queues behind itself and the rest of the process keeps the
//! other half of the CPU. One pool for both kinds: a burst of each at once still
//! leaves half the cores to every other request. On Lambda an instance serves
//! one request at a time, so nothing ever waits here; it matters for
//! `douyin-local`, where one process serves every request.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::Semaphore;

use crate::error::{Context as _, Result};

/// The pool of places for CPU-heavy jobs. Clones share it.
#[derive(Clone, Debug)]
pub struct HeavyWork {
    places: Arc<Semaphore>,
    size: usize,
    counts: Arc<Counts>,
}

/// What the pool is doing, for tests and benchmarks.
#[derive(Debug, Default)]
struct Counts {
    waiting: AtomicUsize,
    running: AtomicUsize,
    peak: AtomicUsize,
    done: AtomicUsize,
}

/// A snapshot of [`HeavyWork`]'s counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeavyStats {
    /// Jobs waiting for a place.
    pub waiting: usize,
    /// Jobs running now.
    pub running: usize,
    /// Most jobs that ever ran at once.
    pub peak: usize,
    /// Jobs finished.
    pub done: usize,
}

impl HeavyWork {
    /// Places for half the cores of this machine, at least one.
    pub fn half_the_cores() -> HeavyWork {
        HeavyWork::with_places(default_places())
    }

    /// A pool of `places` (at least one).
    pub fn with_places(places: usize) -> HeavyWork {
        let size = places.max(1);
        HeavyWork { places: Arc::new(Semaphore::new(size)), size, counts: Arc::default() }
    }

    /// How many jobs may run at once.
    pub fn places(&self) -> usize {
        self.size
    }

    /// The counters now.
    pub fn stats(&self) -> HeavyStats {
        HeavyStats {
            waiting: self.counts.waiting.load(Ordering::SeqCst),
            running: self.counts.running.load(Ordering::SeqCst),
            peak: self.counts.peak.load(Ordering::SeqCst),
            done: self.counts.done.load(Ordering::SeqCst),
        }
    }

    /// Runs `work` on the blocking pool once a place is free; `what` names it
    /// in the error if the task itself fails (a panic inside `work`).
    pub async fn run<T: Send + 'static>(
        &self,
        what: &'static str,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T> {
        let waiting = Counted::new(&self.counts.waiting);
        let place = Arc::clone(&self.places).acquire_owned().await.context("heavy work places")?;
        drop(waiting);
        let counts = Arc::clone(&self.counts);
        // Counted inside the task: a caller that stops waiting (a dropped
        // request) does not stop the job, which keeps its place until done.
        let job = tokio::task::spawn_blocking(move || {
            let _place = place;
            let running = Counted::new(&counts.running);
            counts.peak.fetch_max(running.now, Ordering::SeqCst);
            let result = work();
            drop(running);
            counts.done.fetch_add(1, Ordering::SeqCst);
            result
        });
        job.await.context(what)
    }
}

/// One more in a counter for as long as it lives.
struct Counted<'a> {
    counter: &'a AtomicUsize,
    /// The counter's value once this was added.
    now: usize,
}

impl<'a> Counted<'a> {
    fn new(counter: &'a AtomicUsize) -> Counted<'a> {
        Counted { counter, now: counter.fetch_add(1, Ordering::SeqCst) + 1 }
    }
}

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.counter.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Half the cores, at least one.
pub fn default_places() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    (cores / 2).max(1)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_more_jobs_run_at_once_than_there_are_places() {
        let pool = HeavyWork::with_places(2);
        let (release, released) = std::sync::mpsc::channel::<()>();
        let released = Arc::new(std::sync::Mutex::new(released));
        let jobs: Vec<_> = (0..6)
            .map(|_| {
                let (pool, released) = (pool.clone(), released.clone());
                tokio::spawn(async move { pool.run("job", move || released.lock().unwrap().recv().unwrap()).await })
            })
            .collect();
        // Two run, four wait; nothing else moves until a job is released.
        while pool.stats().running < 2 || pool.stats().waiting < 4 {
            tokio::task::yield_now().await;
        }
        assert_eq!((pool.stats().running, pool.stats().waiting), (2, 4));
        for _ in 0..6 {
            release.send(()).unwrap();
        }
        for job in jobs {
            job.await.unwrap().unwrap();
        }
        let stats = pool.stats();
        assert_eq!((stats.peak, stats.done, stats.running, stats.waiting), (2, 6, 0, 0));
    }

    #[tokio::test]
    async fn a_job_runs_on_a_blocking_thread_not_the_runtimes() {
        let pool = HeavyWork::with_places(1);
        let runtime_thread = std::thread::current().id();
        let job_thread = pool.run("job", || std::thread::current().id()).await.unwrap();
        assert_ne!(job_thread, runtime_thread);
    }

    #[tokio::test]
    async fn a_panicking_job_is_an_error_and_frees_its_place() {
        let pool = HeavyWork::with_places(1);
        let failed = pool.run("panicking job", || panic!("boom")).await;
        assert!(failed.is_err());
        assert_eq!(pool.run("next job", || 7).await.unwrap(), 7);
    }
}
