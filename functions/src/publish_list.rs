//! `GET /douyin/publish/list/`: a user's videos, newest first, for guests too,
//! 98 a page (`cursor` / `next_cursor`, this project's addition).

use lambda_http::Request;
use serde::Serialize;
use shared::App;
use shared::domain::Video;

use crate::edge::{self, Params, Reply};
use crate::routes::{Endpoint, ErrorFields, RouteKey};

/// Where this endpoint is served (no handler: the fallback routes on this alone).
pub const ROUTE: RouteKey =
    RouteKey { name: "publish-list", method: &lambda_http::http::Method::GET, path: "/douyin/publish/list/" };

/// The route.
pub const ENDPOINT: Endpoint =
    Endpoint::new(ROUTE, |app, request| Box::pin(handle(app, request)), ErrorFields::EnvelopeOnly);

#[derive(Serialize)]
struct List {
    video_list: Vec<Video>,
    /// This project's addition: pass back as `cursor` for the next page; "" at the end.
    next_cursor: String,
}

/// A page of the videos of `user_id` (default: the token's user): the newest
/// 98, or those older than `cursor`.
pub async fn handle(app: &App, request: Request) -> shared::Result<Reply> {
    let params = Params::from_request(&request).await;
    let viewer = edge::viewer(app, &params);
    let author = edge::user_id_or_viewer(&params, viewer)?;
    let listed = shared::videos::works(app, author, viewer, edge::cursor(&params)?).await?;
    Reply::with(&List { video_list: listed.items, next_cursor: listed.next_cursor.unwrap_or_default() })
}
