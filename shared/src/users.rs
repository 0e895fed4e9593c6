//! The user use cases: register, log in, read a profile. Plain async functions
//! over [`App`]; they know nothing of HTTP or Lambda.

use crate::app::App;
use crate::auth::token::Token;
use crate::domain::{Password, User, UserId, Username, now_ms};
use crate::error::{Error, Result};
use crate::media::{DEFAULT_AVATAR_KEY, DEFAULT_BACKGROUND_KEY, Media};
use crate::metrics::{self, Metric};
use crate::store::model::{NewProfile, UserItem, UsernameItem};

/// The signature every new user starts with.
pub const DEFAULT_SIGNATURE: &str = "This user has not written anything yet.";

/// A session: the user and a token for them.
#[derive(Debug)]
pub struct Session {
    /// The logged-in user.
    pub user_id: UserId,
    /// Their token.
    pub token: Token,
}

/// Creates a user and logs them in. A taken username is [`Error::Conflict`].
///
/// `counted` counts the attempt against its rate limit: it runs beside the
/// first reads, and nothing is hashed or written unless it passes (its
/// refusal is the answer, whatever the reads found).
pub async fn register(
    app: &App,
    username: &Username,
    password: &Password,
    counted: impl Future<Output = Result<()>>,
) -> Result<Session> {
    // The default avatar and background every profile links to, and the
    // name: a name we already know is taken fails fast, before paying for a
    // hash; the transaction below is what guarantees uniqueness under races.
    let (counted, defaults, credentials) =
        tokio::join!(counted, app.media.ensure_defaults(), app.table.credentials(username));
    counted?;
    defaults?;
    if credentials?.is_some() {
        return Err(Error::Conflict(format!("username {:?} is already taken", username.as_str())));
    }
    let hash = app.passwords.hash(password).await?;
    let id = app.ids.next().await?;
    let profile = NewProfile {
        signature: DEFAULT_SIGNATURE.into(),
        avatar_key: DEFAULT_AVATAR_KEY.into(),
        background_key: DEFAULT_BACKGROUND_KEY.into(),
    };
    let user = UserItem::new(id, username.as_str(), &profile, now_ms());
    app.table.create_user(&user, &UsernameItem::new(username.as_str(), id, hash)).await?;
    tracing::info!(user_id = id, "user registered");
    metrics::count(Metric::Registrations);
    let user_id = UserId(id);
    Ok(Session { user_id, token: app.tokens.issue(user_id)? })
}

/// Logs a user in. Unknown user and wrong password are the same
/// [`Error::BadCredentials`], and take about the same time. `counted` counts
/// the attempt against the login limits beside the read of the credentials;
/// no password is verified unless it passes.
pub async fn login(
    app: &App,
    username: &Username,
    password: &Password,
    counted: impl Future<Output = Result<()>>,
) -> Result<Session> {
    let (counted, credentials) = tokio::join!(counted, app.table.credentials(username));
    counted?;
    let credentials = credentials?;
    let (user_id, hash) = match credentials {
        Some(item) => (Some(UserId(item.user_id)), Some(item.password_hash)),
        None => (None, None),
    };
    if !app.passwords.verify(password, hash).await? {
        return Err(Error::BadCredentials);
    }
    let user_id = user_id.ok_or(Error::BadCredentials)?;
    metrics::count(Metric::Logins);
    Ok(Session { user_id, token: app.tokens.issue(user_id)? })
}

/// The profile of `id` as `viewer` sees it.
pub async fn profile(app: &App, id: UserId, viewer: Option<UserId>) -> Result<User> {
    let (item, is_follow) = app
        .table
        .user_seen_by(id, viewer)
        .await?
        .ok_or_else(|| Error::NotFound(format!("user {id} does not exist")))?;
    user_view(app, item, is_follow).await
}

/// The user behind a verified token; a token for a user that no longer exists
/// is [`Error::Unauthenticated`].
pub async fn existing_user(app: &App, id: UserId) -> Result<UserItem> {
    app.table.user(id).await?.ok_or_else(Error::caller_gone)
}

/// A user a verified token names, not yet known to exist. A use case that
/// takes one confirms the user in its own first read (the same round as the
/// rows it reads anyway) instead of the separate read [`existing_user`]
/// makes; a user that no longer exists is [`Error::Unauthenticated`] there
/// too. Only `edge::claimant` makes one, from a verified token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Claimed(UserId);

impl Claimed {
    /// The subject of a token that verified.
    pub fn of_verified_token(id: UserId) -> Claimed {
        Claimed(id)
    }

    /// Their id (not yet known to exist).
    pub fn id(self) -> UserId {
        self.0
    }
}

/// The contract's User object for a stored profile.
pub async fn user_view(app: &App, item: UserItem, is_follow: bool) -> Result<User> {
    user_view_in(&app.media, item, is_follow).await
}

/// [`user_view`] with its links signed by `media` (before the app exists: a
/// function's init, `crate::videos::read_newest_page`).
pub(crate) async fn user_view_in(media: &Media, item: UserItem, is_follow: bool) -> Result<User> {
    Ok(User {
        id: item.id,
        avatar: media.link(&item.avatar_key).await?,
        background_image: media.link(&item.background_key).await?,
        name: item.name,
        follow_count: item.follow_count,
        follower_count: item.follower_count,
        is_follow,
        signature: item.signature,
        total_favorited: item.total_favorited,
        work_count: item.work_count,
        favorite_count: item.favorite_count,
    })
}
