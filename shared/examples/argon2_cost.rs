//! Prints how long one argon2id hash takes at a given cost, to size the login
//! and register functions' memory (docs/operations.md, "Sizing the login functions"), and
//! whether a login reveals that a username exists by its timing: a wrong
//! password (verified against the user's stored hash) and an unknown user
//! (verified against the dummy hash) are timed interleaved, 41 of each, and
//! their medians compared (docs/security.md, "Authentication").
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
    let passwords = Passwords::new(cost, shared::heavy::HeavyWork::with_places(1)).unwrap();
    let password = Password::parse("password", "correct horse battery").unwrap();
    let mut hashes = Vec::new();
    for _ in 0..21 {
        let started = Instant::now();
        passwords.hash(&password).await.unwrap();
        hashes.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    hashes.sort_by(f64::total_cmp);
    println!(
        "argon2id m={} KiB t={} p={}: hash median {:.1} ms (min {:.1}, max {:.1}, n=21)",
        cost.memory_kib, cost.iterations, cost.parallelism, hashes[10], hashes[0], hashes[20]
    );

    // Login timing: the same verify call either way, alternated so that
    // drift (frequency scaling, other load) hits both alike.
    let stored = passwords.hash(&password).await.unwrap();
    let guess = Password::parse("password", "wrong guess 123").unwrap();
    let (mut wrong_password, mut unknown_user) = (Vec::new(), Vec::new());
    for _ in 0..41 {
        let started = Instant::now();
        assert!(!passwords.verify(&guess, Some(stored.clone())).await.unwrap());
        wrong_password.push(started.elapsed().as_secs_f64() * 1000.0);
        let started = Instant::now();
        assert!(!passwords.verify(&guess, None).await.unwrap());
        unknown_user.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    wrong_password.sort_by(f64::total_cmp);
    unknown_user.sort_by(f64::total_cmp);
    let (wrong, unknown) = (wrong_password[20], unknown_user[20]);
    println!(
        "login verify, n=41 each, interleaved: wrong password median {wrong:.2} ms (p10 {:.2}, p90 {:.2}); \
         unknown user median {unknown:.2} ms (p10 {:.2}, p90 {:.2}); difference {:+.2} ms ({:+.1} %)",
        wrong_password[4],
        wrong_password[36],
        unknown_user[4],
        unknown_user[36],
        unknown - wrong,
        (unknown - wrong) / wrong * 100.0
    );
}
