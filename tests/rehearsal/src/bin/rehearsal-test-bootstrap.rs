//! A bootstrap for the host's tests: a real `lambda_runtime` program (the
//! client code the host emulates the other side of) whose behaviour is chosen
//! by its environment (init) and by each event's `action`.
//!
//! Init, by `TEST_BOOTSTRAP_INIT`: unset or `ok`; `exit` (exits 3 before
//! polling); `init-error` (posts `/init/error`, then exits 1, as a custom
//! runtime does); `init-error-hang` (posts it, then never exits); `hold:PATH`
//! (init lasts until the file PATH exists, at most 30 s).
//!
//! Events `{"action": …}`: `echo` (the event back), `env` (the process's
//! environment), `context` (what the runtime received with the event),
//! `pid`, `panic`, `error`, `exit` (`code`), `sleep` (`ms`), `big` (`bytes`
//! long string), `hold` (until the file `path` exists, at most 30 s).

use std::io::{Read as _, Write as _};
use std::time::Duration;

use lambda_http::lambda_runtime::{self, Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), Error> {
    match std::env::var("TEST_BOOTSTRAP_INIT").as_deref() {
        Ok("exit") => std::process::exit(3),
        Ok("init-error") => {
            post_init_error()?;
            std::process::exit(1);
        }
        Ok("init-error-hang") => {
            post_init_error()?;
            std::future::pending::<()>().await;
        }
        Ok(other) if other.starts_with("hold:") => {
            // Init lasts until the file exists (at most 30 s).
            let path = std::path::Path::new(&other["hold:".len()..]);
            for _ in 0..3000 {
                if path.exists() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        _ => {}
    }
    lambda_runtime::run(service_fn(handle)).await
}

async fn handle(event: LambdaEvent<Value>) -> Result<Value, Error> {
    let (payload, context) = (event.payload, event.context);
    let number = |key: &str| payload.get(key).and_then(Value::as_u64).unwrap_or(0);
    match payload.get("action").and_then(Value::as_str).unwrap_or("echo") {
        "env" => Ok(json!(std::env::vars().collect::<std::collections::BTreeMap<_, _>>())),
        "context" => Ok(json!({
            "request_id": context.request_id,
            "deadline": context.deadline,
            "arn": context.invoked_function_arn,
            "trace_id": context.xray_trace_id,
            "client_context": context.client_context.map(|c| json!({"custom": c.custom, "environment": c.environment})),
            "identity": context.identity.map(|i| i.identity_id),
        })),
        "pid" => Ok(json!({"pid": std::process::id()})),
        "panic" => panic!("the handler panicked on purpose"),
        "error" => Err("the handler failed on purpose".into()),
        "exit" => std::process::exit(i32::try_from(number("code")).unwrap_or(1)),
        "sleep" => {
            tokio::time::sleep(Duration::from_millis(number("ms"))).await;
            Ok(json!({"slept_ms": number("ms"), "pid": std::process::id()}))
        }
        "big" => Ok(json!("x".repeat(usize::try_from(number("bytes")).unwrap_or(0)))),
        "hold" => {
            let path = payload.get("path").and_then(Value::as_str).unwrap_or_default().to_owned();
            for _ in 0..3000 {
                if std::path::Path::new(&path).exists() {
                    return Ok(json!({"held": true, "pid": std::process::id()}));
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            Err(format!("{path} did not appear within 30 s").into())
        }
        _ => Ok(payload),
    }
}

/// What a custom runtime does when its init fails: `POST /init/error`.
fn post_init_error() -> Result<(), Error> {
    let api = std::env::var("AWS_LAMBDA_RUNTIME_API")?;
    let body = r#"{"errorMessage":"the configuration is refused on purpose","errorType":"Config.Refused"}"#;
    let mut stream = std::net::TcpStream::connect(&api)?;
    write!(
        stream,
        "POST /2018-06-01/runtime/init/error HTTP/1.1\r\nHost: {api}\r\nLambda-Runtime-Function-Error-Type: Config.Refused\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    if !answer.starts_with("HTTP/1.1 202") {
        return Err(format!("/init/error answered {answer:?}").into());
    }
    Ok(())
}
