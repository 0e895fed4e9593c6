//! DynamoDB calls per request (issue E): every endpoint makes the same number
//! of calls, in the same number of sequential rounds, for a page of 1 as for
//! a full page of 30; the feed makes at most 3 calls in at most 2 rounds.
//! Counted by the interceptor every DynamoDB client carries
//! (`shared::telemetry::CallCounter`), so a hidden N+1 read fails here.

use std::collections::BTreeMap;

use shared::telemetry::CallCount;
use tests::TestApp;
use tests::scenario::{calls_of, cases, cast};

/// The calls of one request of every case, by label.
async fn calls_per_case(n: usize) -> BTreeMap<&'static str, CallCount> {
    let mut t = TestApp::new().await;
    let cast = cast(&t, n).await;
    // Chat held, not consumed: the in-process consumer would persist each sent
    // message at the same time as the send path, and its calls would mix
    // with the request's (on Lambda the consumer is another function).
    t.app.chat_queue = Some(std::sync::Arc::new(tests::HeldQueue::default()));
    let mut calls = BTreeMap::new();
    for case in cases(&cast) {
        calls.insert(case.label, calls_of(&t, (case.request)(0)).await);
    }
    calls
}

#[tokio::test]
async fn every_endpoint_makes_as_many_calls_for_a_page_of_30_as_for_a_page_of_1() {
    let (one, thirty) = tokio::join!(calls_per_case(1), calls_per_case(30));
    assert_eq!(one.len(), 14, "a case per endpoint of the scenario");
    for (label, small) in &one {
        let big = thirty[label];
        assert_eq!(
            (small.operations, small.rounds),
            (big.operations, big.rounds),
            "{label}: calls for a page of 1 vs a page of 30"
        );
        // No retries in a quiet run: every attempt is an operation.
        assert_eq!(big.attempts, big.operations, "{label}");
    }
    for feed in ["feed (anonymous)", "feed (as bob)"] {
        let calls = thirty[feed];
        assert!(calls.operations <= 3 && calls.rounds <= 2, "{feed}: {calls:?}");
    }
}

#[tokio::test]
async fn concurrent_calls_count_as_one_round() {
    let t = TestApp::with_config(|config| config.feed_shards = 4).await;
    let alice = t.new_user("alice").await;
    let before = t.app.dynamodb_calls.snapshot();
    t.feed(None, Some(&alice.token)).await.ok();
    let used = t.app.dynamodb_calls.snapshot() - before;
    // Four shard queries at once, then nothing to look up on an empty page.
    assert_eq!((used.operations, used.rounds), (4, 1), "{used:?}");
}

/// The author's list pages by 98 (`videos::WORKS_PAGE_SIZE`) because that is
/// what one `BatchGetItem` (100 keys) holds with the author and the viewer's
/// follow: a full page as a viewer who likes every video and follows the
/// author makes the calls of a page of one.
#[tokio::test]
async fn a_full_page_of_an_authors_list_makes_the_calls_of_a_page_of_one() {
    use shared::videos::WORKS_PAGE_SIZE;
    let mut calls = Vec::new();
    for n in [1, WORKS_PAGE_SIZE] {
        let t = TestApp::new().await;
        let author = t.new_user("author").await;
        let fan = t.new_user("fan").await;
        for video in t.insert_videos(author.id, n).await {
            t.favorite(&fan.token, video, 1).await.ok();
        }
        t.relation(&fan.token, author.id, 1).await.ok();
        let author_id = author.id.to_string();
        let request = tests::scenario::get("/douyin/publish/list/", &[("user_id", &author_id), ("token", &fan.token)]);
        let before = t.app.dynamodb_calls.snapshot();
        let reply = t.send(request).await;
        let used = t.app.dynamodb_calls.snapshot() - before;
        let page = reply.ok()["video_list"].as_array().unwrap().clone();
        assert_eq!(page.len(), n);
        assert!(page.iter().all(|video| video["is_favorite"] == true && video["author"]["is_follow"] == true));
        calls.push((used.operations, used.rounds));
    }
    assert_eq!(calls[0], calls[1], "a page of 1 vs a page of {WORKS_PAGE_SIZE}");
    assert_eq!(calls[0], (2, 2), "one Query, then one BatchGetItem");
}

/// A like reads its video and confirms its caller in one round, then writes;
/// a comment confirms its caller (whose profile its answer shows), then
/// writes, its id from the block the instance holds; a follow reads the
/// reverse edge, then writes, the follower confirmed by the transaction; the
/// friend list reads its page of ids, then the friends, their conversations
/// and the caller at once (issue J: every round is a round trip, at the
/// invocation's CPU share, in a cold start's first request).
#[tokio::test]
async fn a_like_a_comment_a_follow_and_the_friend_list_take_two_rounds() {
    let calls = calls_per_case(1).await;
    for label in ["favorite-action", "comment-action", "relation-action", "relation-friend-list"] {
        assert_eq!((calls[label].operations, calls[label].rounds), (2, 2), "{label}: {:?}", calls[label]);
    }
}
