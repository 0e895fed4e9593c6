//! The time an invocation has left. On Lambda every invocation has a deadline
//! (its function's `Timeout`); past it Lambda kills the process and API
//! Gateway answers a bare `500 {"message": …}`, not our envelope. So the
//! runner opens a [`scope`] with a deadline a little before Lambda's, answers
//! the envelope when it passes, and work that may end early on purpose (the
//! chat send path's own write, which the consumer repeats) asks how long is
//! left with [`bounded`]. Outside Lambda (the local server, tests) there is
//! no deadline and [`bounded`] just runs its work.

use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

tokio::task_local! {
    static DEADLINE: Instant;
}

/// Runs `work` with `deadline` as the invocation's deadline (none: unbounded),
/// and stops it there: `None` when the deadline passed first.
pub async fn scope<F: Future>(deadline: Option<Instant>, work: F) -> Option<F::Output> {
    match deadline {
        None => Some(work.await),
        Some(deadline) => DEADLINE.scope(deadline, tokio::time::timeout_at(deadline, work)).await.ok(),
    }
}

/// Runs `work` until `reserve` before the invocation's deadline: `None` when
/// it had to be stopped (or no time was left to start it). Without a deadline
/// it runs to the end.
pub async fn bounded<F: Future>(reserve: Duration, work: F) -> Option<F::Output> {
    match DEADLINE.try_with(|deadline| *deadline) {
        Err(_) => Some(work.await),
        Ok(deadline) => {
            let until = deadline.checked_sub(reserve).filter(|until| *until > Instant::now())?;
            tokio::time::timeout_at(until, work).await.ok()
        }
    }
}

/// The instant `reserve` before a Lambda deadline given in milliseconds since
/// the epoch (the Runtime API's `Lambda-Runtime-Deadline-Ms`), on tokio's
/// clock. A deadline already closer than `reserve` is now.
pub fn from_epoch_ms(deadline_ms: u64, reserve: Duration) -> Instant {
    let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis();
    let left = Duration::from_millis(u64::try_from(u128::from(deadline_ms).saturating_sub(now_ms)).unwrap_or(0));
    Instant::now() + left.saturating_sub(reserve)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Real time, in milliseconds: the work is either instant or far longer
    // than any deadline here, so no outcome depends on the machine's speed.
    const LONG: Duration = Duration::from_secs(60);

    #[tokio::test]
    async fn work_past_the_deadline_is_stopped_and_reported() {
        let deadline = Instant::now() + Duration::from_millis(50);
        assert_eq!(scope(Some(deadline), tokio::time::sleep(LONG)).await, None);
        assert_eq!(scope(Some(Instant::now() + LONG), async { 7 }).await, Some(7));
        assert_eq!(scope(None, async { 7 }).await, Some(7));
    }

    #[tokio::test]
    async fn bounded_work_ends_its_reserve_before_the_deadline() {
        let deadline = Instant::now() + Duration::from_millis(400);
        let outcome = scope(Some(deadline), async {
            let cut = bounded(Duration::from_millis(300), tokio::time::sleep(LONG)).await;
            (cut, Instant::now())
        })
        .await;
        // The bounded work was stopped, before the scope's deadline (which
        // would have made the whole outcome `None`).
        let (cut, stopped_at) = outcome.unwrap();
        assert_eq!(cut, None);
        assert!(stopped_at < deadline);
        // Without a deadline, bounded work runs to its end.
        assert_eq!(bounded(Duration::from_secs(3), async { 1 }).await, Some(1));
        // No time left to start: stopped at once, while the scope still answers.
        let none = scope(Some(Instant::now() + LONG), bounded(LONG + LONG, async { 1 }));
        assert_eq!(none.await, Some(None));
    }

    #[test]
    fn an_epoch_deadline_becomes_an_instant_before_it() {
        let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() as u64;
        let before = Instant::now();
        let at = from_epoch_ms(now_ms + 10_000, Duration::from_secs(1));
        let left = at - before;
        // Milliseconds on the wire: within a millisecond or two of 9 s.
        assert!(left <= Duration::from_millis(9_050) && left > Duration::from_secs(8), "{left:?}");
        // A deadline in the past is now.
        assert!(from_epoch_ms(now_ms - 5_000, Duration::ZERO) <= Instant::now());
    }
}
