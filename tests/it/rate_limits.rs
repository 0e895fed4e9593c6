//! Rate limits (`shared::limits`): each limited endpoint answers HTTP 429 /
//! 10008 past its limit and changes nothing; windows reset on a hand-moved
//! clock (no sleeping); the count is shared by two instances on one table and
//! holds under concurrent requests.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_sdk_dynamodb::types::AttributeValue;
use futures_util::future::join_all;
use lambda_http::http::Method;
use shared::limits::{Clock, RateLimit, RateLimits};
use tests::{Reply, TestApp};

/// A time on a window boundary of every limit here (a whole number of hours).
const START: u64 = 1_800_000_000; // 500,000 hours

/// An app with `limits`, on a manual clock at [`START`]; the handle moves it.
async fn limited(limits: RateLimits) -> (TestApp, Arc<AtomicU64>) {
    let mut t = TestApp::with_config(|config| config.rate_limits = limits).await;
    let (clock, now) = Clock::manual(START);
    t.app.limiter = t.app.limiter.clone().with_clock(clock);
    (t, now)
}

fn only(adjust: impl FnOnce(&mut RateLimits)) -> RateLimits {
    let mut limits = RateLimits::OFF;
    adjust(&mut limits);
    limits
}

#[track_caller]
fn assert_limited(reply: &Reply, message: &str) {
    assert_eq!((reply.http_status, reply.code()), (429, 10008), "{}", reply.body);
    assert!(reply.msg().starts_with(message), "{}", reply.msg());
    let retry_after: u64 = reply.retry_after.as_deref().expect("Retry-After").parse().unwrap();
    assert!(reply.msg().ends_with(&format!("try again in {retry_after} s")), "{}", reply.msg());
}

async fn login_from(t: &TestApp, ip: &str, username: &str, password: &str) -> Reply {
    t.call_from(ip, Method::POST, "/douyin/user/login/", &[("username", username), ("password", password)]).await
}

async fn register_from(t: &TestApp, ip: &str, username: &str) -> Reply {
    t.call_from(ip, Method::POST, "/douyin/user/register/", &[("username", username), ("password", "password1")]).await
}

#[tokio::test]
async fn logins_are_limited_per_address_and_the_window_resets() {
    let (t, now) = limited(only(|l| l.login_ip = Some(RateLimit::per(3, 60)))).await;
    t.new_user("alice").await;
    for _ in 0..3 {
        assert_eq!(login_from(&t, "203.0.113.7", "alice", "wrong-password").await.code(), 10006);
    }
    // Even the right password is refused now, with the session keys of login.
    let refused = login_from(&t, "203.0.113.7", "alice", "password1").await;
    assert_limited(&refused, "too many login attempts from this address");
    assert_eq!((refused.body["user_id"].as_u64(), refused.body["token"].as_str()), (Some(0), Some("")));
    assert_eq!(refused.retry_after.as_deref(), Some("60"));
    // Another address has its own allowance.
    login_from(&t, "198.51.100.1", "alice", "password1").await.ok();
    // 59 s later the window is the same; at 60 s it is a new one.
    now.fetch_add(59, Ordering::SeqCst);
    assert_eq!(login_from(&t, "203.0.113.7", "alice", "password1").await.retry_after.as_deref(), Some("1"));
    now.fetch_add(1, Ordering::SeqCst);
    login_from(&t, "203.0.113.7", "alice", "password1").await.ok();
}

#[tokio::test]
async fn ipv6_clients_are_counted_by_their_64_network() {
    let (t, _) = limited(only(|l| l.login_ip = Some(RateLimit::per(2, 60)))).await;
    t.new_user("alice").await;
    login_from(&t, "2001:db8:7:7::1", "alice", "password1").await.ok();
    login_from(&t, "2001:db8:7:7::2", "alice", "password1").await.ok();
    assert_limited(&login_from(&t, "2001:db8:7:7:ffff::9", "alice", "password1").await, "too many login");
    login_from(&t, "2001:db8:7:8::1", "alice", "password1").await.ok();
}

#[tokio::test]
async fn logins_are_limited_per_username_whatever_the_address() {
    let (t, now) = limited(only(|l| l.login_user = Some(RateLimit::per(3, 60)))).await;
    t.new_user("alice").await;
    t.new_user("bob").await;
    for i in 0..3 {
        login_from(&t, &format!("192.0.2.{i}"), "alice", "password1").await.ok();
    }
    assert_limited(
        &login_from(&t, "192.0.2.99", "alice", "password1").await,
        "too many login attempts for this username",
    );
    // Unknown names count too (a guesser learns nothing from the limit).
    for _ in 0..3 {
        assert_eq!(t.login("nobody", "password1").await.code(), 10006);
    }
    assert_limited(&t.login("nobody", "password1").await, "too many login attempts for this username");
    login_from(&t, "192.0.2.99", "bob", "password1").await.ok();
    now.fetch_add(60, Ordering::SeqCst);
    login_from(&t, "192.0.2.99", "alice", "password1").await.ok();
}

#[tokio::test]
async fn registrations_are_limited_per_address_and_a_refused_one_creates_nothing() {
    let (t, now) = limited(only(|l| l.register_ip = Some(RateLimit::per(2, 3600)))).await;
    register_from(&t, "203.0.113.7", "user1").await.ok();
    register_from(&t, "203.0.113.7", "user2").await.ok();
    let refused = register_from(&t, "203.0.113.7", "user3").await;
    assert_limited(&refused, "too many registrations from this address");
    assert_eq!((refused.body["user_id"].as_u64(), refused.body["token"].as_str()), (Some(0), Some("")));
    assert_eq!(t.login("user3", "password1").await.code(), 10006, "the refused registration created a user");
    register_from(&t, "198.51.100.1", "user3").await.ok();
    now.fetch_add(3600, Ordering::SeqCst);
    register_from(&t, "203.0.113.7", "user4").await.ok();
}

#[tokio::test]
async fn comments_are_limited_per_user_and_a_refused_one_is_not_posted() {
    let (t, now) = limited(only(|l| l.comment = Some(RateLimit::per(2, 60)))).await;
    let alice = t.new_user("alice").await;
    let bob = t.new_user("bob").await;
    let video = t.new_video(&alice.token, "clip").await;
    t.comment(&alice.token, video, "one").await.ok();
    t.comment(&alice.token, video, "two").await.ok();
    assert_limited(&t.comment(&alice.token, video, "three").await, "too many comments");
    let comments = t.comment_list(video, None).await;
    assert_eq!(comments.ok()["comment_list"].as_array().unwrap().len(), 2);
    // Deleting is not limited; another user is not affected.
    let first = comments.body["comment_list"][0]["id"].as_u64().unwrap();
    t.delete_comment(&alice.token, video, first).await.ok();
    t.comment(&bob.token, video, "bob's").await.ok();
    now.fetch_add(60, Ordering::SeqCst);
    t.comment(&alice.token, video, "four").await.ok();
    let listed = t.comment_list(video, None).await;
    let texts: Vec<&str> =
        listed.ok()["comment_list"].as_array().unwrap().iter().map(|c| c["content"].as_str().unwrap()).collect();
    assert_eq!(texts, ["four", "bob's", "one"]);
}

#[tokio::test]
async fn messages_are_limited_per_sender_and_a_refused_one_is_not_sent() {
    let (t, now) = limited(only(|l| l.message = Some(RateLimit::per(2, 60)))).await;
    let alice = t.new_user("alice").await;
    let bob = t.new_user("bob").await;
    t.send_message(&alice.token, bob.id, "one").await.ok();
    t.send_message(&alice.token, bob.id, "two").await.ok();
    assert_limited(&t.send_message(&alice.token, bob.id, "three").await, "too many messages");
    t.send_message(&bob.token, alice.id, "bob's").await.ok();
    let chat = t.chat(&bob.token, alice.id, None).await;
    let texts: Vec<&str> =
        chat.ok()["message_list"].as_array().unwrap().iter().map(|m| m["content"].as_str().unwrap()).collect();
    assert_eq!(texts, ["one", "two", "bob's"]);
    now.fetch_add(60, Ordering::SeqCst);
    t.send_message(&alice.token, bob.id, "four").await.ok();
}

#[tokio::test]
async fn follows_and_unfollows_are_limited_per_user_and_a_refused_one_changes_nothing() {
    let (t, now) = limited(only(|l| l.follow = Some(RateLimit::per(2, 60)))).await;
    let alice = t.new_user("alice").await;
    let bob = t.new_user("bob").await;
    let carol = t.new_user("carol").await;
    t.relation(&alice.token, bob.id, 1).await.ok();
    t.relation(&alice.token, bob.id, 2).await.ok();
    assert_limited(&t.relation(&alice.token, carol.id, 1).await, "too many follow actions");
    assert_eq!(t.user_counters(alice.id).await["follow_count"], 0);
    assert_eq!(t.user_counters(carol.id).await["follower_count"], 0);
    t.relation(&bob.token, carol.id, 1).await.ok();
    now.fetch_add(60, Ordering::SeqCst);
    t.relation(&alice.token, carol.id, 1).await.ok();
    assert_eq!(t.user_counters(carol.id).await["follower_count"], 2);
}

#[tokio::test]
async fn publishes_are_limited_per_user_and_a_refused_one_is_neither_decoded_nor_published() {
    let (t, now) = limited(only(|l| l.publish = Some(RateLimit::per(2, 3600)))).await;
    let alice = t.new_user("alice").await;
    let bob = t.new_user("bob").await;
    let clip = tests::fixture("portrait-red-360x640-1s.mp4");
    t.publish(&alice.token, "one", &clip).await.ok();
    t.publish(&alice.token, "two", &clip).await.ok();
    let decoded = t.app.heavy().stats().done;
    let refused = t.publish(&alice.token, "three", &clip).await;
    assert_limited(&refused, "too many videos published");
    assert_eq!(refused.retry_after.as_deref(), Some("3600"));
    assert_eq!(t.app.heavy().stats().done, decoded, "the refused video was decoded");
    assert_eq!(t.user_counters(alice.id).await["work_count"], 2);
    assert_eq!(t.feed(None, None).await.ok()["video_list"].as_array().unwrap().len(), 2);
    t.publish(&bob.token, "bob's", &clip).await.ok();
    now.fetch_add(3600, Ordering::SeqCst);
    t.publish(&alice.token, "four", &clip).await.ok();
    assert_eq!(t.user_counters(alice.id).await["work_count"], 3);
}

/// Upload records in `t`'s table.
async fn upload_records(t: &TestApp) -> usize {
    let records = tests::invariants::scan(t).await;
    records
        .iter()
        .filter(|item| matches!(item.get("pk"), Some(AttributeValue::S(pk)) if pk.starts_with("UPLOAD#")))
        .count()
}

#[tokio::test]
async fn upload_tickets_are_limited_per_user_and_a_refused_one_reserves_nothing() {
    let (t, now) = limited(only(|l| l.upload = Some(RateLimit::per(2, 3600)))).await;
    let alice = t.new_user("alice").await;
    let bob = t.new_user("bob").await;
    let before = t.app.dynamodb_calls.snapshot();
    t.start_upload(&alice.token, "one", "video/mp4", 1000).await.ok();
    let accepted = t.app.dynamodb_calls.snapshot() - before;
    // One transaction: the record, the author's check and the count.
    assert_eq!((accepted.operations, accepted.rounds), (1, 1), "{accepted:?}");
    t.start_upload(&alice.token, "two", "video/mp4", 1000).await.ok();
    let before = t.app.dynamodb_calls.snapshot();
    let refused = t.start_upload(&alice.token, "three", "video/mp4", 1000).await;
    let used = t.app.dynamodb_calls.snapshot() - before;
    assert_limited(&refused, "too many upload tickets");
    assert!(refused.body["upload_url"].is_null(), "{}", refused.body);
    // The same transaction, refused by its count: no upload record.
    assert_eq!(used.operations, 1, "{used:?}");
    assert_eq!(upload_records(&t).await, 2);
    t.start_upload(&bob.token, "bob's", "video/mp4", 1000).await.ok();
    now.fetch_add(3600, Ordering::SeqCst);
    t.start_upload(&alice.token, "four", "video/mp4", 1000).await.ok();
}

/// A comment, a follow, an upload ticket or a message is counted by its own
/// transaction: one that writes nothing (a follow of nobody, an unfollow of
/// someone not followed, a comment on no video, a ticket for a file refused,
/// a message to no one) counts nothing, and the window still takes its calls.
#[tokio::test]
async fn a_comment_a_follow_a_ticket_or_a_message_that_writes_nothing_counts_nothing() {
    let (t, _) = limited(only(|l| {
        l.message = Some(RateLimit::per(1, 60));
        l.follow = Some(RateLimit::per(1, 60));
        l.comment = Some(RateLimit::per(1, 60));
        l.upload = Some(RateLimit::per(1, 3600));
    }))
    .await;
    let alice = t.new_user("alice").await;
    let bob = t.new_user("bob").await;
    let video = t.new_video(&bob.token, "clip").await;
    assert_eq!(t.relation(&alice.token, 999_999, 1).await.code(), 10004);
    t.relation(&alice.token, bob.id, 2).await.ok();
    t.relation(&alice.token, bob.id, 1).await.ok();
    assert_limited(&t.relation(&alice.token, bob.id, 2).await, "too many follow actions");
    assert_eq!(t.comment(&alice.token, 999_999, "nowhere").await.code(), 10004);
    t.comment(&alice.token, video, "one").await.ok();
    assert_limited(&t.comment(&alice.token, video, "two").await, "too many comments");
    assert_eq!(t.start_upload(&alice.token, "avi", "video/x-msvideo", 1000).await.code(), 10007);
    t.start_upload(&alice.token, "one", "video/mp4", 1000).await.ok();
    assert_limited(&t.start_upload(&alice.token, "two", "video/mp4", 1000).await, "too many upload tickets");
    assert_eq!(t.send_message(&alice.token, 999_999, "nobody").await.code(), 10004);
    t.send_message(&alice.token, bob.id, "one").await.ok();
    assert_limited(&t.send_message(&alice.token, bob.id, "two").await, "too many messages");
    assert_eq!(t.user_counters(bob.id).await["follower_count"], 1);
}

/// Two instances on one table with `limits`, on one clock.
async fn two_instances(limits: RateLimits) -> (TestApp, TestApp) {
    let (first, _) = limited(limits).await;
    let mut second = first.sharing_table(|config| config.rate_limits = limits).await;
    second.app.limiter = second.app.limiter.clone().with_clock(Clock::manual(START).0);
    (first, second)
}

/// Twelve `call`s at once, alternating between the two instances, under a
/// limit of 4: exactly 4 pass and 8 are refused.
async fn four_of_twelve_pass<'a, F: Future<Output = Reply>>(
    (first, second): (&'a TestApp, &'a TestApp),
    call: impl Fn(&'a TestApp) -> F,
) {
    let attempts = (0..12).map(|i| call(if i % 2 == 0 { first } else { second }));
    let codes: Vec<i64> = join_all(attempts).await.iter().map(Reply::code).collect();
    assert_eq!(codes.iter().filter(|code| **code == 0).count(), 4, "{codes:?}");
    assert_eq!(codes.iter().filter(|code| **code == 10008).count(), 8, "{codes:?}");
}

/// Counted inside each comment's transaction, concurrent comments from two
/// instances still pass the limit exactly.
#[tokio::test]
async fn concurrent_comments_never_pass_the_limit() {
    let (first, second) = two_instances(only(|l| l.comment = Some(RateLimit::per(4, 60)))).await;
    let alice = first.new_user("alice").await;
    let video = first.new_video(&alice.token, "clip").await;
    four_of_twelve_pass((&first, &second), |instance| instance.comment(&alice.token, video, "again")).await;
    let listed = first.comment_list(video, None).await;
    assert_eq!(listed.ok()["comment_list"].as_array().unwrap().len(), 4);
}

/// Counted inside each send's transaction, concurrent sends in one
/// conversation from two instances (their transactions contend for the
/// conversation's clock) still pass the limit exactly, each shown once.
#[tokio::test]
async fn concurrent_sends_never_pass_the_limit() {
    let (first, second) = two_instances(only(|l| l.message = Some(RateLimit::per(4, 60)))).await;
    let alice = first.new_user("alice").await;
    let bob = first.new_user("bob").await;
    four_of_twelve_pass((&first, &second), |instance| instance.send_message(&alice.token, bob.id, "again")).await;
    first.chat.wait_idle().await;
    second.chat.wait_idle().await;
    let chat = first.chat(&bob.token, alice.id, None).await;
    assert_eq!(chat.ok()["message_list"].as_array().unwrap().len(), 4);
}

/// Login and registration count their attempt beside their first read (the
/// name's credentials), and hash or verify a password only once the count
/// has passed: a refused attempt runs no hash.
#[tokio::test]
async fn login_and_registration_count_beside_their_first_read_and_hash_only_once_counted() {
    let (t, _) = limited(only(|l| {
        l.register_ip = Some(RateLimit::per(2, 3600));
        l.login_ip = Some(RateLimit::per(2, 60));
        l.login_user = Some(RateLimit::per(10, 60));
    }))
    .await;
    // The first registration reserves the instance's block of ids.
    register_from(&t, "203.0.113.7", "first").await.ok();
    let before = t.app.dynamodb_calls.snapshot();
    register_from(&t, "203.0.113.7", "alice").await.ok();
    let used = t.app.dynamodb_calls.snapshot() - before;
    // The count beside the name's read, then the account's transaction.
    assert!(used.operations == 3 && used.rounds == 2, "{used:?}");
    let hashes = t.app.heavy().stats().done;
    assert_limited(&register_from(&t, "203.0.113.7", "bob").await, "too many registrations");
    assert_eq!(t.app.heavy().stats().done, hashes, "the refused registration hashed its password");

    let before = t.app.dynamodb_calls.snapshot();
    login_from(&t, "198.51.100.1", "alice", "password1").await.ok();
    let used = t.app.dynamodb_calls.snapshot() - before;
    // The address's count, then the name's, beside the credentials' read
    // (one round when the read outlasts both counts).
    assert!(used.operations == 3 && used.rounds <= 2, "{used:?}");
    assert_eq!(login_from(&t, "198.51.100.1", "alice", "wrong-password").await.code(), 10006);
    let hashes = t.app.heavy().stats().done;
    assert_limited(&login_from(&t, "198.51.100.1", "alice", "password1").await, "too many login attempts");
    assert_eq!(t.app.heavy().stats().done, hashes, "the refused login verified its password");
}

#[tokio::test]
async fn two_instances_on_one_table_share_the_count() {
    let limits = only(|l| l.login_ip = Some(RateLimit::per(4, 60)));
    let (first, _) = limited(limits).await;
    let mut second = first.sharing_table(|config| config.rate_limits = limits).await;
    second.app.limiter = second.app.limiter.clone().with_clock(Clock::manual(START).0);
    first.new_user("alice").await;
    let mut passed = 0;
    for i in 0..8 {
        let instance = if i % 2 == 0 { &first } else { &second };
        let reply = login_from(instance, "203.0.113.7", "alice", "password1").await;
        passed += usize::from(reply.code() == 0);
    }
    assert_eq!(passed, 4);
}

#[tokio::test]
async fn concurrent_logins_never_pass_the_limit() {
    let limits = only(|l| l.login_ip = Some(RateLimit::per(5, 60)));
    let (first, _) = limited(limits).await;
    let mut second = first.sharing_table(|config| config.rate_limits = limits).await;
    second.app.limiter = second.app.limiter.clone().with_clock(Clock::manual(START).0);
    first.new_user("alice").await;
    let attempts = (0..20).map(|i| {
        let instance = if i % 2 == 0 { &first } else { &second };
        login_from(instance, "203.0.113.7", "alice", "password1")
    });
    let replies = join_all(attempts).await;
    let codes: Vec<i64> = replies.iter().map(Reply::code).collect();
    assert_eq!(codes.iter().filter(|code| **code == 0).count(), 5, "{codes:?}");
    assert_eq!(codes.iter().filter(|code| **code == 10008).count(), 15, "{codes:?}");
}

#[tokio::test]
async fn an_unlimited_scope_costs_no_request() {
    let t = TestApp::new().await;
    assert_eq!(*t.app.limiter.limits(), RateLimits::OFF);
    t.new_user("alice").await;
    let before = t.app.dynamodb_calls.snapshot();
    t.login("alice", "password1").await.ok();
    assert_eq!((t.app.dynamodb_calls.snapshot() - before).operations, 1, "login is one GetItem");
    let (limited, _) = limited(only(|l| l.login_ip = Some(RateLimit::per(5, 60)))).await;
    limited.new_user("alice").await;
    let before = limited.app.dynamodb_calls.snapshot();
    limited.login("alice", "password1").await.ok();
    assert_eq!((limited.app.dynamodb_calls.snapshot() - before).operations, 2, "one more request per limit");
}

#[tokio::test]
async fn on_lambda_the_address_is_api_gateway_source_ip() {
    let (t, _) = limited(only(|l| l.login_ip = Some(RateLimit::per(1, 60)))).await;
    let event = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../events/user-login.json")).unwrap();
    assert!(event.contains(r#""sourceIp": "203.0.113.7""#));
    t.event(&event).await;
    assert_limited(&t.event(&event).await, "too many login attempts from this address");
    // The count is the event's address, not a shared "unknown" one.
    let error = t.app.limiter.hit(shared::limits::Scope::LoginIp, "203.0.113.7").await.unwrap_err();
    assert_eq!(error.status_code(), 10008);
    t.app.limiter.hit(shared::limits::Scope::LoginIp, "unknown").await.unwrap();
}
