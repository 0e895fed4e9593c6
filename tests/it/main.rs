//! The integration tests: one binary, one module per feature. They run on the
//! embedded engines by default, and on DynamoDB Local and moto with the
//! `fidelity` feature (tests/run runs both).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod auth;
mod bola;
mod chat;
mod comment;
mod deadline;
mod events;
mod faults;
mod favorite;
mod feed;
mod limits;
mod local_server;
mod local_server_faults;
mod local_server_http;
mod local_server_process;
mod log_secrecy;
mod media;
mod observability;
mod openapi;
mod paging;
mod phones;
mod publish;
mod queue;
mod rate_limits;
mod relation;
mod requests;
mod routing;
mod store;
mod template;
mod upload;
mod upload_integrity;
mod user_info;
mod user_login;
mod user_register;
mod warmup;
