//! `GET /douyin/relation/follow/list/`: whom a user follows, newest relation first.

use lambda_http::Request;
use shared::App;
use shared::interactions::Relation;

use crate::edge::{self, Reply};
use crate::routes::{Endpoint, ErrorFields, RouteKey};

/// Where this endpoint is served (no handler: the fallback routes on this alone).
pub const ROUTE: RouteKey = RouteKey {
    name: "relation-follow-list",
    method: &lambda_http::http::Method::GET,
    path: "/douyin/relation/follow/list/",
};

/// The route.
pub const ENDPOINT: Endpoint =
    Endpoint::new(ROUTE, |app, request| Box::pin(handle(app, request)), ErrorFields::EnvelopeOnly);

/// Whom `user_id` (default: the caller) follows.
pub async fn handle(app: &App, request: Request) -> shared::Result<Reply> {
    edge::user_list(app, &request, Relation::Following).await
}
