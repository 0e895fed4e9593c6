//! `POST /douyin/favorite/action/`: like (1) or unlike (2) a video; both idempotent.

use lambda_http::Request;
use shared::App;
use shared::domain::{Action, VideoId};

use crate::edge::{self, Params, Reply};

/// Likes or unlikes `video_id`. The caller's existence is confirmed in the
/// same read as the video's (`edge::claimant`).
pub async fn handle(app: &App, request: Request) -> shared::Result<Reply> {
    let params = Params::from_request(&request).await;
    let user = edge::claimant(app, &params)?;
    let video_id = VideoId::parse("video_id", params.required("video_id")?)?;
    match Action::parse("action_type", params.required("action_type")?)? {
        Action::Do => shared::interactions::like(app, user, video_id).await?,
        Action::Undo => shared::interactions::unlike(app, user, video_id).await?,
    }
    Ok(Reply::empty())
}
