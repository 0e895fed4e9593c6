//! `GET /douyin/favorite/list/`: the videos a user liked, newest like first.

use lambda_http::Request;
use shared::App;

use crate::edge::{self, Params, Reply};

/// The videos `user_id` (default: the caller) liked.
pub async fn handle(app: &App, request: Request) -> shared::Result<Reply> {
    let params = Params::from_request(&request).await;
    let viewer = edge::viewer(app, &params);
    let user = edge::user_id_or_viewer(&params, viewer)?;
    edge::video_page(shared::interactions::liked_videos(app, user, viewer, edge::cursor(&params)?).await?)
}
