//! `POST /douyin/publish/upload/` (added by this project): starts a presigned
//! upload for large files and modern clients. The client PUTs the file to the
//! returned URL with the returned headers; the ingest publishes it; `GET
//! /douyin/publish/status/` tells when it is live or why it was refused.

use std::collections::BTreeMap;

use lambda_http::Request;
use serde::Serialize;
use shared::App;
use shared::domain::VideoTitle;

use crate::edge::{self, Params, Reply};

#[derive(Serialize)]
struct Ticket {
    video_id: u64,
    upload_url: String,
    upload_method: &'static str,
    upload_headers: BTreeMap<String, String>,
    expires_in: u64,
}

/// Signs a PUT for `content_type` and exactly `content_length` bytes.
/// Tickets are limited per user.
pub async fn handle(app: &App, request: Request) -> shared::Result<Reply> {
    let params = Params::from_request(&request).await;
    // Confirmed, and the ticket counted, by the upload record's transaction.
    let author = edge::claimant(app, &params)?;
    let title = VideoTitle::parse("title", params.required("title")?)?;
    let content_type = params.required("content_type")?;
    let content_length = params
        .required("content_length")?
        .trim()
        .parse::<u64>()
        .map_err(|_| shared::Error::invalid("content_length", "must be the file's size in bytes"))?;
    let ticket = shared::videos::start_upload(app, author, &title, content_type, content_length).await?;
    Reply::with(&Ticket {
        video_id: ticket.video_id,
        upload_url: ticket.url,
        upload_method: "PUT",
        upload_headers: ticket.headers.into_iter().collect(),
        expires_in: ticket.expires_in,
    })
}
