//! `POST /douyin/user/register/`: create a user and log them in.

use lambda_http::Request;
use serde::Serialize;
use shared::App;
use shared::domain::{Password, Username};
use shared::limits::Scope;

use crate::edge::{self, Params, Reply};

#[derive(Serialize)]
struct Registered {
    user_id: u64,
    token: String,
}

/// Registers `username` with `password`; answers the new user's id and a token.
/// Registrations are limited per source address (counted beside the first
/// reads, before the password's hash).
pub async fn handle(app: &App, request: Request) -> shared::Result<Reply> {
    let params = Params::from_request(&request).await;
    let username = Username::parse("username", params.required("username")?)?;
    let password = Password::parse("password", params.required("password")?)?;
    let counted = edge::client::limit_address(app, &request, Scope::RegisterIp);
    let session = shared::users::register(app, &username, &password, counted).await?;
    crate::invocation::record_user(session.user_id);
    Reply::with(&Registered { user_id: session.user_id.0, token: session.token.0 })
}
