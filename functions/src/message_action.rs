//! `POST /douyin/message/action/`: send a chat message (`action_type` 1).

use lambda_http::Request;
use shared::domain::{Action, MessageText, UserId};
use shared::{App, Error};

use crate::edge::{self, Params, Reply};

/// Sends `content` to `to_user_id`; answers once the message is durable.
/// Sends are limited per user (counted beside the send's first read).
pub async fn handle(app: &App, request: Request) -> shared::Result<Reply> {
    let params = Params::from_request(&request).await;
    let from = edge::claimant(app, &params)?;
    let to = UserId::parse("to_user_id", params.required("to_user_id")?)?;
    if !matches!(Action::parse("action_type", params.required("action_type")?), Ok(Action::Do)) {
        return Err(Error::invalid("action_type", "must be 1 (send)"));
    }
    let text = MessageText::parse("content", params.required("content")?)?;
    shared::chat::send(app, from, to, &text).await?;
    Ok(Reply::empty())
}
