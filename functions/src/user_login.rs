//! `POST /douyin/user/login/`: exchange a username and password for a token.

use lambda_http::Request;
use serde::Serialize;
use shared::domain::{Password, Username};
use shared::limits::Scope;
use shared::{App, Error};

use crate::edge::{self, Params, Reply};

#[derive(Serialize)]
struct LoggedIn {
    user_id: u64,
    token: String,
}

/// Logs in; an unknown user and a wrong password are the same 10006. Attempts
/// are limited per source address and per username.
pub async fn handle(app: &App, request: Request) -> shared::Result<Reply> {
    let params = Params::from_request(&request).await;
    let username = Username::parse("username", params.required("username")?)?;
    let password = params.required("password")?;
    // Every attempt counts, whatever its outcome: per address first, so that
    // one address cannot also spend a username's allowance once refused.
    let counted = async {
        edge::client::limit_address(app, &request, Scope::LoginIp).await?;
        app.limiter.hit(Scope::LoginUser, username.as_str()).await
    };
    // A password that could never have been registered cannot match: answer
    // like a wrong one (once counted) rather than describing the rules to a
    // guesser.
    let Ok(password) = Password::parse("password", password) else {
        counted.await?;
        return Err(Error::BadCredentials);
    };
    let session = shared::users::login(app, &username, &password, counted).await?;
    crate::invocation::record_user(session.user_id);
    Reply::with(&LoggedIn { user_id: session.user_id.0, token: session.token.0 })
}
