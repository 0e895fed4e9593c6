//! The Lambda adapter: invokes another function of the stack synchronously
//! with an event as it came, and hands back its answer as it went. Only
//! `route-fallback` uses it, to pass on a contract request that API Gateway
//! sent to the `$default` route (docs/decisions.md, "Routes without a trailing
//! slash"). The SDK's types stay here.

use aws_config::SdkConfig;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_lambda::primitives::Blob;
use std::time::Duration;

use crate::error::{Error, Result};

/// Invokes functions synchronously (`RequestResponse`).
#[derive(Clone, Debug)]
pub struct Invoker {
    client: aws_sdk_lambda::Client,
}

impl Invoker {
    /// An invoker on `sdk`'s region, credentials and endpoints. One attempt:
    /// an invocation is not idempotent (a register that timed out on the wire
    /// may have run), so a failure is the caller's to retry, not the SDK's.
    /// No attempt timeout either: the target's own timeout bounds it, and the
    /// caller's deadline ([`crate::deadline`]) bounds the wait.
    pub fn new(sdk: &SdkConfig) -> Invoker {
        let config = aws_sdk_lambda::config::Builder::from(sdk)
            .retry_config(RetryConfig::standard().with_max_attempts(1))
            .timeout_config(TimeoutConfig::builder().connect_timeout(Duration::from_secs(2)).build())
            .build();
        Invoker { client: aws_sdk_lambda::Client::from_conf(config) }
    }

    /// Runs `function` (name or ARN) on `event`; answers its response payload.
    /// A function error (a crash, a timeout, a failed cold start) is
    /// [`Error::Internal`] with Lambda's description of it.
    pub async fn invoke(&self, function: &str, event: Vec<u8>) -> Result<Vec<u8>> {
        let output = self
            .client
            .invoke()
            .function_name(function)
            .payload(Blob::new(event))
            .send()
            .await
            .map_err(|error| Error::Internal(anyhow::Error::new(error).context(format!("invoke {function}"))))?;
        let payload = output.payload.map(Blob::into_inner).unwrap_or_default();
        if let Some(kind) = output.function_error {
            let detail = String::from_utf8_lossy(&payload).chars().take(500).collect::<String>();
            return Err(Error::Internal(anyhow::anyhow!("{function} failed ({kind}): {detail}")));
        }
        Ok(payload)
    }
}
