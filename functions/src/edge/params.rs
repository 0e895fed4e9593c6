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
}
