//! Who is calling, as far as the network says: the source address of the
//! request, for the per-address rate limits.
//!
//! On Lambda it is API Gateway's `requestContext.http.sourceIp` (the address
//! that opened the connection to API Gateway); the local server puts its
//! socket peer in the same place. Headers such as `X-Forwarded-For` are never
//! read: any client can write them.

use std::net::IpAddr;

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt as _};
use shared::App;
use shared::limits::{Scope, address_subject};

/// The request's source address, when the platform gave one.
pub fn source_address(request: &Request) -> Option<IpAddr> {
    match request.request_context_ref()? {
        RequestContext::ApiGatewayV2(context) => context.http.source_ip.as_deref()?.trim().parse().ok(),
        _ => None,
    }
}

/// Counts this request against the per-address limit `scope` (10008 when
/// over it). Requests without a source address share one count, so a missing
/// address never means "unlimited".
pub async fn limit_address(app: &App, request: &Request, scope: Scope) -> shared::Result<()> {
    let subject = source_address(request).map(address_subject).unwrap_or_else(|| "unknown".to_owned());
    app.limiter.hit(scope, &subject).await
}

/// The request context the local server gives a request from `peer`: what
/// API Gateway gives a Lambda, reduced to the source address.
pub fn local_context(method: &lambda_http::http::Method, peer: IpAddr) -> RequestContext {
    let mut context = lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext::default();
    context.http.method = method.clone();
    context.http.source_ip = Some(peer.to_string());
    RequestContext::ApiGatewayV2(context)
}
