//! `GET /douyin/user/`: a user's profile, for guests too.

use lambda_http::Request;
use serde::Serialize;
use shared::App;
use shared::domain::User;

use crate::edge::{self, Params, Reply};

#[derive(Serialize)]
struct Profile {
    user: User,
}

/// The profile of `user_id`, or of the token's user when `user_id` is absent.
pub async fn handle(app: &App, request: Request) -> shared::Result<Reply> {
    let params = Params::from_request(&request).await;
    let viewer = edge::viewer(app, &params);
    let user_id = edge::user_id_or_viewer(&params, viewer)?;
    let user = shared::users::profile(app, user_id, viewer).await?;
    Reply::with(&Profile { user })
}
