//! `GET /douyin/publish/list/`: a user's videos, newest first, for guests too,
//! 98 a page (`cursor` / `next_cursor`, this project's addition).

use lambda_http::Request;
use shared::App;

use crate::edge::{self, Params, Reply};

/// A page of the videos of `user_id` (default: the token's user): the newest
/// 98, or those older than `cursor`.
pub async fn handle(app: &App, request: Request) -> shared::Result<Reply> {
    let params = Params::from_request(&request).await;
    let viewer = edge::viewer(app, &params);
    let author = edge::user_id_or_viewer(&params, viewer)?;
    edge::video_page(shared::videos::works(app, author, viewer, edge::cursor(&params)?).await?)
}
