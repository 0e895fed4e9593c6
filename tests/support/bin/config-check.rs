//! Runs environments through the real configuration parser, for the
//! rehearsal's stage 3: reads a JSON object `{name: {VARIABLE: value}}` on
//! stdin and prints `{name: {"ok": true}}` or `{name: {"ok": false,
//! "variable": .., "problem": ..}}`: what `Config::from_env` would make of
//! that function's environment at cold start.

// A tool whose output is its stdout.
#![allow(clippy::print_stdout)]

use std::collections::BTreeMap;
use std::io::Read as _;

use serde_json::{Value, json};
use shared::config::Config;

fn main() -> anyhow::Result<()> {
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input)?;
    let environments: BTreeMap<String, BTreeMap<String, String>> = serde_json::from_str(&input)?;
    let verdicts: BTreeMap<String, Value> = environments
        .into_iter()
        .map(|(name, environment)| {
            let verdict = match Config::from_lookup(|variable| environment.get(variable).cloned()) {
                Ok(_) => json!({"ok": true}),
                Err(error) => json!({"ok": false, "variable": error.variable, "problem": error.problem}),
            };
            (name, verdict)
        })
        .collect();
    println!("{}", serde_json::to_string_pretty(&verdicts)?);
    Ok(())
}
