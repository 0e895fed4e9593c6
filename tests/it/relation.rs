//! Follows and friends: idempotent, exact counters, friends race-free, lists
//! newest relation first, the friend list for its owner only.

use futures_util::future::join_all;
use tests::TestApp;

const FOLLOWS: &str = "/douyin/relation/follow/list/";
const FOLLOWERS: &str = "/douyin/relation/follower/list/";
const FRIENDS: &str = "/douyin/relation/friend/list/";

fn ids(reply: &tests::Reply) -> Vec<u64> {
    reply.ok()["user_list"].as_array().unwrap().iter().map(|u| u["id"].as_u64().unwrap()).collect()
}

#[tokio::test]
async fn follow_twice_counts_once_and_unfollow_twice_changes_nothing() {
    let t = TestApp::new().await;
    let a = t.new_user("a").await;
    let b = t.new_user("b").await;
    for _ in 0..2 {
        t.relation(&a.token, b.id, 1).await.ok();
    }
    assert_eq!(t.user_counters(a.id).await["follow_count"], 1);
    assert_eq!(t.user_counters(b.id).await["follower_count"], 1);
    assert_eq!(t.user(Some(b.id), Some(&a.token)).await.ok()["user"]["is_follow"], true);
    assert_eq!(t.user(Some(b.id), None).await.ok()["user"]["is_follow"], false);
    for _ in 0..2 {
        t.relation(&a.token, b.id, 2).await.ok();
    }
    assert_eq!(t.user_counters(a.id).await["follow_count"], 0);
    assert_eq!(t.user_counters(b.id).await["follower_count"], 0);
}

#[tokio::test]
async fn duplicate_parallel_follows_count_once() {
    let t = TestApp::new().await;
    let a = t.new_user("a").await;
    let b = t.new_user("b").await;
    let replies = join_all((0..12).map(|_| t.relation(&a.token, b.id, 1))).await;
    assert!(replies.iter().all(|r| r.code() == 0), "{replies:?}");
    assert_eq!(t.user_counters(a.id).await["follow_count"], 1);
    assert_eq!(t.user_counters(b.id).await["follower_count"], 1);
    assert_eq!(ids(&t.list(FOLLOWERS, b.id, None).await), [a.id]);
}

#[tokio::test]
async fn simultaneous_mutual_follows_make_friends() {
    for round in 0..5 {
        let t = TestApp::new().await;
        let a = t.new_user("a").await;
        let b = t.new_user("b").await;
        let (x, y) = tokio::join!(t.relation(&a.token, b.id, 1), t.relation(&b.token, a.id, 1));
        x.ok();
        y.ok();
        assert_eq!(ids(&t.list(FRIENDS, a.id, Some(&a.token)).await), [b.id], "round {round}");
        assert_eq!(ids(&t.list(FRIENDS, b.id, Some(&b.token)).await), [a.id], "round {round}");
    }
}

#[tokio::test]
async fn unfollowing_ends_the_friendship_on_both_sides() {
    let t = TestApp::new().await;
    let a = t.new_user("a").await;
    let b = t.new_user("b").await;
    t.relation(&a.token, b.id, 1).await.ok();
    t.relation(&b.token, a.id, 1).await.ok();
    let friends = t.list(FRIENDS, a.id, Some(&a.token)).await;
    let friend = friends.ok()["user_list"][0].clone();
    assert_eq!((friend["message"].as_str(), friend["msgType"].as_u64()), (Some(""), Some(0)));
    assert_eq!(friend["is_follow"], true);
    t.relation(&b.token, a.id, 2).await.ok();
    assert!(ids(&t.list(FRIENDS, a.id, Some(&a.token)).await).is_empty());
    assert!(ids(&t.list(FRIENDS, b.id, Some(&b.token)).await).is_empty());
    assert_eq!(ids(&t.list(FOLLOWS, a.id, None).await), [b.id], "a still follows b");
}

#[tokio::test]
async fn lists_are_newest_relation_first_with_is_follow_for_the_viewer() {
    let t = TestApp::new().await;
    let star = t.new_user("star").await;
    let fans = [t.new_user("f1").await, t.new_user("f2").await, t.new_user("f3").await];
    for fan in &fans {
        t.relation(&fan.token, star.id, 1).await.ok();
        t.relation(&star.token, fan.id, 1).await.ok();
    }
    let expected: Vec<u64> = fans.iter().rev().map(|f| f.id).collect();
    assert_eq!(ids(&t.list(FOLLOWERS, star.id, None).await), expected);
    assert_eq!(ids(&t.list(FOLLOWS, star.id, None).await), expected);
    let seen_by_f1 = t.list(FOLLOWERS, star.id, Some(&fans[0].token)).await;
    let follows: Vec<bool> =
        seen_by_f1.ok()["user_list"].as_array().unwrap().iter().map(|u| u["is_follow"].as_bool().unwrap()).collect();
    // f1 follows only the star, none of the other fans (and not itself).
    assert_eq!(follows, [false, false, false]);
}

#[tokio::test]
async fn relation_errors_follow_the_contract() {
    let t = TestApp::new().await;
    let a = t.new_user("a").await;
    let b = t.new_user("b").await;
    assert_eq!(t.relation(&a.token, a.id, 1).await.code(), 10003);
    assert_eq!(t.relation(&a.token, 999_999, 1).await.code(), 10004);
    assert_eq!(t.relation(&a.token, 999_999, 2).await.code(), 10004);
    assert_eq!(t.relation("bad", b.id, 1).await.code(), 10002);
    assert_eq!(t.relation(&a.token, b.id, 0).await.code(), 10001);
    // The friend list is the caller's own: another user's id is forbidden, no token is 10002.
    assert_eq!(t.list(FRIENDS, b.id, Some(&a.token)).await.code(), 10003);
    assert_eq!(t.list(FRIENDS, a.id, None).await.code(), 10002);
    assert_eq!(t.list(FOLLOWS, 999_999, None).await.code(), 10004);
    assert_eq!(t.user_counters(a.id).await["follow_count"], 0);
}
