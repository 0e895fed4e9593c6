//! Every Lambda function of douyin-serverless, and the local server.
//!
//! One module per endpoint (`user_register` for `/douyin/user/register/`, bin
//! `user-register`, SAM `UserRegisterFunction`, `events/user-register.json`);
//! each is a plain async `handle(&App, Request)` that reads: parse parameters,
//! authenticate, call the domain in `shared`, build the reply.
//!
//! - [`edge`]: parameters, envelope, error mapping, authentication at the edge.
//! - [`invocation`]: the span and the metrics line of every invocation.
//! - [`routes`]: the route table.
//! - [`lambda`]: the runner every bin calls.
//! - [`fallback`]: `route-fallback`, behind API Gateway's `$default` route.
//! - [`local`]: the `douyin-local` server (feature `local`).

pub mod edge;
pub mod fallback;
pub mod invocation;
pub mod lambda;
#[cfg(feature = "local")]
pub mod local;
pub mod routes;

pub mod comment_action;
pub mod comment_list;
pub mod favorite_action;
pub mod favorite_list;
pub mod feed;
pub mod message_action;
pub mod message_chat;
pub mod publish_action;
pub mod publish_list;
pub mod publish_status;
pub mod publish_upload;
pub mod relation_action;
pub mod relation_follow_list;
pub mod relation_follower_list;
pub mod relation_friend_list;
pub mod user_info;
pub mod user_login;
pub mod user_register;
pub mod video_ingest;
