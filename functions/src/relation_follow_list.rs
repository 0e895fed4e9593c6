//! `GET /douyin/relation/follow/list/`: whom a user follows, newest relation first.

use lambda_http::Request;
use shared::App;
use shared::interactions::Relation;

use crate::edge::{self, Reply};

/// Whom `user_id` (default: the caller) follows.
pub async fn handle(app: &App, request: Request) -> shared::Result<Reply> {
    edge::user_list(app, &request, Relation::Following).await
}
