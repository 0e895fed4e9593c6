//! `GET /douyin/publish/list/`: a user's videos, newest first, for guests too.

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
}

/// The newest 30 videos of `user_id` (default: the token's user).
pub async fn handle(app: &App, request: Request) -> shared::Result<Reply> {
    let params = Params::from_request(&request).await;
    let viewer = edge::viewer(app, &params);
    let author = edge::user_id_or_viewer(&params, viewer)?;
    let video_list = shared::videos::works(app, author, viewer).await?;
    Reply::with(&List { video_list })
}
