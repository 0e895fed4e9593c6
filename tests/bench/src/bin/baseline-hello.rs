//! Baseline 1 for cold starts: the smallest `lambda_http` function, with the
//! same runtime flavour as ours (multi-thread Tokio) and the same profile.

use lambda_http::{Body, Error, Request, Response, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::run(service_fn(|_request: Request| async {
        Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .body(Body::from(r#"{"status_code":0,"status_msg":"hello"}"#))
            .map_err(Error::from)
    }))
    .await
}
