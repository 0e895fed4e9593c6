//! `GET /douyin/favorite/list/`: the videos a user liked, newest like first.

use lambda_http::Request;
use serde::Serialize;
use shared::App;
use shared::domain::Video;

use crate::edge::{self, Params, Reply};

#[derive(Serialize)]
struct List {
    video_list: Vec<Video>,
    /// This project's addition: pass back as `cursor` for the next page; "" at the end.
    next_cursor: String,
}

/// The videos `user_id` (default: the caller) liked.
pub async fn handle(app: &App, request: Request) -> shared::Result<Reply> {
    let params = Params::from_request(&request).await;
    let viewer = edge::viewer(app, &params);
    let user = edge::user_id_or_viewer(&params, viewer)?;
    let listed = shared::interactions::liked_videos(app, user, viewer, edge::cursor(&params)?).await?;
    Reply::with(&List { video_list: listed.items, next_cursor: listed.next_cursor.unwrap_or_default() })
}
