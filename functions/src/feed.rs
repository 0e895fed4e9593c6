//! `GET /douyin/feed/`: the newest videos, for guests too.

use lambda_http::Request;
use serde::Serialize;
use shared::App;
use shared::domain::Video;

use crate::edge::{self, Params, Reply};

#[derive(Serialize)]
struct Feed {
    video_list: Vec<Video>,
    next_time: u64,
}

/// At most 30 videos published before `latest_time` (ms; seconds accepted).
pub async fn handle(app: &App, request: Request) -> shared::Result<Reply> {
    let params = Params::from_request(&request).await;
    let latest_time = match params.text("latest_time")?.filter(|raw| !raw.trim().is_empty()) {
        Some(raw) => Some(
            raw.trim()
                .parse::<i64>()
                .map_err(|_| shared::Error::invalid("latest_time", "must be a whole number of milliseconds"))?,
        ),
        None => None,
    };
    let viewer = edge::viewer(app, &params);
    let page = shared::videos::feed(app, viewer, latest_time).await?;
    Reply::with(&Feed { video_list: page.videos, next_time: page.next_time })
}
