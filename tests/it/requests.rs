//! DynamoDB calls per request (issue E): every endpoint makes the same number
//! of calls, in the same number of sequential rounds, for a page of 1 as for
//! a full page of 30; the feed makes at most 3 calls in at most 2 rounds.
//! Counted by the interceptor every DynamoDB client carries
//! (`shared::telemetry::CallCounter`), so a hidden N+1 read fails here.

use std::collections::BTreeMap;

use shared::limits::RateLimits;
use shared::telemetry::CallCount;
use tests::TestApp;
use tests::scenario::{calls_of, cases, cast};

/// The calls of one request of every case, by label.
async fn calls_per_case(n: usize) -> BTreeMap<&'static str, CallCount> {
    calls_per_case_with(n, RateLimits::OFF).await
}

/// [`calls_per_case`] with the rate limits `limits`.
async fn calls_per_case_with(n: usize, limits: RateLimits) -> BTreeMap<&'static str, CallCount> {
    let mut t = TestApp::with_config(|config| config.rate_limits = limits).await;
    let cast = cast(&t, n).await;
    // Chat held, not consumed: were a send to take the queue's path, the
    // in-process consumer's calls would mix with the request's (on Lambda
    // the consumer is another function).
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

/// The rounds of the writes and lists a cold start's first request is most
/// often (issue J: every round is a round trip, at the invocation's CPU
/// share): a like reads its video and confirms its caller in one round, then
/// writes; a comment writes (its transaction confirming the caller, its id
/// from the block the instance holds) while it reads the caller's profile for
/// the answer; a follow is one transaction that confirms the follower and
/// assumes the reverse edge absent (here bob already follows alice); the
/// friend list reads its page of ids, then the friends, their conversations
/// and the caller at once; the favorite list reads its likes, then the
/// videos, their authors (the likes name them) and the viewer's likes and
/// follows at once; the chat reads its messages while it confirms the
/// caller; a message's send is one transaction that writes it, moves the
/// conversation's clock from behind the message's time, confirms both users
/// and counts the send (the queue only when that fails).
#[tokio::test]
async fn a_comment_and_a_follow_take_one_round_a_like_and_the_liked_and_friend_lists_two() {
    let calls = calls_per_case(1).await;
    let rounds = |label: &str| (calls[label].operations, calls[label].rounds);
    assert_eq!(rounds("comment-action"), (2, 1), "comment-action: {:?}", calls["comment-action"]);
    assert_eq!(rounds("relation-action"), (1, 1), "relation-action: {:?}", calls["relation-action"]);
    assert_eq!(rounds("message-chat"), (2, 1), "message-chat: {:?}", calls["message-chat"]);
    assert_eq!(rounds("message-action"), (1, 1), "message-action: {:?}", calls["message-action"]);
    for label in ["favorite-action", "relation-friend-list", "favorite-list"] {
        assert_eq!(rounds(label), (2, 2), "{label}: {:?}", calls[label]);
    }
}

/// A deployment's rate limits count each limited call inside a round the
/// endpoint makes anyway: in the comment's, the follow's and the chat send's
/// transaction (one call, as without limits). Without that, each would wait
/// for its count first.
#[tokio::test]
async fn the_deployments_rate_limits_add_no_round_to_any_endpoint_of_the_scenario() {
    // The scenario's cast registers and logs in from one address: those
    // limits (whose own round is measured in rate_limits.rs) stay off.
    let limits = RateLimits { register_ip: None, login_ip: None, login_user: None, ..RateLimits::DEFAULT };
    let (off, on) = tokio::join!(calls_per_case(1), calls_per_case_with(1, limits));
    for (label, without) in &off {
        let with = on[label];
        assert_eq!(
            (with.operations, with.rounds),
            (without.operations, without.rounds),
            "{label}: {without:?} without limits"
        );
    }
}

/// A follow that is not mutual is one transaction; a mutual one finds the
/// reverse edge in its first transaction's check and makes the friends in a
/// second, as a read before it would have cost.
#[tokio::test]
async fn a_follow_is_one_round_and_a_mutual_follow_two() {
    let t = TestApp::new().await;
    let alice = t.new_user("alice").await;
    let bob = t.new_user("bob").await;
    let follow = |token: &str, to: u64| {
        tests::scenario::post(
            "/douyin/relation/action/",
            &[("token", token), ("to_user_id", &to.to_string()), ("action_type", "1")],
        )
    };
    let first = calls_of(&t, follow(&alice.token, bob.id)).await;
    assert_eq!((first.operations, first.rounds), (1, 1), "{first:?}");
    let mutual = calls_of(&t, follow(&bob.token, alice.id)).await;
    assert_eq!((mutual.operations, mutual.rounds), (2, 2), "{mutual:?}");
    let friends = t.list("/douyin/relation/friend/list/", alice.id, Some(&alice.token)).await;
    let friends = friends.ok();
    let ids: Vec<u64> = friends["user_list"].as_array().unwrap().iter().map(|u| u["id"].as_u64().unwrap()).collect();
    assert_eq!(ids, vec![bob.id], "the mutual follow made them friends");
}
