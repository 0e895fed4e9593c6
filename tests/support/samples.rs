//! The sample events of `events/` and the cast they are written against, so
//! that a sample is the one place that says what a successful call of its
//! endpoint looks like. From them come the event tests (`tests/it/events.rs`),
//! the table of requests every bad token is tried on (`tests/it/auth.rs`) and
//! the cold-start benchmarks (`tests/bench/run` seeds the same cast).
//!
//! The cast: alice (user 1) publishes video 2; bob (user 3), whose token a
//! sample carries as `{{token}}`, has started upload 4. Nothing else: every
//! write a sample makes as bob changes something.

use std::path::PathBuf;

use crate::{Session, TestApp};

/// `events/`.
pub fn events_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../events")
}

/// Every sample's name (its file without `.json`), sorted.
pub fn names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(events_dir())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter_map(|file| file.strip_suffix(".json").map(str::to_owned))
        .collect();
    names.sort();
    names
}

/// The sample `name` as written.
pub fn event(name: &str) -> String {
    let path = events_dir().join(format!("{name}.json"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A sample that needs a caller carries `{{token}}`: a real token cannot live
/// in the repository (it is signed and expires).
pub fn event_as(name: &str, token: &str) -> String {
    event(name).replace("{{token}}", token)
}

/// Whether the sample is an API Gateway request (not an S3 or SQS event).
pub fn is_request(name: &str) -> bool {
    let event: serde_json::Value = serde_json::from_str(&event(name)).unwrap();
    event.get("routeKey").is_some()
}

/// Whether the sample is made by a caller (carries `{{token}}`).
pub fn needs_caller(name: &str) -> bool {
    event(name).contains("{{token}}")
}

/// The request of the API Gateway sample `name`, made with `token`.
pub fn request_as(name: &str, token: &str) -> lambda_http::Request {
    lambda_http::request::from_str(&event_as(name, token)).expect("a valid API Gateway event")
}

/// The cast of the module's documentation.
pub struct SampleCast {
    /// User 1, author of video 2.
    pub alice: Session,
    /// User 3, whose token the samples carry.
    pub bob: Session,
    /// alice's published video (2).
    pub video: u64,
    /// bob's pending upload (4).
    pub upload: u64,
}

/// Seeds the cast on a fresh app (the ids are those the samples name).
pub async fn cast(t: &TestApp) -> SampleCast {
    let alice = t.new_user("alice").await;
    let video = t.new_video(&alice.token, "cast").await;
    let bob = t.new_user("bob").await;
    let upload = t.start_upload(&bob.token, "pending", "video/mp4", 1000).await.ok()["video_id"].as_u64().unwrap();
    assert_eq!((alice.id, video, bob.id, upload), (1, 2, 3, 4), "the ids the samples name");
    SampleCast { alice, bob, video, upload }
}

/// A test application of its own with the cast the sample of function
/// `name` expects, and the token it is sent with (none for register, whose
/// sample asks for a name the cast would take). Chat is held, not consumed:
/// the in-process consumer would persist each message beside the send path,
/// where on Lambda it is another function. The sample then runs with the
/// deployment's rate limits (`RateLimits::DEFAULT`), whose counts are calls
/// of its first request as deployed.
pub async fn ready_for(name: &str) -> (TestApp, String) {
    let mut t = TestApp::new().await;
    let token = match name {
        "user-register" => String::new(),
        _ => cast(&t).await.bob.token,
    };
    t.app.chat_queue = Some(std::sync::Arc::new(crate::HeldQueue::default()));
    t.app.limiter = shared::limits::Limiter::new(t.app.table().clone(), shared::limits::RateLimits::DEFAULT);
    (t, token)
}
