//! `POST /douyin/comment/action/`: post (1) or delete (2) a comment.

use lambda_http::Request;
use serde::Serialize;
use shared::App;
use shared::domain::{Action, Comment, CommentId, CommentText, VideoId};

use crate::edge::{self, Params, Reply};

#[derive(Serialize)]
struct Commented {
    comment: Comment,
}

/// Posts `comment_text`, or deletes `comment_id` (its author or the video's
/// author only); answers the comment either way. Posts are limited per user
/// (counted in the post's transaction).
pub async fn handle(app: &App, request: Request) -> shared::Result<Reply> {
    let params = Params::from_request(&request).await;
    // A post's transaction confirms the caller; a deletion reads them first.
    let claimed = edge::claimant(app, &params)?;
    let video_id = VideoId::parse("video_id", params.required("video_id")?)?;
    let comment = match Action::parse("action_type", params.required("action_type")?)? {
        Action::Do => {
            let text = CommentText::parse("comment_text", params.required("comment_text")?)?;
            shared::interactions::post_comment(app, claimed, video_id, &text).await?
        }
        Action::Undo => {
            let comment_id = CommentId::parse("comment_id", params.required("comment_id")?)?;
            shared::users::existing_user(app, claimed.id()).await?;
            shared::interactions::delete_comment(app, claimed.id(), video_id, comment_id).await?
        }
    };
    Reply::with(&Commented { comment })
}
