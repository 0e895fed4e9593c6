//! The route table: every endpoint of the contract declared once, in
//! [`endpoints!`] below, with its word, method, path and (by its module's
//! name) its handler. Everything else is derived from that one list or held to
//! it by a test:
//!
//! - one `static` [`Endpoint`] per endpoint, named like its module, which its
//!   bin runs (`functions::routes::user_register`);
//! - [`ENDPOINTS`], which the local server and the tests route through
//!   ([`route`]);
//! - [`ROUTE_KEYS`], the same without handlers, which the Lambda fallback
//!   routes through ([`route_kind`]): a binary that references a handler links
//!   all of its code, so the fallback would otherwise carry every endpoint (the
//!   video decoder and all SDK clients: 6.1 MB zipped instead of ~1.5 MB);
//! - held by tests: the bins and `[package.metadata.lambda.watch.router]` in
//!   `functions/Cargo.toml` (`tests/it/routing.rs`), the functions, routes and
//!   fallback map of `template.yaml` (`tests/it/template.rs`), the OpenAPI
//!   document (`tests/it/openapi.rs`).

use lambda_http::http::Method;

use crate::edge::{Endpoint, ErrorFields};

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

/// Declares the endpoints: `module = "word": METHOD "path" [, ErrorFields];`.
/// The handler is `crate::module::handle`; the word is the bin's name and the
/// module's with `-` for `_` (a test holds the two to each other).
macro_rules! endpoints {
    ($($module:ident = $word:literal: $method:ident $path:literal $(, $fields:ident)?;)*) => {
        $(
            #[doc = concat!("`", stringify!($method), " ", $path, "`: [`crate::", stringify!($module), "::handle`].")]
            #[allow(non_upper_case_globals)]
            pub static $module: Endpoint = Endpoint {
                name: $word,
                method: &Method::$method,
                path: $path,
                handler: |app, request| Box::pin(crate::$module::handle(app, request)),
                error_fields: endpoints!(@fields $($fields)?),
            };
        )*

        /// Every endpoint served.
        pub static ENDPOINTS: &[&Endpoint] = &[$(&$module),*];

        /// Every endpoint's [`RouteKey`], in the order of [`ENDPOINTS`], without
        /// handlers (see the module's documentation).
        pub static ROUTE_KEYS: &[RouteKey] =
            &[$(RouteKey { name: $word, method: &Method::$method, path: $path }),*];

        /// Each endpoint's module name and word, for the test that holds them to each other.
        #[cfg(test)]
        static MODULES: &[(&str, &str)] = &[$((stringify!($module), $word)),*];
    };
    (@fields) => { ErrorFields::EnvelopeOnly };
    (@fields $fields:ident) => { ErrorFields::$fields };
}

endpoints! {
    feed = "feed": GET "/douyin/feed/";
    user_register = "user-register": POST "/douyin/user/register/", Session;
    user_login = "user-login": POST "/douyin/user/login/", Session;
    user_info = "user-info": GET "/douyin/user/";
    publish_action = "publish-action": POST "/douyin/publish/action/";
    publish_list = "publish-list": GET "/douyin/publish/list/";
    publish_upload = "publish-upload": POST "/douyin/publish/upload/";
    publish_status = "publish-status": GET "/douyin/publish/status/";
    favorite_action = "favorite-action": POST "/douyin/favorite/action/";
    favorite_list = "favorite-list": GET "/douyin/favorite/list/";
    comment_action = "comment-action": POST "/douyin/comment/action/";
    comment_list = "comment-list": GET "/douyin/comment/list/";
    relation_action = "relation-action": POST "/douyin/relation/action/";
    relation_follow_list = "relation-follow-list": GET "/douyin/relation/follow/list/";
    relation_follower_list = "relation-follower-list": GET "/douyin/relation/follower/list/";
    relation_friend_list = "relation-friend-list": GET "/douyin/relation/friend/list/";
    message_action = "message-action": POST "/douyin/message/action/";
    message_chat = "message-chat": GET "/douyin/message/chat/";
}

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
    fn each_word_is_its_module_name_with_dashes() {
        for (module, word) in MODULES {
            assert_eq!(module.replace('_', "-"), *word);
        }
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
