//! Prints how long one argon2id hash takes at a given cost, to size the login
//! and register functions' memory (README, "Sizing the login functions").
//!
//! `cargo run --release -p shared --example argon2_cost -- [memory_kib] [iterations] [parallelism]`
#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::time::Instant;

use shared::auth::password::Passwords;
use shared::config::Argon2Cost;
use shared::domain::Password;

#[tokio::main]
async fn main() {
    let args: Vec<u32> = std::env::args().skip(1).map(|arg| arg.parse().unwrap()).collect();
    let cost = Argon2Cost {
        memory_kib: args.first().copied().unwrap_or(Argon2Cost::OWASP.memory_kib),
        iterations: args.get(1).copied().unwrap_or(Argon2Cost::OWASP.iterations),
        parallelism: args.get(2).copied().unwrap_or(Argon2Cost::OWASP.parallelism),
    };
    let passwords = Passwords::new(cost).unwrap();
    let password = Password::parse("password", "correct horse battery").unwrap();
    let mut samples = Vec::new();
    for _ in 0..21 {
        let started = Instant::now();
        passwords.hash(&password).await.unwrap();
        samples.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    samples.sort_by(f64::total_cmp);
    let unknown = {
        let started = Instant::now();
        passwords.verify(&password, None).await.unwrap();
        started.elapsed().as_secs_f64() * 1000.0
    };
    println!(
        "argon2id m={} KiB t={} p={}: hash median {:.1} ms (min {:.1}, max {:.1}, n=21); unknown-user verify {:.1} ms",
        cost.memory_kib, cost.iterations, cost.parallelism, samples[10], samples[0], samples[20], unknown
    );
}
