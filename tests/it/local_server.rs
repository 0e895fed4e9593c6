//! `douyin-local` through a real socket: the three endpoints, media links,
//! the 404/405 envelopes, and a restart on the same data folder.

use std::net::SocketAddr;

use functions::local::{LocalOptions, LocalServer};
use shared::config::Argon2Cost;
use tests::http::{Response, get_url, request};
use tests::{form_encode, session_of};

async fn start(data_dir: &std::path::Path) -> LocalServer {
    let options =
        LocalOptions { addr: "127.0.0.1:0".parse().unwrap(), argon2: Argon2Cost::TEST, ..LocalOptions::new(data_dir) };
    LocalServer::start(options).await.unwrap()
}

async fn call(address: SocketAddr, method: &str, path: &str, params: &[(&str, &str)]) -> Response {
    request(address, method, &format!("{path}?{}", form_encode(params)), None, &[]).await
}

#[tokio::test]
async fn the_three_user_endpoints_work_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let address = server.address;

    let registered =
        call(address, "POST", "/douyin/user/register/", &[("username", "alice"), ("password", "password1")]).await;
    assert_eq!(registered.status, 200);
    assert_eq!(registered.header("content-type"), Some("application/json; charset=utf-8"));
    let alice = session_of(&registered.json());

    let login = call(address, "POST", "/douyin/user/login", &[("username", "alice"), ("password", "password1")]).await;
    assert_eq!(session_of(&login.json()).id, alice.id);

    let info =
        call(address, "GET", "/douyin/user/", &[("user_id", &alice.id.to_string()), ("token", &alice.token)]).await;
    let user = info.json()["user"].clone();
    assert_eq!(user["name"], "alice");

    // Media links point at this server and are served by it.
    let avatar = user["avatar"].as_str().unwrap();
    assert!(avatar.starts_with(&server.public_url), "{avatar}");
    let image = get_url(avatar).await;
    assert_eq!(image.status, 200);
    assert_eq!(&image.body[..4], b"\x89PNG");
    server.shutdown().await;
}

#[tokio::test]
async fn unknown_paths_and_wrong_methods_get_the_envelope() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let missing = call(server.address, "GET", "/douyin/nowhere/", &[]).await;
    assert_eq!((missing.status, missing.json()["status_code"].as_i64()), (404, Some(10004)));
    let wrong = call(server.address, "DELETE", "/douyin/user/", &[]).await;
    assert_eq!((wrong.status, wrong.json()["status_code"].as_i64()), (405, Some(10001)));
    server.shutdown().await;
}

#[tokio::test]
async fn a_multipart_register_is_read_from_the_body() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let body = "--b\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\nmallory\r\n\
                --b\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\npassword1\r\n--b--\r\n";
    let response = request(
        server.address,
        "POST",
        "/douyin/user/register/",
        Some("multipart/form-data; boundary=b"),
        body.as_bytes(),
    )
    .await;
    assert_eq!(response.json()["status_code"], 0, "{:?}", response.json());
    server.shutdown().await;
}

#[tokio::test]
async fn data_and_tokens_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let registered =
        call(server.address, "POST", "/douyin/user/register/", &[("username", "bob"), ("password", "password1")]).await;
    let bob = session_of(&registered.json());
    server.shutdown().await;

    let server = start(dir.path()).await;
    let login =
        call(server.address, "POST", "/douyin/user/login/", &[("username", "bob"), ("password", "password1")]).await;
    assert_eq!(session_of(&login.json()).id, bob.id);
    // The token issued before the restart still identifies bob.
    let me = call(server.address, "GET", "/douyin/user/", &[("token", &bob.token)]).await;
    assert_eq!(me.json()["user"]["id"], bob.id);
    // And the name is still taken.
    let again =
        call(server.address, "POST", "/douyin/user/register/", &[("username", "bob"), ("password", "password1")]).await;
    assert_eq!(again.json()["status_code"], 10005);
    server.shutdown().await;
}

#[tokio::test]
async fn both_upload_paths_work_through_the_local_server() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let address = server.address;
    let registered =
        call(address, "POST", "/douyin/user/register/", &[("username", "carol"), ("password", "password1")]).await;
    let carol = session_of(&registered.json());

    // The stock client's request: everything in one multipart body.
    let clip = tests::fixture("portrait-red-360x640-1s.mp4");
    let (content_type, body) =
        tests::multipart(&[("token", &carol.token), ("title", "from the app")], Some(("data", "v.mp4", &clip)));
    let published = request(address, "POST", "/douyin/publish/action/", Some(&content_type), &body).await;
    assert_eq!(published.json()["status_code"], 0, "{:?}", published.json());

    // The presigned path: ticket, PUT to the server's own S3 engine, which
    // delivers the ObjectCreated event to the ingest.
    let big = tests::fixture("h264-aac-640x360-1s.mp4");
    let length = big.len().to_string();
    let ticket = call(
        address,
        "POST",
        "/douyin/publish/upload/",
        &[("token", &carol.token), ("title", "presigned"), ("content_type", "video/mp4"), ("content_length", &length)],
    )
    .await
    .json();
    let upload_url = ticket["upload_url"].as_str().unwrap();
    assert!(upload_url.starts_with(&server.public_url), "{upload_url}");
    assert_eq!(tests::http::put_ticket(&ticket, &big).await.status, 200);
    let video_id = ticket["video_id"].as_u64().unwrap().to_string();
    let status =
        call(address, "GET", "/douyin/publish/status/", &[("token", &carol.token), ("video_id", &video_id)]).await;
    assert_eq!(status.json()["state"], "live", "{:?}", status.json());

    let feed = call(address, "GET", "/douyin/feed/", &[]).await.json();
    let titles: Vec<&str> =
        feed["video_list"].as_array().unwrap().iter().map(|v| v["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["presigned", "from the app"]);
    for video in feed["video_list"].as_array().unwrap() {
        let cover = get_url(video["cover_url"].as_str().unwrap()).await;
        assert_eq!((cover.status, &cover.body[..2]), (200, &b"\xff\xd8"[..]));
    }
    server.shutdown().await;
}

/// `cargo lambda watch --env-file <data-dir>/lambda.env` runs the functions
/// against this server's engines: the file must hold everything a function's
/// cold start reads, and it must be private.
#[tokio::test]
async fn lambda_env_file_lets_an_outside_function_use_the_engines() {
    use std::collections::HashMap;
    use std::os::unix::fs::PermissionsExt as _;

    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let registered =
        call(server.address, "POST", "/douyin/user/register/", &[("username", "dan"), ("password", "password1")]).await;
    let dan = session_of(&registered.json());

    let path = dir.path().join("lambda.env");
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    let text = std::fs::read_to_string(&path).unwrap();
    let env: HashMap<String, String> =
        text.lines().filter_map(|line| line.split_once('=')).map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
    let mut config = shared::config::Config::from_lookup(|name| env.get(name).cloned()).unwrap();
    config.argon2 = Argon2Cost::TEST;
    assert!(config.s3_path_style);
    let credentials = aws_sdk_dynamodb::config::Credentials::new(
        &env["AWS_ACCESS_KEY_ID"],
        &env["AWS_SECRET_ACCESS_KEY"],
        None,
        None,
        "lambda.env",
    );
    let sdk = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(env["AWS_REGION"].clone()))
        .credentials_provider(aws_sdk_dynamodb::config::SharedCredentialsProvider::new(credentials))
        .build();
    let endpoints = shared::app::Endpoints {
        dynamodb: Some(env["AWS_ENDPOINT_URL_DYNAMODB"].clone()),
        s3: Some(env["AWS_ENDPOINT_URL_S3"].clone()),
        s3_public: None,
    };
    let outside = shared::App::build(config, &sdk, &endpoints, None).await.unwrap();
    // The outside function reads the user the server registered, verifies its
    // token, and makes media links the server's S3 engine honours.
    let user_id = outside.tokens.verify(&dan.token).unwrap();
    let profile = shared::users::profile(&outside, user_id, None).await.unwrap();
    assert_eq!(profile.name, "dan");
    assert_eq!(get_url(&profile.avatar).await.status, 200);
    server.shutdown().await;
}

#[tokio::test]
async fn likes_comments_follows_and_chat_work_through_the_local_server() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let address = server.address;
    let register = |name: &'static str| async move {
        session_of(
            &call(address, "POST", "/douyin/user/register/", &[("username", name), ("password", "password1")])
                .await
                .json(),
        )
    };
    let (erin, finn) = (register("erin").await, register("finn").await);
    let clip = tests::fixture("portrait-red-360x640-1s.mp4");
    let (content_type, body) =
        tests::multipart(&[("token", &erin.token), ("title", "hi")], Some(("data", "v.mp4", &clip)));
    request(address, "POST", "/douyin/publish/action/", Some(&content_type), &body).await;
    let video =
        call(address, "GET", "/douyin/feed/", &[]).await.json()["video_list"][0]["id"].as_u64().unwrap().to_string();

    let ok = |response: Response| assert_eq!(response.json()["status_code"], 0, "{:?}", response.json());
    let (erin_id, finn_id) = (erin.id.to_string(), finn.id.to_string());
    ok(call(
        address,
        "POST",
        "/douyin/favorite/action/",
        &[("token", &finn.token), ("video_id", &video), ("action_type", "1")],
    )
    .await);
    ok(call(
        address,
        "POST",
        "/douyin/comment/action/",
        &[("token", &finn.token), ("video_id", &video), ("action_type", "1"), ("comment_text", "wow")],
    )
    .await);
    ok(call(
        address,
        "POST",
        "/douyin/relation/action/",
        &[("token", &finn.token), ("to_user_id", &erin_id), ("action_type", "1")],
    )
    .await);
    ok(call(
        address,
        "POST",
        "/douyin/relation/action/",
        &[("token", &erin.token), ("to_user_id", &finn_id), ("action_type", "1")],
    )
    .await);

    let feed = call(address, "GET", "/douyin/feed/", &[("token", &finn.token)]).await.json();
    let seen = &feed["video_list"][0];
    assert_eq!((seen["favorite_count"].as_u64(), seen["comment_count"].as_u64()), (Some(1), Some(1)));
    assert_eq!((seen["is_favorite"].as_bool(), seen["author"]["is_follow"].as_bool()), (Some(true), Some(true)));
    let comments = call(address, "GET", "/douyin/comment/list/", &[("video_id", &video)]).await.json();
    assert_eq!(comments["comment_list"][0]["content"], "wow");
    let friends =
        call(address, "GET", "/douyin/relation/friend/list/", &[("token", &erin.token), ("user_id", &erin_id)])
            .await
            .json();
    assert_eq!(friends["user_list"][0]["id"], finn.id);
    ok(call(
        address,
        "POST",
        "/douyin/message/action/",
        &[("token", &finn.token), ("to_user_id", &erin_id), ("action_type", "1"), ("content", "hey")],
    )
    .await);
    let chat =
        call(address, "GET", "/douyin/message/chat/", &[("token", &erin.token), ("to_user_id", &finn_id)]).await.json();
    assert_eq!(chat["message_list"][0]["content"], "hey");
    let likes = call(address, "GET", "/douyin/favorite/list/", &[("user_id", &finn_id)]).await.json();
    assert_eq!(likes["video_list"][0]["id"].as_u64().unwrap().to_string(), video);
    server.shutdown().await;
}

/// The web client is served from the binary: `/` leads to it, every file of
/// `web/` is there with its type and a revalidation header, and an unknown
/// file is a 404 (not an S3 answer).
#[tokio::test]
async fn the_web_client_is_served_with_its_content_types() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let address = server.address;

    let root = request(address, "GET", "/", None, &[]).await;
    assert_eq!((root.status, root.header("location")), (302, Some("/_web/")));
    let page = request(address, "GET", "/_web/", None, &[]).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.header("content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(page.header("cache-control"), Some("no-cache"));
    assert!(String::from_utf8_lossy(&page.body).contains(r#"<script type="module" src="app.js">"#));

    let script = request(address, "GET", "/_web/app.js", None, &[]).await;
    assert_eq!((script.status, script.header("content-type")), (200, Some("text/javascript; charset=utf-8")));
    let etag = script.header("etag").unwrap().to_owned();
    let again = tests::http::send(address, "GET", "/_web/app.js", &[("if-none-match".into(), etag)], &[]).await;
    assert_eq!((again.status, again.body.len()), (304, 0));
    let style = request(address, "GET", "/_web/style.css", None, &[]).await;
    assert_eq!((style.status, style.header("content-type")), (200, Some("text/css; charset=utf-8")));

    // Every file in web/ is embedded, byte for byte.
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../web");
    for entry in std::fs::read_dir(folder).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap();
        let served = request(address, "GET", &format!("/_web/{name}"), None, &[]).await;
        assert_eq!(served.status, 200, "{name} is not served");
        assert_eq!(served.body, std::fs::read(&path).unwrap(), "{name} differs from web/{name}");
    }

    let missing = request(address, "GET", "/_web/nothing.js", None, &[]).await;
    assert_eq!(missing.status, 404);
    // The API and the media bucket are untouched.
    let api = call(address, "GET", "/douyin/feed/", &[]).await;
    assert_eq!(api.json()["status_code"], 0);
    server.shutdown().await;
}

#[tokio::test]
async fn the_socket_peer_is_the_source_address_of_rate_limits() {
    use shared::limits::{RateLimit, RateLimits, Scope};
    let dir = tempfile::tempdir().unwrap();
    let limits = RateLimits { login_ip: Some(RateLimit::per(2, 3600)), ..RateLimits::OFF };
    let options = LocalOptions {
        addr: "127.0.0.1:0".parse().unwrap(),
        argon2: Argon2Cost::TEST,
        rate_limits: limits,
        ..LocalOptions::new(dir.path())
    };
    let server = LocalServer::start(options).await.unwrap();
    let login = [("username", "nobody"), ("password", "password1")];
    for _ in 0..2 {
        let refused = call(server.address, "POST", "/douyin/user/login/", &login).await;
        assert_eq!(refused.json()["status_code"], 10006);
    }
    let limited = call(server.address, "POST", "/douyin/user/login/", &login).await;
    assert_eq!((limited.status, limited.json()["status_code"].as_i64()), (429, Some(10008)));
    assert!(limited.header("retry-after").is_some_and(|s| s.parse::<u64>().is_ok()));
    // Counted under the peer's address, as API Gateway's sourceIp would be.
    let error = server.app().limiter.hit(Scope::LoginIp, "127.0.0.1").await.unwrap_err();
    assert_eq!(error.status_code(), 10008);
    server.shutdown().await;
}

/// A player fetches a video in ranges: the media links of the local server (its S3 engine behind a
/// presigned GET) answer `Range` with 206 and exactly those bytes, and the first kilobytes of a
/// phone video hold its `moov` (stored fast start), so playback can start from them.
#[tokio::test]
async fn media_links_answer_range_requests_and_videos_start_with_their_moov() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let address = server.address;
    let registered =
        call(address, "POST", "/douyin/user/register/", &[("username", "dave"), ("password", "password1")]).await;
    let dave = session_of(&registered.json());
    let clip = tests::fixture("hevc-hev1-aac-720x1280-1s.mp4");
    let (content_type, body) =
        tests::multipart(&[("token", &dave.token), ("title", "phone")], Some(("data", "IMG_0001.MP4", &clip)));
    let published = request(address, "POST", "/douyin/publish/action/", Some(&content_type), &body).await;
    assert_eq!(published.json()["status_code"], 0, "{:?}", published.json());
    let feed = call(address, "GET", "/douyin/feed/", &[]).await.json();
    let play_url = feed["video_list"][0]["play_url"].as_str().unwrap().to_owned();

    let whole = get_url(&play_url).await;
    assert_eq!(whole.status, 200);
    let range = |spec: &str| vec![("range".to_owned(), spec.to_owned())];
    let first = tests::http::send_url("GET", &play_url, &range("bytes=0-1023"), &[]).await;
    assert_eq!(first.status, 206);
    assert_eq!(first.body, whole.body[..1024]);
    let header = |name: &str| first.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
    assert_eq!(header("content-range"), Some(format!("bytes 0-1023/{}", whole.body.len())));
    // moov (5 KB here) right after ftyp: the first 8 KB hold every sample table.
    let head = tests::http::send_url("GET", &play_url, &range("bytes=0-8191"), &[]).await;
    assert_eq!(head.status, 206);
    let order = crate::phones::top_level_boxes(&whole.body);
    assert_eq!(&order[..2], ["ftyp", "moov"]);
    let moov_end = 28 + u32::from_be_bytes(whole.body[28..32].try_into().unwrap()) as usize;
    assert!(moov_end <= head.body.len(), "moov ends at {moov_end}");
    let tail = tests::http::send_url("GET", &play_url, &range("bytes=-100"), &[]).await;
    assert_eq!((tail.status, &tail.body[..]), (206, &whole.body[whole.body.len() - 100..]));
    server.shutdown().await;
}

/// What S3's lifecycle rule does on AWS, the local server does at start (and
/// every hour): objects left under uploads/ for more than a day are deleted,
/// except a video published in place there by an older version.
#[tokio::test]
async fn uploads_left_for_a_day_are_swept_at_start() {
    use shared::store::model::{NewVideo, VideoItem};
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let registered =
        call(server.address, "POST", "/douyin/user/register/", &[("username", "gus"), ("password", "password1")]).await;
    let gus = session_of(&registered.json());
    let legacy = VideoItem::new(&NewVideo {
        id: 903,
        author_id: gus.id,
        title: "published in place".into(),
        play_key: "uploads/903".into(),
        cover_key: "covers/903.jpg".into(),
        created_at_ms: 1_700_000_000_000,
        width: 320,
        height: 240,
        duration_ms: 1000,
        feed_shard: 0,
    });
    assert!(server.app().table().publish_video(&legacy, shared::store::VideoSource::Inline).await.unwrap());
    server.shutdown().await;
    // Objects as the S3 engine keeps them (written here: a PUT through the
    // server would be ingested, and these removed at once for want of a record).
    let uploads = dir.path().join("s3/douyin-media/uploads");
    std::fs::create_dir_all(&uploads).unwrap();
    let two_days_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(2 * 24 * 3600);
    for name in ["901", "902", "903"] {
        std::fs::write(uploads.join(name), b"left behind").unwrap();
        if name != "902" {
            std::fs::File::options().write(true).open(uploads.join(name)).unwrap().set_modified(two_days_ago).unwrap();
        }
    }

    let server = start(dir.path()).await;
    let media = &server.app().media();
    assert_eq!(media.size("uploads/901").await.unwrap(), None, "a stale upload is swept");
    assert!(media.size("uploads/902").await.unwrap().is_some(), "a fresh upload is kept");
    assert!(media.size("uploads/903").await.unwrap().is_some(), "a video published in place is kept");
    server.shutdown().await;
}

/// The PUT of an upload URL through the local server, which ingests before
/// it answers; returns the status and the upload's state after it.
async fn put_and_status(address: SocketAddr, ticket: &serde_json::Value, token: &str, body: &[u8]) -> (u16, String) {
    let put = tests::http::put_ticket(ticket, body).await.status;
    let video_id = ticket["video_id"].as_u64().unwrap().to_string();
    let status = call(address, "GET", "/douyin/publish/status/", &[("token", token), ("video_id", &video_id)]).await;
    (put, status.json()["state"].as_str().unwrap().to_owned())
}

/// A web page the length of `len`, PUT where a video was signed.
fn html(len: usize) -> Vec<u8> {
    let mut page = b"<!doctype html><title>not the video</title>".to_vec();
    page.resize(len, b' ');
    page
}

#[tokio::test]
async fn an_upload_url_cannot_replace_a_video_it_published() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let address = server.address;
    let registered =
        call(address, "POST", "/douyin/user/register/", &[("username", "hal"), ("password", "password1")]).await;
    let hal = session_of(&registered.json());
    // moov first: stored as uploaded, whatever the ingest rewrites for fast start.
    let clip = tests::fixture("h264-320x240-2s.mp4");
    let length = clip.len().to_string();
    let params =
        [("token", hal.token.as_str()), ("title", "mine"), ("content_type", "video/mp4"), ("content_length", &length)];
    let ticket = call(address, "POST", "/douyin/publish/upload/", &params).await.json();
    assert_eq!(put_and_status(address, &ticket, &hal.token, &clip).await, (200, "live".to_owned()));
    let video = call(address, "GET", "/douyin/feed/", &[]).await.json()["video_list"][0].clone();
    let (play, cover) = (video["play_url"].as_str().unwrap(), video["cover_url"].as_str().unwrap());
    let cover_bytes = get_url(cover).await.body;

    // The URL is still valid: a second PUT is refused, or lands where nothing reads it.
    let (second, state) = put_and_status(address, &ticket, &hal.token, &html(clip.len())).await;
    assert!(matches!(second, 200 | 412), "{second}");
    assert_eq!(state, "live");
    assert!(get_url(play).await.body == clip, "the video serves other bytes than the ones published");
    assert_eq!(get_url(cover).await.body, cover_bytes);
    server.shutdown().await;
}

/// Two PUTs of one URL at once through the local server: whatever the order,
/// a live video plays the bytes that were validated, its file is there, and a
/// refused upload left nothing in the feed.
#[tokio::test]
async fn two_puts_of_one_upload_url_at_once_leave_one_consistent_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let address = server.address;
    let registered =
        call(address, "POST", "/douyin/user/register/", &[("username", "ida"), ("password", "password1")]).await;
    let ida = session_of(&registered.json());
    // moov first: stored as uploaded, whatever the ingest rewrites for fast start.
    let clip = tests::fixture("h264-320x240-2s.mp4");
    let length = clip.len().to_string();
    let params =
        [("token", ida.token.as_str()), ("title", "mine"), ("content_type", "video/mp4"), ("content_length", &length)];
    for _ in 0..5 {
        let ticket = call(address, "POST", "/douyin/publish/upload/", &params).await.json();
        let junk = html(clip.len());
        let (first, second) =
            tokio::join!(tests::http::put_ticket(&ticket, &clip), tests::http::put_ticket(&ticket, &junk));
        assert!([first.status, second.status].contains(&200), "{} {}", first.status, second.status);
        for status in [first.status, second.status] {
            assert!(matches!(status, 200 | 412), "{status}");
        }
        let video_id = ticket["video_id"].as_u64().unwrap();
        let id = video_id.to_string();
        let status = call(address, "GET", "/douyin/publish/status/", &[("token", &ida.token), ("video_id", &id)]).await;
        let status = status.json();
        let listed = call(address, "GET", "/douyin/feed/", &[]).await.json()["video_list"].clone();
        let in_feed = listed.as_array().unwrap().iter().find(|v| v["id"] == video_id).cloned();
        match status["state"].as_str().unwrap() {
            "live" => {
                let play = get_url(in_feed.expect("a live video is in the feed")["play_url"].as_str().unwrap()).await;
                assert_eq!(play.status, 200, "a live video without its file");
                assert!(play.body == clip, "a live video playing unvalidated bytes");
            }
            "rejected" => assert!(in_feed.is_none()),
            other => panic!("upload left {other}: {status}"),
        }
    }
    server.shutdown().await;
}
