//! Prints what `shared::video::inspect` costs on one file (H.264 or HEVC): median time and the
//! process's peak memory, to size the ingest function's memory.
//!
//! `cargo run --release -p shared --example cover_cost -- tests/fixtures/media/h264-1920x1080-1s.mp4 [runs] [cover.jpg]`
//!
//! With a third argument, the cover is also written there.
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

/// The process's peak resident set (`VmHWM`), in MB.
fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .unwrap_or(f64::NAN);
    kib / 1024.0
}

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("usage: cover_cost FILE [runs] [cover.jpg]");
    let runs: usize = args.next().map_or(21, |n| n.parse().expect("runs is a number"));
    let write_to = args.next();
    let bytes = std::fs::read(&path).expect("readable file");
    let before = peak_rss_mb();

    let mut samples = Vec::with_capacity(runs);
    let mut outcome = None;
    for _ in 0..runs.max(1) {
        let started = Instant::now();
        let result = shared::video::inspect(&bytes);
        samples.push(started.elapsed().as_secs_f64() * 1000.0);
        outcome = Some(result);
    }
    let first = samples[0];
    samples.sort_by(f64::total_cmp);
    let median = samples[samples.len() / 2];

    match outcome.expect("at least one run") {
        Ok((info, cover)) => {
            println!(
                "{path}: {} bytes, {}x{} {} {} ms; cover {} bytes JPEG",
                bytes.len(),
                info.width,
                info.height,
                info.codec,
                info.duration_ms,
                cover.jpeg.len()
            );
            if let Some(out) = write_to {
                std::fs::write(&out, &cover.jpeg).expect("writable cover path");
            }
        }
        Err(error) => println!("{path}: {} bytes, refused: {error}", bytes.len()),
    }
    println!(
        "inspect: first {first:.2} ms, median {median:.2} ms (min {:.2}, max {:.2}, n={}); peak RSS {:.1} MB (before the first run {before:.1} MB)",
        samples[0],
        samples[samples.len() - 1],
        samples.len(),
        peak_rss_mb()
    );
}
