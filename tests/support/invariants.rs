//! The invariants of the stored data, checked over a full scan of a
//! [`TestApp`]'s table (and, for videos, its bucket), whatever happened
//! before: counters equal the records they count, no edge points at nothing,
//! no video is half made, every accepted chat message is stored once.
//!
//! Reads go through clients without fault injection.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use shared::App;
use shared::app::Endpoints;

use crate::{TestApp, engines};

type Item = HashMap<String, AttributeValue>;

/// A DynamoDB client of the test engines without fault injection.
pub fn raw_client() -> aws_sdk_dynamodb::Client {
    let engines = engines();
    let config =
        aws_sdk_dynamodb::config::Builder::from(&engines.credentials.sdk_config()).endpoint_url(&engines.dynamodb);
    aws_sdk_dynamodb::Client::from_conf(config.build())
}

/// Every item of `t`'s table, read with strongly consistent scans.
pub async fn scan(t: &TestApp) -> Vec<Item> {
    let client = raw_client();
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name(t.app.table().name())
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("scan the table");
        items.extend(page.items.unwrap_or_default());
        start = page.last_evaluated_key;
        if start.is_none() {
            return items;
        }
    }
}

/// Moves the item at (`pk`, `sk`) `seconds` into the past, as if written then:
/// its TTL (`expires_at`, epoch seconds) and its times in ms (`*_ms`).
pub async fn rewind(t: &TestApp, pk: &str, sk: &str, seconds: u64) {
    let item = scan(t).await.into_iter().find(|item| text(item, "pk") == pk && text(item, "sk") == sk);
    let mut item = item.unwrap_or_else(|| panic!("no item {pk} / {sk}"));
    for (name, value) in item.iter_mut() {
        let shift = match name.as_str() {
            "expires_at" => seconds,
            name if name.ends_with("_ms") => seconds * 1000,
            _ => continue,
        };
        if let AttributeValue::N(number) = value {
            *number = (number.parse::<u64>().unwrap() - shift).to_string();
        }
    }
    raw_client().put_item().table_name(t.app.table().name()).set_item(Some(item)).send().await.unwrap();
}

/// Deletes every item of `t`'s table whose TTL (`expires_at`) has passed, as
/// DynamoDB's TTL does (eventually: here at once, the worst case for us).
pub async fn expire_ttl(t: &TestApp) -> usize {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let expired: Vec<Item> = scan(t)
        .await
        .into_iter()
        .filter(|item| item.contains_key("expires_at") && number(item, "expires_at") < now as i64)
        .collect();
    for item in &expired {
        let key = [("pk", text(item, "pk")), ("sk", text(item, "sk"))]
            .into_iter()
            .map(|(name, value)| (name.to_owned(), AttributeValue::S(value)))
            .collect();
        raw_client().delete_item().table_name(t.app.table().name()).set_key(Some(key)).send().await.unwrap();
    }
    expired.len()
}

/// The string attribute `name` of `item` (empty when absent).
pub fn text(item: &Item, name: &str) -> String {
    match item.get(name) {
        Some(AttributeValue::S(value)) => value.clone(),
        _ => String::new(),
    }
}

/// A numeric attribute; absent is 0 (counters start absent or 0).
fn number(item: &Item, name: &str) -> i64 {
    match item.get(name) {
        Some(AttributeValue::N(value)) => value.parse().unwrap_or(i64::MIN),
        _ => 0,
    }
}

fn id_after(value: &str, prefix: &str) -> Option<u64> {
    value.strip_prefix(prefix)?.parse().ok()
}

/// The violated invariants of `t`'s data, in words (empty: all hold).
/// `accepted` are the contents of the chat messages whose send answered 0;
/// call this after the chat queue has drained.
pub async fn violations(t: &TestApp, accepted: &[String]) -> Vec<String> {
    let items = scan(t).await;
    let mut problems = Vec::new();

    let mut users: BTreeMap<u64, &Item> = BTreeMap::new();
    let mut usernames: BTreeMap<String, u64> = BTreeMap::new();
    let mut videos: BTreeMap<u64, &Item> = BTreeMap::new();
    let mut uploads: BTreeMap<u64, &Item> = BTreeMap::new();
    let mut likes: Vec<(u64, u64)> = Vec::new();
    let mut follows: BTreeSet<(u64, u64)> = BTreeSet::new();
    let mut friends: BTreeSet<(u64, u64)> = BTreeSet::new();
    let mut comments: Vec<(u64, u64)> = Vec::new();
    let mut messages: Vec<&Item> = Vec::new();
    let mut clocks: BTreeMap<String, &Item> = BTreeMap::new();
    let mut guards: BTreeSet<u64> = BTreeSet::new();
    for item in &items {
        let (pk, sk) = (text(item, "pk"), text(item, "sk"));
        if let Some(user) = id_after(&pk, "USER#") {
            if sk == "PROFILE" {
                users.insert(user, item);
            } else if let Some(video) = id_after(&sk, "LIKES#") {
                likes.push((user, video));
            } else if let Some(other) = id_after(&sk, "FOLLOWS#") {
                follows.insert((user, other));
            } else if let Some(other) = id_after(&sk, "FRIEND#") {
                friends.insert((user, other));
            } else {
                problems.push(format!("unknown user item {pk} / {sk}"));
            }
        } else if let Some(name) = pk.strip_prefix("USERNAME#") {
            usernames.insert(name.to_owned(), number(item, "user_id") as u64);
        } else if let Some(video) = id_after(&pk, "VIDEO#") {
            videos.insert(video, item);
        } else if let Some(video) = id_after(&pk, "UPLOAD#") {
            uploads.insert(video, item);
        } else if pk.starts_with("COMMENT#") {
            comments.push((number(item, "id") as u64, number(item, "video_id") as u64));
        } else if pk.starts_with("CHAT#") {
            if sk == "CLOCK" {
                clocks.insert(pk.clone(), item);
            } else {
                messages.push(item);
            }
        } else if let Some(id) = id_after(&pk, "MSGID#") {
            guards.insert(id);
        } else if pk != "COUNTER#ids" && !pk.starts_with("RATE#") {
            problems.push(format!("unknown item {pk} / {sk}"));
        }
    }

    // Users: one name guard each, pointing at the profile.
    for (name, id) in &usernames {
        match users.get(id) {
            Some(profile) if text(profile, "name") == *name => {}
            _ => problems.push(format!("username {name} guards user {id}, who has no such profile")),
        }
    }
    for (id, profile) in &users {
        if usernames.get(&text(profile, "name")) != Some(id) {
            problems.push(format!("user {id} has no username guard"));
        }
    }

    // Edges point at what exists.
    for (user, video) in &likes {
        if !users.contains_key(user) || !videos.contains_key(video) {
            problems.push(format!("like edge {user} → video {video} points at nothing"));
        }
    }
    for (from, to) in &follows {
        if !users.contains_key(from) || !users.contains_key(to) {
            problems.push(format!("follow edge {from} → {to} points at nothing"));
        }
    }
    for (a, b) in &friends {
        if !(follows.contains(&(*a, *b)) && follows.contains(&(*b, *a))) {
            problems.push(format!("friend edge {a} → {b} without both follows"));
        }
    }
    for (a, b) in &follows {
        if follows.contains(&(*b, *a)) && !friends.contains(&(*a, *b)) {
            problems.push(format!("{a} and {b} follow each other but {a} has no friend edge"));
        }
    }
    for (comment, video) in &comments {
        if !videos.contains_key(video) {
            problems.push(format!("comment {comment} on missing video {video}"));
        }
    }

    // Counters equal the records they count.
    let count = |pairs: &mut dyn Iterator<Item = u64>| {
        let mut counts: BTreeMap<u64, i64> = BTreeMap::new();
        pairs.for_each(|key| *counts.entry(key).or_default() += 1);
        counts
    };
    let likes_of_video = count(&mut likes.iter().map(|(_, video)| *video));
    let likes_by_user = count(&mut likes.iter().map(|(user, _)| *user));
    let comments_of_video = count(&mut comments.iter().map(|(_, video)| *video));
    let following = count(&mut follows.iter().map(|(from, _)| *from));
    let followers = count(&mut follows.iter().map(|(_, to)| *to));
    let works = count(&mut videos.values().map(|video| number(video, "author_id") as u64));
    let mut favorited: BTreeMap<u64, i64> = BTreeMap::new();
    for (_, video) in &likes {
        if let Some(item) = videos.get(video) {
            *favorited.entry(number(item, "author_id") as u64).or_default() += 1;
        }
    }
    for (id, video) in &videos {
        let expected = [
            ("favorite_count", likes_of_video.get(id).copied().unwrap_or(0)),
            ("comment_count", comments_of_video.get(id).copied().unwrap_or(0)),
        ];
        for (counter, records) in expected {
            if number(video, counter) != records {
                problems.push(format!("video {id}: {counter} {} but {records} records", number(video, counter)));
            }
        }
    }
    for (id, user) in &users {
        let expected = [
            ("follow_count", following.get(id)),
            ("follower_count", followers.get(id)),
            ("work_count", works.get(id)),
            ("favorite_count", likes_by_user.get(id)),
            ("total_favorited", favorited.get(id)),
        ];
        for (counter, records) in expected {
            let records = records.copied().unwrap_or(0);
            if number(user, counter) != records {
                problems.push(format!("user {id}: {counter} {} but {records} records", number(user, counter)));
            }
        }
    }

    // No half-made video: its author, its index entries, its objects.
    let clean = clean_app(t).await;
    let shards = u64::from(t.app.config.feed_shards.max(1));
    for (id, video) in &videos {
        let author = number(video, "author_id") as u64;
        if !users.contains_key(&author) {
            problems.push(format!("video {id} by missing user {author}"));
        }
        if text(video, "gsi1pk") != format!("FEED#{}", id % shards) {
            problems.push(format!("video {id} is not in the feed"));
        }
        if text(video, "gsi2pk") != format!("WORKS#{author}") {
            problems.push(format!("video {id} is not in its author's list"));
        }
        for key in [text(video, "cover_key"), text(video, "play_key")] {
            if clean.media().size(&key).await.expect("head object").is_none() {
                problems.push(format!("video {id} without its object {key}"));
            }
        }
    }
    for (id, upload) in &uploads {
        let state = text(upload, "state");
        match (state.as_str(), videos.get(id)) {
            ("live", Some(video)) if number(video, "author_id") == number(upload, "author_id") => {}
            ("live", _) => problems.push(format!("upload {id} is live without its video")),
            ("pending" | "rejected", Some(_)) => problems.push(format!("upload {id} is {state} but published")),
            ("pending" | "rejected", None) => {}
            (other, _) => problems.push(format!("upload {id} in state {other:?}")),
        }
    }

    // Chat: each accepted message stored once, guarded, and the clock at the newest.
    let mut by_content: BTreeMap<String, usize> = BTreeMap::new();
    let mut newest: BTreeMap<String, (i64, String)> = BTreeMap::new();
    for message in &messages {
        *by_content.entry(text(message, "content")).or_default() += 1;
        let id = number(message, "id") as u64;
        if !guards.contains(&id) {
            problems.push(format!("message {id} without its guard"));
        }
        let time = number(message, "create_time");
        let entry = newest.entry(text(message, "pk")).or_insert((i64::MIN, String::new()));
        if time > entry.0 {
            *entry = (time, text(message, "content"));
        }
    }
    for (content, stored) in &by_content {
        if *stored > 1 {
            problems.push(format!("message {content:?} stored {stored} times"));
        }
    }
    for content in accepted {
        if !by_content.contains_key(content) {
            problems.push(format!("accepted message {content:?} was lost"));
        }
    }
    for (conversation, (time, content)) in &newest {
        match clocks.get(conversation) {
            Some(clock) if number(clock, "last_time") == *time && text(clock, "last_content") == *content => {}
            _ => problems.push(format!("the clock of {conversation} is not at its newest message")),
        }
    }
    problems
}

/// The same app's storage, through clients without faults.
async fn clean_app(t: &TestApp) -> App {
    let engines = engines();
    let endpoints =
        Endpoints { dynamodb: Some(engines.dynamodb.clone()), s3: Some(engines.s3.clone()), s3_public: None };
    App::build(t.app.config.clone(), &engines.credentials.sdk_config(), &endpoints, None).await.expect("clean app")
}
