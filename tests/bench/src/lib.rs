//! Shared pieces of the benchmark binaries: percentiles of a sample, and the
//! `lambda` benchmark's network ([`front`]).

use std::time::Duration;

pub mod front;

/// Percentiles of a sample of durations.
#[derive(Clone, Debug)]
pub struct Summary {
    /// Number of measurements.
    pub count: usize,
    /// Median.
    pub p50: Duration,
    /// 90th percentile.
    pub p90: Duration,
    /// 99th percentile.
    pub p99: Duration,
}

impl Summary {
    /// Summarises `sample` (nearest-rank percentiles). `None` when empty.
    pub fn of(mut sample: Vec<Duration>) -> Option<Summary> {
        if sample.is_empty() {
            return None;
        }
        sample.sort_unstable();
        let rank = |p: f64| {
            // Nearest rank: the smallest value with at least p of the sample at or below it.
            let index = ((p * sample.len() as f64).ceil() as usize).clamp(1, sample.len()) - 1;
            sample[index]
        };
        Some(Summary { count: sample.len(), p50: rank(0.50), p90: rank(0.90), p99: rank(0.99) })
    }
}

/// How a function answered, for the bench tables: an API Gateway response as
/// `HTTP <status>, status_code <code>` (the envelope's), anything else (an
/// SQS or S3 result) as `ok` and its first characters.
pub fn describe_answer(body: &[u8]) -> String {
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(body) else { return "non-JSON".into() };
    match (json.get("statusCode"), json.get("body").and_then(|b| b.as_str())) {
        (Some(status), Some(body)) => {
            let code = serde_json::from_str::<serde_json::Value>(body)
                .ok()
                .and_then(|b| b.get("status_code").cloned())
                .unwrap_or_default();
            format!("HTTP {status}, status_code {code}")
        }
        _ => format!("ok {}", json.to_string().chars().take(40).collect::<String>()),
    }
}

/// Microseconds, for tables.
pub fn micros(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e6
}

/// Milliseconds, for tables.
pub fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let sample: Vec<Duration> = (1..=100).rev().map(Duration::from_micros).collect();
        let summary = Summary::of(sample).unwrap();
        assert_eq!(
            (summary.count, summary.p50, summary.p90, summary.p99),
            (100, Duration::from_micros(50), Duration::from_micros(90), Duration::from_micros(99))
        );
        assert!(Summary::of(Vec::new()).is_none());
        assert_eq!(Summary::of(vec![Duration::from_micros(7)]).unwrap().p99, Duration::from_micros(7));
    }
}
