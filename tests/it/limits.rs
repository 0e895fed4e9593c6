//! Limits on everything a client controls, each answered with its contract
//! code and a message naming what is wrong: text lengths (at the limit it
//! passes, one past it does not, counted in characters, passwords in bytes),
//! body size (urlencoded and multipart), multipart parts and part sizes,
//! numbers, ids and cursors. docs/security.md, "Limits", lists them all.

use lambda_http::Body;
use lambda_http::http::{Method, Request};
use tests::{Reply, Session, TestApp, multipart};

/// `n` copies of a three-byte character: limits count characters, not bytes.
fn chars(n: usize) -> String {
    "字".repeat(n)
}

/// Sends `value` as the text `field` of the endpoint that takes it.
async fn send_text(t: &TestApp, alice: &Session, bob: &Session, video: u64, field: &str, value: &str) -> Reply {
    match field {
        "username" => t.register(value, "password1").await,
        "password" => t.register(&format!("p{}", rand::random::<u32>()), value).await,
        "title" => t.start_upload(&alice.token, value, "video/mp4", 1000).await,
        "comment_text" => t.comment(&alice.token, video, value).await,
        "content" => t.send_message(&alice.token, bob.id, value).await,
        other => panic!("no endpoint for {other}"),
    }
}

#[tokio::test]
async fn every_text_is_accepted_at_its_limit_and_refused_one_past_it() {
    let t = TestApp::new().await;
    let alice = t.new_user("alice").await;
    let bob = t.new_user("bob").await;
    let video = t.new_video(&alice.token, "clip").await;
    // (field, longest accepted, shortest refused, the refusal's message)
    let cases = [
        ("username", chars(32), chars(33), "username: must be at most 32 characters"),
        ("password", "p".repeat(32), "p".repeat(33), "password: must be 6 to 32 bytes long"),
        ("password", "字".repeat(10) + "pp", "字".repeat(11), "password: must be 6 to 32 bytes long"),
        ("title", chars(100), chars(101), "title: must be at most 100 characters"),
        ("comment_text", chars(500), chars(501), "comment_text: must be at most 500 characters"),
        ("content", chars(500), chars(501), "content: must be at most 500 characters"),
    ];
    for (field, longest, too_long, message) in &cases {
        send_text(&t, &alice, &bob, video, field, longest).await.ok();
        let refused = send_text(&t, &alice, &bob, video, field, too_long).await;
        assert_eq!((refused.http_status, refused.code()), (200, 10001), "{field}: {}", refused.body);
        assert_eq!(refused.msg(), *message, "{field}");
        let empty = send_text(&t, &alice, &bob, video, field, " ").await;
        assert_eq!(empty.code(), 10001, "{field} empty: {}", empty.body);
    }
    // Surrounding white space is trimmed before counting (never in passwords).
    send_text(&t, &alice, &bob, video, "comment_text", &format!("  {}\t", chars(500))).await.ok();
    assert_eq!(t.register("x", "short").await.msg(), "password: must be 6 to 32 bytes long");
    assert_eq!(t.register("x", "with\u{7}bell").await.msg(), "password: must not contain control characters");
}

#[tokio::test]
async fn numbers_ids_and_cursors_must_have_their_shape() {
    let t = TestApp::new().await;
    let alice = t.new_user("alice").await;
    let id = alice.id.to_string();
    for bad in ["0", "-1", "9007199254740992", "1e3", "abc", ""] {
        let reply = t.call(Method::GET, "/douyin/user/", &[("user_id", bad)]).await;
        assert_eq!(reply.code(), 10001, "user_id={bad:?}: {}", reply.body);
        assert!(reply.msg().starts_with("user_id:"), "{}", reply.msg());
    }
    assert_eq!(t.favorite(&alice.token, 9_007_199_254_740_991, 1).await.code(), 10004, "a well-formed id of nothing");
    for (path, field, bad) in [
        ("/douyin/feed/", "latest_time", "yesterday"),
        ("/douyin/message/chat/", "pre_msg_time", "-5"),
        ("/douyin/relation/follow/list/", "cursor", "0000000000000001#000000000000001"),
        ("/douyin/favorite/list/", "cursor", "x"),
        ("/douyin/comment/list/", "video_id", "1.5"),
    ] {
        let reply = t
            .call(Method::GET, path, &[("token", &alice.token), ("user_id", &id), ("to_user_id", &id), (field, bad)])
            .await;
        assert_eq!(reply.code(), 10001, "{path} {field}={bad}: {}", reply.body);
        assert!(reply.msg().starts_with(&format!("{field}:")), "{}", reply.msg());
    }
    // Page sizes are the server's: a client asking for more gets a page.
    let page = t.call(Method::GET, "/douyin/feed/", &[("limit", "100000"), ("count", "100000")]).await;
    assert!(page.ok()["video_list"].as_array().unwrap().len() <= 30);
    // action_type is 1 or 2, content_length a size within the configured limit.
    let reply = t
        .call(
            Method::POST,
            "/douyin/relation/action/",
            &[("token", &alice.token), ("to_user_id", "1"), ("action_type", "3")],
        )
        .await;
    assert_eq!((reply.code(), reply.msg()), (10001, "action_type: must be 1 or 2"));
    let too_big = (t.app.config.max_upload_bytes + 1) as usize;
    assert_eq!(t.start_upload(&alice.token, "t", "video/mp4", too_big).await.code(), 10007);
}

fn post_body(content_type: &str, body: Vec<u8>) -> Request<Body> {
    Request::builder()
        .method(Method::POST)
        .uri("/douyin/user/login/")
        .header("content-type", content_type)
        .body(Body::Binary(body))
        .unwrap()
}

#[tokio::test]
async fn bodies_parts_and_part_sizes_are_bounded() {
    let t = TestApp::new().await;
    t.new_user("alice").await;
    let max = functions::edge::params::MAX_BODY_BYTES;

    // An urlencoded body at the limit is read; one byte more is refused.
    let padding = |total: usize| {
        let head = "username=alice&password=password1&pad=";
        format!("{head}{}", "x".repeat(total - head.len())).into_bytes()
    };
    t.send(post_body("application/x-www-form-urlencoded", padding(max))).await.ok();
    let refused = t.send(post_body("application/x-www-form-urlencoded", padding(max + 1))).await;
    assert_eq!(refused.code(), 10001);
    assert_eq!(refused.msg(), format!("body: is larger than {max} bytes"));

    // Multipart: the same limit on the whole body.
    let (content_type, body) =
        multipart(&[("username", "alice"), ("password", "password1")], Some(("data", "big.bin", &vec![0; max])));
    let refused = t.send(post_body(&content_type, body)).await;
    assert_eq!(refused.code(), 10001, "{}", refused.body);
    assert!(refused.msg().starts_with("body: is larger than"), "{}", refused.msg());

    // At most 16 parts.
    let fields: Vec<(String, String)> = (0..17).map(|i| (format!("f{i}"), "v".to_owned())).collect();
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (content_type, body) = multipart(&fields, None);
    let refused = t.send(post_body(&content_type, body)).await;
    assert_eq!((refused.code(), refused.msg()), (10001, "body: has more than 16 multipart parts"));

    // A text part is at most 64 KiB of UTF-8.
    let long = "a".repeat(64 * 1024 + 1);
    let (content_type, body) = multipart(&[("username", "alice"), ("password", &long)], None);
    let refused = t.send(post_body(&content_type, body)).await;
    assert_eq!(refused.code(), 10001);
    assert_eq!(refused.msg(), "body: part \"password\" is longer than 65536 bytes");
    let (content_type, mut body) = multipart(&[("username", "alice")], None);
    let bad_utf8 =
        b"--douyinTestBoundary7MA4YWxkTrZu0gW\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\n\xff\xfe\r\n";
    body.splice(0..0, bad_utf8.iter().copied());
    let refused = t.send(post_body(&content_type, body)).await;
    assert_eq!((refused.code(), refused.msg()), (10001, "body: part \"password\" is not UTF-8 text"));
}

#[tokio::test]
async fn the_local_server_refuses_a_declared_oversized_body_before_reading_it() {
    use functions::local::{LocalOptions, LocalServer};
    let dir = tempfile::tempdir().unwrap();
    let options = LocalOptions {
        addr: "127.0.0.1:0".parse().unwrap(),
        argon2: shared::config::Argon2Cost::TEST,
        ..LocalOptions::new(dir.path())
    };
    let server = LocalServer::start(options).await.unwrap();
    // 100 GB announced, nothing sent: answered at once, not after waiting for
    // (or buffering) the body.
    let headers = [("content-length".to_owned(), "100000000000".to_owned())];
    let send = tests::http::send(server.address, "POST", "/douyin/user/login/", &headers, b"");
    let refused =
        tokio::time::timeout(std::time::Duration::from_secs(10), send).await.expect("answered without the body");
    assert_eq!((refused.status, refused.json()["status_code"].as_i64()), (200, Some(10001)));
    server.shutdown().await;
}
