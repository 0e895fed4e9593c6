//! `POST /douyin/publish/action/`: the stock client's upload, the whole file
//! in one multipart request (`data`, `token`, `title`).

use lambda_http::Request;
use shared::App;
use shared::domain::VideoTitle;
use shared::limits::Scope;

use crate::edge::{self, Params, Reply};

/// Publishes the uploaded file; answers once it is in the feed. Limited per
/// user (counted before the video is decoded). The author, from a verified
/// token, is confirmed to exist while the video is decoded
/// ([`shared::videos::publish_inline`]).
pub async fn handle(app: &App, request: Request) -> shared::Result<Reply> {
    let params = Params::from_request(&request).await;
    let author = edge::claimant(app, &params)?;
    let title = VideoTitle::parse("title", params.required("title")?)?;
    let data = params.file("data")?.ok_or_else(|| shared::Error::invalid("data", "is required (the video file)"))?;
    app.limiter.hit(Scope::Publish, &author.id().to_string()).await?;
    shared::videos::publish_inline(app, author, &title, data.bytes.clone()).await?;
    Ok(Reply::empty())
}
