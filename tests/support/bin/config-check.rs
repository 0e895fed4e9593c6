//! Runs environments through the real configuration parser, for the
//! rehearsal's stage 3: reads a JSON object `{name: {VARIABLE: value}}` on
//! stdin and prints `{name: {"ok": true}}` or `{name: {"ok": false,
//! "variable": .., "problem": ..}}`: what `Config::from_env` would make of
//! that function's environment at cold start. With `--fallback`, the same
//! for `route-fallback`'s environment (`FallbackConfig` and its map of
//! endpoints to functions), whose answer also carries `"targets"`: each
//! endpoint word → the function it names.

// A tool whose output is its stdout.
#![allow(clippy::print_stdout)]

use std::collections::BTreeMap;
use std::io::Read as _;

use serde_json::{Value, json};
use shared::config::{Config, FallbackConfig};

fn main() -> anyhow::Result<()> {
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input)?;
    let environments: BTreeMap<String, BTreeMap<String, String>> = serde_json::from_str(&input)?;
    let fallback = std::env::args().any(|arg| arg == "--fallback");
    let verdicts: BTreeMap<String, Value> = environments
        .into_iter()
        .map(|(name, environment)| {
            let lookup = |variable: &str| environment.get(variable).cloned();
            let verdict = if fallback {
                fallback_verdict(lookup)
            } else {
                match Config::from_lookup(lookup) {
                    Ok(_) => json!({"ok": true}),
                    Err(error) => json!({"ok": false, "variable": error.variable, "problem": error.problem}),
                }
            };
            (name, verdict)
        })
        .collect();
    println!("{}", serde_json::to_string_pretty(&verdicts)?);
    Ok(())
}

fn fallback_verdict(lookup: impl Fn(&str) -> Option<String>) -> Value {
    let config = match FallbackConfig::from_lookup(lookup) {
        Ok(config) => config,
        Err(error) => return json!({"ok": false, "variable": error.variable, "problem": error.problem}),
    };
    match functions::fallback::targets(&config) {
        Ok(targets) => {
            let names: BTreeMap<&str, String> =
                functions::routes::ROUTE_KEYS.iter().map(|key| key.name).zip(targets).collect();
            json!({"ok": true, "targets": names})
        }
        Err(error) => json!({"ok": false, "variable": "DOUYIN_ROUTE_FUNCTIONS", "problem": format!("{error:#}")}),
    }
}
