//! `GET /douyin/relation/follow/list/`: whom a user follows, newest relation first.

use lambda_http::Request;
use serde::Serialize;
use shared::App;
use shared::domain::User;
use shared::interactions::Relation;

use crate::edge::{self, Params, Reply};
use crate::routes::{Endpoint, ErrorFields};

/// The route.
pub const ENDPOINT: Endpoint = Endpoint {
    name: "relation-follow-list",
    method: lambda_http::http::Method::GET,
    path: "/douyin/relation/follow/list/",
    handler: |app, request| Box::pin(handle(app, request)),
    error_fields: ErrorFields::EnvelopeOnly,
};

#[derive(Serialize)]
struct List {
    user_list: Vec<User>,
    /// This project's addition: pass back as `cursor` for the next page; "" at the end.
    next_cursor: String,
}

/// Whom `user_id` (default: the caller) follows.
pub async fn handle(app: &App, request: Request) -> shared::Result<Reply> {
    let params = Params::from_request(&request).await;
    let viewer = edge::viewer(app, &params);
    let user = edge::user_id_or_viewer(&params, viewer)?;
    let listed =
        shared::interactions::relation_list(app, user, Relation::Following, viewer, edge::cursor(&params)?).await?;
    Reply::with(&List { user_list: listed.items, next_cursor: listed.next_cursor.unwrap_or_default() })
}
