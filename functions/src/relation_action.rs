//! `POST /douyin/relation/action/`: follow (1) or unfollow (2) a user; both idempotent.

use lambda_http::Request;
use shared::App;
use shared::domain::{Action, UserId};

use crate::edge::{self, Params, Reply};

/// Follows or unfollows `to_user_id`; both count against the user's follow
/// limit, in their own transaction.
pub async fn handle(app: &App, request: Request) -> shared::Result<Reply> {
    let params = Params::from_request(&request).await;
    // Confirmed by the follow's transaction, or before an unfollow.
    let user = edge::claimant(app, &params)?;
    let to = UserId::parse("to_user_id", params.required("to_user_id")?)?;
    let action = Action::parse("action_type", params.required("action_type")?)?;
    match action {
        Action::Do => shared::interactions::follow(app, user, to).await?,
        Action::Undo => shared::interactions::unfollow(app, user, to).await?,
    }
    Ok(Reply::empty())
}
