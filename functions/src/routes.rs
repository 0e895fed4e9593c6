//! The route table: every endpoint of the contract, with its method, path and
//! handler. The local server and the tests route through [`route`]. The
//! Lambda fallback routes through [`route_kind`], over [`ROUTE_KEYS`], which
//! holds no handlers: a binary that references a handler links all of its
//! code, so the fallback would otherwise carry every endpoint (the video
//! decoder and all SDK clients: 6.1 MB zipped instead of ~1.5 MB).

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

/// Where an endpoint is served, without its handler.
#[derive(Clone, Copy, Debug)]
pub struct RouteKey {
    /// The endpoint's word.
    pub name: &'static str,
    /// Its method.
    pub method: &'static Method,
    /// Its path, with the trailing slash.
    pub path: &'static str,
}

/// Every endpoint's [`RouteKey`], in the order of [`ENDPOINTS`] (a test holds
/// the two tables to each other).
pub static ROUTE_KEYS: &[RouteKey] = &[
    crate::feed::ROUTE,
    crate::user_register::ROUTE,
    crate::user_login::ROUTE,
    crate::user_info::ROUTE,
    crate::publish_action::ROUTE,
    crate::publish_list::ROUTE,
    crate::publish_upload::ROUTE,
    crate::publish_status::ROUTE,
    crate::favorite_action::ROUTE,
    crate::favorite_list::ROUTE,
    crate::comment_action::ROUTE,
    crate::comment_list::ROUTE,
    crate::relation_action::ROUTE,
    crate::relation_follow_list::ROUTE,
    crate::relation_follower_list::ROUTE,
    crate::relation_friend_list::ROUTE,
    crate::message_action::ROUTE,
    crate::message_chat::ROUTE,
];

/// One endpoint of the contract.
pub struct Endpoint {
    /// The endpoint's word, as in its bin, module, event and SAM id.
    pub name: &'static str,
    /// Its method.
    pub method: &'static Method,
    /// Its path, with the trailing slash.
    pub path: &'static str,
    /// Its handler.
    pub handler: Handler,
    /// Extra keys of its error bodies.
    pub error_fields: ErrorFields,
}

impl Endpoint {
    /// The endpoint served at `route`.
    pub const fn new(route: RouteKey, handler: Handler, error_fields: ErrorFields) -> Endpoint {
        Endpoint { name: route.name, method: route.method, path: route.path, handler, error_fields }
    }
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
    match route_kind(method, path) {
        RouteKind::Endpoint(index) => Route::Endpoint(ENDPOINTS[index]),
        RouteKind::WrongMethod => Route::WrongMethod,
        RouteKind::NotFound => Route::NotFound,
    }
}

/// Where a request goes, by position in [`ROUTE_KEYS`].
#[derive(Debug, PartialEq, Eq)]
pub enum RouteKind {
    /// To the endpoint at this index.
    Endpoint(usize),
    /// A known path with another method (405).
    WrongMethod,
    /// No such path (404).
    NotFound,
}

/// [`route`] without the handlers (see the module's documentation).
pub fn route_kind(method: &Method, path: &str) -> RouteKind {
    let path = path.strip_suffix('/').unwrap_or(path);
    let mut wrong_method = false;
    for (index, key) in ROUTE_KEYS.iter().enumerate() {
        if key.path.strip_suffix('/').unwrap_or(key.path) == path {
            if key.method == method {
                return RouteKind::Endpoint(index);
            }
            wrong_method = true;
        }
    }
    if wrong_method { RouteKind::WrongMethod } else { RouteKind::NotFound }
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
    fn the_route_keys_are_the_endpoints_without_handlers() {
        let keys: Vec<_> = ROUTE_KEYS.iter().map(|k| (k.name, k.method, k.path)).collect();
        let endpoints: Vec<_> = ENDPOINTS.iter().map(|e| (e.name, e.method, e.path)).collect();
        assert_eq!(keys, endpoints);
    }

    #[test]
    fn every_endpoint_path_is_under_douyin_and_ends_with_a_slash() {
        for endpoint in ENDPOINTS {
            assert!(endpoint.path.starts_with("/douyin/") && endpoint.path.ends_with('/'), "{endpoint:?}");
        }
    }
}
