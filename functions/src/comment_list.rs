//! `GET /douyin/comment/list/`: the comments of a video, newest first.

use lambda_http::Request;
use serde::Serialize;
use shared::App;
use shared::domain::{Comment, VideoId};

use crate::edge::{self, Params, Reply};

#[derive(Serialize)]
struct List {
    comment_list: Vec<Comment>,
    /// This project's addition: pass back as `cursor` for the next page; "" at the end.
    next_cursor: String,
}

/// The newest comments of `video_id`.
pub async fn handle(app: &App, request: Request) -> shared::Result<Reply> {
    let params = Params::from_request(&request).await;
    let viewer = edge::viewer(app, &params);
    let video_id = VideoId::parse("video_id", params.required("video_id")?)?;
    let listed = shared::interactions::comments(app, video_id, viewer, edge::cursor(&params)?).await?;
    Reply::with(&List { comment_list: listed.items, next_cursor: listed.next_cursor.unwrap_or_default() })
}
