//! Request parameters, read the contract's way: the URL query first, then the
//! body (urlencoded or multipart); the first of repeated keys wins. A body is
//! only parsed when it is needed, so a GET with a stray body still works, and a
//! malformed body is an error only when a parameter had to come from it.

use bytes::Bytes;
use lambda_http::{Body, Request};
use shared::{Error, Result};

/// Most parts in a multipart body.
pub const MAX_PARTS: usize = 16;
/// Most bytes in a text parameter.
pub const MAX_TEXT_BYTES: usize = 64 * 1024;
/// Most bytes in a whole request body (API Gateway's payload limit).
pub const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

/// An uploaded file from a multipart body.
#[derive(Clone, Debug)]
pub struct Upload {
    /// The file name the client gave (never used as a storage key).
    pub file_name: Option<String>,
    /// The declared content type (never trusted).
    pub content_type: Option<String>,
    /// The bytes.
    pub bytes: Bytes,
}

/// The parameters of one request.
#[derive(Debug)]
pub struct Params {
    query: Vec<(String, String)>,
    body: std::result::Result<BodyFields, String>,
}

#[derive(Debug, Default)]
struct BodyFields {
    text: Vec<(String, String)>,
    files: Vec<(String, Upload)>,
}

impl Params {
    /// Reads the query and the body of `request`.
    pub async fn from_request(request: &Request) -> Params {
        let query = request
            .uri()
            .query()
            .map(|query| form_urlencoded::parse(query.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        let content_type = request
            .headers()
            .get(lambda_http::http::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let bytes = match request.body() {
            Body::Empty => Bytes::new(),
            Body::Text(text) => Bytes::copy_from_slice(text.as_bytes()),
            Body::Binary(binary) => Bytes::copy_from_slice(binary),
            _ => Bytes::new(),
        };
        Params { query, body: parse_body(&content_type, bytes).await }
    }

    /// The text value of `name`, if present.
    pub fn text(&self, name: &str) -> Result<Option<&str>> {
        if let Some((_, value)) = self.query.iter().find(|(key, _)| key == name) {
            return Ok(Some(value));
        }
        let body = self.body.as_ref().map_err(|problem| Error::invalid("body", problem))?;
        Ok(body.text.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str()))
    }

    /// The text value of `name`; missing is [`Error::InvalidArgument`] naming it.
    pub fn required(&self, name: &str) -> Result<&str> {
        self.text(name)?.ok_or_else(|| Error::invalid(name, "is required"))
    }

    /// The uploaded file `name`, if present.
    pub fn file(&self, name: &str) -> Result<Option<&Upload>> {
        let body = self.body.as_ref().map_err(|problem| Error::invalid("body", problem))?;
        Ok(body.files.iter().find(|(key, _)| key == name).map(|(_, upload)| upload))
    }
}

async fn parse_body(content_type: &str, bytes: Bytes) -> std::result::Result<BodyFields, String> {
    if bytes.is_empty() {
        return Ok(BodyFields::default());
    }
    if bytes.len() > MAX_BODY_BYTES {
        return Err(format!("is larger than {} bytes", MAX_BODY_BYTES));
    }
    let mime = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    match mime.as_str() {
        "application/x-www-form-urlencoded" => {
            Ok(BodyFields { text: form_urlencoded::parse(&bytes).into_owned().collect(), files: Vec::new() })
        }
        "multipart/form-data" => parse_multipart(content_type, bytes).await,
        // Any other body (JSON, text) carries no parameters for this contract.
        _ => Ok(BodyFields::default()),
    }
}

async fn parse_multipart(content_type: &str, bytes: Bytes) -> std::result::Result<BodyFields, String> {
    let boundary = multer::parse_boundary(content_type).map_err(|_| "multipart body without a boundary".to_owned())?;
    let limits = multer::SizeLimit::new().whole_stream(MAX_BODY_BYTES as u64);
    let constraints = multer::Constraints::new().size_limit(limits);
    let stream = futures_util::stream::once(async move { Ok::<Bytes, std::convert::Infallible>(bytes) });
    let mut multipart = multer::Multipart::with_constraints(stream, boundary, constraints);
    let mut fields = BodyFields::default();
    let mut parts = 0;
    while let Some(field) = multipart.next_field().await.map_err(|e| format!("malformed multipart body: {e}"))? {
        parts += 1;
        if parts > MAX_PARTS {
            return Err(format!("has more than {MAX_PARTS} multipart parts"));
        }
        let name = field.name().unwrap_or_default().to_owned();
        let file_name = field.file_name().map(str::to_owned);
        let content_type = field.content_type().map(|mime| mime.to_string());
        let data = field.bytes().await.map_err(|e| format!("malformed multipart body: {e}"))?;
        if file_name.is_some() {
            fields.files.push((name, Upload { file_name, content_type, bytes: data }));
        } else {
            if data.len() > MAX_TEXT_BYTES {
                return Err(format!("part {name:?} is longer than {MAX_TEXT_BYTES} bytes"));
            }
            let text = String::from_utf8(data.to_vec()).map_err(|_| format!("part {name:?} is not UTF-8 text"))?;
            fields.text.push((name, text));
        }
    }
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use lambda_http::http;

    use super::*;

    fn request(uri: &str, content_type: Option<&str>, body: Body) -> Request {
        let mut builder = http::Request::builder().method("POST").uri(uri);
        if let Some(content_type) = content_type {
            builder = builder.header("content-type", content_type);
        }
        builder.body(body).unwrap()
    }

    #[tokio::test]
    async fn query_wins_over_body_and_first_repeated_key_wins() {
        let req = request(
            "/x?username=a&username=b",
            Some("application/x-www-form-urlencoded"),
            Body::Text("username=c&password=secret1".into()),
        );
        let params = Params::from_request(&req).await;
        assert_eq!(params.required("username").unwrap(), "a");
        assert_eq!(params.required("password").unwrap(), "secret1");
        let missing = params.required("token").unwrap_err();
        assert_eq!(missing.to_string(), "token: is required");
    }

    #[tokio::test]
    async fn percent_encoded_query_is_decoded() {
        let params = Params::from_request(&request("/x?username=%E5%AD%97+x", None, Body::Empty)).await;
        assert_eq!(params.required("username").unwrap(), "字 x");
    }

    #[tokio::test]
    async fn multipart_text_and_file_parts_are_read() {
        let body = "--XX\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nhello\r\n\
                    --XX\r\nContent-Disposition: form-data; name=\"data\"; filename=\"a.mp4\"\r\nContent-Type: video/mp4\r\n\r\nBYTES\r\n--XX--\r\n";
        let req = request("/x", Some("multipart/form-data; boundary=XX"), Body::Binary(body.as_bytes().to_vec()));
        let params = Params::from_request(&req).await;
        assert_eq!(params.required("title").unwrap(), "hello");
        let upload = params.file("data").unwrap().unwrap();
        assert_eq!(&upload.bytes[..], b"BYTES");
        assert_eq!(upload.file_name.as_deref(), Some("a.mp4"));
    }

    #[tokio::test]
    async fn malformed_body_only_fails_lookups_that_reach_it() {
        let req = request("/x?user_id=1", Some("multipart/form-data; boundary=XX"), Body::Text("garbage".into()));
        let params = Params::from_request(&req).await;
        assert_eq!(params.required("user_id").unwrap(), "1");
        let error = params.required("token").unwrap_err();
        assert_eq!(error.status_code(), 10001);
        assert!(error.to_string().starts_with("body: malformed multipart"), "{error}");
    }

    #[tokio::test]
    async fn too_many_parts_are_refused() {
        let mut body = String::new();
        for i in 0..=MAX_PARTS {
            body.push_str(&format!("--XX\r\nContent-Disposition: form-data; name=\"f{i}\"\r\n\r\nv\r\n"));
        }
        body.push_str("--XX--\r\n");
        let req = request("/x", Some("multipart/form-data; boundary=XX"), Body::Text(body));
        let error = Params::from_request(&req).await.required("f0").unwrap_err();
        assert!(error.to_string().contains("more than 16 multipart parts"), "{error}");
    }

    #[tokio::test]
    async fn json_body_carries_no_parameters() {
        let req = request("/x", Some("application/json"), Body::Text(r#"{"username":"a"}"#.into()));
        assert_eq!(Params::from_request(&req).await.text("username").unwrap(), None);
    }

    /// Property tests ("fuzz properties"): arbitrary queries, bodies and content types never panic
    /// and give typed values or a 10001 naming the field; form-encoded values read back as sent;
    /// mutated multipart bodies are read or refused in one poll; over-limit bodies are refused.
    mod props {
        use futures_util::FutureExt;
        use proptest::prelude::*;
        use proptest::test_runner::{Config, RngAlgorithm, RngSeed};
        use shared::domain::{CommentText, Password, UserId, Username, VideoTitle, parse_cursor};

        use super::*;

        /// `default_cases` cases from a fixed seed; `PROPTEST_CASES` and `PROPTEST_RNG_SEED`
        /// override them (the same settings as `shared`'s properties).
        fn config(default_cases: u32) -> Config {
            let mut config = Config::default();
            #[allow(
                clippy::disallowed_methods,
                reason = "proptest's own settings, read by the test harness, not configuration"
            )]
            let (cases, seed) = (std::env::var_os("PROPTEST_CASES"), std::env::var_os("PROPTEST_RNG_SEED"));
            if cases.is_none() {
                config.cases = default_cases;
            }
            if seed.is_none() {
                config.rng_seed = RngSeed::Fixed(20261124);
            }
            config.rng_algorithm = RngAlgorithm::ChaCha;
            config.failure_persistence = None;
            config
        }

        const BOUNDARY: &str = "----props7MA4YWxkTrZu0gW";

        /// Reads a request's parameters. The body is in memory, so this never waits: a parse that
        /// needed a second poll would be a bug (and could not loop: it would fail here).
        fn params(request: &Request) -> Params {
            Params::from_request(request).now_or_never().expect("the body is in memory: parsing never waits")
        }

        /// Every lookup of the names the contract uses, parsed as the handlers parse them: a typed
        /// value, absent, or a 10001 naming the field (or `body`).
        fn every_lookup_is_typed_or_10001(params: &Params) -> std::result::Result<(), TestCaseError> {
            fn check<T>(name: &str, result: Result<T>) -> std::result::Result<(), TestCaseError> {
                if let Err(error) = result {
                    prop_assert_eq!(error.status_code(), 10001, "{}", error);
                    let message = error.to_string();
                    prop_assert!(
                        message.starts_with(&format!("{name}: ")) || message.starts_with("body: "),
                        "{}",
                        message
                    );
                }
                Ok(())
            }
            for name in ["token", "user_id", "video_id", "to_user_id", "action_type", "cursor", "latest_time"] {
                check(name, params.required(name))?;
            }
            let text = |name: &str| params.text(name).map(Option::unwrap_or_default);
            check("username", text("username").and_then(|raw| Username::parse("username", raw)))?;
            check("password", text("password").and_then(|raw| Password::parse("password", raw)))?;
            check("user_id", text("user_id").and_then(|raw| UserId::parse("user_id", raw)))?;
            check("video_id", text("video_id").and_then(|raw| shared::domain::VideoId::parse("video_id", raw)))?;
            check("title", text("title").and_then(|raw| VideoTitle::parse("title", raw)))?;
            check("comment_text", text("comment_text").and_then(|raw| CommentText::parse("comment_text", raw)))?;
            check("cursor", text("cursor").and_then(|raw| parse_cursor("cursor", raw)))?;
            check("data", params.file("data"))?;
            Ok(())
        }

        /// Query or urlencoded text: the contract's names, the separators, percent escapes of any
        /// byte (invalid UTF-8 included), broken escapes.
        fn form_text() -> impl Strategy<Value = String> {
            let token = prop_oneof![
                3 => prop::sample::select(vec!["user_id", "token", "title", "username", "cursor", "video_id"]).prop_map(str::to_owned),
                3 => "[a-zA-Z0-9_.~-]{1,6}",
                3 => prop::sample::select(vec!["=", "&", "+", ";", "%", "%G", "%2", "=&", "&&"]).prop_map(str::to_owned),
                2 => any::<u8>().prop_map(|b| format!("%{b:02X}")),
                1 => "[0-9]{1,20}",
            ];
            prop::collection::vec(token, 0..40).prop_map(|tokens| tokens.concat())
        }

        fn first<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
            pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
        }

        /// One multipart part: a text field or a file.
        #[derive(Clone, Debug)]
        enum Part {
            Text(String, String),
            File(String, String, Vec<u8>),
        }

        fn part() -> impl Strategy<Value = Part> {
            let name = "[A-Za-z0-9_.-]{1,12}";
            prop_oneof![
                3 => (name, any::<String>()).prop_map(|(n, v)| Part::Text(n, v)),
                1 => (name, "[A-Za-z0-9_. -]{1,20}", prop::collection::vec(any::<u8>(), 0..2048))
                    .prop_map(|(n, f, b)| Part::File(n, f, b)),
            ]
        }

        /// The bytes of one part, delimiter line included.
        fn encode_part(part: &Part) -> Vec<u8> {
            let mut out = format!("--{BOUNDARY}\r\n").into_bytes();
            match part {
                Part::Text(name, value) => {
                    out.extend(format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").bytes());
                }
                Part::File(name, file, bytes) => {
                    let head = format!(
                        "Content-Disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\n\
                         Content-Type: video/mp4\r\n\r\n"
                    );
                    out.extend(head.bytes());
                    out.extend(bytes);
                    out.extend(b"\r\n");
                }
            }
            out
        }

        fn encode(parts: &[Vec<u8>]) -> Vec<u8> {
            let mut out = parts.concat();
            out.extend(format!("--{BOUNDARY}--\r\n").bytes());
            out
        }

        fn multipart_request(body: Vec<u8>) -> Request {
            request("/x", Some(&format!("multipart/form-data; boundary={BOUNDARY}")), Body::Binary(body))
        }

        /// A change to an encoded multipart body.
        #[derive(Clone, Debug)]
        enum Mutation {
            Truncate(f64),
            Flip(f64, u8),
            /// Writes a delimiter, a header line or CRLFs at a fraction.
            Insert(f64, &'static str),
        }

        fn mutation() -> impl Strategy<Value = Mutation> {
            let snippets = vec![
                "\r\n",
                "\r\n\r\n",
                "--",
                "\r\n------props7MA4YWxkTrZu0gW\r\n",
                "\r\n------props7MA4YWxkTrZu0gW--",
                "Content-Disposition: form-data; name=\"x\"\r\n",
                "Content-Disposition: form-data; name=\"\r\n",
                "Content-Type: \r\n",
                "\"",
                "\0",
            ];
            prop_oneof![
                (0.0..1.0f64).prop_map(Mutation::Truncate),
                (0.0..1.0f64, any::<u8>()).prop_map(|(at, b)| Mutation::Flip(at, b)),
                (0.0..1.0f64, prop::sample::select(snippets)).prop_map(|(at, s)| Mutation::Insert(at, s)),
            ]
        }

        fn apply(body: &mut Vec<u8>, mutation: &Mutation) {
            let at = |f: f64, body: &Vec<u8>| ((body.len() as f64 * f) as usize).min(body.len().saturating_sub(1));
            match *mutation {
                Mutation::Truncate(f) => body.truncate(at(f, body)),
                Mutation::Flip(f, b) => {
                    if !body.is_empty() {
                        let i = at(f, body);
                        body[i] ^= b;
                    }
                }
                Mutation::Insert(f, snippet) => {
                    let i = at(f, body);
                    body.splice(i..i, snippet.bytes());
                }
            }
        }

        fn content_type() -> impl Strategy<Value = String> {
            prop_oneof![
                1 => prop::sample::select(vec![
                    "",
                    "application/x-www-form-urlencoded",
                    "Application/X-WWW-Form-Urlencoded; charset=utf-8",
                    "multipart/form-data",
                    "multipart/form-data; boundary=",
                    "multipart/form-data; boundary=XX",
                    "MULTIPART/FORM-DATA; BOUNDARY=XX",
                    "multipart/form-data; boundary=\"X X\"",
                    "multipart/form-data; boundary=----props7MA4YWxkTrZu0gW",
                    "multipart/mixed; boundary=XX",
                    "application/json",
                    "text/plain; charset=latin1",
                ]).prop_map(str::to_owned),
                1 => "[ -~]{0,60}",
                1 => "multipart/form-data; ?boundary=[ -~]{0,80}",
            ]
        }

        fn body_bytes() -> impl Strategy<Value = Vec<u8>> {
            prop_oneof![
                prop::collection::vec(any::<u8>(), 0..2048),
                form_text().prop_map(String::into_bytes),
                // Delimiters and headers of boundary XX in random order.
                prop::collection::vec(
                    prop::sample::select(vec![
                        "--XX\r\n",
                        "--XX--\r\n",
                        "--XX",
                        "Content-Disposition: form-data; name=\"user_id\"\r\n",
                        "Content-Disposition: form-data; name=\"data\"; filename=\"a\"\r\n",
                        "Content-Type: text/plain\r\n",
                        "\r\n",
                        "42",
                        "\u{FF}",
                    ]),
                    0..40,
                )
                .prop_map(|parts| parts.concat().into_bytes()),
            ]
        }

        proptest! {
            #![proptest_config(config(256))]

            #[test]
            fn query_strings_read_like_the_form_decoder(query in form_text()) {
                let uri = format!("/x?{query}");
                // What `http` refuses as a URI never reaches a handler.
                let Ok(req) = http::Request::builder().uri(&uri).body(Body::Empty) else { return Ok(()) };
                let params = params(&req);
                let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
                for (key, _) in &pairs {
                    prop_assert_eq!(params.text(key).unwrap(), first(&pairs, key));
                }
                every_lookup_is_typed_or_10001(&params)?;
            }

            #[test]
            fn urlencoded_bodies_read_like_the_form_decoder(body in prop_oneof![form_text().prop_map(String::into_bytes), prop::collection::vec(any::<u8>(), 0..1024)]) {
                let req = request("/x", Some("application/x-www-form-urlencoded"), Body::Binary(body.clone()));
                let params = params(&req);
                let pairs: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
                for (key, _) in &pairs {
                    prop_assert_eq!(params.text(key).unwrap(), first(&pairs, key));
                }
                every_lookup_is_typed_or_10001(&params)?;
            }

            #[test]
            fn any_body_with_any_content_type_is_typed_or_10001(content_type in content_type(), body in body_bytes(), text in any::<bool>()) {
                let body = match String::from_utf8(body) {
                    Ok(string) if text => Body::Text(string),
                    Ok(string) => Body::Binary(string.into_bytes()),
                    Err(bytes) => Body::Binary(bytes.into_bytes()),
                };
                let mut builder = http::Request::builder().method("POST").uri("/x?token=t");
                if !content_type.is_empty() {
                    builder = builder.header("content-type", &content_type);
                }
                let Ok(req) = builder.body(body) else { return Ok(()) };
                let params = params(&req);
                // The query is read whatever the body holds.
                prop_assert_eq!(params.required("token").unwrap(), "t");
                every_lookup_is_typed_or_10001(&params)?;
            }

            #[test]
            fn form_encoded_values_read_back_as_sent(
                pairs in prop::collection::vec((prop_oneof!["[a-z_]{1,8}", any::<String>()], any::<String>()), 0..20),
                in_body in any::<bool>(),
            ) {
                let encoded = form_urlencoded::Serializer::new(String::new()).extend_pairs(&pairs).finish();
                let req = if in_body {
                    request("/x", Some("application/x-www-form-urlencoded"), Body::Text(encoded))
                } else {
                    request(&format!("/x?{encoded}"), None, Body::Empty)
                };
                let params = params(&req);
                for (key, _) in &pairs {
                    prop_assert_eq!(params.text(key).unwrap(), first(&pairs, key));
                }
            }

            #[test]
            fn multipart_parts_read_back_as_sent(parts in prop::collection::vec(part(), 0..=MAX_PARTS)) {
                let body = encode(&parts.iter().map(encode_part).collect::<Vec<_>>());
                let params = params(&multipart_request(body));
                for part in &parts {
                    match part {
                        Part::Text(name, _) => {
                            let sent = parts.iter().find_map(|p| match p {
                                Part::Text(n, v) if n == name => Some(v.as_str()),
                                _ => None,
                            });
                            prop_assert_eq!(params.text(name).unwrap(), sent);
                        }
                        Part::File(name, _, _) => {
                            let Some(Part::File(_, file, bytes)) = parts.iter().find(|p| matches!(p, Part::File(n, _, _) if n == name)) else { unreachable!() };
                            let upload = params.file(name).unwrap().unwrap();
                            prop_assert_eq!(&upload.bytes[..], &bytes[..]);
                            prop_assert_eq!(upload.file_name.as_deref(), Some(file.as_str()));
                        }
                    }
                }
            }

            #[test]
            fn mutated_multipart_is_read_or_refused_with_10001(
                parts in prop::collection::vec(part(), 1..8),
                duplicate in prop::option::of((0usize..8, 1usize..16)),
                mutations in prop::collection::vec(mutation(), 0..4),
            ) {
                let mut encoded: Vec<Vec<u8>> = parts.iter().map(encode_part).collect();
                if let Some((which, times)) = duplicate {
                    let copy = encoded[which % encoded.len()].clone();
                    encoded.extend(std::iter::repeat_n(copy, times));
                }
                let count = encoded.len();
                let mut body = encode(&encoded);
                for m in &mutations {
                    apply(&mut body, m);
                }
                let params = params(&multipart_request(body));
                every_lookup_is_typed_or_10001(&params)?;
                // 1 to 22 parts: past the limit, an intact body is refused naming it.
                if mutations.is_empty() && count > MAX_PARTS {
                    let error = params.required("absent").unwrap_err();
                    prop_assert!(error.to_string().contains("more than 16 multipart parts"), "{}", error);
                }
            }

            #[test]
            fn arbitrary_bytes_behind_a_boundary_are_typed_or_10001(
                body in prop_oneof![prop::collection::vec(any::<u8>(), 0..2048), body_bytes()],
                lead in any::<bool>(),
            ) {
                let mut bytes = if lead { b"--XX\r\n".to_vec() } else { Vec::new() };
                bytes.extend(body);
                let req = request("/x", Some("multipart/form-data; boundary=XX"), Body::Binary(bytes));
                every_lookup_is_typed_or_10001(&params(&req))?;
            }
        }

        proptest! {
            // Large bodies: fewer cases.
            #![proptest_config(config(16))]

            #[test]
            fn many_parts_are_refused_after_the_limit(count in MAX_PARTS + 1..2000) {
                let part = encode_part(&Part::Text("f".into(), "v".into()));
                let params = params(&multipart_request(encode(&vec![part; count])));
                let error = params.required("f").unwrap_err();
                prop_assert_eq!(error.status_code(), 10001);
                prop_assert!(error.to_string().contains("more than 16 multipart parts"), "{}", error);
            }

            #[test]
            fn a_long_text_part_is_refused(extra in 1usize..4096, name in "[a-z]{1,8}") {
                let part = encode_part(&Part::Text(name.clone(), "x".repeat(MAX_TEXT_BYTES + extra)));
                let error = params(&multipart_request(encode(&[part]))).required(&name).unwrap_err();
                prop_assert_eq!(error.status_code(), 10001);
                prop_assert!(error.to_string().contains(&format!("is longer than {MAX_TEXT_BYTES} bytes")), "{}", error);
            }

            #[test]
            fn a_body_over_10_mib_is_refused_whatever_its_type(extra in 1usize..4096, multipart in any::<bool>()) {
                let body = vec![b'a'; MAX_BODY_BYTES + extra];
                let req = if multipart {
                    multipart_request(body)
                } else {
                    request("/x", Some("application/x-www-form-urlencoded"), Body::Binary(body))
                };
                let error = params(&req).required("a").unwrap_err();
                prop_assert_eq!(error.status_code(), 10001);
                prop_assert_eq!(error.to_string(), format!("body: is larger than {MAX_BODY_BYTES} bytes"));
            }
        }
    }
}
