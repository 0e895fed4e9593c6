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
    match (json.get("statusCode"), answer_body(&json)) {
        (Some(status), Some(body)) => {
            let code = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|b| b.get("status_code").cloned())
                .unwrap_or_default();
            format!("HTTP {status}, status_code {code}")
        }
        _ => format!("ok {}", json.to_string().chars().take(40).collect::<String>()),
    }
}

/// The body of an API Gateway (v2) answer as its client reads it: base64
/// decoded when `isBase64Encoded`, gunzipped when `content-encoding: gzip`.
pub fn answer_body(answer: &serde_json::Value) -> Option<Vec<u8>> {
    use base64::Engine as _;
    let body = answer.get("body")?.as_str()?;
    let bytes = if answer["isBase64Encoded"].as_bool() == Some(true) {
        base64::engine::general_purpose::STANDARD.decode(body).ok()?
    } else {
        body.as_bytes().to_vec()
    };
    let gzip = answer["headers"]
        .as_object()
        .and_then(|headers| headers.iter().find(|(name, _)| name.eq_ignore_ascii_case("content-encoding")))
        .is_some_and(|(_, value)| value.as_str() == Some("gzip"));
    if gzip { ::tests::gunzip(&bytes).ok() } else { Some(bytes) }
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

    #[test]
    fn an_answer_is_read_as_its_client_reads_it_base64_and_gzip_undone() {
        use base64::Engine as _;
        use std::io::Write as _;
        let envelope = r#"{"status_code":0,"status_msg":"success"}"#;
        let plain = serde_json::json!({"statusCode": 200, "headers": {}, "body": envelope, "isBase64Encoded": false});
        assert_eq!(describe_answer(plain.to_string().as_bytes()), "HTTP 200, status_code 0");
        let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gzip.write_all(br#"{"status_code":10004,"status_msg":"no"}"#).unwrap();
        let body = base64::engine::general_purpose::STANDARD.encode(gzip.finish().unwrap());
        let zipped = serde_json::json!({
            "statusCode": 404, "headers": {"Content-Encoding": "gzip"}, "body": body, "isBase64Encoded": true
        });
        assert_eq!(describe_answer(zipped.to_string().as_bytes()), "HTTP 404, status_code 10004");
    }
}
