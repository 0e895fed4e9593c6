//! `POST /douyin/user/register/`: create a user and log them in.

use lambda_http::Request;
use serde::Serialize;
use shared::App;
use shared::domain::{Password, Username};
use shared::limits::Scope;

use crate::edge::{self, Params, Reply};
use crate::routes::{Endpoint, ErrorFields, RouteKey};

/// Where this endpoint is served (no handler: the fallback routes on this alone).
pub const ROUTE: RouteKey =
    RouteKey { name: "user-register", method: &lambda_http::http::Method::POST, path: "/douyin/user/register/" };

/// The route.
pub const ENDPOINT: Endpoint =
    Endpoint::new(ROUTE, |app, request| Box::pin(handle(app, request)), ErrorFields::Session);

#[derive(Serialize)]
struct Registered {
    user_id: u64,
    token: String,
}

/// Registers `username` with `password`; answers the new user's id and a token.
/// Registrations are limited per source address.
pub async fn handle(app: &App, request: Request) -> shared::Result<Reply> {
    let params = Params::from_request(&request).await;
    let username = Username::parse("username", params.required("username")?)?;
    let password = Password::parse("password", params.required("password")?)?;
    edge::client::limit_address(app, &request, Scope::RegisterIp).await?;
    app.media.ensure_defaults().await?;
    let session = shared::users::register(app, &username, &password).await?;
    crate::invocation::record_user(session.user_id);
    Reply::with(&Registered { user_id: session.user_id.0, token: session.token.0 })
}
