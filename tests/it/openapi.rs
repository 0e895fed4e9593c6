//! `docs/openapi.yaml` against the code: it describes exactly the router's
//! operations (method, canonical path, the endpoint's word as `operationId`),
//! every documented answer is the envelope, and the documented error codes
//! and HTTP statuses are those of the one error type. `tests/fuzz-api` then
//! runs schemathesis from the same document against `douyin-local`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use functions::edge::ErrorFields;
use functions::routes::{ENDPOINTS, Route, route};
use lambda_http::http::Method;
use serde_norway::Value;
use shared::Error;
use tests::TestApp;

const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

fn document() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/openapi.yaml");
    serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Every operation as (METHOD, path) → the operation object.
fn operations(document: &Value) -> BTreeMap<(String, String), Value> {
    let mut operations = BTreeMap::new();
    for (path, item) in document["paths"].as_mapping().unwrap() {
        for (method, operation) in item.as_mapping().unwrap() {
            let method = method.as_str().unwrap();
            if METHODS.contains(&method) {
                let key = (method.to_ascii_uppercase(), path.as_str().unwrap().to_owned());
                operations.insert(key, operation.clone());
            }
        }
    }
    operations
}

/// Follows a local `$ref` (`#/components/...`), if `value` is one.
fn resolve<'a>(document: &'a Value, value: &'a Value) -> &'a Value {
    let Some(reference) = value["$ref"].as_str() else { return value };
    let pointer = reference.strip_prefix("#/").unwrap_or_else(|| panic!("not a local $ref: {reference}"));
    let target = pointer.split('/').fold(document, |node, segment| &node[segment]);
    assert!(!target.is_null(), "dangling $ref {reference}");
    resolve(document, target)
}

/// The keys every body matching `schema` has, with their `type`: the required
/// properties of an object, the union over `allOf`, the keys common to every
/// branch of `anyOf` / `oneOf`.
fn guaranteed_keys(document: &Value, schema: &Value) -> BTreeMap<String, String> {
    let schema = resolve(document, schema);
    if let Some(all) = schema["allOf"].as_sequence() {
        return all.iter().flat_map(|branch| guaranteed_keys(document, branch)).collect();
    }
    let branches = schema["anyOf"].as_sequence().or_else(|| schema["oneOf"].as_sequence());
    if let Some(branches) = branches {
        let mut keys = branches.iter().map(|branch| guaranteed_keys(document, branch));
        let first = keys.next().unwrap_or_default();
        return keys.fold(first, |common, next| common.into_iter().filter(|(k, t)| next.get(k) == Some(t)).collect());
    }
    let required = schema["required"].as_sequence().map(Vec::as_slice).unwrap_or_default();
    required
        .iter()
        .map(|name| {
            let name = name.as_str().unwrap();
            let property = resolve(document, &schema["properties"][name]);
            (name.to_owned(), property["type"].as_str().unwrap_or_default().to_owned())
        })
        .collect()
}

/// An operation's documented answers: HTTP status → the guaranteed keys of its JSON body.
fn answers(document: &Value, operation: &Value) -> BTreeMap<String, BTreeMap<String, String>> {
    let responses = operation["responses"].as_mapping().unwrap();
    responses
        .iter()
        .map(|(status, response)| {
            let status = status.as_str().map(str::to_owned).unwrap_or_else(|| status.as_u64().unwrap().to_string());
            let response = resolve(document, response);
            let content = response["content"].as_mapping().unwrap();
            let media: Vec<&str> = content.keys().map(|key| key.as_str().unwrap()).collect();
            assert_eq!(media, ["application/json"], "{status}: answers are JSON only");
            let schema = &response["content"]["application/json"]["schema"];
            (status, guaranteed_keys(document, schema))
        })
        .collect()
}

#[test]
fn every_route_is_described_and_every_described_operation_is_routed() {
    let document = document();
    let operations = operations(&document);
    for endpoint in ENDPOINTS {
        let key = (endpoint.method.as_str().to_owned(), endpoint.path.to_owned());
        let operation = operations.get(&key).unwrap_or_else(|| panic!("{endpoint:?} is not in docs/openapi.yaml"));
        assert_eq!(operation["operationId"].as_str(), Some(endpoint.name), "{endpoint:?}");
    }
    for ((method, path), operation) in &operations {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        // The canonical spelling (with the slash) is the one described; the router serves both.
        for spelling in [path.as_str(), path.trim_end_matches('/')] {
            match route(&method, spelling) {
                Route::Endpoint(endpoint) => {
                    assert_eq!(endpoint.path, path, "{method} {spelling} is described under another path");
                    assert_eq!(operation["operationId"].as_str(), Some(endpoint.name), "{method} {path}");
                }
                other => panic!("{method} {spelling} is described but routes to {other:?}"),
            }
        }
    }
    assert_eq!(operations.len(), ENDPOINTS.len());
}

#[test]
fn every_described_answer_is_the_envelope() {
    let document = document();
    for ((method, path), operation) in operations(&document) {
        let answers = answers(&document, &operation);
        let statuses: BTreeSet<&str> = answers.keys().map(String::as_str).collect();
        assert_eq!(statuses, ["200", "429", "500"].into(), "{method} {path}: documented HTTP statuses");
        for (status, keys) in &answers {
            assert_eq!(keys.get("status_code").map(String::as_str), Some("integer"), "{method} {path} {status}");
            assert_eq!(keys.get("status_msg").map(String::as_str), Some("string"), "{method} {path} {status}");
        }
    }
}

#[test]
fn register_and_login_errors_are_documented_with_user_id_and_token() {
    let document = document();
    let operations = operations(&document);
    for endpoint in ENDPOINTS.iter().filter(|endpoint| endpoint.error_fields == ErrorFields::Session) {
        let operation = &operations[&(endpoint.method.as_str().to_owned(), endpoint.path.to_owned())];
        for (status, keys) in answers(&document, operation) {
            assert_eq!(keys.get("user_id").map(String::as_str), Some("integer"), "{endpoint:?} {status}");
            assert_eq!(keys.get("token").map(String::as_str), Some("string"), "{endpoint:?} {status}");
        }
    }
}

/// The names of an operation's parameters (query, and its form fields).
fn parameter_names(document: &Value, operation: &Value) -> BTreeSet<String> {
    let parameters = operation["parameters"].as_sequence().map(Vec::as_slice).unwrap_or_default();
    parameters.iter().map(|parameter| resolve(document, parameter)["name"].as_str().unwrap().to_owned()).collect()
}

/// The links that the fuzzer's stateful phase follows name described operations
/// and parameters those operations have.
#[test]
fn every_link_targets_a_described_operation_and_its_parameters() {
    let document = document();
    let operations = operations(&document);
    let by_id: BTreeMap<&str, &Value> =
        operations.values().map(|operation| (operation["operationId"].as_str().unwrap(), operation)).collect();
    let mut links = 0;
    for ((method, path), operation) in &operations {
        for (status, response) in operation["responses"].as_mapping().unwrap() {
            let Some(response_links) = resolve(&document, response)["links"].as_mapping() else { continue };
            for (name, link) in response_links {
                let context = format!("{method} {path} {status:?} link {name:?}");
                let target_id = link["operationId"].as_str().unwrap();
                let target = by_id.get(target_id).unwrap_or_else(|| panic!("{context}: no operation {target_id}"));
                let known = parameter_names(&document, target);
                for parameter in link["parameters"].as_mapping().unwrap().keys() {
                    let parameter = parameter.as_str().unwrap();
                    assert!(known.contains(parameter), "{context}: {target_id} has no parameter {parameter}");
                }
                links += 1;
            }
        }
    }
    assert!(links > 0, "the stateful phase has no links to follow");
}

/// One of each error, so a new variant must be added here (and documented).
fn every_error() -> Vec<Error> {
    let every = vec![
        Error::InvalidArgument(String::new()),
        Error::Unauthenticated(String::new()),
        Error::Forbidden(String::new()),
        Error::NotFound(String::new()),
        Error::Conflict(String::new()),
        Error::BadCredentials,
        Error::UnsupportedMedia(String::new()),
        Error::RateLimited { what: "requests", retry_after_secs: 1 },
        Error::Internal(anyhow::anyhow!("x")),
    ];
    for error in &every {
        match error {
            Error::InvalidArgument(_)
            | Error::Unauthenticated(_)
            | Error::Forbidden(_)
            | Error::NotFound(_)
            | Error::Conflict(_)
            | Error::BadCredentials
            | Error::UnsupportedMedia(_)
            | Error::RateLimited { .. }
            | Error::Internal(_) => {}
        }
    }
    every
}

#[test]
fn documented_error_codes_and_statuses_are_those_of_the_error_type() {
    let document = document();
    let schemas = &document["components"]["schemas"];
    let codes: BTreeSet<u64> = every_error().iter().map(|error| u64::from(error.status_code())).collect();
    for envelope in ["ErrorEnvelope", "SessionErrorEnvelope"] {
        let documented: BTreeSet<u64> = schemas[envelope]["properties"]["status_code"]["enum"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|code| code.as_u64().unwrap())
            .collect();
        assert_eq!(documented, codes, "{envelope}");
    }
    // HTTP 429 and 500 are the only error statuses besides 200, each for one code.
    for error in every_error() {
        let expected = match error.status_code() {
            10008 => 429,
            50000 => 500,
            _ => 200,
        };
        assert_eq!(functions::edge::reply::Failure::Refused(&error).statuses().0, expected, "{error:?}");
    }
}

#[test]
fn the_token_is_a_query_parameter_not_a_header() {
    let document = document();
    let scheme = &document["components"]["securitySchemes"]["token"];
    let described = (scheme["type"].as_str(), scheme["in"].as_str(), scheme["name"].as_str());
    assert_eq!(described, (Some("apiKey"), Some("query"), Some("token")));
}

/// The document's `security` against the handlers: an operation that requires
/// the token answers 10002 without one; one where it is optional (or absent)
/// never does.
#[tokio::test]
async fn documented_security_matches_what_handlers_require() {
    let document = document();
    let t = TestApp::new().await;
    for ((method, path), operation) in operations(&document) {
        let security = operation["security"].as_sequence().map(Vec::as_slice).unwrap_or_default();
        let token_only = !security.is_empty()
            && security.iter().all(|requirement| requirement.as_mapping().is_some_and(|m| m.contains_key("token")));
        let reply = t.call(Method::from_bytes(method.as_bytes()).unwrap(), &path, &[]).await;
        if token_only {
            assert_eq!(reply.code(), 10002, "{method} {path} is documented as needing a token: {}", reply.msg());
        } else {
            assert_ne!(reply.code(), 10002, "{method} {path} is documented as open: {}", reply.msg());
        }
    }
}
