//! `GET /douyin/message/chat/`: the messages of a conversation newer than
//! `pre_msg_time`, both directions, oldest first.

use lambda_http::Request;
use serde::Serialize;
use shared::domain::{Message, UserId};
use shared::{App, Error};

use crate::edge::{self, Params, Reply};

#[derive(Serialize)]
struct Chat {
    message_list: Vec<Message>,
}

/// The caller's messages with `to_user_id` after `pre_msg_time` (ms; absent or 0: all).
pub async fn handle(app: &App, request: Request) -> shared::Result<Reply> {
    let params = Params::from_request(&request).await;
    let caller = edge::claimant(app, &params)?;
    let other = UserId::parse("to_user_id", params.required("to_user_id")?)?;
    let after = match params.text("pre_msg_time")?.map(str::trim).filter(|raw| !raw.is_empty()) {
        Some(raw) => {
            raw.parse::<u64>().map_err(|_| Error::invalid("pre_msg_time", "must be a time in milliseconds"))?
        }
        None => 0,
    };
    let message_list = shared::chat::poll(app, caller, other, after).await?;
    Reply::with(&Chat { message_list })
}
