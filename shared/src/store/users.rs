//! Users: registration (a transaction of the username guard and the profile),
//! credentials by username, profiles by id.

use super::model::{self, Key, UserItem, UsernameItem, VideoItem};
use super::{Table, TransactOutcome, from_item};
use crate::domain::{UserId, Username};
use crate::error::{Error, Result};

impl Table {
    /// Creates a user and claims its username in one transaction. A taken
    /// username is [`Error::Conflict`] and writes nothing.
    pub async fn create_user(&self, profile: &UserItem, credentials: &UsernameItem) -> Result<()> {
        let actions = vec![self.put_new(credentials)?, self.put_new(profile)?];
        match self.transact(actions, "create user").await? {
            TransactOutcome::Done => Ok(()),
            TransactOutcome::ConditionFailed(failed) if failed.contains(&0) => {
                Err(Error::Conflict(format!("username {:?} is already taken", profile.name)))
            }
            TransactOutcome::ConditionFailed(_) => {
                Err(Error::Internal(anyhow::anyhow!("create user: id {} already in use", profile.id)))
            }
        }
    }

    /// The user id and password hash registered under `name`.
    pub async fn credentials(&self, name: &Username) -> Result<Option<UsernameItem>> {
        self.get(&model::username_key(name.as_str()), "get credentials").await
    }

    /// A user's profile.
    pub async fn user(&self, id: UserId) -> Result<Option<UserItem>> {
        self.get(&model::user_key(id.0), "get user").await
    }

    /// A user's profile and a video, in one request.
    pub async fn user_and_video(&self, id: UserId, video: u64) -> Result<(Option<UserItem>, Option<VideoItem>)> {
        let (user_key, video_key) = (model::user_key(id.0), model::video_key(video));
        let mut found = self.batch_get(&[user_key.clone(), video_key.clone()], "get user and video").await?;
        let user = found.remove(&user_key).map(from_item).transpose()?;
        Ok((user, found.remove(&video_key).map(from_item).transpose()?))
    }

    /// A user's profile and whether `viewer` follows them, in one request.
    pub async fn user_seen_by(&self, id: UserId, viewer: Option<UserId>) -> Result<Option<(UserItem, bool)>> {
        let mut keys = vec![model::user_key(id.0)];
        let edge = viewer.filter(|viewer| *viewer != id).map(|viewer| model::follow_key(viewer.0, id.0));
        keys.extend(edge.clone());
        let mut found = self.batch_get(&keys, "get user and follow edge").await?;
        let Some(item) = found.remove(&model::user_key(id.0)) else {
            return Ok(None);
        };
        let follows = edge.is_some_and(|edge: Key| found.contains_key(&edge));
        Ok(Some((from_item(item)?, follows)))
    }
}
