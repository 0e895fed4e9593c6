//! Baseline 3 for cold starts, the floor of `tests/bench/run lambda`: the
//! least a data function can do without the AWS SDK. It is baseline 1 (a
//! bare `lambda_http` function) plus, during init, one TLS connection with
//! one HTTPS request to Secrets Manager (`GetSecretValue` of
//! `DOUYIN_JWT_SECRET_ARN`, as our functions read the signing secret), and in
//! its first invocation one more connection with one request to DynamoDB
//! (`GetItem` on `DOUYIN_TABLE`), kept open for the next invocations (one
//! request each). Same endpoints (`AWS_ENDPOINT_URL_SECRETS_MANAGER`,
//! `AWS_ENDPOINT_URL_DYNAMODB`), same trust setting (`DOUYIN_TLS_ROOTS=file:`)
//! and same TLS stack (rustls on aws-lc-rs) as our functions.
//!
//! Not signed: the requests carry an `Authorization` header of the right
//! shape for the emulators to route them, with no signature (SigV4 is a few
//! HMACs, microseconds), and the session token as `x-amz-security-token`
//! when the environment has one (Lambda always gives one: the same bytes as
//! every signed SDK request). Any HTTP answer counts: the floor is the
//! network and TLS, not the service.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use lambda_http::{Body, Error, Request, Response, service_fn};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::sync::Mutex;

/// An endpoint URL's host and port (`https://host:port`).
fn host_port(url: &str) -> Result<(String, u16), Error> {
    let rest = url.strip_prefix("https://").ok_or("the floor speaks HTTPS only")?;
    let authority = rest.split('/').next().unwrap_or(rest);
    let (host, port) = authority.rsplit_once(':').map_or((authority, "443"), |(h, p)| (h, p));
    Ok((host.to_owned(), port.parse()?))
}

fn tls_config() -> Result<Arc<rustls::ClientConfig>, Error> {
    let roots = std::env::var("DOUYIN_TLS_ROOTS")?;
    let path = roots.strip_prefix("file:").ok_or("the floor needs DOUYIN_TLS_ROOTS=file:<pem>")?;
    let mut store = rustls::RootCertStore::empty();
    for certificate in CertificateDer::pem_file_iter(path.trim())? {
        store.add(certificate?)?;
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()?
        .with_root_certificates(store)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// A new TLS connection to `url`, ready for HTTP/1.1 requests.
async fn connect(tls: &Arc<rustls::ClientConfig>, url: &str) -> Result<(SendRequest<Full<Bytes>>, String), Error> {
    let (host, port) = host_port(url)?;
    let tcp = tokio::net::TcpStream::connect((host.as_str(), port)).await?;
    tcp.set_nodelay(true)?;
    let name = ServerName::try_from(host.clone())?;
    let stream = tokio_rustls::TlsConnector::from(Arc::clone(tls)).connect(name, tcp).await?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    Ok((sender, format!("{host}:{port}")))
}

/// One AWS JSON-protocol request; the status of its answer.
async fn call(
    sender: &mut SendRequest<Full<Bytes>>,
    authority: &str,
    service: &str,
    target: &str,
    content_type: &str,
    body: String,
) -> Result<u16, Error> {
    let region = std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into());
    let token = std::env::var("AWS_SESSION_TOKEN").ok();
    let request = aws_request(&[authority, &region, service, target, content_type], token.as_deref(), body)?;
    let response = sender.send_request(request).await?;
    let status = response.status().as_u16();
    response.into_body().collect().await?;
    Ok(status)
}

/// The request of [`call`]: `[authority, region, service, target,
/// content type]`, with the session token when there is one.
fn aws_request(
    [authority, region, service, target, content_type]: &[&str; 5],
    token: Option<&str>,
    body: String,
) -> Result<hyper::Request<Full<Bytes>>, Error> {
    let mut request = hyper::Request::post("/")
        .header("host", *authority)
        .header("content-type", *content_type)
        .header("x-amz-target", *target)
        .header(
            "authorization",
            format!(
                "AWS4-HMAC-SHA256 Credential=floor/20260101/{region}/{service}/aws4_request, \
                 SignedHeaders=host;x-amz-target, Signature=0"
            ),
        );
    if let Some(token) = token {
        request = request.header("x-amz-security-token", token);
    }
    Ok(request.body(Full::new(Bytes::from(body)))?)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let tls = tls_config()?;
    // Init: one connection, one request (the signing secret).
    let (mut secrets, authority) = connect(&tls, &std::env::var("AWS_ENDPOINT_URL_SECRETS_MANAGER")?).await?;
    let secret_arn = std::env::var("DOUYIN_JWT_SECRET_ARN")?;
    let body = serde_json::json!({ "SecretId": secret_arn }).to_string();
    call(
        &mut secrets,
        &authority,
        "secretsmanager",
        "secretsmanager.GetSecretValue",
        "application/x-amz-json-1.1",
        body,
    )
    .await?;
    drop(secrets);

    let dynamodb_url = std::env::var("AWS_ENDPOINT_URL_DYNAMODB")?;
    let table = std::env::var("DOUYIN_TABLE")?;
    let connection: Mutex<Option<(SendRequest<Full<Bytes>>, String)>> = Mutex::new(None);
    let (tls, dynamodb_url, table, connection) = (&tls, &dynamodb_url, &table, &connection);
    lambda_http::run(service_fn(move |_request: Request| async move {
        // The first invocation opens the DynamoDB connection; the next ones reuse it.
        let mut open = connection.lock().await;
        if open.as_ref().is_none_or(|(sender, _)| sender.is_closed()) {
            *open = Some(connect(tls, dynamodb_url).await?);
        }
        let Some((sender, authority)) = open.as_mut() else { return Err(Error::from("no connection")) };
        let key = serde_json::json!({"pk": {"S": "BASELINE"}, "sk": {"S": "BASELINE"}});
        let body = serde_json::json!({ "TableName": table, "Key": key }).to_string();
        let status =
            call(sender, authority, "dynamodb", "DynamoDB_20120810.GetItem", "application/x-amz-json-1.0", body)
                .await?;
        Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .body(Body::from(format!(r#"{{"status_code":0,"status_msg":"floor: DynamoDB answered {status}"}}"#)))
            .map_err(Error::from)
    }))
    .await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_floors_requests_carry_the_session_token_as_the_sdks_do() {
        let fields =
            ["127.0.0.1:1", "us-east-1", "dynamodb", "DynamoDB_20120810.GetItem", "application/x-amz-json-1.0"];
        let with = aws_request(&fields, Some("token-of-the-role"), "{}".into()).unwrap();
        assert_eq!(with.headers()["x-amz-security-token"], "token-of-the-role");
        assert_eq!(with.headers()["x-amz-target"], "DynamoDB_20120810.GetItem");
        let without = aws_request(&fields, None, "{}".into()).unwrap();
        assert!(!without.headers().contains_key("x-amz-security-token"));
    }
}
