//! Domain values parsed at the edge ("parse, don't validate"): once a
//! [`Username`] or a [`UserId`] exists it is valid. Each parser takes the name of
//! the field it reads so that its error names it.
//!
//! The limits are the contract's (`douyin-api.md` §1, text limits).

use serde::Serialize;

use crate::error::{Error, Result};

/// Largest id or count a JavaScript or float64 client reads exactly (2^53 − 1).
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// The id of a user: a positive integer below 2^53.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct UserId(pub u64);

impl UserId {
    /// Parses the decimal value of parameter `field`.
    pub fn parse(field: &str, raw: &str) -> Result<UserId> {
        parse_id(field, raw).map(UserId)
    }
}

impl std::fmt::Display for UserId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Now, in milliseconds since the epoch: the time every item records.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or_default()
}

/// Parses a positive integer id below 2^53.
pub fn parse_id(field: &str, raw: &str) -> Result<u64> {
    let value: u64 = raw.trim().parse().map_err(|_| Error::invalid(field, "must be a positive whole number"))?;
    if value == 0 || value > MAX_SAFE_INTEGER {
        return Err(Error::invalid(field, "must be between 1 and 2^53 - 1"));
    }
    Ok(value)
}

/// A username: 1–32 characters after trimming, no white space or control
/// characters inside. Case-sensitive.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Username(String);

impl Username {
    /// Most characters in a username.
    pub const MAX_CHARS: usize = 32;

    /// Parses parameter `field`.
    pub fn parse(field: &str, raw: &str) -> Result<Username> {
        let name = trimmed_text(field, raw, Self::MAX_CHARS)?;
        if name.chars().any(char::is_whitespace) {
            return Err(Error::invalid(field, "must not contain spaces or control characters"));
        }
        Ok(Username(name.to_owned()))
    }

    /// The name as stored and shown.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Text as the contract counts it: trimmed, 1 to `max_chars` Unicode
/// characters, no control characters.
fn trimmed_text<'a>(field: &str, raw: &'a str, max_chars: usize) -> Result<&'a str> {
    let text = raw.trim();
    let chars = text.chars().count();
    if chars == 0 {
        return Err(Error::invalid(field, "must not be empty"));
    }
    if chars > max_chars {
        return Err(Error::invalid(field, format!("must be at most {max_chars} characters")));
    }
    if text.chars().any(char::is_control) {
        return Err(Error::invalid(field, "must not contain control characters"));
    }
    Ok(text)
}

/// A password: 6–32 bytes, never trimmed. Its `Debug` hides it, so it cannot
/// leak into a log by accident.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    /// Fewest bytes in a password.
    pub const MIN_BYTES: usize = 6;
    /// Most bytes in a password.
    pub const MAX_BYTES: usize = 32;

    /// Parses parameter `field`.
    pub fn parse(field: &str, raw: &str) -> Result<Password> {
        if raw.len() < Self::MIN_BYTES || raw.len() > Self::MAX_BYTES {
            return Err(Error::invalid(
                field,
                format!("must be {} to {} bytes long", Self::MIN_BYTES, Self::MAX_BYTES),
            ));
        }
        if raw.chars().any(char::is_control) {
            return Err(Error::invalid(field, "must not contain control characters"));
        }
        Ok(Password(raw.to_owned()))
    }

    /// The secret itself, for the hasher only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// A video title: 1–100 characters after trimming.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VideoTitle(String);

impl VideoTitle {
    /// Most characters in a title.
    pub const MAX_CHARS: usize = 100;

    /// Parses parameter `field`.
    pub fn parse(field: &str, raw: &str) -> Result<VideoTitle> {
        Ok(VideoTitle(trimmed_text(field, raw, Self::MAX_CHARS)?.to_owned()))
    }

    /// The title as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The feed's `latest_time` as a cursor in milliseconds: the page holds
/// videos published strictly before it. Absent, 0, negative or in the future
/// means now (including this very millisecond); a value below 10^11 is taken
/// as seconds (the documentation says seconds; the stock client sends ms).
pub fn feed_cursor(latest_time: Option<i64>, now_ms: u64) -> u64 {
    let now = now_ms + 1;
    let Some(raw) = latest_time.filter(|t| *t > 0) else {
        return now;
    };
    let ms = if raw < 100_000_000_000 { raw.saturating_mul(1000) } else { raw };
    u64::try_from(ms).unwrap_or(now).min(now)
}

/// The contract's Video object, as seen by one viewer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Video {
    /// The video id.
    pub id: u64,
    /// Its author.
    pub author: User,
    /// Absolute URL of the video file.
    pub play_url: String,
    /// Absolute URL of the JPEG cover.
    pub cover_url: String,
    /// Likes.
    pub favorite_count: u64,
    /// Comments.
    pub comment_count: u64,
    /// Whether the viewer likes it.
    pub is_favorite: bool,
    /// The title.
    pub title: String,
}

/// A list cursor: `next_cursor` of the previous page, `<16 digits>#<16 digits>`.
pub fn parse_cursor(field: &str, raw: &str) -> Result<String> {
    let raw = raw.trim();
    let valid = raw.len() == 33
        && raw.as_bytes()[16] == b'#'
        && raw.bytes().enumerate().all(|(i, b)| i == 16 || b.is_ascii_digit());
    if !valid {
        return Err(Error::invalid(field, "must be the next_cursor of a previous page"));
    }
    Ok(raw.to_owned())
}

/// A comment's text: 1–500 characters after trimming.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommentText(String);

impl CommentText {
    /// Most characters in a comment.
    pub const MAX_CHARS: usize = 500;

    /// Parses parameter `field`.
    pub fn parse(field: &str, raw: &str) -> Result<CommentText> {
        Ok(CommentText(trimmed_text(field, raw, Self::MAX_CHARS)?.to_owned()))
    }

    /// The text as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A chat message's text: 1–500 characters after trimming.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageText(String);

impl MessageText {
    /// Most characters in a message.
    pub const MAX_CHARS: usize = 500;

    /// Parses parameter `field`.
    pub fn parse(field: &str, raw: &str) -> Result<MessageText> {
        Ok(MessageText(trimmed_text(field, raw, Self::MAX_CHARS)?.to_owned()))
    }

    /// The text as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The contract's Message object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Message {
    /// The message id.
    pub id: u64,
    /// Recipient.
    pub to_user_id: u64,
    /// Sender.
    pub from_user_id: u64,
    /// The text.
    pub content: String,
    /// ms since the epoch.
    pub create_time: u64,
}

/// The contract's Comment object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Comment {
    /// The comment id.
    pub id: u64,
    /// Its author.
    pub user: User,
    /// The text.
    pub content: String,
    /// `MM-DD` in the configured time zone.
    pub create_date: String,
}

/// The contract's User object (`douyin-api.md` §2), as seen by one viewer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct User {
    /// The user's id.
    pub id: u64,
    /// The username.
    pub name: String,
    /// How many users this user follows.
    pub follow_count: u64,
    /// How many users follow this user.
    pub follower_count: u64,
    /// Whether the viewer follows this user.
    pub is_follow: bool,
    /// Absolute URL of the avatar.
    pub avatar: String,
    /// Absolute URL of the profile background.
    pub background_image: String,
    /// The profile text.
    pub signature: String,
    /// Likes received on the user's videos.
    pub total_favorited: u64,
    /// How many videos the user published.
    pub work_count: u64,
    /// How many videos the user liked.
    pub favorite_count: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn username_is_trimmed_and_counted_in_characters() {
        assert_eq!(Username::parse("username", "  alice ").unwrap().as_str(), "alice");
        let thirty_two_han = "字".repeat(32);
        assert!(Username::parse("username", &thirty_two_han).is_ok());
        let error = Username::parse("username", &"字".repeat(33)).unwrap_err();
        assert!(error.to_string().starts_with("username:"));
    }

    #[test]
    fn username_rejects_inner_space_control_and_empty() {
        for bad in ["", "   ", "a b", "a\u{7}b", "a\tb"] {
            assert_eq!(Username::parse("username", bad).unwrap_err().status_code(), 10001, "{bad:?}");
        }
    }

    #[test]
    fn password_is_counted_in_bytes_and_never_trimmed() {
        assert!(Password::parse("password", "12345").is_err());
        assert!(Password::parse("password", " 2345 ").is_ok());
        assert!(Password::parse("password", &"x".repeat(33)).is_err());
        // 11 three-byte characters are 33 bytes.
        assert!(Password::parse("password", &"密".repeat(11)).is_err());
        assert_eq!(format!("{:?}", Password::parse("p", "hunter22").unwrap()), "Password(<redacted>)");
    }

    #[test]
    fn feed_cursor_takes_ms_seconds_zero_and_future() {
        let now = 1_800_000_000_000;
        assert_eq!(feed_cursor(None, now), now + 1);
        assert_eq!(feed_cursor(Some(0), now), now + 1);
        assert_eq!(feed_cursor(Some(-5), now), now + 1);
        assert_eq!(feed_cursor(Some(1_700_000_000), now), 1_700_000_000_000);
        assert_eq!(feed_cursor(Some(1_700_000_000_123), now), 1_700_000_000_123);
        assert_eq!(feed_cursor(Some(i64::MAX), now), now + 1);
    }

    #[test]
    fn title_is_trimmed_and_limited_to_100_characters() {
        assert_eq!(VideoTitle::parse("title", "  hi ").unwrap().as_str(), "hi");
        assert!(VideoTitle::parse("title", &"视".repeat(100)).is_ok());
        assert!(VideoTitle::parse("title", &"视".repeat(101)).is_err());
        assert!(VideoTitle::parse("title", "   ").is_err());
    }

    #[test]
    fn ids_are_positive_and_below_two_to_the_53() {
        assert_eq!(UserId::parse("user_id", " 42").unwrap(), UserId(42));
        for bad in ["0", "-1", "abc", "", "9007199254740992", "1.5"] {
            let error = UserId::parse("user_id", bad).unwrap_err();
            assert!(error.to_string().starts_with("user_id:"), "{bad:?}");
        }
        assert!(UserId::parse("user_id", "9007199254740991").is_ok());
    }

    /// Property tests: every parser takes any string without panicking, and accepts exactly the
    /// values its documentation describes (a reference model written from the doc comments).
    mod props {
        use proptest::prelude::*;

        use super::*;

        /// Strings rich in what the parsers care about: white space, control characters, digits,
        /// multi-byte characters, `#`; up to 600 characters (past every limit).
        fn text() -> impl Strategy<Value = String> {
            let interesting = prop_oneof![
                4 => any::<char>(),
                2 => prop::sample::select(vec![' ', '\t', '\n', '\r', '\u{7}', '\u{85}', '\u{a0}', '\u{3000}', '#']),
                2 => prop::char::range('a', 'z'),
                2 => prop::char::range('0', '9'),
                1 => prop::sample::select(vec!['字', '密', '😀', '\u{301}']),
            ];
            prop::collection::vec(interesting, 0..600).prop_map(String::from_iter)
        }

        /// What a trimmed text parser documents: 1 to `max` characters after trimming, no control.
        fn text_ok(raw: &str, max: usize) -> bool {
            let text = raw.trim();
            (1..=max).contains(&text.chars().count()) && !text.chars().any(char::is_control)
        }

        fn refused<T: std::fmt::Debug>(result: Result<T>, field: &str) -> std::result::Result<(), TestCaseError> {
            let error = result.unwrap_err();
            prop_assert_eq!(error.status_code(), 10001);
            prop_assert!(error.to_string().starts_with(&format!("{field}: ")), "{}", error);
            Ok(())
        }

        proptest! {
            #![proptest_config(crate::proptest_config(256))]

            #[test]
            fn username_accepts_exactly_the_documented_names(raw in text()) {
                let model = text_ok(&raw, Username::MAX_CHARS) && !raw.trim().chars().any(char::is_whitespace);
                match Username::parse("username", &raw) {
                    Ok(name) => {
                        prop_assert!(model, "accepted {:?}", raw);
                        prop_assert_eq!(name.as_str(), raw.trim());
                    }
                    result => {
                        prop_assert!(!model, "refused {:?}", raw);
                        refused(result, "username")?;
                    }
                }
            }

            #[test]
            fn password_accepts_exactly_6_to_32_bytes_without_control(raw in text()) {
                let model = (6..=32).contains(&raw.len()) && !raw.chars().any(char::is_control);
                match Password::parse("password", &raw) {
                    Ok(password) => {
                        prop_assert!(model, "accepted {:?}", raw);
                        prop_assert_eq!(password.expose(), raw.as_str());
                        prop_assert_eq!(format!("{password:?}"), "Password(<redacted>)");
                    }
                    result => {
                        prop_assert!(!model, "refused {:?}", raw);
                        refused(result, "password")?;
                    }
                }
            }

            #[test]
            fn texts_accept_exactly_trimmed_bounded_text(raw in text()) {
                let title = VideoTitle::parse("title", &raw);
                prop_assert_eq!(title.is_ok(), text_ok(&raw, VideoTitle::MAX_CHARS));
                match title {
                    Ok(title) => prop_assert_eq!(title.as_str(), raw.trim()),
                    result => refused(result, "title")?,
                }
                let comment = CommentText::parse("comment_text", &raw);
                prop_assert_eq!(comment.is_ok(), text_ok(&raw, CommentText::MAX_CHARS));
                match comment {
                    Ok(comment) => prop_assert_eq!(comment.as_str(), raw.trim()),
                    result => refused(result, "comment_text")?,
                }
                let message = MessageText::parse("content", &raw);
                prop_assert_eq!(message.is_ok(), text_ok(&raw, MessageText::MAX_CHARS));
                match message {
                    Ok(message) => prop_assert_eq!(message.as_str(), raw.trim()),
                    result => refused(result, "content")?,
                }
            }

            #[test]
            fn ids_accept_any_text_and_only_1_to_2_pow_53(raw in text()) {
                match UserId::parse("user_id", &raw) {
                    Ok(UserId(id)) => {
                        prop_assert!((1..=MAX_SAFE_INTEGER).contains(&id));
                        prop_assert_eq!(raw.trim().parse::<u64>(), Ok(id));
                    }
                    result => refused(result, "user_id")?,
                }
            }

            #[test]
            fn ids_round_trip_and_refuse_past_the_limit(id in any::<u64>(), pad in "[ \t]{0,2}") {
                let parsed = parse_id("video_id", &format!("{pad}{id}{pad}"));
                if (1..=MAX_SAFE_INTEGER).contains(&id) {
                    prop_assert_eq!(parsed.unwrap(), id);
                } else {
                    refused(parsed, "video_id")?;
                }
            }

            #[test]
            fn cursors_accept_any_text_and_only_their_shape(raw in text()) {
                match parse_cursor("cursor", &raw) {
                    Ok(cursor) => {
                        let (a, b) = cursor.split_once('#').unwrap();
                        prop_assert!(a.len() == 16 && b.len() == 16, "{}", cursor);
                        prop_assert!(a.bytes().chain(b.bytes()).all(|c| c.is_ascii_digit()), "{}", cursor);
                    }
                    result => refused(result, "cursor")?,
                }
            }

            #[test]
            fn cursors_round_trip(cursor in "[0-9]{16}#[0-9]{16}") {
                prop_assert_eq!(parse_cursor("cursor", &format!(" {cursor}\t")).unwrap(), cursor);
            }

            #[test]
            fn feed_cursor_is_never_after_now(latest in any::<Option<i64>>(), now in 0u64..(1 << 50)) {
                let cursor = feed_cursor(latest, now);
                prop_assert!((1..=now + 1).contains(&cursor), "{:?} at {} gave {}", latest, now, cursor);
            }
        }
    }
}
