//! In-process handler latency and DynamoDB calls per request: every endpoint's
//! handler called through `edge::respond` (exactly what a Lambda invocation and
//! the local server run) on the embedded engines, with full pages of 30
//! (videos, likes, comments, follows, followers, friends, messages).
//!
//! `handler-latency [--iterations 400]` prints one table row per endpoint:
//! p50/p90/p99 of the handler's time, and the DynamoDB operations and
//! sequential rounds of one call. Logging is off, as the table is about the
//! handlers (a JSON log line costs a few µs more).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::time::{Duration, Instant};

use bench::{Summary, micros};
use clap::Parser;
use functions::routes::{self, Route};
use lambda_http::Body;
use lambda_http::http::Request;
use shared::config::Argon2Cost;
use tests::TestApp;
use tests::scenario::{self, Case, cases, cast};

#[derive(Parser)]
struct Args {
    /// Timed calls per endpoint (after a tenth as many untimed).
    #[arg(long, default_value_t = 400)]
    iterations: usize,
    /// Only endpoints whose label contains this.
    #[arg(long)]
    only: Option<String>,
    /// Instead: logins at the production argon2 cost, 8 at a time, and what
    /// they do to a user-info call on the same runtime.
    #[arg(long)]
    login: bool,
    /// Instead: a feed call's latency while 32 publishes of a 1080p clip run
    /// at once, with decoding in the heavy-work pool (half the cores) and
    /// with every decode at once (as before issue 17), side by side.
    #[arg(long)]
    publish_burst: bool,
    /// Bursts of 32 publishes per configuration (with --publish-burst).
    #[arg(long, default_value_t = 5)]
    bursts: usize,
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    if args.login {
        return login_under_load(args.iterations).await;
    }
    if args.publish_burst {
        return publish_burst(args.iterations, args.bursts).await;
    }
    let mut t = TestApp::new().await;
    // 31 videos, so that the feed's page is full (30) and has a next page.
    let cast = cast(&t, 31).await;
    eprintln!("cast ready: 31 videos, likes, comments, friends and messages");
    let cases: Vec<Case> = cases(&cast);
    signing(&t).await;
    println!("| endpoint | p50 (µs) | p90 (µs) | p99 (µs) | DynamoDB calls | sequential rounds |");
    println!("|---|---:|---:|---:|---:|---:|");
    for case in cases.iter().filter(|c| args.only.as_deref().is_none_or(|only| c.label.contains(only))) {
        measure(&t, case, case.label, args.iterations).await;
    }
    // The same two feed calls with the newest-page cache at its production
    // setting (1 s): most calls hit, one a second reads.
    t.app.config.feed_cache = Duration::from_secs(1);
    for case in cases.iter().filter(|c| c.label.starts_with("feed")) {
        let label = format!("{}, 1 s cache", case.label);
        if args.only.as_deref().is_none_or(|only| label.contains(only)) {
            // Fill the cache, so that the calls column shows a hit's.
            call(&t, (case.request)(0)).await;
            measure(&t, case, &label, args.iterations).await;
        }
    }
}

/// Times `iterations` calls of `case` and prints its row.
async fn measure(t: &TestApp, case: &Case, label: &str, iterations: usize) {
    let calls = scenario::calls_of(t, (case.request)(0)).await;
    for n in 0..iterations / 10 {
        call(t, (case.request)(n + 1)).await;
    }
    let mut sample = Vec::with_capacity(iterations);
    for n in 0..iterations {
        let request = (case.request)(n + 1 + iterations / 10);
        sample.push(call(t, request).await);
    }
    let s = Summary::of(sample).unwrap();
    println!(
        "| {label} | {:.0} | {:.0} | {:.0} | {} | {} |",
        micros(s.p50),
        micros(s.p90),
        micros(s.p99),
        calls.operations,
        calls.rounds
    );
}

/// Times one call of the handler (routing and the envelope included).
async fn call(t: &TestApp, request: Request<Body>) -> Duration {
    let Route::Endpoint(endpoint) = routes::route(request.method(), request.uri().path()) else {
        panic!("no route for {}", request.uri())
    };
    let started = Instant::now();
    let response = functions::edge::respond(&t.app, endpoint, request).await;
    let elapsed = started.elapsed();
    assert_eq!(response.status(), 200, "{}", endpoint.name);
    elapsed
}

/// Logins at the production cost: p50/p99 of a login with 8 running at once,
/// and a user-info call's latency with no login running and with 8.
async fn login_under_load(iterations: usize) {
    let t = std::sync::Arc::new(TestApp::with_config(|config| config.argon2 = Argon2Cost::OWASP).await);
    let alice = t.new_user("alice").await;
    let user_info = |n: usize| {
        let _ = n;
        scenario::get("/douyin/user/", &[("token", &alice.token), ("user_id", &alice.id.to_string())])
    };
    let mut idle = Vec::new();
    for n in 0..iterations {
        idle.push(call(&t, user_info(n)).await);
    }
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut logins = Vec::new();
    for _ in 0..8 {
        let (t, stop) = (t.clone(), stop.clone());
        logins.push(tokio::spawn(async move {
            let mut sample = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let request =
                    scenario::post("/douyin/user/login/", &[("username", "alice"), ("password", "password1")]);
                sample.push(call(&t, request).await);
            }
            sample
        }));
    }
    let mut loaded = Vec::new();
    for n in 0..iterations {
        loaded.push(call(&t, user_info(n)).await);
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut login_sample = Vec::new();
    for login in logins {
        login_sample.extend(login.await.unwrap());
    }
    let cost = Argon2Cost::OWASP;
    println!(
        "argon2id m={} KiB, t={}, p={}; {} logins, 8 at a time, on {} cores",
        cost.memory_kib,
        cost.iterations,
        cost.parallelism,
        login_sample.len(),
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!("| measured | p50 (ms) | p99 (ms) |");
    println!("|---|---:|---:|");
    for (label, sample) in [
        ("login, 8 concurrent", login_sample),
        ("user-info, no login running", idle),
        ("user-info, 8 logins running", loaded),
    ] {
        let s = Summary::of(sample).unwrap();
        println!("| {label} | {:.2} | {:.2} |", bench::millis(s.p50), bench::millis(s.p99));
    }
}

/// The feed while 32 publishes of a 1080p clip run at once (one user's burst,
/// issue 17): p50/p99/max of a feed call with nothing running, and during
/// `bursts` bursts, with the heavy-work pool at half the cores and at 512
/// places (Tokio's blocking threads: every decode at once, as before).
async fn publish_burst(iterations: usize, bursts: usize) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let clip = std::sync::Arc::new(tests::fixture("h264-1920x1080-1s.mp4"));
    let small = tests::fixture("portrait-red-360x640-1s.mp4");
    let mut rows = Vec::new();
    for (label, places) in [("before: every decode at once", 512), ("after: half the cores decode", (cores / 2).max(1))]
    {
        let t = std::sync::Arc::new(TestApp::with_config(|config| config.heavy_places = places).await);
        let alice = t.new_user("alice").await;
        for n in 0..31 {
            t.publish(&alice.token, &format!("video {n}"), &small).await.ok();
        }
        let feed = || scenario::get("/douyin/feed/", &[]);
        let mut idle = Vec::new();
        for _ in 0..iterations {
            idle.push(call(&t, feed()).await);
        }
        let mut loaded = Vec::new();
        let mut publishes = Vec::new();
        let mut walls = Vec::new();
        for burst in 0..bursts {
            let started = Instant::now();
            let running: Vec<_> = (0..32)
                .map(|n| {
                    let (t, clip, token) = (t.clone(), clip.clone(), alice.token.clone());
                    tokio::spawn(async move {
                        let started = Instant::now();
                        t.publish(&token, &format!("burst {burst} #{n}"), &clip).await.ok();
                        started.elapsed()
                    })
                })
                .collect();
            while !running.iter().all(tokio::task::JoinHandle::is_finished) {
                loaded.push(call(&t, feed()).await);
            }
            walls.push(started.elapsed());
            for publish in running {
                publishes.push(publish.await.unwrap());
            }
        }
        let max = |sample: &[Duration]| sample.iter().max().copied().unwrap_or_default();
        let (idle_max, loaded_max, publish_max) = (max(&idle), max(&loaded), max(&publishes));
        let wall = Summary::of(walls).unwrap().p50;
        rows.push((label, places, Summary::of(idle).unwrap(), idle_max, Summary::of(loaded).unwrap(), loaded_max));
        rows.push(("", 0, Summary::of(publishes).unwrap(), publish_max, Summary::of(vec![wall]).unwrap(), wall));
    }
    println!("{bursts} bursts of 32 publishes of tests/fixtures/media/h264-1920x1080-1s.mp4 each, on {cores} cores");
    println!("| configuration | measured | p50 (ms) | p99 (ms) | max (ms) | calls |");
    println!("|---|---|---:|---:|---:|---:|");
    for (label, places, first, first_max, second, second_max) in rows {
        let ms = |s: &Summary| (bench::millis(s.p50), bench::millis(s.p99));
        let (a50, a99) = ms(&first);
        let (b50, b99) = ms(&second);
        if places > 0 {
            let places = if places == 1 { "1 place".to_owned() } else { format!("{places} places") };
            println!(
                "| {label} ({places}) | feed, nothing running | {a50:.2} | {a99:.2} | {:.2} | {} |",
                bench::millis(first_max),
                first.count
            );
            println!(
                "| | feed, during the bursts | {b50:.2} | {b99:.2} | {:.2} | {} |",
                bench::millis(second_max),
                second.count
            );
        } else {
            println!(
                "| | one publish, during its burst | {a50:.1} | {a99:.1} | {:.1} | {} |",
                bench::millis(first_max),
                first.count
            );
            println!("| | a burst of 32, start to last answer (median) | {b50:.0} | | | |");
        }
    }
}

/// What a media link costs: signed anew (SigV4 through the SDK) against
/// served from the per-window cache (`Media::link`).
async fn signing(t: &TestApp) {
    let start = std::time::SystemTime::now();
    let ttl = Duration::from_secs(3600);
    let mut signed = Vec::new();
    let mut cached = Vec::new();
    for n in 0..1000 {
        let key = format!("videos/{n}.mp4");
        let started = Instant::now();
        t.app.media().link_signed_at(&key, start, ttl).await.unwrap();
        signed.push(started.elapsed());
        t.app.media().link(&key).await.unwrap();
        let started = Instant::now();
        t.app.media().link(&key).await.unwrap();
        cached.push(started.elapsed());
    }
    let (signed, cached) = (Summary::of(signed).unwrap(), Summary::of(cached).unwrap());
    eprintln!(
        "media link: signed {:.1} µs p50, from the window's cache {:.2} µs p50 (a feed page of 30 needs 60+ links)",
        micros(signed.p50),
        micros(cached.p50)
    );
}
