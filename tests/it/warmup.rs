//! The connections a Lambda function opens during init (`shared::app::Warmup`,
//! issue J): wanted, never needed. An endpoint that cannot be reached while
//! the function starts must not fail its cold start, nor hold it past the
//! warm-up's limit; the function serves once the endpoint answers, paying
//! the connection in its first request instead.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use shared::App;
use shared::app::{DynamoDbWarmup, Endpoints, Interceptors, S3Warmup, WARMUP_LIMIT, Warmup};
use shared::config::{Argon2Cost, Config};
use tests::{TEST_SECRET, TestApp, engines, unique_name};
use tokio::net::{TcpListener, TcpStream};

/// A port in front of `target` (`http://host:port`) that, while closed,
/// accepts connections and never answers them (a black hole: the worst an
/// endpoint can do to a caller), and once opened passes new ones through.
async fn gate(target: &str) -> (String, Arc<AtomicBool>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let target = target.trim_start_matches("http://").to_owned();
    let open = Arc::new(AtomicBool::new(false));
    let is_open = Arc::clone(&open);
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((mut client, _)) = listener.accept().await {
            if is_open.load(Ordering::SeqCst) {
                let target = target.clone();
                tokio::spawn(async move {
                    let mut server = TcpStream::connect(&target).await?;
                    tokio::io::copy_bidirectional(&mut client, &mut server).await
                });
            } else {
                held.push(client);
            }
        }
    });
    (format!("http://{address}"), open)
}

/// A port nothing listens on: connections are refused at once.
fn refused() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap()
}

#[tokio::test]
async fn unreachable_endpoints_during_init_never_fail_the_cold_start_and_the_function_serves_later() {
    // Every DynamoDB warm-up that makes a call: an id block, the feed's page.
    for dynamodb in [DynamoDbWarmup::IdBlock, DynamoDbWarmup::FeedPage] {
        survives_unreachable_endpoints(dynamodb).await;
    }
}

async fn survives_unreachable_endpoints(dynamodb_warmup: DynamoDbWarmup) {
    let engines = engines();
    let (dynamodb, dynamodb_open) = gate(&engines.dynamodb).await;
    let (s3, s3_open) = gate(&engines.s3).await;
    let nowhere = refused();
    let mut config = Config::local(&unique_name("table"), &unique_name("bucket"), TEST_SECRET);
    config.argon2 = Argon2Cost::TEST;
    let sdk = engines.credentials.sdk_config().to_builder().endpoint_url(format!("http://{nowhere}")).build();
    let endpoints = Endpoints { dynamodb: Some(dynamodb), s3: Some(s3.clone()), s3_public: None };
    let every = Warmup {
        dynamodb: dynamodb_warmup,
        dynamodb_connections: 2,
        s3: S3Warmup::Head("warm-up"),
        s3_connections: 2,
        links: true,
    };

    // DynamoDB and S3 never answer, the rest refuse: the app is built all the
    // same, within the warm-up's limit (the SDK's own timeouts would hold it
    // 5 s per attempt).
    let interceptors = Interceptors::default();
    let init = App::build_warm(config, &sdk, &endpoints, None, &interceptors, every);
    let app = tokio::time::timeout(WARMUP_LIMIT * 4, init)
        .await
        .expect("the warm-up holds init no longer than its limit")
        .expect("a warm-up that fails does not fail the cold start");

    // The endpoints come up: the function serves, on connections its requests open.
    dynamodb_open.store(true, Ordering::SeqCst);
    s3_open.store(true, Ordering::SeqCst);
    app.table().create_if_missing().await.unwrap();
    app.media().create_bucket_if_missing().await.unwrap();
    let function = TestApp::of(app, &s3);
    let registered = function.register("warmup", "password1").await;
    assert_eq!(registered.body["status_code"], 0, "{}", registered.body);
    let token = registered.body["token"].as_str().unwrap().to_owned();
    let user_id = registered.body["user_id"].as_u64().unwrap();
    let info = function.user(Some(user_id), Some(&token)).await;
    assert_eq!(info.body["user"]["name"], "warmup", "{}", info.body);
}

/// An app of its own on the embedded engines (its table created), built with `warmup`.
async fn app_warmed(warmup: Warmup) -> App {
    let engines = engines();
    let mut config = Config::local(&unique_name("table"), &unique_name("bucket"), TEST_SECRET);
    config.argon2 = Argon2Cost::TEST;
    let endpoints =
        Endpoints { dynamodb: Some(engines.dynamodb.clone()), s3: Some(engines.s3.clone()), s3_public: None };
    let sdk = engines.credentials.sdk_config();
    let interceptors = Interceptors::default();
    let setup = App::build_warm(config.clone(), &sdk, &endpoints, None, &interceptors, Warmup::NONE).await.unwrap();
    setup.table().create_if_missing().await.unwrap();
    App::build_warm(config, &sdk, &endpoints, None, &interceptors, warmup).await.unwrap()
}

#[tokio::test]
async fn an_id_block_reserved_in_init_serves_the_first_id_without_a_call() {
    for (warmup, calls) in
        [(Warmup { dynamodb: DynamoDbWarmup::IdBlock, ..Warmup::DYNAMODB }, 0), (Warmup::DYNAMODB, 1)]
    {
        let app = app_warmed(warmup).await;
        let before = app.dynamodb_calls.snapshot();
        let id = app.ids().next().await.unwrap();
        let used = app.dynamodb_calls.snapshot() - before;
        assert_eq!((id, used.operations), (1, calls), "{warmup:?}");
    }
}

#[tokio::test]
async fn every_function_that_allocates_ids_reserves_its_first_block_in_init_and_no_other_does() {
    use tests::samples;
    for endpoint in functions::routes::ENDPOINTS {
        let (t, token) = samples::ready_for(endpoint.name).await;
        let before = t.app.ids().next().await.unwrap();
        t.event(&samples::event_as(endpoint.name, &token)).await.ok();
        let after = t.app.ids().next().await.unwrap();
        let allocates = after > before + 1;
        assert_eq!(
            functions::lambda::warmup(endpoint.name).dynamodb == DynamoDbWarmup::IdBlock,
            allocates,
            "{}: allocates ids in its sample: {allocates} (functions::lambda::warmup)",
            endpoint.name
        );
    }
}

/// The feed reads a guest's newest page in init (`DynamoDbWarmup::FeedPage`,
/// its links signed then): a guest's first request is served from it without
/// a call, and is the page a read gives; a logged-in viewer's first request
/// still reads (their page shows their own likes and follows). Without the
/// warm-up the guest's first request reads too.
#[tokio::test]
async fn the_feed_reads_a_guests_newest_page_in_init_and_serves_it_without_a_call() {
    let engines = engines();
    let mut config = Config::local(&unique_name("table"), &unique_name("bucket"), TEST_SECRET);
    config.argon2 = Argon2Cost::TEST;
    // The cache is on in production (1 s); long here, so a slow run still hits it.
    config.feed_cache = std::time::Duration::from_secs(60);
    let endpoints =
        Endpoints { dynamodb: Some(engines.dynamodb.clone()), s3: Some(engines.s3.clone()), s3_public: None };
    let sdk = engines.credentials.sdk_config();
    let interceptors = Interceptors::default();
    let build = |warmup: Warmup| App::build_warm(config.clone(), &sdk, &endpoints, None, &interceptors, warmup);
    let setup = TestApp::of(build(Warmup::NONE).await.unwrap(), &engines.s3);
    setup.app.table().create_if_missing().await.unwrap();
    let alice = setup.new_user("alice").await;
    let published = setup.insert_videos(alice.id, 3).await;

    let ids = |reply: &tests::Reply| -> Vec<(u64, u64)> {
        let list = reply.ok()["video_list"].as_array().unwrap().clone();
        list.iter().map(|v| (v["id"].as_u64().unwrap(), v["author"]["id"].as_u64().unwrap())).collect()
    };
    let newest: Vec<(u64, u64)> = published.iter().rev().map(|id| (*id, alice.id)).collect();
    let feed_warmup = Warmup { dynamodb: DynamoDbWarmup::FeedPage, ..Warmup::DYNAMODB };
    for (warmup, calls) in [(feed_warmup, 0), (Warmup::DYNAMODB, 2)] {
        let function = TestApp::of(build(warmup).await.unwrap(), &engines.s3);
        let before = function.app.dynamodb_calls.snapshot();
        let guest = function.feed(None, None).await;
        let used = function.app.dynamodb_calls.snapshot() - before;
        assert_eq!(used.operations, calls, "{warmup:?}: a guest's first request");
        assert_eq!(ids(&guest), newest, "{warmup:?}");
        assert!(guest.ok()["video_list"][0]["play_url"].as_str().unwrap().starts_with("http"));

        let before = function.app.dynamodb_calls.snapshot();
        let own = function.feed(None, Some(&alice.token)).await;
        let used = function.app.dynamodb_calls.snapshot() - before;
        assert_eq!((used.operations, ids(&own)), (2, newest.clone()), "{warmup:?}: a viewer's page is read");
    }
}

/// A function whose answer carries a presigned link (a profile's images, a
/// video's, an upload's PUT) pays the presigner's first use in init
/// (`Warmup::links`), not in its first request at the invocation's CPU share.
#[tokio::test]
async fn every_function_whose_answer_carries_a_presigned_link_signs_one_in_init() {
    use tests::samples;
    let mut signing = Vec::new();
    for endpoint in functions::routes::ENDPOINTS {
        let (t, token) = samples::ready_for(endpoint.name).await;
        let reply = t.event(&samples::event_as(endpoint.name, &token)).await;
        if reply.body.to_string().contains("X-Amz-Signature") {
            signing.push(endpoint.name);
            assert!(functions::lambda::warmup(endpoint.name).links, "{} signs links in its answer", endpoint.name);
        }
    }
    // The samples that show links: the check above is not empty.
    for name in ["user-info", "feed", "publish-list", "publish-upload", "comment-action"] {
        assert!(signing.contains(&name), "{name}'s sample answers with a presigned link: {signing:?}");
    }
}

/// Each endpoint's name and the most calls its sample (its first request)
/// had in flight at once on the client `calls` counts.
async fn peaks_in_first_requests(calls: fn(&App) -> &shared::telemetry::CallCounter) -> Vec<(&'static str, usize)> {
    use tests::samples;
    let mut peaks = Vec::new();
    for endpoint in functions::routes::ENDPOINTS {
        let (t, token) = samples::ready_for(endpoint.name).await;
        calls(&t.app).take_peak();
        t.event(&samples::event_as(endpoint.name, &token)).await;
        peaks.push((endpoint.name, calls(&t.app).take_peak() as usize));
    }
    peaks
}

/// Each DynamoDB call in flight needs a connection of its own: a function
/// whose first request makes calls at once opens as many connections during
/// init (`Warmup::dynamodb_connections`), or its first request opens one at
/// the invocation's CPU share (the lambda bench's TLS column showed it). And
/// none opens more than its sample uses. The samples run with the
/// deployment's rate limits (`samples::ready_for`), whose counts run beside
/// a read in register and login (the chat send counts in its transaction).
#[tokio::test]
async fn every_function_opens_in_init_as_many_dynamodb_connections_as_its_first_request_uses_at_once() {
    let mut parallel = Vec::new();
    for (name, peak) in peaks_in_first_requests(|app| &app.dynamodb_calls).await {
        let opened = functions::lambda::warmup(name).dynamodb_connections_opened();
        assert_eq!(opened.max(1), peak.max(1), "{name}: calls at once in its sample: {peak}");
        if peak > 1 {
            parallel.push(name);
        }
    }
    assert_eq!(
        parallel,
        ["user-register", "user-login", "comment-action", "message-chat"],
        "the samples that make calls at once"
    );
}

/// The same for S3: publish stores its video and its cover at once, so it
/// opens two S3 connections during init; every function whose sample calls
/// S3 opens as many as it uses at once, and none opens one it does not use.
#[tokio::test]
async fn every_function_opens_in_init_as_many_s3_connections_as_its_first_request_uses_at_once() {
    let mut calling = Vec::new();
    for (name, peak) in peaks_in_first_requests(|app| &app.s3_calls).await {
        let opened = functions::lambda::warmup(name).s3_connections_opened();
        assert_eq!(opened, peak, "{name}: S3 calls at once in its sample: {peak}");
        if peak > 0 {
            calling.push((name, peak));
        }
    }
    assert_eq!(calling, [("user-register", 1), ("publish-action", 2)], "the samples that call S3");
}
