//! `GET /douyin/relation/follower/list/`: who follows a user, newest relation first.

use lambda_http::Request;
use shared::App;
use shared::interactions::Relation;

use crate::edge::{self, Reply};

/// Who follows `user_id` (default: the caller).
pub async fn handle(app: &App, request: Request) -> shared::Result<Reply> {
    edge::user_list(app, &request, Relation::Followers).await
}
