//! `GET /douyin/publish/status/` (added by this project): where a presigned
//! upload stands: `pending`, `live` (with the video) or `rejected` (with the
//! reason). Only the uploader sees it.

use lambda_http::Request;
use serde::Serialize;
use shared::App;
use shared::domain::{Video, VideoId};
use shared::videos::UploadState;

use crate::edge::{self, Params, Reply};

#[derive(Serialize)]
struct Status {
    video_id: u64,
    state: UploadState,
    reason: String,
    video: Option<Video>,
}

/// The state of the caller's upload `video_id`.
pub async fn handle(app: &App, request: Request) -> shared::Result<Reply> {
    let params = Params::from_request(&request).await;
    let caller = edge::authenticate(app, &params).await?;
    let video_id = VideoId::parse("video_id", params.required("video_id")?)?;
    let status = shared::videos::upload_status(app, caller, video_id).await?;
    Reply::with(&Status { video_id: video_id.0, state: status.state, reason: status.reason, video: status.video })
}
