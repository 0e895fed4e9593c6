//! Baseline 2 for cold starts: baseline 1 plus what the AWS SDK costs us. At
//! init it loads the SDK configuration and builds the same clients as our
//! `App` (DynamoDB, two S3 clients, SQS), without any of our code; each
//! invocation makes one DynamoDB `GetItem` on `DOUYIN_TABLE` (the least any
//! data endpoint does), so the first response pays for the SDK's first call
//! too (credentials, endpoint resolution, signing, the connection).

use aws_sdk_dynamodb::types::AttributeValue;
use lambda_http::{Body, Error, Request, Response, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let table = std::env::var("DOUYIN_TABLE")?;
    // Endpoints and credentials come from the environment (AWS_ENDPOINT_URL_*),
    // as for our functions.
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest()).load().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let s3 = aws_sdk_s3::config::Builder::from(&sdk).force_path_style(true).build();
    let _s3 = (aws_sdk_s3::Client::from_conf(s3.clone()), aws_sdk_s3::Client::from_conf(s3));
    let _sqs = aws_sdk_sqs::Client::new(&sdk);
    let (dynamodb, table) = (&dynamodb, &table);
    lambda_http::run(service_fn(move |_request: Request| async move {
        let found = dynamodb
            .get_item()
            .table_name(table)
            .key("pk", AttributeValue::S("BASELINE".into()))
            .key("sk", AttributeValue::S("BASELINE".into()))
            .send()
            .await?;
        let body = format!(r#"{{"status_code":0,"status_msg":"found: {}"}}"#, found.item.is_some());
        Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .body(Body::from(body))
            .map_err(Error::from)
    }))
    .await
}
