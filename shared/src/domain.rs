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

/// The id of a video: a positive integer below 2^53.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VideoId(pub u64);

impl VideoId {
    /// Parses the decimal value of parameter `field`.
    pub fn parse(field: &str, raw: &str) -> Result<VideoId> {
        parse_id(field, raw).map(VideoId)
    }
}

/// The id of a comment: a positive integer below 2^53.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CommentId(pub u64);

impl CommentId {
    /// Parses the decimal value of parameter `field`.
    pub fn parse(field: &str, raw: &str) -> Result<CommentId> {
        parse_id(field, raw).map(CommentId)
    }
}

/// The contract's `action_type` on the action endpoints: 1 does (like,
/// follow, post a comment, send a message), 2 undoes (unlike, unfollow,
/// delete a comment).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// `1`.
    Do,
    /// `2`.
    Undo,
}

impl Action {
    /// Parses parameter `field`: exactly `1` or `2` (spaces around allowed).
    pub fn parse(field: &str, raw: &str) -> Result<Action> {
        match raw.trim() {
            "1" => Ok(Action::Do),
            "2" => Ok(Action::Undo),
            _ => Err(Error::invalid(field, "must be 1 or 2")),
        }
    }
}

/// Now, in milliseconds since the epoch: the time every item records.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or_default()
}

/// Parses a positive integer id below 2^53 (the typed ids' parser).
fn parse_id(field: &str, raw: &str) -> Result<u64> {
    let value: u64 = raw.trim().parse().map_err(|_| Error::invalid(field, "must be a positive whole number"))?;
    if value == 0 || value > MAX_SAFE_INTEGER {
        return Err(Error::invalid(field, "must be between 1 and 2^53 - 1"));
    }
    Ok(value)
}

/// An id written exactly as we write one: decimal ASCII digits, no sign,
/// white space or leading zero, between 1 and 2^53 − 1. For values we issued
/// (a token's `sub`), where any other spelling is a forgery, not a typo.
pub fn parse_canonical_id(raw: &str) -> Option<u64> {
    let canonical =
        !raw.is_empty() && raw.len() <= 16 && !raw.starts_with('0') && raw.bytes().all(|b| b.is_ascii_digit());
    let value: u64 = raw.parse().ok().filter(|_| canonical)?;
    (value <= MAX_SAFE_INTEGER).then_some(value)
}

/// A username: trimmed, then normalised to NFKC (full-width letters,
/// ligatures, superscripts and other compatibility forms become their plain
/// equivalents: "ａｌｉｃｅ" is "alice"), then 1–32 characters with no white
/// space and no character that [`refused_in_username`] names. The normalised
/// name is what is stored, shown and unique; login normalises its input the
/// same way, so either spelling finds the one account. Case-sensitive.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Username(String);

impl Username {
    /// Most characters in a username (counted after normalisation).
    pub const MAX_CHARS: usize = 32;

    /// Parses parameter `field`.
    pub fn parse(field: &str, raw: &str) -> Result<Username> {
        let trimmed = raw.trim();
        let too_long = || Error::invalid(field, format!("must be at most {} characters", Self::MAX_CHARS));
        if trimmed.is_empty() {
            return Err(Error::invalid(field, "must not be empty"));
        }
        // Composition shrinks a name at most 4 to 1 (a letter and three marks
        // into one character), so nothing longer can normalise to a valid name.
        if trimmed.chars().nth(8 * Self::MAX_CHARS).is_some() {
            return Err(too_long());
        }
        let name = icu_normalizer::ComposingNormalizerBorrowed::new_nfkc().normalize(trimmed);
        if name.chars().count() > Self::MAX_CHARS {
            return Err(too_long());
        }
        if name.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(Error::invalid(field, "must not contain spaces or control characters"));
        }
        // The character as typed when it is there (NFKC turns U+3164 HANGUL
        // FILLER into U+1160, say), else as normalisation made it.
        let refused = trimmed.chars().chain(name.chars()).find(|c| refused_in_username(*c) && !c.is_whitespace());
        if let Some(c) = refused {
            return Err(Error::invalid(
                field,
                format!(
                    "must not contain invisible, formatting, private-use or unassigned characters (found {}); \
                     use letters, digits, marks, punctuation or symbols",
                    code_point(c)
                ),
            ));
        }
        Ok(Username(name.into_owned()))
    }

    /// The name as stored and shown (NFKC).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `U+202E`: how a message names a character a user cannot see.
fn code_point(c: char) -> String {
    format!("U+{:04X}", u32::from(c))
}

/// Whether a username may not contain `c` (after NFKC), by its Unicode
/// properties: format characters (Cf: zero-width spaces and joiners, the
/// direction marks, embeddings, overrides and isolates, BOM, invisible
/// operators, tags), control characters (Cc), line and paragraph separators
/// (Zl, Zp), private-use (Co) and surrogate (Cs) code points, unassigned code
/// points (Cn: their normalisation may change once they are assigned, and no
/// one can see them today), and every default-ignorable code point
/// (Default_Ignorable_Code_Point: fillers such as U+3164 HANGUL FILLER, which
/// is a letter, variation selectors, the combining grapheme joiner).
pub fn refused_in_username(c: char) -> bool {
    use icu_properties::props::{DefaultIgnorableCodePoint, GeneralCategory as Gc};
    matches!(
        icu_properties::CodePointMapData::<Gc>::new().get(c),
        Gc::Format
            | Gc::Control
            | Gc::LineSeparator
            | Gc::ParagraphSeparator
            | Gc::PrivateUse
            | Gc::Surrogate
            | Gc::Unassigned
    ) || icu_properties::CodePointSetData::new::<DefaultIgnorableCodePoint>().contains(c)
}

/// Whether a title, comment or message may not contain `c`: a character
/// that hides or reorders what a reader sees, by its Unicode properties. The
/// bidirectional controls (Bidi_Control: LRM, RLM, ALM, the embeddings and
/// overrides U+202A–202E, the isolates U+2066–2069), every default-ignorable
/// code point (Default_Ignorable_Code_Point: zero-width space U+200B, word
/// joiner and invisible operators U+2060–2064, BOM U+FEFF, soft hyphen, Hangul
/// fillers, tag characters, which can carry invisible text) except the
/// joiners (Join_Control: ZWJ, ZWNJ, which emoji sequences and Persian or
/// Indic writing need) and the variation selectors (Variation_Selector: emoji
/// and ideographic variants), and the line and paragraph separators (Zl, Zp),
/// which break lines as the refused control characters do.
pub fn hides_text(c: char) -> bool {
    use icu_properties::props::{
        BidiControl, DefaultIgnorableCodePoint, GeneralCategory as Gc, JoinControl, VariationSelector,
    };
    icu_properties::CodePointSetData::new::<BidiControl>().contains(c)
        || (icu_properties::CodePointSetData::new::<DefaultIgnorableCodePoint>().contains(c)
            && !icu_properties::CodePointSetData::new::<JoinControl>().contains(c)
            && !icu_properties::CodePointSetData::new::<VariationSelector>().contains(c))
        || matches!(icu_properties::CodePointMapData::<Gc>::new().get(c), Gc::LineSeparator | Gc::ParagraphSeparator)
}

/// Text as the contract counts it: trimmed, 1 to `max_chars` Unicode
/// characters, no control characters and nothing [`hides_text`] names.
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
    if let Some(c) = text.chars().find(|c| hides_text(*c)) {
        return Err(Error::invalid(
            field,
            format!(
                "must not contain invisible or text-direction characters (found {}); remove it and send again",
                code_point(c)
            ),
        ));
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

/// Text a user writes: 1 to `K::MAX_CHARS` characters after trimming, with no
/// control character and none that hides text (see `trimmed_text`). One type
/// for titles, comments and messages, told apart by their kind `K`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BoundedText<K>(String, std::marker::PhantomData<K>);

/// What a [`BoundedText`] is: its longest length.
pub trait TextKind {
    /// Most characters.
    const MAX_CHARS: usize;
}

impl<K: TextKind> BoundedText<K> {
    /// Most characters in this kind of text.
    pub const MAX_CHARS: usize = K::MAX_CHARS;

    /// Parses parameter `field`.
    pub fn parse(field: &str, raw: &str) -> Result<Self> {
        Ok(BoundedText(trimmed_text(field, raw, K::MAX_CHARS)?.to_owned(), std::marker::PhantomData))
    }

    /// The text as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A video title: 1–100 characters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Title {}
impl TextKind for Title {
    const MAX_CHARS: usize = 100;
}
/// A video title.
pub type VideoTitle = BoundedText<Title>;

/// A comment's text: 1–500 characters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommentKind {}
impl TextKind for CommentKind {
    const MAX_CHARS: usize = 500;
}
/// A comment's text.
pub type CommentText = BoundedText<CommentKind>;

/// A chat message's text: 1–500 characters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageKind {}
impl TextKind for MessageKind {
    const MAX_CHARS: usize = 500;
}
/// A chat message's text.
pub type MessageText = BoundedText<MessageKind>;

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

/// A page of a list and the cursor of the next one (`None`: no more).
#[derive(Debug)]
pub struct Listed<T> {
    /// The entries, newest first.
    pub items: Vec<T>,
    /// Pass back as `cursor` for the next page.
    pub next_cursor: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_type_is_1_or_2_and_nothing_else() {
        assert_eq!(Action::parse("action_type", "1").unwrap(), Action::Do);
        assert_eq!(Action::parse("action_type", " 2 ").unwrap(), Action::Undo);
        for raw in ["", "0", "3", "01", "1.0", "+1", "one"] {
            let error = Action::parse("action_type", raw).unwrap_err();
            assert_eq!(error.status_code(), 10001, "{raw:?}");
            assert!(error.to_string().contains("action_type"), "{error}");
        }
    }

    #[test]
    fn typed_ids_parse_like_user_ids_and_name_their_field() {
        assert_eq!(VideoId::parse("video_id", " 42 ").unwrap(), VideoId(42));
        assert_eq!(CommentId::parse("comment_id", "7").unwrap(), CommentId(7));
        assert!(VideoId::parse("video_id", "0").unwrap_err().to_string().contains("video_id"));
        assert!(CommentId::parse("comment_id", "9007199254740992").unwrap_err().to_string().contains("comment_id"));
    }

    #[test]
    fn each_kind_of_text_has_its_own_limit() {
        assert_eq!(VideoTitle::MAX_CHARS, 100);
        assert_eq!(CommentText::MAX_CHARS, 500);
        assert_eq!(MessageText::MAX_CHARS, 500);
        assert!(VideoTitle::parse("title", &"a".repeat(101)).is_err());
        assert_eq!(CommentText::parse("comment_text", &"a".repeat(500)).unwrap().as_str().len(), 500);
        assert_eq!(MessageText::parse("content", "  hi  ").unwrap().as_str(), "hi");
    }

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

    /// Code points that hide or reorder text, written out by hand from the
    /// Unicode charts (the code derives them from properties instead): the
    /// direction marks and controls, zero-width characters, BOM, invisible
    /// operators, soft hyphen, fillers, tags, separators.
    const INVISIBLE: &[char] = &[
        '\u{00AD}',
        '\u{034F}',
        '\u{061C}',
        '\u{115F}',
        '\u{1160}',
        '\u{17B4}',
        '\u{180E}',
        '\u{200B}',
        '\u{200E}',
        '\u{200F}',
        '\u{2028}',
        '\u{2029}',
        '\u{202A}',
        '\u{202B}',
        '\u{202C}',
        '\u{202D}',
        '\u{202E}',
        '\u{2060}',
        '\u{2061}',
        '\u{2062}',
        '\u{2063}',
        '\u{2064}',
        '\u{2066}',
        '\u{2067}',
        '\u{2068}',
        '\u{2069}',
        '\u{206F}',
        '\u{3164}',
        '\u{FEFF}',
        '\u{FFA0}',
        '\u{1D173}',
        '\u{E0001}',
        '\u{E0041}',
        '\u{E007F}',
    ];

    #[test]
    fn usernames_are_normalised_to_nfkc() {
        for (raw, stored) in [
            ("ａｌｉｃｅ", "alice"),
            ("  ａｌｉｃｅ\u{3000}", "alice"),
            ("ﬁsh", "fish"),
            ("x²", "x2"),
            ("e\u{301}mile", "émile"),
            ("Ⅻ", "XII"),
            ("字字", "字字"),
            ("Alice", "Alice"),
        ] {
            assert_eq!(Username::parse("username", raw).unwrap().as_str(), stored, "{raw:?}");
        }
        // The limit counts the normalised name: 32 full-width letters are 32
        // letters; "㍿" is four characters once normalised.
        assert!(Username::parse("username", &"ａ".repeat(32)).is_ok());
        assert!(Username::parse("username", &"ａ".repeat(33)).is_err());
        assert_eq!(Username::parse("username", "㍿").unwrap().as_str(), "株式会社");
        assert!(Username::parse("username", &format!("{}㍿", "a".repeat(29))).is_err());
        // Composition can shorten a name: 32 letters with a combining accent each.
        assert_eq!(Username::parse("username", &"e\u{301}".repeat(32)).unwrap().as_str(), "é".repeat(32));
    }

    #[test]
    fn usernames_refuse_invisible_formatting_private_and_unassigned_characters() {
        for c in INVISIBLE.iter().chain(&['\u{200C}', '\u{200D}', '\u{FE0F}', '\u{E000}', '\u{F0000}', '\u{378}']) {
            let error = Username::parse("username", &format!("al{c}ice")).unwrap_err();
            assert_eq!(error.status_code(), 10001, "{c:?}");
            let message = error.to_string();
            assert!(message.starts_with("username: must not contain"), "{c:?}: {message}");
            if !c.is_whitespace() {
                assert!(message.contains(&format!("U+{:04X}", u32::from(*c))), "{c:?}: {message}");
            }
        }
        // At the start or the end too (none of these is white space to trim).
        assert!(Username::parse("username", "\u{FEFF}alice").is_err());
        assert!(Username::parse("username", "alice\u{200B}").is_err());
        assert!(Username::parse("username", "\u{3164}").is_err());
    }

    #[test]
    fn texts_refuse_characters_that_hide_or_reorder_them() {
        for c in INVISIBLE {
            for (field, result) in [
                ("title", VideoTitle::parse("title", &format!("a{c}b")).map(|_| ())),
                ("comment_text", CommentText::parse("comment_text", &format!("a{c}b")).map(|_| ())),
                ("content", MessageText::parse("content", &format!("a{c}b")).map(|_| ())),
            ] {
                let error = result.unwrap_err();
                assert_eq!(error.status_code(), 10001, "{c:?}");
                assert_eq!(
                    error.to_string(),
                    format!(
                        "{field}: must not contain invisible or text-direction characters (found U+{:04X}); \
                         remove it and send again",
                        u32::from(*c)
                    )
                );
            }
        }
    }

    #[test]
    fn texts_keep_what_writing_and_emoji_need() {
        for text in [
            "family 👨\u{200D}👩\u{200D}👧", // ZWJ sequence
            "love ❤\u{FE0F}",                // emoji presentation selector
            "می\u{200C}خواهم",               // Persian, ZWNJ
            "क्\u{200D}ष",                    // Devanagari, ZWJ
            "שלום עולם",                     // right-to-left letters need no control
            "مرحبا \u{0600}١٢",              // Arabic number sign (a visible format character)
            "🇨🇳 👍🏽 ＡＢＣ ﬁ",                // flags, skin tones, compatibility forms kept as typed
            "葛\u{E0100}",                   // ideographic variation sequence
        ] {
            assert_eq!(CommentText::parse("comment_text", text).unwrap().as_str(), text);
            assert_eq!(MessageText::parse("content", text).unwrap().as_str(), text);
            assert_eq!(VideoTitle::parse("title", text).unwrap().as_str(), text);
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

    #[test]
    fn canonical_ids_have_one_spelling() {
        assert_eq!(parse_canonical_id("5"), Some(5));
        assert_eq!(parse_canonical_id("9007199254740991"), Some(MAX_SAFE_INTEGER));
        for bad in ["+5", " 005 ", "05", "5 ", " 5", "0", "", "-5", "5.0", "0x5", "٥", "9007199254740992", "1e3"] {
            assert_eq!(parse_canonical_id(bad), None, "{bad:?}");
        }
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
            fn usernames_are_normalised_bounded_visible_and_stable(raw in text()) {
                match Username::parse("username", &raw) {
                    Ok(name) => {
                        let name = name.as_str();
                        let nfkc = icu_normalizer::ComposingNormalizerBorrowed::new_nfkc();
                        prop_assert!(nfkc.is_normalized(name), "{:?} → {:?}", raw, name);
                        prop_assert!((1..=Username::MAX_CHARS).contains(&name.chars().count()), "{:?}", name);
                        prop_assert!(!name.chars().any(|c| c.is_whitespace() || c.is_control()), "{:?}", name);
                        prop_assert!(!name.chars().any(|c| super::INVISIBLE.contains(&c)), "{:?}", name);
                        // What is stored parses to itself: a login with the stored name finds it.
                        prop_assert_eq!(Username::parse("username", name).unwrap().as_str().to_owned(), name);
                    }
                    result => refused(result, "username")?,
                }
            }

            /// Over characters NFKC leaves alone and that are visible (ASCII,
            /// CJK, white space, control characters), the documented rule holds exactly.
            #[test]
            fn plain_usernames_accept_exactly_the_documented_names(
                raw in prop::collection::vec(
                    prop_oneof![
                        prop::char::range('!', '~'),
                        prop::char::range('一', '鿿'),
                        prop::sample::select(vec![' ', '\t', '\n', '\u{7}', '\u{3000}', '😀']),
                    ],
                    0..40,
                ).prop_map(String::from_iter)
            ) {
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

            /// A name typed in full-width forms is the same name.
            #[test]
            fn full_width_names_are_their_ascii_names(name in "[!-~]{1,32}") {
                let wide: String =
                    name.chars().map(|c| char::from_u32(u32::from(c) - 0x21 + 0xFF01).unwrap()).collect();
                let (wide, plain) = (Username::parse("username", &wide), Username::parse("username", &name));
                prop_assert_eq!(wide.unwrap(), plain.unwrap());
            }

            /// An invisible character anywhere in a name is refused, naming the field.
            #[test]
            fn invisible_characters_are_refused_anywhere_in_a_name(
                name in "[a-z0-9]{1,20}",
                at in any::<prop::sample::Index>(),
                c in prop::sample::select(super::INVISIBLE),
            ) {
                let mut chars: Vec<char> = name.chars().collect();
                chars.insert(at.index(chars.len() + 1), c);
                let raw: String = chars.into_iter().collect();
                if c.is_whitespace() && raw.trim() != raw {
                    // A separator at either end is trimmed as white space.
                    prop_assert_eq!(Username::parse("username", &raw).unwrap().as_str().to_owned(), name);
                } else {
                    refused(Username::parse("username", &raw), "username")?;
                }
            }

            /// The same for titles, comments and messages, which are otherwise kept as typed.
            #[test]
            fn invisible_characters_are_refused_anywhere_inside_a_text(
                text in "[a-z 字😀]{2,40}",
                at in any::<prop::sample::Index>(),
                c in prop::sample::select(super::INVISIBLE),
            ) {
                let text = format!("x{text}x");
                let mut chars: Vec<char> = text.chars().collect();
                chars.insert(1 + at.index(chars.len() - 1), c);
                let raw: String = chars.into_iter().collect();
                refused(CommentText::parse("comment_text", &raw), "comment_text")?;
                refused(MessageText::parse("content", &raw), "content")?;
                refused(VideoTitle::parse("title", &raw), "title")?;
                prop_assert_eq!(CommentText::parse("comment_text", &text).unwrap().as_str().to_owned(), text);
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
                let text_ok = |raw: &str, max| text_ok(raw, max) && !raw.trim().chars().any(hides_text);
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
            fn canonical_ids_accept_exactly_what_to_string_writes(raw in text(), id in any::<u64>()) {
                let model = |s: &str| {
                    s.parse::<u64>().ok().filter(|v| v.to_string() == s && (1..=MAX_SAFE_INTEGER).contains(v))
                };
                prop_assert_eq!(parse_canonical_id(&raw), model(&raw));
                let written = id.to_string();
                prop_assert_eq!(parse_canonical_id(&written), (1..=MAX_SAFE_INTEGER).contains(&id).then_some(id));
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
