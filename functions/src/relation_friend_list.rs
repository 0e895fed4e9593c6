//! `GET /douyin/relation/friend/list/`: the caller's friends (mutual follows), for the caller only, newest relation first.

use lambda_http::Request;
use serde::Serialize;
use shared::App;
use shared::domain::User;

use crate::edge::{self, Params, Reply};

#[derive(Serialize)]
struct FriendUser {
    #[serde(flatten)]
    user: User,
    /// The latest message between the caller and this friend (chat, issue D).
    message: String,
    /// 1 when the caller sent that message, 0 otherwise.
    #[serde(rename = "msgType")]
    msg_type: u8,
}

#[derive(Serialize)]
struct List {
    user_list: Vec<FriendUser>,
    /// This project's addition: pass back as `cursor` for the next page; "" at the end.
    next_cursor: String,
}

/// The caller's friends; `user_id`, when given, must be the caller (10003).
pub async fn handle(app: &App, request: Request) -> shared::Result<Reply> {
    let params = Params::from_request(&request).await;
    // Confirmed in the list's own read, which comes before the owner check
    // so that a token of a user that does not exist is 10002 either way.
    let caller = edge::claimant(app, &params)?;
    let asked = edge::user_id_or_viewer(&params, Some(caller.id()))?;
    let cursor = edge::cursor(&params)?;
    let friends = shared::chat::friends(app, caller, cursor).await?;
    if asked != caller.id() {
        return Err(shared::Error::Forbidden("the friend list is only visible to its owner".into()));
    }
    let user_list = friends
        .items
        .into_iter()
        .map(|friend| {
            let (message, sent) = friend.latest.unwrap_or_default();
            FriendUser { user: friend.user, message, msg_type: u8::from(sent) }
        })
        .collect();
    Reply::with(&List { user_list, next_cursor: friends.next_cursor.unwrap_or_default() })
}
