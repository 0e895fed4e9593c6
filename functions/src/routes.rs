//! The route table: every endpoint of the contract, with its method, path and
//! handler. The local server, the Lambda fallback and the tests all route
//! through [`route`].

use futures_util::future::BoxFuture;
use lambda_http::Request;
use lambda_http::http::Method;
use shared::App;

use crate::edge::Reply;

/// A handler: a plain async function of the app and the request.
pub type Handler = for<'a> fn(&'a App, Request) -> BoxFuture<'a, shared::Result<Reply>>;

/// What an error body carries beside the envelope.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorFields {
    /// Only `status_code` and `status_msg`.
    EnvelopeOnly,
    /// Also `user_id: 0` and `token: ""` (register and login).
    Session,
}

/// One endpoint of the contract.
pub struct Endpoint {
    /// The endpoint's word, as in its bin, module, event and SAM id.
    pub name: &'static str,
    /// Its method.
    pub method: Method,
    /// Its path, with the trailing slash.
    pub path: &'static str,
    /// Its handler.
    pub handler: Handler,
    /// Extra keys of its error bodies.
    pub error_fields: ErrorFields,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} ({})", self.method, self.path, self.name)
    }
}

/// Every endpoint served.
pub static ENDPOINTS: &[&Endpoint] = &[
    &crate::feed::ENDPOINT,
    &crate::user_register::ENDPOINT,
    &crate::user_login::ENDPOINT,
    &crate::user_info::ENDPOINT,
    &crate::publish_action::ENDPOINT,
    &crate::publish_list::ENDPOINT,
    &crate::publish_upload::ENDPOINT,
    &crate::publish_status::ENDPOINT,
    &crate::favorite_action::ENDPOINT,
    &crate::favorite_list::ENDPOINT,
    &crate::comment_action::ENDPOINT,
    &crate::comment_list::ENDPOINT,
    &crate::relation_action::ENDPOINT,
    &crate::relation_follow_list::ENDPOINT,
    &crate::relation_follower_list::ENDPOINT,
    &crate::relation_friend_list::ENDPOINT,
    &crate::message_action::ENDPOINT,
    &crate::message_chat::ENDPOINT,
];

/// Where a request goes.
#[derive(Debug)]
pub enum Route {
    /// To this endpoint.
    Endpoint(&'static Endpoint),
    /// A known path with another method (405).
    WrongMethod,
    /// No such path (404).
    NotFound,
}

/// Routes `method` and `path`; each path is served with and without its
/// trailing slash.
pub fn route(method: &Method, path: &str) -> Route {
    let path = path.strip_suffix('/').unwrap_or(path);
    let mut wrong_method = false;
    for endpoint in ENDPOINTS {
        if endpoint.path.strip_suffix('/').unwrap_or(endpoint.path) == path {
            if endpoint.method == method {
                return Route::Endpoint(endpoint);
            }
            wrong_method = true;
        }
    }
    if wrong_method { Route::WrongMethod } else { Route::NotFound }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_route_with_and_without_trailing_slash() {
        assert!(
            matches!(route(&Method::POST, "/douyin/user/register/"), Route::Endpoint(e) if e.name == "user-register")
        );
        assert!(
            matches!(route(&Method::POST, "/douyin/user/register"), Route::Endpoint(e) if e.name == "user-register")
        );
        assert!(matches!(route(&Method::GET, "/douyin/user"), Route::Endpoint(e) if e.name == "user-info"));
    }

    #[test]
    fn wrong_method_and_unknown_path_are_told_apart() {
        assert!(matches!(route(&Method::GET, "/douyin/user/register/"), Route::WrongMethod));
        assert!(matches!(route(&Method::GET, "/douyin/nothing/"), Route::NotFound));
    }

    #[test]
    fn every_endpoint_path_is_under_douyin_and_ends_with_a_slash() {
        for endpoint in ENDPOINTS {
            assert!(endpoint.path.starts_with("/douyin/") && endpoint.path.ends_with('/'), "{endpoint:?}");
        }
    }
}
