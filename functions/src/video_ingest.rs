//! `video-ingest`: the S3-triggered function. Every `ObjectCreated` event under
//! `uploads/` runs the shared ingest pipeline. The local server delivers the
//! same event to this same code when its embedded S3 engine stores an upload.

use aws_lambda_events::event::s3::S3Event;
use shared::App;
use shared::videos::{self, IngestOutcome};

/// Ingests every created object of `event`. An `Err` (a fault of ours, not a
/// bad video) makes Lambda retry the event; the ingest is idempotent.
pub async fn handle(app: &App, event: S3Event) -> shared::Result<Vec<IngestOutcome>> {
    let mut outcomes = Vec::with_capacity(event.records.len());
    for record in event.records {
        let created = record.event_name.as_deref().is_some_and(|name| name.starts_with("ObjectCreated"));
        let Some(key) = record.s3.object.key.as_deref().filter(|_| created) else {
            outcomes.push(IngestOutcome::Skipped);
            continue;
        };
        let key = decode_key(key);
        let outcome = videos::ingest_upload(app, &key).await?;
        tracing::info!(object_key = %key, ?outcome, "ingest");
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

/// The `ObjectCreated:Put` event S3 sends for `key` in `bucket`.
pub fn created_event(bucket: &str, key: &str, size: i64) -> S3Event {
    let json = serde_json::json!({
        "Records": [{
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "awsRegion": "us-east-1",
            "eventTime": "1970-01-01T00:00:00.000Z",
            "eventName": "ObjectCreated:Put",
            "userIdentity": {"principalId": "local"},
            "requestParameters": {"sourceIPAddress": "127.0.0.1"},
            "responseElements": {},
            "s3": {
                "s3SchemaVersion": "1.0",
                "configurationId": "ingest",
                "bucket": {"name": bucket, "ownerIdentity": {"principalId": "local"}, "arn": format!("arn:aws:s3:::{bucket}")},
                "object": {"key": encode_key(key), "size": size, "sequencer": "0"}
            }
        }]
    });
    serde_json::from_value(json).unwrap_or_default()
}

/// S3 event keys are URL-encoded, with `+` for spaces.
fn decode_key(key: &str) -> String {
    form_urlencoded::parse(format!("k={key}").as_bytes())
        .next()
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default()
}

fn encode_key(key: &str) -> String {
    form_urlencoded::byte_serialize(key.as_bytes()).collect::<String>().replace("%2F", "/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_through_event_encoding() {
        assert_eq!(decode_key("uploads/12"), "uploads/12");
        assert_eq!(decode_key("a+b%2Bc"), "a b+c");
        let event = created_event("bucket", "uploads/7", 10);
        assert_eq!(event.records[0].s3.object.key.as_deref(), Some("uploads/7"));
        assert_eq!(event.records[0].event_name.as_deref(), Some("ObjectCreated:Put"));
    }
}
