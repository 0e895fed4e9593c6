//! The data layer on its own: ids, the user transaction, batch reads. Runs on
//! both tiers.

use std::collections::HashSet;
use std::sync::Arc;

use futures_util::future::join_all;
use shared::domain::{MAX_SAFE_INTEGER, UserId, Username};
use shared::store::ids::IdAllocator;
use shared::store::model::{NewProfile, UserItem, UsernameItem};
use tests::TestApp;

fn profile() -> NewProfile {
    NewProfile { signature: "s".into(), avatar_key: "a".into(), background_key: "b".into() }
}

#[tokio::test]
async fn ids_from_concurrent_instances_never_collide() {
    let t = TestApp::new().await;
    // Four "Lambda instances", each with its own allocator and small blocks so
    // that they go back to the counter often.
    let allocators: Vec<Arc<IdAllocator>> =
        (0..4).map(|_| Arc::new(IdAllocator::new(t.app.table().clone(), 7))).collect();
    let ids = join_all(allocators.iter().map(|allocator| {
        let allocator = Arc::clone(allocator);
        async move {
            let mut ids = Vec::new();
            for _ in 0..60 {
                ids.push(allocator.next().await.unwrap());
            }
            ids
        }
    }))
    .await;
    let all: Vec<u64> = ids.into_iter().flatten().collect();
    let unique: HashSet<u64> = all.iter().copied().collect();
    assert_eq!(unique.len(), 240);
    assert!(all.iter().all(|id| (1..=MAX_SAFE_INTEGER).contains(id)));
}

#[tokio::test]
async fn create_user_is_all_or_nothing() {
    let t = TestApp::new().await;
    let table = &t.app.table();
    let first = UserItem::new(1, "alice", &profile(), 0);
    table.create_user(&first, &UsernameItem::new("alice", 1, "h".into())).await.unwrap();
    // Same name, new id: conflict, and the second profile is not written.
    let second = UserItem::new(2, "alice", &profile(), 0);
    let error = table.create_user(&second, &UsernameItem::new("alice", 2, "h".into())).await.unwrap_err();
    assert_eq!(error.status_code(), 10005);
    assert!(table.user(UserId(2)).await.unwrap().is_none());
    // New name, same id: internal error, and the name is not claimed.
    let third = UserItem::new(1, "bob", &profile(), 0);
    let error = table.create_user(&third, &UsernameItem::new("bob", 1, "h".into())).await.unwrap_err();
    assert_eq!(error.status_code(), 50000);
    let bob = Username::parse("username", "bob").unwrap();
    assert!(table.credentials(&bob).await.unwrap().is_none());
}

#[tokio::test]
async fn user_seen_by_reads_profile_and_edge_in_one_go() {
    let t = TestApp::new().await;
    let table = &t.app.table();
    let alice = UserItem::new(10, "alice", &profile(), 5);
    table.create_user(&alice, &UsernameItem::new("alice", 10, "h".into())).await.unwrap();
    let (found, follows) = table.user_seen_by(UserId(10), Some(UserId(11))).await.unwrap().unwrap();
    assert_eq!(found, alice);
    assert!(!follows);
    assert!(table.user_seen_by(UserId(12), None).await.unwrap().is_none());
}

#[tokio::test]
async fn create_if_missing_is_idempotent() {
    let t = TestApp::new().await;
    t.app.table().create_if_missing().await.unwrap();
    t.app.media().create_bucket_if_missing().await.unwrap();
}
